#!/usr/bin/env python3
"""Builds the StyleGAN2 golden fixtures under tests/fixtures/stylegan2/.

Reference implementation: the PyPI package `stylegan2-torch==1.3.0` (an independent, typed port
of rosinality's stylegan2-pytorch). Set up with

    python3 -m venv venv && venv/bin/pip install stylegan2-torch==1.3.0 torch safetensors numpy
    venv/bin/python tools/build_stylegan2_fixture.py

Two deviations of the package from rosinality's model.py are patched here, and only these:
  * Its custom ops compile CUDA kernels when imported (torch.utils.cpp_extension.load), which a
    machine without nvcc cannot do. The compile step is stubbed out; the package's own CPU path
    of fused_leaky_relu runs as is, and its upfirdn2d Function gets rosinality's plain-torch
    `upfirdn2d_native` as its kernel.
  * Its ToRGB has ONE output channel (it was written for grayscale X-rays); rosinality's has 3.
    The ToRGB weight and bias are replaced by 3-channel ones; the package's forward code handles
    any channel count unchanged.
Everything else (mapping network, modulation/demodulation, grouped and transposed convolutions,
blur and upsample FIR filters, noise injection, layer/W+ indexing, truncation) is the package's.

Its parameter names are then renamed to rosinality's state-dict layout (`style.1.weight`,
`conv1.conv.modulation.weight`, `convs.0.conv.blur.kernel`, `to_rgbs.0.upsample.kernel`,
`noises.noise_0`, ...), which is what real `g_ema` checkpoints use.

Outputs (all float32):
  tiny_g_ema.pt                  torch.save({'g_ema': state_dict, 'latent_avg': mean, 'args': Namespace})
  tiny_g_ema.safetensors         the same state dict as safetensors (rosinality keys)
  tiny_reference.safetensors     z, w, w_plus, noise_i, trunc_mean and the images:
                                 image_z, image_w, image_w_plus, image_trunc (psi 0.7)

Also prints rosinality's g_ema parameter count for the 1024px config-f generator (noise buffers
and FIR kernels are buffers, not parameters), which tests/stylegan2_reference.rs asserts.
"""

import argparse
import math
import os
import sys
import types
from pathlib import Path

import torch
import torch.nn.functional as F
import torch.utils.cpp_extension

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "stylegan2"

# Tiny generator: 64 px, style dim 64, 3 mapping layers, narrow synthesis.
RESOLUTION = 64
STYLE_DIM = 64
N_MLP = 3
CHANNELS = {4: 32, 8: 32, 16: 32, 32: 24, 64: 16}
SEED = 20261204
BATCH = 2
PSI = 0.7


def upfirdn2d_native(input, kernel, up_x, up_y, down_x, down_y, pad_x0, pad_x1, pad_y0, pad_y1):
    """rosinality's op/upfirdn2d.py `upfirdn2d_native`, verbatim apart from the signature."""
    _, channel, in_h, in_w = input.shape
    input = input.reshape(-1, in_h, in_w, 1)
    _, in_h, in_w, minor = input.shape
    kernel_h, kernel_w = kernel.shape
    out = input.view(-1, in_h, 1, in_w, 1, minor)
    out = F.pad(out, [0, 0, 0, up_x - 1, 0, 0, 0, up_y - 1])
    out = out.view(-1, in_h * up_y, in_w * up_x, minor)
    out = F.pad(out, [0, 0, max(pad_x0, 0), max(pad_x1, 0), max(pad_y0, 0), max(pad_y1, 0)])
    out = out[
        :,
        max(-pad_y0, 0) : out.shape[1] - max(-pad_y1, 0),
        max(-pad_x0, 0) : out.shape[2] - max(-pad_x1, 0),
        :,
    ]
    out = out.permute(0, 3, 1, 2)
    out = out.reshape([-1, 1, in_h * up_y + pad_y0 + pad_y1, in_w * up_x + pad_x0 + pad_x1])
    w = torch.flip(kernel, [0, 1]).view(1, 1, kernel_h, kernel_w)
    out = F.conv2d(out, w)
    out = out.reshape(
        -1,
        minor,
        in_h * up_y + pad_y0 + pad_y1 - kernel_h + 1,
        in_w * up_x + pad_x0 + pad_x1 - kernel_w + 1,
    )
    out = out.permute(0, 2, 3, 1)
    out = out[:, ::down_y, ::down_x, :]
    out_h = (in_h * up_y + pad_y0 + pad_y1 - kernel_h + down_y) // down_y
    out_w = (in_w * up_x + pad_x0 + pad_x1 - kernel_w + down_x) // down_x
    return out.reshape(-1, channel, out_h, out_w)


