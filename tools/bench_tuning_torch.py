#!/usr/bin/env python3
"""The reference side of the tuning benchmark: the MyStyle tuning loop (src/prior/tune.rs) in PyTorch on the CPU.

    pip install numpy pillow onnx onnxruntime torch   # PyPI's torch wheel; this script runs it on the CPU only
    python3 tools/build_face_models.py                 # writes the ONNX folder, /tmp/mystyle-face-onnx
    python3 tools/bench_tuning_torch.py [--steps 300] [--threads 2] [--models DIR] [--photos DIR] [--seed 0]

Per step, as `Tuner::step` does it with the Fast preset's settings (batch 8, Adam at lr 1e-3): draw 8 of the N
(latent, photo) pairs with SplitMix64 (the app's generator, so the batch order is the app's for the same seed);
run the DCGAN (the pinned `gan_face_generate` package's Generator with its weights, as tools/bench_torch.py
loads it; batch norm on its stored statistics, every weight trainable) and map its output to (g + 1) / 2;
compute the reconstruction loss of src/prior/loss.rs per face and average it over the batch; read the loss
back; backpropagate; take one Adam step. The loss per face is

    pixel MSE + 0.5 * perceptual + 0.1 * (1 - cosine of the SFace embeddings)

with the identity term on every 8th step only, times 8 (LossWeights::at_step: SFace dominates a step's cost)

perceptual: the age network's feature maps after its 1st, 3rd, 5th and 7th Relu (burn's relu1/3/5/7, what
`nets::age::Model::features` returns) on (x * 255 - [122.782, 117.001, 104.298]) / 256, output and target in two
passes; each map scaled to unit length along channels (+1e-10), squared differences summed over channels,
averaged over space, summed over the four stages. identity: output and target concatenated and sent through SFace
once, as 112x112 crops warped (bilinear grid_sample, border padding, align_corners=False) from the 64x64 faces
through template_crop(aligned_template_points(64), 112, IDENTITY_CROP) (src/attributes/crop.rs), times 255;
embeddings L2-normalised (norm clamped at 1e-6).

The two face networks run in torch with autograd through a small ONNX interpreter in this file (the graphs of
--models DIR, default /tmp/mystyle-face-onnx: age-v1_batch1.onnx and face_recognition_sface_2021dec_fp32.onnx;
nodes whose inputs are all constants, e.g. SFace's weight reshapes, are folded once at load). Before timing,
each interpreted network is compared with onnxruntime on a fixed random input (age: its four feature maps and its
probabilities; SFace: its embedding); a max |diff| of 1e-3 or more stops the script (exit status 1).

Data: N = 20 photos, random 64x64 RGB images in [0, 1] smoothed by two 3x3 box blurs, or with --photos DIR every
*.png / *.jpg / *.jpeg in DIR (sorted by name; resized to 64x64 with Lanczos when they are not that size), and N
standard-normal latents from torch.manual_seed(0). The benchmark measures cost, not quality.

Three warm-up steps, then --steps timed steps (each timed from the batch draw to the end of the Adam step).
Prints, besides the parity lines ({"check": "onnx_parity", "net": .., "output": .., "max_abs_diff": ..}), one
JSON line for the run, then one with the resident memory (VmRSS) after timed steps S/4, S/2, 3S/4 and S:
{"impl": "pytorch <ver> CPU (<T> threads)", "case": "tuning", "batch": 8, "photos": N, "steps": S,
 "mean_step_ms": .., "median_step_ms": .., "max_step_ms": .., "photos_per_s": .., "wall_s": .., "first_loss": .., "last_loss": ..,
 "peak_rss_mb": ..}
{"impl": .., "case": "tuning_rss", "rss_mb_by_step": {"75": .., "150": .., "225": .., "300": ..}}
photos_per_s is batch / mean step time (steps with the identity term cost more); wall_s is the total time of the S
timed steps; first_loss is the loss of the very first step (the first warm-up step), last_loss that of the last timed step (single batches, so noisy);
peak_rss_mb is the process's VmHWM.

Differences from the Rust loop: the warp's sampling grid is built once instead of on every step; the step has no early
stop (patience) and no rollback, which the personalize job adds around `Tuner::step`.
"""
import argparse
import io
import json
import math
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import pinned  # noqa: E402

