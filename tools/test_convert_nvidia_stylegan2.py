#!/usr/bin/env python3
"""Tests tools/convert_nvidia_stylegan2.py on synthetic NVIDIA-style pickles.

    /root/sg2venv/bin/python tools/test_convert_nvidia_stylegan2.py      # exit 0 = all checks pass

No real NVIDIA pickle can be downloaded here, so one is built faithfully:
  * In a temp dir, stand-in packages `torch_utils.persistence` (the persistent_class decorator
    whose __reduce__ emits `_reconstruct_persistent_obj(meta)` with meta = dict(type='class',
    version=6, module_src, class_name, state=<module __dict__>), as in NVIDIA's), `dnnlib.util`
    (EasyDict, used for the *_kwargs) and `training.networks`: FullyConnectedLayer,
    MappingNetwork, SynthesisLayer, ToRGBLayer, SynthesisBlock, SynthesisNetwork, Generator (and
    a small Discriminator) with NVIDIA stylegan2-ada-pytorch's constructor arguments, attribute,
    parameter and buffer names, shapes and initialisation, and forward passes re-implemented
    from NVIDIA's algorithm in plain torch (normalize_2nd_moment, FullyConnectedLayer gains,
    fused modulated_conv2d with demodulation, conv2d_resample's transposed-conv + upfirdn2d
    path, upsample2d, bias_act with gain and clamp, const noise, W+ splitting per block).
    Config: 64 px, z = w = 64, 3 mapping layers (lr 0.01), channel_base 1024, channel_max 32
    (32,32,32,32,16 channels), conv_clamp 256, 'skip', fp32. Biases, noise strengths and w_avg
    are randomized so they matter. A `training.networks_stylegan3` stand-in gives a StyleGAN3
    pickle (`synthesis.input`, `synthesis.L0_36_512`) for the refusal check.
  * A subprocess with those packages on its path builds the networks, pickles them with plain
    pickle.dump like NVIDIA's training loop (dict G, D, G_ema, augment_pipe,
    training_set_kwargs), checks that NVIDIA's mechanism (exec module_src, rebuild) unpickles it
    to the same outputs, and saves reference outputs of the stand-in forward passes.
  * The stand-in packages are then DELETED and the converter runs in a fresh `python -I`
    process: it cannot import them, and executing the pickled module_src would fail on
    `from torch_utils import persistence`, so a success shows it needs neither.

Verified here:
  * every rosinality g_ema key of the 64 px generator (as tools/build_stylegan2_fixture.py names
    stylegan2-torch's tensors, kernels and noises included) is produced with the right shape,
    nothing else except `latent_avg`; FIR kernels equal stylegan2-torch's;
  * loaded into stylegan2-torch 1.3.0 (fixture patches, reverse renaming), the converted
    weights reproduce the stand-in NVIDIA forward: mapping output (1e-4), the 4x4 block's
    first SynthesisLayer output with const noise (1e-4), and the whole 64 px image from a W+
    with a different w per layer and NVIDIA's const noise (1e-4 relative to the image range),
    which covers layer order, W+ and noise indexing, upsampling conv, ToRGB and skip upsampling;
  * latent_avg == mapping.w_avg; a mapping lr_multiplier of 0.05 is rescaled exactly;
  * exit code 2 with the file named for a discriminator-only pickle, a StyleGAN3 pickle and a
    file that is not a pickle.
Not verified: real NVIDIA pickles (their bytes, torch 1.x storage format inside
_load_from_bytes, FFHQ weights), NVIDIA's own code (CUDA ops, fp16 blocks, non-fused modconv,
random noise); conv_clamp (the random weights never reach +-256); the Rust loader itself (not
run here: the key/shape layout is checked against the fixture layout that the Rust tests load).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import torch

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import build_stylegan2_fixture as fixture  # noqa: E402

CONVERTER = TOOLS / "convert_nvidia_stylegan2.py"
STYLE_DIM = 64
N_MLP = 3
CHANNELS = {4: 32, 8: 32, 16: 32, 32: 32, 64: 16}  # min(1024 // res, 32)
RESOLUTION = 64

FAKE_PERSISTENCE = '''
"""Stand-in for NVIDIA's torch_utils/persistence.py: pickles the same way."""
import copy
import inspect
import sys
import types
import uuid