def import_package():
    """Imports stylegan2_torch with its CUDA compile step stubbed and upfirdn2d run natively."""
    real_load = torch.utils.cpp_extension.load
    torch.utils.cpp_extension.load = lambda *a, **k: types.SimpleNamespace(
        upfirdn2d=upfirdn2d_native, fused_bias_act=None
    )
    try:
        import stylegan2_torch.op.upfirdn2d  # noqa: F401
        import stylegan2_torch.op.fused_act  # noqa: F401
        from stylegan2_torch.generator import Generator
    finally:
        torch.utils.cpp_extension.load = real_load
    return Generator


def three_channel_to_rgb(generator):
    """Gives every ToRGB rosinality's 3 output channels (the package has 1)."""
    for to_rgb in generator.to_rgbs:
        in_channel = to_rgb.weight.shape[2]
        to_rgb.weight = torch.nn.Parameter(torch.randn(1, 3, in_channel, 1, 1))
        to_rgb.bias = torch.nn.Parameter(torch.zeros(1, 3, 1, 1))


def rosinality_key_map(generator):
    """{rosinality g_ema key: the package's state-dict key} for every tensor of `generator`."""
    src = generator.state_dict()
    out = {}
    mlp = [k for k in src if k.startswith("mapping.")]
    for key in mlp:
        out["style." + key[len("mapping."):]] = key
    out["input.input"] = "input.input"

    def styled(dst, prefix):
        out[f"{dst}.conv.weight"] = f"{prefix}.weight"
        out[f"{dst}.conv.modulation.weight"] = f"{prefix}.affine.weight"
        out[f"{dst}.conv.modulation.bias"] = f"{prefix}.affine.bias"
        if f"{prefix}.blur.kernel" in src:
            out[f"{dst}.conv.blur.kernel"] = f"{prefix}.blur.kernel"
        out[f"{dst}.noise.weight"] = f"{prefix}.add_noise.weight"
        out[f"{dst}.activate.bias"] = f"{prefix}.leaky_relu.bias"

    def to_rgb(dst, prefix):
        out[f"{dst}.conv.weight"] = f"{prefix}.weight"
        out[f"{dst}.conv.modulation.weight"] = f"{prefix}.affine.weight"
        out[f"{dst}.conv.modulation.bias"] = f"{prefix}.affine.bias"
        out[f"{dst}.bias"] = f"{prefix}.bias"
        if f"{prefix}.upsample.kernel" in src:
            out[f"{dst}.upsample.kernel"] = f"{prefix}.upsample.kernel"

    styled("conv1", "convs.0")
    to_rgb("to_rgb1", "to_rgbs.0")
    for j in range(len(generator.up_convs)):
        styled(f"convs.{2 * j}", f"up_convs.{j}")
        styled(f"convs.{2 * j + 1}", f"convs.{j + 1}")
        to_rgb(f"to_rgbs.{j}", f"to_rgbs.{j + 1}")
    assert len(out) == len(src), "every package tensor has a rosinality name"
    return out


def rosinality_state_dict(generator, noises):
    """The package's tensors under rosinality's g_ema key names."""
    src = generator.state_dict()
    out = {dst: src[key] for dst, key in rosinality_key_map(generator).items()}
    for i, noise in enumerate(noises):
        out[f"noises.noise_{i}"] = noise
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def randomize_zero_inits(generator):
    """Biases and noise strengths start at 0 or 1 in StyleGAN2; give them values so the test sees them."""
    with torch.no_grad():
        for name, p in generator.named_parameters():
            if name.endswith("add_noise.weight"):
                p.copy_(0.3 * torch.randn_like(p))
            elif name.endswith("affine.bias"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))