AGE_FILE = "age-v1_batch1.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_fp32.onnx"
AGE_MEAN = [122.782, 117.001, 104.298]
WEIGHTS = {"perceptual": 0.5, "identity": 0.1}
IDENTITY_EVERY = 8  # src/prior/loss.rs: IDENTITY_EVERY
BATCH, LEARNING_RATE, WARMUP = 8, 1e-3, 3
PARITY_TOL = 1e-3

# src/attributes/crop.rs: the ArcFace 5-point template in its 112 x 112 frame, and SFace's crop (the template square).
ARCFACE_TEMPLATE = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
IDENTITY_CROP = (0.0, 0.0, 112.0)  # x0, y0, side


# ---------------------------------------------------------------------------------------------------------------
# Geometry (src/face/align.rs ffhq_square, src/face/geometry.rs, src/attributes/crop.rs), in float64 as in Rust.

def ffhq_square(points):
    eye_l, eye_r, _, mouth_l, mouth_r = points
    eye_avg = [(eye_l[0] + eye_r[0]) / 2, (eye_l[1] + eye_r[1]) / 2]
    eye_to_eye = [eye_r[0] - eye_l[0], eye_r[1] - eye_l[1]]
    mouth_avg = [(mouth_l[0] + mouth_r[0]) / 2, (mouth_l[1] + mouth_r[1]) / 2]
    eye_to_mouth = [mouth_avg[0] - eye_avg[0], mouth_avg[1] - eye_avg[1]]
    x = [eye_to_eye[0] + eye_to_mouth[1], eye_to_eye[1] - eye_to_mouth[0]]
    norm = max(math.hypot(*x), 1e-9)
    size = max(math.hypot(*eye_to_eye) * 2.0, math.hypot(*eye_to_mouth) * 1.8)
    x = [x[0] / norm * size, x[1] / norm * size]
    y = [-x[1], x[0]]
    c = [eye_avg[0] + eye_to_mouth[0] * 0.1, eye_avg[1] + eye_to_mouth[1] * 0.1]
    corner = [c[0] - x[0] - y[0], c[1] - x[1] - y[1]]
    return corner, [2 * x[0], 2 * x[1]], [2 * y[0], 2 * y[1]]


def aligned_template_points(size):
    corner, ex, ey = ffhq_square(ARCFACE_TEMPLATE)

    def along(d, e):
        return (d[0] * e[0] + d[1] * e[1]) / (e[0] * e[0] + e[1] * e[1])

    out = []
    for p in ARCFACE_TEMPLATE:
        d = [p[0] - corner[0], p[1] - corner[1]]
        out.append([along(d, ex) * size, along(d, ey) * size])
    return out


def similarity(src, dst):
    """Least-squares similarity src -> dst as [a, b, tx, c, d, ty] (geometry.rs `similarity`)."""
    n = len(src)
    ms = [sum(p[0] for p in src) / n, sum(p[1] for p in src) / n]
    md = [sum(p[0] for p in dst) / n, sum(p[1] for p in dst) / n]
    num_re = num_im = den = 0.0
    for s, d in zip(src, dst):
        sx, sy, dx, dy = s[0] - ms[0], s[1] - ms[1], d[0] - md[0], d[1] - md[1]
        num_re += sx * dx + sy * dy
        num_im += sx * dy - sy * dx
        den += sx * sx + sy * sy
    a, b = num_re / den, num_im / den
    return [a, -b, md[0] - (a * ms[0] - b * ms[1]), b, a, md[1] - (b * ms[0] + a * ms[1])]


def affine_inverse(m):
    a, b, tx, c, d, ty = m
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return [ia, ib, -(ia * tx + ib * ty), ic, id_, -(ic * tx + id_ * ty)]


def affine_compose(m, first):
    """m after first: p -> m(first(p))."""
    a, b, tx, c, d, ty = m
    e, f, ux, g, h, uy = first
    return [a * e + b * g, a * f + b * h, a * ux + b * uy + tx, c * e + d * g, c * f + d * h, c * ux + d * uy + ty]


def template_crop(points, out, region):
    x0, y0, side = region
    template_to_face = affine_inverse(similarity(points, ARCFACE_TEMPLATE))
    s = side / out
    return affine_compose(template_to_face, [s, 0.0, x0, 0.0, s, y0])


