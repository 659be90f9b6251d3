#!/usr/bin/env python3
"""Converts an NVIDIA StyleGAN2 generator pickle to a safetensors file in rosinality's g_ema layout.

Input: a `network-snapshot-*.pkl` of NVlabs/stylegan2-ada-pytorch, or a StyleGAN2 (`--cfg
stylegan2`) pickle of NVlabs/stylegan3: a dict with 'G_ema' (also 'G', 'D', 'augment_pipe',
'training_set_kwargs', ...), pickled with NVIDIA's `torch_utils.persistence`, which stores every
network object as `_reconstruct_persistent_obj(meta)` with meta = dict(type='class', version,
module_src=<source code of training/networks.py>, class_name, state=<the module's __dict__>).
Output: the rosinality g_ema tensors (`style.1.weight`, `input.input`, `conv1.conv.weight`,
`convs.0.conv.blur.kernel`, `to_rgbs.0.upsample.kernel`, `noises.noise_0`, ...) plus
`latent_avg` (NVIDIA's `mapping.w_avg`, shape [w_dim], what rosinality's convert_weight.py
stores and `StyleGan2::latent_avg_from_checkpoint` reads from the same file), all float32.

    /root/sg2venv/bin/python tools/convert_nvidia_stylegan2.py network-snapshot-000000.pkl g_ema.safetensors

NVIDIA's repository is NOT needed and none of its code runs: a custom pickle.Unpickler resolves
`torch_utils.persistence._reconstruct_persistent_obj` to a function that only keeps the meta dict
(the embedded `module_src` is never executed), tensors through torch's own rebuild functions
(storage bytes read with torch.load(weights_only=True)), and every other class of NVIDIA's code
(dnnlib.EasyDict, ...) or unknown global to an inert stub. The captured `_parameters`,
`_buffers` and `_modules` are walked into NVIDIA names (`mapping.fc0.weight`, `mapping.w_avg`,
`synthesis.b4.const`, `synthesis.b4.conv1.affine.weight`, `synthesis.b8.conv0.noise_const`,
`synthesis.b8.torgb.bias`, `synthesis.b8.resample_filter`, ...).

Mapping NVIDIA -> rosinality, and why it is numerically the same generator:
  mapping.fc{i}.weight/bias -> style.{i+1}.weight/bias   (style.0 is rosinality's PixelNorm, the
      same x * rsqrt(mean(x^2) + 1e-8) as NVIDIA's normalize_2nd_moment). Both store the weight
      as randn/lr_mul and apply weight * lr_mul/sqrt(fan_in), bias * lr_mul, lrelu(0.2) * sqrt(2)
      on every layer. The stored gains (FullyConnectedLayer.weight_gain, .bias_gain) are read from
      the pickle and the tensors rescaled to rosinality's fixed lr_mul (0.01 mapping, 1 affine),
      so a non-default mapping lr_multiplier converts exactly (a no-op for the 0.01 default).
  *.affine.weight/bias -> *.conv.modulation.weight/bias  (bias init 1 in both, lr_mul 1).
  SynthesisLayer.weight [O,I,3,3] -> conv.weight [1,O,I,3,3]. NVIDIA applies no fan-in gain before
      demodulation, rosinality scales by 1/sqrt(I*9) first; demodulation cancels it except in the
      1e-8 epsilon (effective eps 1e-8 vs 1e-8*I*9 relative): negligible.
  ToRGBLayer.weight [3,I,1,1] -> conv.weight [1,3,I,1,1]; both modulate with 1/sqrt(I), no
      demodulation. torgb.bias [3] -> to_rgb*.bias [1,3,1,1].
  noise_strength [] -> noise.weight [1]; noise_const [r,r] -> noises.noise_k [1,1,r,r]; noise is
      added after the (up)convolution and blur and before the bias in both.
  SynthesisLayer.bias -> activate.bias (rosinality FusedLeakyReLU: lrelu(x + b, 0.2) * sqrt(2)).
  synthesis.b4.const [C,4,4] -> input.input [1,C,4,4];  mapping.w_avg -> latent_avg.
  Upsampling conv (conv0, up=2): NVIDIA conv2d_resample = stride-2 transposed conv (no flip, no
      padding) then upfirdn2d with resample_filter (outer([1,3,3,1]) / 64), gain 4, pad (1,1);
      rosinality = the same transposed conv then Blur(make_kernel([1,3,3,1]) * 4, pad (1,1)).
      Skip: NVIDIA upsample2d(img, f) = upfirdn2d(up 2, pad (2,1), gain 4); rosinality Upsample,
      the same. So `*.blur.kernel` / `*.upsample.kernel` = 4 * resample_filter (checked to be the
      [1,3,3,1] filter; the Rust loader rebuilds these kernels and ignores `.kernel` tensors).
  Layer order: NVIDIA block b4 {conv1, torgb}, b{r} {conv0 (up), conv1, torgb};
      rosinality conv1/to_rgb1 for 4x4, then for the i-th higher resolution convs.{2i},
      convs.{2i+1}, to_rgbs.{i}; noises.noise_0 (4x4), noise_{2i+1}, noise_{2i+2}. W+ rows are
      the same in both (b4: conv1 0, torgb 1; b{r}: conv0 2i+1, conv1 2i+2, torgb 2i+3).
  The architecture (resolution, channels, style dim, mapping depth) is read from the shapes.

Known differences, not converted (both are in NVIDIA's forward, absent from rosinality's):
  * conv_clamp (256 in the ada/stylegan3 configs): NVIDIA clamps every SynthesisLayer and ToRGB
    output to +-256 after bias/activation. Only extreme activations reach that; normal samples
    are unaffected.
  * num_fp16_res (4 in those configs): NVIDIA runs the 4 highest resolutions in float16 on GPU;
    the converted generator runs float32 everywhere (small numerical differences only).
Refused (exit code 2, naming the file and what is missing): no G_ema (e.g. a discriminator-only
pickle), StyleGAN3 alias-free generators (`synthesis.L0_36_512`, `synthesis.input`), conditional
(label-embedding) generators, z_dim != w_dim, 'orig'/'resnet' synthesis architectures, use_noise
off, non-[1,3,3,1] resample filters, image channels other than 3, or any NVIDIA tensor left
unconverted. Tested by tools/test_convert_nvidia_stylegan2.py (on synthetic pickles; see there).
"""