import dnnlib

_version = 6
_decorators = set()
_module_to_src_dict = {}
_src_to_module_dict = {}


def persistent_class(orig_class):
    if orig_class in _decorators:
        return orig_class
    orig_module = sys.modules[orig_class.__module__]
    orig_module_src = _module_to_src_dict.get(orig_module) or inspect.getsource(orig_module)

    class Decorator(orig_class):
        _orig_module_src = orig_module_src
        _orig_class_name = orig_class.__name__

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._init_args = copy.deepcopy(args)
            self._init_kwargs = copy.deepcopy(kwargs)

        @property
        def init_kwargs(self):
            return dnnlib.EasyDict(copy.deepcopy(self._init_kwargs))

        def __reduce__(self):
            fields = list(super().__reduce__())
            fields += [None] * max(3 - len(fields), 0)
            if fields[0] is not _reconstruct_persistent_obj:
                meta = dict(type="class", version=_version, module_src=self._orig_module_src,
                            class_name=self._orig_class_name, state=fields[2])
                fields[0] = _reconstruct_persistent_obj
                fields[1] = (meta,)
                fields[2] = None
            return tuple(fields)

    Decorator.__name__ = orig_class.__name__
    _decorators.add(Decorator)
    return Decorator


def _reconstruct_persistent_obj(meta):
    meta = dnnlib.EasyDict(meta)
    meta.state = dnnlib.EasyDict(meta.state)
    assert meta.version == _version and meta.type == "class"
    module = _src_to_module_dict.get(meta.module_src)
    if module is None:
        module = types.ModuleType("_imported_module_" + uuid.uuid4().hex)
        sys.modules[module.__name__] = module
        _module_to_src_dict[module] = meta.module_src
        _src_to_module_dict[meta.module_src] = module
        exec(meta.module_src, module.__dict__)
    cls = persistent_class(module.__dict__[meta.class_name])
    obj = cls.__new__(cls)
    setstate = getattr(obj, "__setstate__", None)
    if callable(setstate):
        setstate(meta.state)
    else:
        obj.__dict__.update(meta.state)
    return obj
'''

FAKE_DNNLIB_UTIL = '''
class EasyDict(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        del self[name]
'''

# NVIDIA stylegan2-ada-pytorch training/networks.py, re-implemented (names, shapes, algorithm).
FAKE_NETWORKS = '''
import numpy as np
import torch
import torch.nn.functional as F

from torch_utils import persistence


def normalize_2nd_moment(x, dim=1, eps=1e-8):
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def setup_filter(f):
    f = torch.as_tensor(f, dtype=torch.float32)
    f = f.ger(f)  # 4 taps: not separable (NVIDIA: separable only from 8 taps)
    return f / f.sum()


def upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), flip_filter=False, gain=1):
    batch_size, num_channels, in_height, in_width = x.shape
    padx0, padx1, pady0, pady1 = padding
    x = x.reshape([batch_size, num_channels, in_height, 1, in_width, 1])
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
    x = x.reshape([batch_size, num_channels, in_height * up, in_width * up])
    x = F.pad(x, [max(padx0, 0), max(padx1, 0), max(pady0, 0), max(pady1, 0)])
    x = x[:, :, max(-pady0, 0):x.shape[2] - max(-pady1, 0), max(-padx0, 0):x.shape[3] - max(-padx1, 0)]
    f = f * (gain ** (f.ndim / 2))
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f[np.newaxis, np.newaxis].repeat([num_channels, 1] + [1] * f.ndim)
    x = F.conv2d(input=x, weight=f, groups=num_channels)
    return x[:, :, ::down, ::down]