def warp_grid(to_face, out, h, w):
    """The grid_sample grid [1, out, out, 2] of crop.rs `warp` (pixel corners at integers, normalised coordinates)."""
    v, u = np.meshgrid(np.arange(out, dtype=np.float64) + 0.5, np.arange(out, dtype=np.float64) + 0.5, indexing="ij")
    a, b, tx, c, d, ty = to_face
    x, y = a * u + b * v + tx, c * u + d * v + ty
    grid = np.stack([2.0 * x / w - 1.0, 2.0 * y / h - 1.0], axis=-1).astype(np.float32)
    return grid[None]


class SplitMix64:
    """src/generator/latent.rs SplitMix64: uniform() in (0, 1]."""
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def uniform(self):
        return ((self.next_u64() >> 11) + 1) / float(1 << 53)


# ---------------------------------------------------------------------------------------------------------------
# A small ONNX interpreter on torch tensors (autograd flows through it to the inputs).

class OnnxNet:
    def __init__(self, path):
        import onnx
        import torch
        from onnx import numpy_helper

        self.torch = torch
        model = onnx.load(str(path))
        graph = model.graph
        self.consts = {}
        for init in graph.initializer:
            a = numpy_helper.to_array(init)
            self.consts[init.name] = torch.from_numpy(np.array(a, np.float32 if a.dtype == np.float64 else a.dtype))
        self.inputs = [i.name for i in graph.input if i.name not in self.consts]
        self.outputs = [o.name for o in graph.output]
        self.nodes = []
        with torch.no_grad():
            for node in graph.node:
                attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
                if node.op_type == "Constant":
                    self.consts[node.output[0]] = torch.from_numpy(np.array(numpy_helper.to_array(attrs["value"])))
                    continue
                entry = (node.op_type, list(node.input), list(node.output), attrs)
                if all(i == "" or i in self.consts for i in node.input):  # constant folding
                    for name, value in zip(node.output, self.execute(entry, self.consts)):
                        self.consts[name] = value
                    continue
                self.nodes.append(entry)
        self.ops = sorted({n[0] for n in self.nodes})

    def run(self, feeds, wanted=None):
        """Runs the graph on `feeds` {name: tensor}; returns the tensors named in `wanted` (default: the graph's
        outputs), stopping as soon as all of them are computed."""
        wanted = list(wanted or self.outputs)
        env = dict(self.consts)
        env.update(feeds)
        missing = set(wanted) - set(env)
        for entry in self.nodes:
            if not missing:
                break
            for name, value in zip(entry[2], self.execute(entry, env)):
                env[name] = value
                missing.discard(name)
        return [env[n] for n in wanted]

    def execute(self, entry, env):
        torch = self.torch
        F = torch.nn.functional
        op, ins, outs, at = entry
        x = [env[i] if i else None for i in ins]
        if op == "Conv":
            w = x[1]
            k = w.dim() - 2
            if at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise NotImplementedError("Conv auto_pad")
            pads = list(at.get("pads", [0] * 2 * k))
            strides, dil = at.get("strides", [1] * k), at.get("dilations", [1] * k)
            inp, padding = x[0], pads[:k]
            if pads[:k] != pads[k:]:
                inp = F.pad(inp, _torch_pads(pads, k))
                padding = [0] * k
            conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[k]
            return [conv(inp, w, x[2] if len(x) > 2 else None, strides, padding, dil, at.get("group", 1))]
        if op == "ConvTranspose":
            k = x[1].dim() - 2
            pads = list(at.get("pads", [0] * 2 * k))
            if pads[:k] != pads[k:]:
                raise NotImplementedError("asymmetric ConvTranspose pads")
            return [F.conv_transpose2d(x[0], x[1], x[2] if len(x) > 2 else None, at.get("strides", [1] * k), pads[:k],
                                       at.get("output_padding", [0] * k), at.get("group", 1), at.get("dilations", [1] * k))]
        if op == "BatchNormalization":
            return [F.batch_norm(x[0], x[3], x[4], x[1], x[2], False, 0.0, at.get("epsilon", 1e-5))]
        if op == "Relu":
            return [torch.relu(x[0])]
        if op == "PRelu":
            slope = x[1]
            shape = list(slope.shape)
            while len(shape) > x[0].dim() - 1 and shape[0] == 1:
                shape.pop(0)
            if slope.numel() == 1 or (x[0].dim() >= 2 and shape == [x[0].shape[1]] + [1] * (x[0].dim() - 2)):
                return [F.prelu(x[0], slope.reshape(-1))]  # a slope per channel: torch's fused op
            return [torch.where(x[0] >= 0, x[0], x[0] * slope)]
        if op == "LeakyRelu":
            return [F.leaky_relu(x[0], at.get("alpha", 0.01))]
        if op == "Sigmoid":
            return [torch.sigmoid(x[0])]
        if op == "Tanh":
            return [torch.tanh(x[0])]
        if op == "Clip":
            lo = x[1] if len(x) > 1 and x[1] is not None else at.get("min")
            hi = x[2] if len(x) > 2 and x[2] is not None else at.get("max")
            return [torch.clamp(x[0], None if lo is None else float(lo), None if hi is None else float(hi))]
        if op in ("MaxPool", "AveragePool"):
            k = len(at["kernel_shape"])
            if at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise NotImplementedError(f"{op} auto_pad")
            pads = list(at.get("pads", [0] * 2 * k))
            strides, ceil = at.get("strides", [1] * k), bool(at.get("ceil_mode", 0))
            inp, padding = x[0], pads[:k]
            if pads[:k] != pads[k:]:
                if op == "AveragePool":
                    raise NotImplementedError("asymmetric AveragePool pads")
                inp = F.pad(inp, _torch_pads(pads, k), value=float("-inf"))
                padding = [0] * k
            if op == "MaxPool":
                if len(outs) > 1 and outs[1]:
                    raise NotImplementedError("MaxPool indices")
                return [F.max_pool2d(inp, at["kernel_shape"], strides, padding, at.get("dilations", [1] * k), ceil)]
            return [F.avg_pool2d(inp, at["kernel_shape"], strides, padding, ceil, bool(at.get("count_include_pad", 0)))]
        if op == "GlobalAveragePool":
            return [x[0].mean(dim=tuple(range(2, x[0].dim())), keepdim=True)]
        if op == "GlobalMaxPool":
            return [x[0].amax(dim=tuple(range(2, x[0].dim())), keepdim=True)]
        if op == "Add":
            return [x[0] + x[1]]
        if op == "Sub":
            return [x[0] - x[1]]
        if op == "Mul":
            return [x[0] * x[1]]
        if op == "Div":
            return [x[0] / x[1]]
        if op == "Pad":
            mode = at.get("mode", b"constant")
            mode = mode.decode() if isinstance(mode, bytes) else mode
            pads = [int(p) for p in x[1].tolist()]
            value = float(x[2]) if len(x) > 2 and x[2] is not None and x[2].numel() else 0.0
            nd = x[0].dim()
            if len(x) > 3 and x[3] is not None:  # axes
                axes = [int(a) % nd for a in x[3].tolist()]
                full = [0] * (2 * nd)
                for j, a in enumerate(axes):
                    full[a], full[nd + a] = pads[j], pads[len(axes) + j]
                pads = full
            if mode != "constant":
                raise NotImplementedError(f"Pad mode {mode}")
            return [F.pad(x[0], _torch_pads(pads, nd), value=value)]
        if op == "Flatten":
            axis = at.get("axis", 1) % max(x[0].dim(), 1)
            return [x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)]
        if op == "Reshape":
            shape = [int(s) for s in x[1].tolist()]
            if not at.get("allowzero", 0):
                shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            return [x[0].reshape(shape)]
        if op == "Transpose":
            perm = at.get("perm", list(range(x[0].dim()))[::-1])
            return [x[0].permute(*perm)]
        if op == "Concat":
            return [torch.cat(x, dim=at["axis"])]
        if op == "Gemm":
            a = x[0].t() if at.get("transA", 0) else x[0]
            b = x[1].t() if at.get("transB", 0) else x[1]
            y = at.get("alpha", 1.0) * (a @ b)
            if len(x) > 2 and x[2] is not None:
                y = y + at.get("beta", 1.0) * x[2]
            return [y]
        if op == "MatMul":
            return [torch.matmul(x[0], x[1])]
        if op == "Softmax":
            return [torch.softmax(x[0], dim=at.get("axis", -1))]
        if op in ("Dropout", "Identity"):  # inference: the identity (a Dropout mask output is all ones)
            out = [x[0]]
            if len(outs) > 1:
                out.append(torch.ones_like(x[0], dtype=torch.bool))
            return out
        if op == "Unsqueeze":
            y = x[0]
            axes = x[1].tolist() if len(x) > 1 else at["axes"]
            for a in sorted(int(a) % (y.dim() + len(axes)) for a in axes):
                y = y.unsqueeze(a)
            return [y]
        if op == "Squeeze":
            axes = x[1].tolist() if len(x) > 1 and x[1] is not None else at.get("axes")
            return [x[0].squeeze() if axes is None else x[0].squeeze(tuple(int(a) for a in axes))]
        raise NotImplementedError(f"ONNX op {op}")