import argparse
import collections
import importlib
import io
import math
import os
import pickle
import re
import sys

import torch

ROSINALITY_MAPPING_LR = 0.01  # rosinality's lr_mlp, assumed by the Rust loader as well


class Refusal(Exception):
    """The input is not a StyleGAN2 generator this converter can convert faithfully."""


class Captured:
    """A `torch_utils.persistence` object: its meta dict, kept as data (module_src never runs)."""

    def __init__(self, meta):
        meta = dict(meta)
        self.class_name = meta.get("class_name")
        self.version = meta.get("version")
        self.state = dict(meta.get("state") or {})

    def __repr__(self):
        return f"<persistent {self.class_name}>"


class Stub(dict):
    """An inert stand-in for a class of NVIDIA's code (dnnlib.EasyDict, ...) or any unknown global.

    It accepts any constructor arguments, dict items (SETITEMS), list items (APPENDS) and
    state (BUILD), and does nothing else."""

    qualname = "?"

    def __new__(cls, *args, **kwargs):
        return dict.__new__(cls)

    def __init__(self, *args, **kwargs):  # noqa: D401  (do not feed args to dict)
        self.args = args

    def __setstate__(self, state):
        self.state = state

    def append(self, item):
        self.setdefault("__items__", []).append(item)

    def extend(self, items):
        for item in items:
            self.append(item)

    def __repr__(self):
        return f"<stub {self.qualname}>"


_STUBS = {}


def _stub(module, name):
    key = f"{module}.{name}"
    if key not in _STUBS:
        _STUBS[key] = type(name, (Stub,), {"qualname": key})
    return _STUBS[key]


def _capture_persistent(meta):
    return Captured(meta)


def _load_storage_bytes(data):
    """torch.storage._load_from_bytes, restricted to tensor data."""
    return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")


def _numpy_attr(name):
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {name}")


def _safe_globals():
    import numpy as np
    import torch._utils as tu

    safe = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice,
        ("builtins", "complex"): complex,
        ("torch.storage", "_load_from_bytes"): _load_storage_bytes,
        ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
        ("torch", "Size"): torch.Size,
        ("torch", "device"): torch.device,
        ("numpy", "dtype"): np.dtype,
        ("numpy", "ndarray"): np.ndarray,
    }
    for name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter",
                 "_rebuild_parameter_with_state"):
        if hasattr(tu, name):
            safe[("torch._utils", name)] = getattr(tu, name)
    safe[("torch._tensor", "_rebuild_from_type_v2")] = torch._tensor._rebuild_from_type_v2
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        safe[(module, "scalar")] = lambda *a: _numpy_attr("scalar")(*a)
        safe[(module, "_reconstruct")] = lambda *a: _numpy_attr("_reconstruct")(*a)
    return safe