def upsample2d(x, f, up=2):
    fw = f.shape[-1]
    p = [(fw + up - 1) // 2, (fw - up) // 2, (fw + up - 1) // 2, (fw - up) // 2]
    return upfirdn2d(x, f, up=up, padding=p, gain=up * up)


def _conv2d_wrapper(x, w, stride=1, padding=0, groups=1, transpose=False, flip_weight=True):
    if not flip_weight:
        w = w.flip([2, 3])
    op = F.conv_transpose2d if transpose else F.conv2d
    return op(x, w, stride=stride, padding=padding, groups=groups)


def conv2d_resample(x, w, f=None, up=1, padding=0, groups=1, flip_weight=True):
    out_channels, in_channels_per_group, kh, kw = w.shape
    fw = fh = f.shape[-1] if f is not None else 1
    px0 = px1 = py0 = py1 = padding
    if up > 1:
        px0 += (fw + up - 1) // 2
        px1 += (fw - up) // 2
        py0 += (fh + up - 1) // 2
        py1 += (fh - up) // 2
    if up > 1:
        if groups == 1:
            w = w.transpose(0, 1)
        else:
            w = w.reshape(groups, out_channels // groups, in_channels_per_group, kh, kw)
            w = w.transpose(1, 2)
            w = w.reshape(groups * in_channels_per_group, out_channels // groups, kh, kw)
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        x = _conv2d_wrapper(x, w, stride=up, padding=[pyt, pxt], groups=groups, transpose=True,
                            flip_weight=(not flip_weight))
        return upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up ** 2)
    assert px0 == px1 == py0 == py1 >= 0
    return _conv2d_wrapper(x, w, padding=[py0, px0], groups=groups, flip_weight=flip_weight)


ACT = {"linear": (lambda x: x, 1.0), "lrelu": (lambda x: F.leaky_relu(x, 0.2), np.sqrt(2))}


def bias_act(x, b=None, act="linear", gain=None, clamp=None):
    fn, def_gain = ACT[act]
    gain = float(def_gain if gain is None else gain)
    if b is not None:
        x = x + b.reshape([-1 if i == 1 else 1 for i in range(x.ndim)])
    x = fn(x)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def modulated_conv2d(x, weight, styles, noise=None, up=1, padding=0, resample_filter=None,
                     demodulate=True, flip_weight=True):
    """The fused_modconv=True path (NVIDIA's default for inference in fp32)."""
    batch_size = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    w = weight.unsqueeze(0) * styles.reshape(batch_size, 1, -1, 1, 1)
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        w = w * dcoefs.reshape(batch_size, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, in_channels, kh, kw)
    x = conv2d_resample(x, w, f=resample_filter, up=up, padding=padding, groups=batch_size,
                        flip_weight=flip_weight)
    x = x.reshape(batch_size, -1, *x.shape[2:])
    if noise is not None:
        x = x.add_(noise)
    return x


@persistence.persistent_class
class FullyConnectedLayer(torch.nn.Module):
    def __init__(self, in_features, out_features, bias=True, activation="linear", lr_multiplier=1, bias_init=0):
        super().__init__()
        self.activation = activation
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([out_features], np.float32(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


@persistence.persistent_class
class MappingNetwork(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=8, activation="lrelu",
                 lr_multiplier=0.01, w_avg_beta=0.995):
        super().__init__()
        assert c_dim == 0
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        features = [z_dim] + [w_dim] * num_layers
        for idx in range(num_layers):
            setattr(self, f"fc{idx}", FullyConnectedLayer(features[idx], features[idx + 1],
                    activation=activation, lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z, c=None):
        x = normalize_2nd_moment(z.to(torch.float32))
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        return x.unsqueeze(1).repeat([1, self.num_ws, 1])


@persistence.persistent_class
class SynthesisLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, kernel_size=3, up=1, use_noise=True,
                 activation="lrelu", resample_filter=[1, 3, 3, 1], conv_clamp=None, channels_last=False):
        super().__init__()
        self.resolution, self.up, self.use_noise = resolution, up, use_noise
        self.activation, self.conv_clamp = activation, conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.act_gain = ACT[activation][1]
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x, w, noise_mode="const", gain=1):
        styles = self.affine(w)
        noise = self.noise_const * self.noise_strength if noise_mode == "const" else None
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, flip_weight=(self.up == 1))
        act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=act_clamp)


@persistence.persistent_class
class ToRGBLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, kernel_size=1, conv_clamp=None, channels_last=False):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / np.sqrt(in_channels * (kernel_size ** 2))

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