def rosinality_noise_shapes(resolution):
    log_size = int(math.log2(resolution))
    num_layers = (log_size - 2) * 2 + 1
    return [(1, 1, 2 ** ((i + 5) // 2), 2 ** ((i + 5) // 2)) for i in range(num_layers)]


def config_f_channels(cm=2):
    """rosinality's channels per resolution for channel multiplier `cm` (config-f: 2)."""
    return {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * cm, 128: 128 * cm, 256: 64 * cm,
            512: 32 * cm, 1024: 16 * cm}


def config_f_parameter_count(Generator):
    """Parameters of rosinality's g_ema at 1024 px, channel multiplier 2, n_mlp 8, style 512."""
    channels = config_f_channels()
    g = Generator(1024, latent_dim=512, n_mlp=8, channels=channels)
    three_channel_to_rgb(g)
    counted = sum(p.numel() for p in g.parameters())
    # The same count by rosinality's model.py layer list, as a cross-check of the renaming.
    style = 8 * (512 * 512 + 512)
    def modconv(cin, cout, k):
        return cout * cin * k * k + 512 * cin + cin
    def styled(cin, cout):
        return modconv(cin, cout, 3) + 1 + cout
    def rgb(cin):
        return modconv(cin, 3, 1) + 3
    total = style + 512 * 16 + styled(512, 512) + rgb(512)
    prev = 512
    for log in range(3, 11):
        c = channels[2 ** log]
        total += styled(prev, c) + styled(c, c) + rgb(c)
        prev = c
    assert total == counted, (total, counted)
    return counted


def main():
    Generator = import_package()
    torch.manual_seed(SEED)
    g = Generator(RESOLUTION, latent_dim=STYLE_DIM, n_mlp=N_MLP, channels=CHANNELS)
    three_channel_to_rgb(g)
    randomize_zero_inits(g)
    g.eval()
    noises = [torch.randn(*s) for s in rosinality_noise_shapes(RESOLUTION)]
    n_latent = g.n_w_plus
    assert n_latent == int(math.log2(RESOLUTION)) * 2 - 2

    z = torch.randn(BATCH, STYLE_DIM)
    with torch.no_grad():
        w = g.mapping(z)
        w_plus = g.mapping(torch.randn(BATCH * n_latent, STYLE_DIM)).view(BATCH, n_latent, STYLE_DIM)
        trunc_mean = g.mean_latent(4096, "cpu")
        image_z = g([z], input_type="z", noises=noises)
        image_w = g([w], input_type="w", noises=noises)
        image_w_plus = g([w_plus], input_type="w_plus", noises=noises)
        image_trunc = g([z], input_type="z", noises=noises, trunc_option=(PSI, trunc_mean))
    assert torch.allclose(image_z, image_w)
    assert image_z.shape == (BATCH, 3, RESOLUTION, RESOLUTION)

    OUT.mkdir(parents=True, exist_ok=True)
    state = rosinality_state_dict(g, noises)
    # Like a rosinality training checkpoint, with its argparse `args`, and converted official
    # weights' `latent_avg` (the mean w); the Rust loader must pick `g_ema` out of it.
    args = argparse.Namespace(size=RESOLUTION, latent=STYLE_DIM, n_mlp=N_MLP, channel_multiplier=2, r1=10.0)
    torch.save({"g_ema": state, "latent_avg": trunc_mean[0].clone(), "args": args}, OUT / "tiny_g_ema.pt")
    from safetensors.torch import save_file

    save_file(state, str(OUT / "tiny_g_ema.safetensors"))
    reference = {
        "z": z,
        "w": w,
        "w_plus": w_plus,
        "trunc_mean": trunc_mean,
        "image_z": image_z,
        "image_w": image_w,
        "image_w_plus": image_w_plus,
        "image_trunc": image_trunc,
    }
    for i, noise in enumerate(noises):
        reference[f"noise_{i}"] = noise
    save_file({k: v.detach().contiguous().float() for k, v in reference.items()},
              str(OUT / "tiny_reference.safetensors"),
              metadata={"psi": str(PSI), "reference": "stylegan2-torch 1.3.0 (see tools/build_stylegan2_fixture.py)"})

    params = sum(v.numel() for k, v in state.items() if not k.startswith("noises.") and not k.endswith(".kernel"))
    print(f"tiny generator: {params} parameters, image std {image_z.std():.3f}")
    for f in sorted(OUT.iterdir()):
        print(f"{f.relative_to(ROOT)}: {f.stat().st_size} bytes")
    print(f"rosinality g_ema 1024px config-f parameters: {config_f_parameter_count(Generator)}")


if __name__ == "__main__":
    sys.exit(main())