class NvidiaUnpickler(pickle.Unpickler):
    """Unpickles NVIDIA network pickles into Captured/Stub objects and plain tensors."""

    safe = None

    def find_class(self, module, name):
        if (module, name) == ("torch_utils.persistence", "_reconstruct_persistent_obj"):
            return _capture_persistent
        if NvidiaUnpickler.safe is None:
            NvidiaUnpickler.safe = _safe_globals()
        if (module, name) in NvidiaUnpickler.safe:
            return NvidiaUnpickler.safe[(module, name)]
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        if module == "_codecs" and name == "encode":  # bytes pickled by protocol 2 (numpy)
            import _codecs
            return _codecs.encode
        return _stub(module, name)


def module_tree(obj, prefix="", tensors=None, modules=None):
    """Flat {NVIDIA name: tensor} of the parameters and buffers under `obj`, and {path: state}."""
    tensors = {} if tensors is None else tensors
    modules = {} if modules is None else modules
    state = obj.state if isinstance(obj, (Captured, Stub)) else None
    if not isinstance(state, dict):
        return tensors, modules
    modules[prefix.rstrip(".")] = (getattr(obj, "class_name", None) or getattr(obj, "qualname", "?"), state)
    for group in ("_parameters", "_buffers"):
        for name, t in (state.get(group) or {}).items():
            if isinstance(t, torch.Tensor):
                tensors[prefix + name] = t.detach()
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            module_tree(child, f"{prefix}{name}.", tensors, modules)
    return tensors, modules


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def load_generator(path, key):
    """The captured generator object of the pickle at `path` (entry `key` of its dict)."""
    try:
        with open(path, "rb") as f:
            data = NvidiaUnpickler(f).load()
    except OSError:
        raise
    except Exception as e:  # noqa: BLE001  (anything a malformed or foreign pickle raises)
        raise Refusal(f"cannot unpickle it as an NVIDIA network pickle: {e}") from e
    if isinstance(data, Captured):
        if data.class_name != "Generator":
            raise Refusal(f"the pickle holds one {data.class_name} object, not a Generator")
        return data
    if not isinstance(data, dict):
        raise Refusal(f"the pickle holds a {type(data).__name__}, not a dict with '{key}'")
    if key not in data:
        nets = {k: getattr(v, "class_name", type(v).__name__) for k, v in data.items()}
        hint = " (a discriminator-only pickle?)" if "D" in data and "G" not in data else ""
        raise Refusal(f"no '{key}' generator in the pickle{hint}; it has {nets}")
    g = data[key]
    if not isinstance(g, Captured):
        raise Refusal(f"'{key}' is a {type(g).__name__}, not an NVIDIA persistent network object")
    if g.class_name != "Generator":
        raise Refusal(f"'{key}' is a {g.class_name}, not a Generator")
    return g