@persistence.persistent_class
class SynthesisBlock(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, is_last,
                 architecture="skip", resample_filter=[1, 3, 3, 1], conv_clamp=None, use_fp16=False,
                 fp16_channels_last=False, **layer_kwargs):
        super().__init__()
        assert architecture == "skip"
        self.in_channels, self.w_dim, self.resolution = in_channels, w_dim, resolution
        self.img_channels, self.is_last, self.architecture = img_channels, is_last, architecture
        self.use_fp16, self.channels_last = use_fp16, False
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        if in_channels != 0:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim=w_dim, resolution=resolution, up=2,
                                        resample_filter=resample_filter, conv_clamp=conv_clamp, **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim=w_dim, resolution=resolution,
                                    conv_clamp=conv_clamp, **layer_kwargs)
        self.num_conv += 1
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
        self.num_torgb += 1

    def forward(self, x, img, ws, **layer_kwargs):
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), **layer_kwargs)
        else:
            x = self.conv0(x, next(w_iter), **layer_kwargs)
            x = self.conv1(x, next(w_iter), **layer_kwargs)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, next(w_iter))
        img = img.add_(y) if img is not None else y
        return x, img


@persistence.persistent_class
class SynthesisNetwork(torch.nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512,
                 num_fp16_res=0, **block_kwargs):
        super().__init__()
        self.w_dim, self.img_resolution = w_dim, img_resolution
        self.img_resolution_log2 = int(np.log2(img_resolution))
        self.img_channels = img_channels
        self.block_resolutions = [2 ** i for i in range(2, self.img_resolution_log2 + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            in_channels = channels[res // 2] if res > 4 else 0
            is_last = res == self.img_resolution
            block = SynthesisBlock(in_channels, channels[res], w_dim=w_dim, resolution=res,
                                   img_channels=img_channels, is_last=is_last,
                                   use_fp16=(res >= fp16_resolution), **block_kwargs)
            self.num_ws += block.num_conv
            if is_last:
                self.num_ws += block.num_torgb
            setattr(self, f"b{res}", block)

    def forward(self, ws, **block_kwargs):
        block_ws, w_idx = [], 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            block_ws.append(ws.narrow(1, w_idx, block.num_conv + block.num_torgb))
            w_idx += block.num_conv
        x = img = None
        for res, cur_ws in zip(self.block_resolutions, block_ws):
            x, img = getattr(self, f"b{res}")(x, img, cur_ws, **block_kwargs)
        return img


@persistence.persistent_class
class Generator(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs={}, synthesis_kwargs={}):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim=w_dim, img_resolution=img_resolution,
                                          img_channels=img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws, **mapping_kwargs)

    def forward(self, z, c, **synthesis_kwargs):
        return self.synthesis(self.mapping(z, c), **synthesis_kwargs)


@persistence.persistent_class
class Conv2dLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias=True, activation="linear",
                 resample_filter=[1, 3, 3, 1], conv_clamp=None):
        super().__init__()
        self.activation, self.conv_clamp = activation, conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels])) if bias else None


@persistence.persistent_class
class Discriminator(torch.nn.Module):
    def __init__(self, c_dim, img_resolution, img_channels):
        super().__init__()
        self.img_resolution = img_resolution
        self.b64 = Conv2dLayer(img_channels, 16, kernel_size=1, activation="lrelu")
        self.b32 = Conv2dLayer(16, 32, kernel_size=3, activation="lrelu")