def _torch_pads(pads, k):
    """ONNX pads [b_0..b_{k-1}, e_0..e_{k-1}] (the last k dims) -> F.pad's (b_last, e_last, b_prev, e_prev, ...)."""
    out = []
    for i in reversed(range(k)):
        out += [pads[i], pads[k + i]]
    return out


# ---------------------------------------------------------------------------------------------------------------

def check_parity(name, net, ort_path, feed_name, x, extra_outputs):
    """Runs the interpreter and onnxruntime on x; prints and returns the max |diff| per output."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(ort_path))
    for out in extra_outputs:
        model.graph.output.append(onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = extra_outputs + net.outputs
    ref = sess.run(names, {feed_name: x})
    import torch
    with torch.no_grad():
        mine = net.run({feed_name: torch.from_numpy(x)}, names)
    worst = 0.0
    for n, r, m in zip(names, ref, mine):
        d = float(np.abs(m.numpy() - r).max())
        worst = max(worst, d)
        print(json.dumps({"check": "onnx_parity", "net": name, "output": n, "shape": list(r.shape),
                          "max_abs": float(np.abs(r).max()), "max_abs_diff": d}), flush=True)
    return worst


def load_photos(args, torch):
    if args.photos:
        from PIL import Image
        files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        if not files:
            sys.exit(f"no *.png / *.jpg in {args.photos}")
        imgs = []
        for p in files:
            img = Image.open(p).convert("RGB")
            if img.size != (64, 64):
                img = img.resize((64, 64), Image.LANCZOS)
            imgs.append(np.asarray(img, np.float32).transpose(2, 0, 1) / 255.0)
        return torch.from_numpy(np.stack(imgs))
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(args.n, 3, 64, 64, generator=gen)
    for _ in range(2):
        x = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    return x.contiguous()


def rss_mb(field="VmRSS"):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=pathlib.Path, default=pathlib.Path("/tmp/mystyle-face-onnx"))
    ap.add_argument("--photos", type=pathlib.Path, help="folder of 64x64 *.png / *.jpg faces (default: random)")
    ap.add_argument("--n", type=int, default=20, help="number of random photos when --photos is not given")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="SplitMix64 seed of the batch order")
    args = ap.parse_args()

    import torch
    F = torch.nn.functional
    torch.set_num_threads(args.threads)

    for f in (AGE_FILE, SFACE_FILE):
        if not (args.models / f).exists():
            sys.exit(f"{args.models / f} not found: run python3 tools/build_face_models.py {args.models}")
    age = OnnxNet(args.models / AGE_FILE)
    sface = OnnxNet(args.models / SFACE_FILE)
    # burn's relu1/3/5/7 (nets::age::Model::features) are the 1st, 3rd, 5th and 7th Relu nodes of the graph.
    relus = [n[2][0] for n in age.nodes if n[0] == "Relu"]
    feature_names = [relus[0], relus[2], relus[4], relus[6]]

    rng = np.random.default_rng(0)
    mean = np.array(AGE_MEAN, np.float32).reshape(1, 3, 1, 1)
    age_x = ((rng.random((1, 3, 64, 64), dtype=np.float32) * 255.0 - mean) / 256.0).astype(np.float32)
    sface_x = (rng.random((1, 3, 112, 112), dtype=np.float32) * 255.0).astype(np.float32)
    worst = {"age": check_parity("age", age, args.models / AGE_FILE, age.inputs[0], age_x, feature_names),
             "sface": check_parity("sface", sface, args.models / SFACE_FILE, sface.inputs[0], sface_x, [])}
    if max(worst.values()) >= PARITY_TOL:
        sys.exit(f"ONNX interpreter differs from onnxruntime: {worst} (tolerance {PARITY_TOL})")

    # The generator, as tools/bench_torch.py loads it; batch norm on its stored statistics, all weights trainable.
    sys.path.insert(0, str(pinned.extracted_package()))
    from gan_face_generate.models import Generator
    net = Generator(0, 3, 100, 64)
    ckpt = torch.load(io.BytesIO(pinned.weights_bytes()), map_location="cpu", weights_only=True)
    net.load_state_dict(ckpt["netG_state_dict"])
    net.eval()
    for p in net.parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, eps=1e-5)  # burn's AdamConfig default

    photos = load_photos(args, torch)
    n = photos.shape[0]
    torch.manual_seed(0)
    anchors = torch.randn(n, 100)

    age_mean = torch.tensor(AGE_MEAN).reshape(1, 3, 1, 1)
    age_in, sface_in = age.inputs[0], sface.inputs[0]
    to_face = template_crop(aligned_template_points(64.0), 112, IDENTITY_CROP)
    grid = torch.from_numpy(warp_grid(to_face, 112, 64, 64))

    def unit_channels(f):
        return f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)

    def features(x):
        return age.run({age_in: (x * 255.0 - age_mean) / 256.0}, feature_names)

    def distance(a, b):
        total = None
        for x, y in zip(features(a), features(b)):
            d = (unit_channels(x) - unit_channels(y)).pow(2).sum(dim=1, keepdim=True).mean(dim=(2, 3)).reshape(-1)
            total = d if total is None else total + d
        return total

    def embeddings(faces):
        crops = F.grid_sample(faces, grid.expand(faces.shape[0], -1, -1, -1), mode="bilinear",
                              padding_mode="border", align_corners=False)
        e = sface.run({sface_in: crops * 255.0})[0]
        return e / e.pow(2).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-6)

    def reconstruction(output, target, with_identity):
        k = output.shape[0]
        mse = (output - target).pow(2).reshape(k, -1).mean(dim=1)
        total = mse + distance(output, target) * WEIGHTS["perceptual"]
        if not with_identity:
            return total
        both = embeddings(torch.cat([output, target], 0))
        ident = 1.0 - (both[:k] * both[k:]).sum(dim=1)
        return total + ident * WEIGHTS["identity"] * IDENTITY_EVERY

    picker = SplitMix64(args.seed)
    batch = max(1, min(BATCH, n))

    step_count = [0]

    def step():
        # As LossWeights::at_step: the identity term on every IDENTITY_EVERY-th step, scaled up to match.
        with_identity = step_count[0] % IDENTITY_EVERY == IDENTITY_EVERY - 1
        step_count[0] += 1
        picks = torch.tensor([min(int(picker.uniform() * n), n - 1) for _ in range(batch)], dtype=torch.long)
        z = anchors.index_select(0, picks)
        target = photos.index_select(0, picks)
        output = (net(z.reshape(batch, 100, 1, 1)) + 1.0) / 2.0
        value = reconstruction(output, target, with_identity).mean()
        current = value.item()
        if math.isfinite(current):
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
        return current

    first_loss = None
    for _ in range(WARMUP):
        loss = step()
        first_loss = loss if first_loss is None else first_loss
    marks = {max(1, round(args.steps * q / 4)): None for q in (1, 2, 3, 4)}
    times = []
    wall_start = time.perf_counter()
    for i in range(1, args.steps + 1):
        start = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - start) * 1e3)
        if i in marks:
            marks[i] = round(rss_mb(), 1)
    wall = time.perf_counter() - wall_start

    impl = f"pytorch {torch.__version__} CPU ({torch.get_num_threads()} threads)"
    ordered = sorted(times)
    median = statistics.median(ordered)
    mean = sum(ordered) / len(ordered)
    print(json.dumps({"impl": impl, "case": "tuning", "batch": batch, "photos": n, "steps": args.steps,
                      "mean_step_ms": round(mean, 2), "median_step_ms": round(median, 2), "max_step_ms": round(ordered[-1], 2),
                      "photos_per_s": round(batch / (mean / 1e3), 2), "wall_s": round(wall, 2),
                      "first_loss": first_loss, "last_loss": loss, "peak_rss_mb": round(rss_mb("VmHWM"), 1)}), flush=True)
    print(json.dumps({"impl": impl, "case": "tuning_rss", "rss_mb_by_step": {str(k): v for k, v in marks.items()}}),
          flush=True)


if __name__ == "__main__":
    main()