def convert(g):
    """rosinality g_ema tensors (+ latent_avg) and a summary dict from a captured Generator."""
    src, modules = module_tree(g)
    used = set()

    def take(name):
        if name not in src:
            raise Refusal(f"tensor {name} is missing")
        used.add(name)
        return src[name].to(torch.float32)

    def attr(path, name):
        entry = modules.get(path)
        return entry[1].get(name) if entry else None

    sg3 = sorted(k for k in src if re.match(r"synthesis\.(L\d+_\d+_\d+|input)\.", k))
    if sg3:
        raise Refusal(f"StyleGAN3 (alias-free) layers such as {sg3[0]}: not a StyleGAN2 generator")
    for part in ("mapping", "synthesis"):
        if part not in modules:
            raise Refusal(f"the generator has no '{part}' network (modules: {sorted(modules)[:8]})")
    if any(k.startswith("mapping.embed.") for k in src):
        raise Refusal("conditional generator (mapping.embed, c_dim > 0): rosinality has no label input")

    # Mapping network.
    n_mlp = 0
    while f"mapping.fc{n_mlp}.weight" in src:
        n_mlp += 1
    if n_mlp == 0:
        raise Refusal("tensor mapping.fc0.weight is missing")
    style_dim = src["mapping.fc0.weight"].shape[0]
    out = {}
    mapping_lr = None

    def linear(dst, prefix, lr_rosinality, activation):
        """FullyConnectedLayer -> EqualLinear with the effective weights preserved exactly."""
        weight, bias = take(f"{prefix}.weight"), take(f"{prefix}.bias")
        fan_in = weight.shape[1]
        act = attr(prefix, "activation")
        if isinstance(act, str) and act != activation:
            raise Refusal(f"{prefix} has activation {act!r}, rosinality uses {activation!r}")
        weight_gain = _number(attr(prefix, "weight_gain"))
        bias_gain = _number(attr(prefix, "bias_gain"))
        if weight_gain is None or bias_gain is None:  # gains not readable: from the init kwargs
            lr = None
            for path in (prefix, prefix.rsplit(".", 1)[0]):  # the layer's, else its network's
                kwargs = attr(path, "_init_kwargs")
                if lr is None and isinstance(kwargs, dict):
                    lr = _number(kwargs.get("lr_multiplier"))
            lr = lr if lr is not None else lr_rosinality  # NVIDIA's defaults equal rosinality's
            weight_gain, bias_gain = lr / math.sqrt(fan_in), lr
        out[f"{dst}.weight"] = weight * (weight_gain / (lr_rosinality / math.sqrt(fan_in)))
        out[f"{dst}.bias"] = bias * (bias_gain / lr_rosinality)
        return bias_gain

    for i in range(n_mlp):
        shape = tuple(src[f"mapping.fc{i}.weight"].shape)
        if shape != (style_dim, style_dim):
            raise Refusal(f"mapping.fc{i}.weight has shape {list(shape)}; rosinality needs "
                          f"[{style_dim}, {style_dim}] (z_dim = w_dim = layer_features)")
        mapping_lr = linear(f"style.{i + 1}", f"mapping.fc{i}", ROSINALITY_MAPPING_LR, "lrelu")

    # Synthesis blocks.
    resolutions = sorted(int(m.group(1)) for m in (re.match(r"synthesis\.b(\d+)$", p) for p in modules) if m)
    expected = [4 << i for i in range(len(resolutions))]
    if not resolutions or resolutions != expected:
        raise Refusal(f"synthesis blocks b{resolutions} are not b4, b8, ..., consecutive powers of two")
    arch = attr("synthesis.b4", "architecture")
    if isinstance(arch, str) and arch != "skip":
        raise Refusal(f"synthesis architecture {arch!r}: rosinality's generator is 'skip'")
    fir = torch.tensor([1.0, 3.0, 3.0, 1.0])
    fir = torch.outer(fir, fir) / 64.0

    def resample_kernel(name):
        f = take(name)
        if f.shape != (4, 4) or not torch.allclose(f, fir, atol=1e-6):
            raise Refusal(f"{name} is not the [1,3,3,1] filter rosinality uses")
        return (4.0 * f).contiguous()

    out["input.input"] = take("synthesis.b4.const").unsqueeze(0)
    channels = [out["input.input"].shape[1]]
    conv_clamp, fp16 = set(), []
    noise_index = 0

    def styled(dst, prefix, up):
        nonlocal noise_index
        weight = take(f"{prefix}.weight")
        if weight.dim() != 4 or weight.shape[2:] != (3, 3):
            raise Refusal(f"{prefix}.weight has shape {list(weight.shape)}, expected [O, I, 3, 3]")
        act = attr(prefix, "activation")
        if isinstance(act, str) and act != "lrelu":
            raise Refusal(f"{prefix} has activation {act!r}, rosinality uses 'lrelu'")
        conv_clamp.add(attr(prefix, "conv_clamp"))
        out[f"{dst}.conv.weight"] = weight.unsqueeze(0)
        linear(f"{dst}.conv.modulation", f"{prefix}.affine", 1.0, "linear")
        if f"{prefix}.noise_const" not in src:
            raise Refusal(f"tensor {prefix}.noise_const is missing (use_noise=False is not supported)")
        noise = take(f"{prefix}.noise_const")
        out[f"noises.noise_{noise_index}"] = noise.reshape(1, 1, *noise.shape)
        noise_index += 1
        out[f"{dst}.noise.weight"] = take(f"{prefix}.noise_strength").reshape(1)
        out[f"{dst}.activate.bias"] = take(f"{prefix}.bias")
        layer_filter = resample_kernel(f"{prefix}.resample_filter")
        if up:
            out[f"{dst}.conv.blur.kernel"] = layer_filter

    def to_rgb(dst, prefix, block):
        if f"{prefix}.weight" not in src:
            raise Refusal(f"tensor {prefix}.weight is missing: rosinality needs a ToRGB at every "
                          f"resolution (architecture 'skip')")
        weight = take(f"{prefix}.weight")
        if weight.dim() != 4 or weight.shape[0] != 3 or weight.shape[2:] != (1, 1):
            raise Refusal(f"{prefix}.weight has shape {list(weight.shape)}, expected [3, C, 1, 1] (RGB)")
        gain = _number(attr(prefix, "weight_gain"))
        fan_in = weight.shape[1]
        scale = 1.0 if gain is None else gain * math.sqrt(fan_in)
        conv_clamp.add(attr(prefix, "conv_clamp"))
        out[f"{dst}.conv.weight"] = weight.unsqueeze(0) * scale
        linear(f"{dst}.conv.modulation", f"{prefix}.affine", 1.0, "linear")
        out[f"{dst}.bias"] = take(f"{prefix}.bias").reshape(1, 3, 1, 1)
        if block != "synthesis.b4":
            out[f"{dst}.upsample.kernel"] = resample_kernel(f"{block}.resample_filter")

    for i, res in enumerate(resolutions):
        block = f"synthesis.b{res}"
        if any(k.startswith(f"{block}.skip.") for k in src):
            raise Refusal(f"{block}.skip: 'resnet' synthesis architecture, rosinality's is 'skip'")
        if attr(block, "use_fp16") is True:
            fp16.append(res)
        if res == 4:
            styled("conv1", f"{block}.conv1", up=False)
            to_rgb("to_rgb1", f"{block}.torgb", block)
            if f"{block}.resample_filter" in src:
                resample_kernel(f"{block}.resample_filter")
            continue
        styled(f"convs.{2 * i - 2}", f"{block}.conv0", up=True)
        styled(f"convs.{2 * i - 1}", f"{block}.conv1", up=False)
        to_rgb(f"to_rgbs.{i - 1}", f"{block}.torgb", block)
        channels.append(out[f"convs.{2 * i - 1}.conv.weight"].shape[1])
    for name in out:
        if name.endswith("modulation.weight") and out[name].shape[1] != style_dim:
            raise Refusal(f"{name} has input size {out[name].shape[1]}, but w has {style_dim}")

    if "mapping.w_avg" in src:
        out["latent_avg"] = take("mapping.w_avg").reshape(-1)
    unused = sorted(set(src) - used)
    if unused:
        raise Refusal(f"{len(unused)} NVIDIA tensors have no rosinality counterpart: {unused[:6]}")
    out = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in out.items()}
    clamps = sorted({c for c in conv_clamp if c is not None})
    summary = dict(resolution=resolutions[-1], style_dim=style_dim, n_mlp=n_mlp, channels=channels,
                   mapping_lr_multiplier=mapping_lr, conv_clamp=clamps or None, fp16_resolutions=fp16,
                   latent_avg="latent_avg" in out)
    return out, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", help="NVIDIA network pickle (network-snapshot-*.pkl)")
    parser.add_argument("output", help="safetensors file to write (rosinality g_ema keys + latent_avg)")
    parser.add_argument("--key", default="G_ema", help="generator entry of the pickle's dict (default G_ema)")
    args = parser.parse_args(argv)
    try:
        g = load_generator(args.input, args.key)
        tensors, summary = convert(g)
    except Refusal as e:
        print(f"convert_nvidia_stylegan2: {args.input}: not convertible as a StyleGAN2 generator: {e}",
              file=sys.stderr)
        return 2
    from safetensors.torch import save_file

    metadata = {k: str(v) for k, v in summary.items()}
    metadata.update(source=os.path.basename(args.input), converter="tools/convert_nvidia_stylegan2.py")
    save_file(tensors, args.output, metadata=metadata)
    print(f"{args.input} -> {args.output}: {len(tensors)} tensors; {summary}")
    if summary["conv_clamp"]:
        print(f"note: NVIDIA clamps conv outputs to +-{summary['conv_clamp'][0]}; the converted generator does not")
    return 0


if __name__ == "__main__":
    sys.exit(main())