'''

# Enough of NVIDIA stylegan3's training/networks_stylegan3.py for its names.
FAKE_NETWORKS_SG3 = '''
import numpy as np
import torch

from torch_utils import persistence
from training.networks import FullyConnectedLayer, MappingNetwork


@persistence.persistent_class
class SynthesisInput(torch.nn.Module):
    def __init__(self, w_dim, channels, size, sampling_rate, bandwidth):
        super().__init__()
        self.affine = FullyConnectedLayer(w_dim, 4, bias_init=0)
        self.weight = torch.nn.Parameter(torch.randn([channels, channels]))
        self.register_buffer("transform", torch.eye(3, 3))
        self.register_buffer("freqs", torch.randn([channels, 2]))
        self.register_buffer("phases", torch.rand([channels]) - 0.5)


@persistence.persistent_class
class SynthesisLayer(torch.nn.Module):
    def __init__(self, w_dim, in_channels, out_channels):
        super().__init__()
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))


@persistence.persistent_class
class SynthesisNetwork(torch.nn.Module):
    def __init__(self, w_dim, channels=16):
        super().__init__()
        self.input = SynthesisInput(w_dim, channels, 36, 16, 2)
        self.L0_36_512 = SynthesisLayer(w_dim, channels, channels)


@persistence.persistent_class
class Generator(torch.nn.Module):
    def __init__(self, z_dim, w_dim):
        super().__init__()
        self.synthesis = SynthesisNetwork(w_dim)
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=0, w_dim=w_dim, num_ws=2, num_layers=2)
'''

BUILD = '''
import copy
import pickle
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

import dnnlib
from training import networks, networks_stylegan3

out = Path(sys.argv[1])
torch.manual_seed(20261205)


def generator(lr):
    g = networks.Generator(z_dim=64, c_dim=0, w_dim=64, img_resolution=64, img_channels=3,
                           mapping_kwargs=dnnlib.EasyDict(num_layers=3, lr_multiplier=lr),
                           synthesis_kwargs=dnnlib.EasyDict(channel_base=1024, channel_max=32, num_fp16_res=0,
                                                            conv_clamp=256, architecture="skip"))
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith("noise_strength"):
                p.copy_(0.3 * torch.randn_like(p))
            elif name.endswith("affine.bias"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.startswith("mapping.") and name.endswith("bias"):
                p.copy_(0.2 / lr * torch.randn_like(p))  # stored bias / lr_multiplier, as trained
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
        g.mapping.w_avg.copy_(torch.randn_like(g.mapping.w_avg))
    return g.eval().requires_grad_(False)


def references(g):
    z = torch.randn(2, 64)
    ws = g.mapping(torch.randn(2 * g.num_ws, 64))[:, 0].reshape(2, g.num_ws, 64)
    x4 = g.synthesis.b4.const.unsqueeze(0).repeat(2, 1, 1, 1)
    return {
        "z": z,
        "mapping_out": g.mapping(z)[:, 0],
        "ws": ws,
        "b4_conv1_out": g.synthesis.b4.conv1(x4, ws[:, 0], noise_mode="const"),
        "image": g.synthesis(ws, noise_mode="const"),
        "w_avg": g.mapping.w_avg,
    }


g_ema = generator(0.01)
d = networks.Discriminator(c_dim=0, img_resolution=64, img_channels=3)
snapshot = dict(G=copy.deepcopy(g_ema), D=d, G_ema=g_ema, augment_pipe=None,
                training_set_kwargs=dnnlib.EasyDict(path="ffhq64.zip", resolution=64, use_labels=False))
ref = references(g_ema)
data = pickle.dumps(snapshot)
(out / "network-snapshot-000000.pkl").write_bytes(data)
save_file({k: v.contiguous() for k, v in ref.items()}, str(out / "reference.safetensors"))

# The pickle is a faithful persistence pickle: NVIDIA's mechanism (exec module_src) rebuilds it.
back = pickle.loads(data)["G_ema"]
orig_class = type(back).__mro__[1]  # the class under persistence's Decorator
assert orig_class.__module__.startswith("_imported_module_"), orig_class.__module__
assert torch.equal(back.synthesis(ref["ws"], noise_mode="const"), ref["image"])
assert torch.equal(back.mapping(ref["z"])[:, 0], ref["mapping_out"])

g_lr = generator(0.05)
(out / "lr005.pkl").write_bytes(pickle.dumps(dict(G_ema=g_lr, D=d)))
save_file({"z": ref["z"], "mapping_out": g_lr.mapping(ref["z"])[:, 0].contiguous()}, str(out / "lr005_reference.safetensors"))
(out / "d_only.pkl").write_bytes(pickle.dumps(dict(D=d, training_set_kwargs=snapshot["training_set_kwargs"])))
(out / "stylegan3.pkl").write_bytes(pickle.dumps(dict(G_ema=networks_stylegan3.Generator(z_dim=64, w_dim=64), D=d)))
print("built", sorted(p.name for p in out.iterdir()))
'''


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


def write_stand_ins(fake):
    """Writes the stand-in packages torch_utils, dnnlib and training under `fake` (a PYTHONPATH
    root). Also used by tools/build_nvidia_fixture.py."""
    write(fake, "torch_utils/__init__.py", "")
    write(fake, "torch_utils/persistence.py", FAKE_PERSISTENCE)
    write(fake, "dnnlib/__init__.py", "from .util import EasyDict\n")
    write(fake, "dnnlib/util.py", FAKE_DNNLIB_UTIL)
    write(fake, "training/__init__.py", "")
    write(fake, "training/networks.py", FAKE_NETWORKS)
    write(fake, "training/networks_stylegan3.py", FAKE_NETWORKS_SG3)


def run_converter(src, dst, cwd):
    proc = subprocess.run([sys.executable, "-I", str(CONVERTER), str(src), str(dst)], cwd=cwd,
                          capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")})
    return proc


FAILURES = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        FAILURES.append(what)


def close(name, got, want, tol):
    diff = (got - want).abs().max().item()
    check(diff <= tol, f"{name}: max |diff| {diff:.2e} <= {tol:.1e} (|ref| max {want.abs().max().item():.2f})")


def package_generator(Generator):
    g = Generator(RESOLUTION, latent_dim=STYLE_DIM, n_mlp=N_MLP, channels=CHANNELS)
    fixture.three_channel_to_rgb(g)
    return g.eval()


def load_converted(Generator, tensors):
    g = package_generator(Generator)
    keys = fixture.rosinality_key_map(g)
    g.load_state_dict({pkg: tensors[ros] for ros, pkg in keys.items()}, strict=True)
    noises = [tensors[f"noises.noise_{i}"] for i in range(len(fixture.rosinality_noise_shapes(RESOLUTION)))]
    return g, noises


def main():
    from safetensors.torch import load_file

    Generator = fixture.import_package()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fake, work = tmp / "fake", tmp / "work"
        work.mkdir()
        write_stand_ins(fake)
        write(fake, "build.py", BUILD)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(fake)}
        proc = subprocess.run([sys.executable, str(fake / "build.py"), str(work)], cwd=fake, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr)
            raise SystemExit("building the synthetic NVIDIA pickles failed")
        print(proc.stdout.strip())
        check(b"torch_utils.persistence" in (work / "network-snapshot-000000.pkl").read_bytes()
              and b"_reconstruct_persistent_obj" in (work / "network-snapshot-000000.pkl").read_bytes(),
              "the pickle calls torch_utils.persistence._reconstruct_persistent_obj")
        shutil.rmtree(fake)  # the converter runs without any of NVIDIA's (stand-in) code

        # 1. Conversion and key layout.
        out = work / "g_ema.safetensors"
        proc = run_converter(work / "network-snapshot-000000.pkl", out, work)
        print(proc.stdout.strip(), proc.stderr.strip())
        check(proc.returncode == 0, f"converter exit code {proc.returncode} == 0")
        if proc.returncode != 0:
            raise SystemExit(1)
        tensors = load_file(str(out))
        ref = load_file(str(work / "reference.safetensors"))
        layout = fixture.rosinality_state_dict(package_generator(Generator),
                                               [torch.zeros(s) for s in fixture.rosinality_noise_shapes(RESOLUTION)])
        missing = sorted(set(layout) - set(tensors))
        extra = sorted(set(tensors) - set(layout))
        check(not missing, f"every rosinality key present ({len(layout)}; missing {missing[:5]})")
        check(extra == ["latent_avg"], f"only latent_avg besides them (extra {extra[:5]})")
        wrong = [k for k in layout if k in tensors and tuple(tensors[k].shape) != tuple(layout[k].shape)]
        check(not wrong, f"every shape as rosinality's ({wrong[:5]})")
        kernels = [k for k in layout if k.endswith(".kernel")]
        check(all(torch.equal(tensors[k], layout[k]) for k in kernels), f"{len(kernels)} FIR kernels equal stylegan2-torch's")
        check(all(v.dtype == torch.float32 for v in tensors.values()), "all float32")
        check(tuple(tensors["style.1.weight"].shape) == (STYLE_DIM, STYLE_DIM)
              and tuple(tensors["to_rgbs.3.conv.weight"].shape) == (1, 3, 16, 1, 1),
              "Rust infer_config inputs: style.1.weight [64,64], to_rgbs.3.conv.weight [1,3,16,1,1]")

        # 2. Numerics against the stand-in NVIDIA forward.
        g, noises = load_converted(Generator, tensors)
        with torch.no_grad():
            close("mapping output", g.mapping(ref["z"]), ref["mapping_out"], 1e-4)
            ws = ref["ws"]
            close("b4.conv1 (rosinality conv1) output", g.convs[0](g.input(ws), ws[:, 0], noises[0]),
                  ref["b4_conv1_out"], 1e-4)
            image = g([ws], input_type="w_plus", noises=noises)
            close("64 px image from W+ (per-layer w, const noise)", image, ref["image"],
                  1e-4 * max(1.0, ref["image"].abs().max().item()))
        check(torch.equal(tensors["latent_avg"], ref["w_avg"]), "latent_avg == mapping.w_avg")

        # 3. A non-default mapping lr_multiplier is rescaled to rosinality's 0.01.
        proc = run_converter(work / "lr005.pkl", work / "lr005.safetensors", work)
        check(proc.returncode == 0, f"lr 0.05 pickle converts (exit {proc.returncode}) {proc.stderr.strip()[-200:]}")
        if proc.returncode == 0:
            g2, _ = load_converted(Generator, load_file(str(work / "lr005.safetensors")))
            ref2 = load_file(str(work / "lr005_reference.safetensors"))
            with torch.no_grad():
                close("mapping output, lr_multiplier 0.05", g2.mapping(ref2["z"]), ref2["mapping_out"], 1e-4)

        # 4. Refusals.
        (work / "not_a_pickle.pkl").write_bytes(out.read_bytes())
        for name, needle in (("d_only.pkl", "G_ema"), ("stylegan3.pkl", "L0_36_512"), ("not_a_pickle.pkl", "unpickle")):
            proc = run_converter(work / name, work / "refused.safetensors", work)
            msg = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
            check(proc.returncode == 2 and name in msg and needle in msg and not (work / "refused.safetensors").exists(),
                  f"{name}: exit {proc.returncode} == 2, message names file and {needle!r}: {msg}")

    print(f"{'FAILED: ' + str(len(FAILURES)) if FAILURES else 'all checks passed'}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
