#!/usr/bin/env python3
"""Builds the NVIDIA-conversion golden fixture that tests/stylegan2_nvidia.rs checks the Rust loader on.

    /root/sg2venv/bin/python tools/build_nvidia_fixture.py      # writes the two files below

  1. Writes the stand-in NVIDIA packages of tools/test_convert_nvidia_stylegan2.py (torch_utils
     persistence, dnnlib, training.networks: NVIDIA stylegan2-ada-pytorch's names, shapes and
     forward re-implemented in plain torch) to a temp dir and, in a subprocess with them on its
     path, builds a tiny G_ema deterministically (seed 20261206): 32 px, z = w = 32, 3 mapping
     layers (lr 0.01), channel_base 256, channel_max 16 (16,16,16,8 channels), conv_clamp 256,
     'skip', fp32, biases / noise strengths / w_avg randomized as in the test. It pickles
     {G_ema, D} with NVIDIA's persistence mechanism and computes the references with the
     stand-in NVIDIA forward itself (noise_mode='const', i.e. each layer's noise_const buffer
     times noise_strength; no truncation):
       z [2,32], mapping_w = G.mapping(z)[:, 0] [2,32], image_z = G(z, None) [2,3,32,32],
       w_plus [2,8,32] (a different mapped w per row), image_w_plus = G.synthesis(w_plus),
       w_avg = G.mapping.w_avg [32].
     It asserts that conv_clamp never acts (the images are bit-identical with every clamp
     removed), since the converter does not carry conv_clamp over.
  2. Deletes the stand-ins and converts the pickle with tools/convert_nvidia_stylegan2.py in a
     `python -I` process (no NVIDIA code importable), writing
     tests/fixtures/stylegan2/nvidia_converted.safetensors (rosinality keys + latent_avg);
     the references go to tests/fixtures/stylegan2/nvidia_reference.safetensors.
  3. Sanity check (not part of the fixture): the converted weights loaded into stylegan2-torch
     1.3.0 reproduce mapping_w, image_z and image_w_plus; the differences are printed.
Re-running gives byte-identical files (fixed seed, CPU torch; the converted file's metadata keys
are sorted afterwards, the tensors are untouched).
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import build_stylegan2_fixture as fixture  # noqa: E402
import test_convert_nvidia_stylegan2 as nv  # noqa: E402

OUT_DIR = TOOLS.parent / "tests" / "fixtures" / "stylegan2"
CONVERTED = OUT_DIR / "nvidia_converted.safetensors"
REFERENCE = OUT_DIR / "nvidia_reference.safetensors"
RESOLUTION, STYLE_DIM, N_MLP = 32, 32, 3
CHANNELS = {4: 16, 8: 16, 16: 16, 32: 8}  # min(256 // res, 16)
N_LATENT = 8

BUILD = '''
import pickle
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

import dnnlib
from training import networks

out = Path(sys.argv[1])
torch.manual_seed(20261206)
lr = 0.01
g = networks.Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
                       mapping_kwargs=dnnlib.EasyDict(num_layers=3, lr_multiplier=lr),
                       synthesis_kwargs=dnnlib.EasyDict(channel_base=256, channel_max=16, num_fp16_res=0,
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
g = g.eval().requires_grad_(False)
assert g.num_ws == 8, g.num_ws

with torch.no_grad():
    z = torch.randn(2, 32)
    w_plus = g.mapping(torch.randn(2 * g.num_ws, 32))[:, 0].reshape(2, g.num_ws, 32)
    ref = {
        "z": z,
        "mapping_w": g.mapping(z)[:, 0],
        "image_z": g(z, None, noise_mode="const"),
        "w_plus": w_plus,
        "image_w_plus": g.synthesis(w_plus, noise_mode="const"),
        "w_avg": g.mapping.w_avg.clone(),
    }
    data = pickle.dumps(dict(G_ema=g, D=networks.Discriminator(c_dim=0, img_resolution=32, img_channels=3)))
    # conv_clamp 256 never acts on these inputs (the converter drops it): identical without it.
    clamps = [m for m in g.modules() if hasattr(m, "conv_clamp")]
    for m in clamps:
        m.conv_clamp = None
    assert torch.equal(g(z, None, noise_mode="const"), ref["image_z"]), "conv_clamp acts on image_z"
    assert torch.equal(g.synthesis(w_plus, noise_mode="const"), ref["image_w_plus"]), "conv_clamp acts on W+"
(out / "network-snapshot-nvidia-fixture.pkl").write_bytes(data)
save_file({k: v.contiguous() for k, v in ref.items()}, str(out / "reference.safetensors"),
          metadata={"source": "tools/build_nvidia_fixture.py (stand-in NVIDIA forward, noise_mode const)"})
print("built; |image_z| max %.3f, |image_w_plus| max %.3f, %d clamped layers checked"
      % (ref["image_z"].abs().max(), ref["image_w_plus"].abs().max(), len(clamps)))
'''


def sort_metadata(path):
    """Rewrites the converter's safetensors header with its __metadata__ keys sorted (safetensors
    writes them in hash order), so that re-running gives byte-identical files. Same length."""
    data = bytearray(path.read_bytes())
    n = struct.unpack("<Q", data[:8])[0]
    text = data[8:8 + n].decode()
    meta = json.loads(text).get("__metadata__")
    if not meta:
        return
    compact = dict(separators=(",", ":"), ensure_ascii=False)
    old, new = json.dumps(meta, **compact), json.dumps(dict(sorted(meta.items())), **compact)
    assert text.count(old) == 1 and len(old) == len(new), "unexpected safetensors header layout"
    data[8:8 + n] = text.replace(old, new).encode()
    path.write_bytes(bytes(data))


def sanity_check(converted, ref):
    """The converted weights in stylegan2-torch reproduce the stand-in NVIDIA references."""
    Generator = fixture.import_package()
    g = Generator(RESOLUTION, latent_dim=STYLE_DIM, n_mlp=N_MLP, channels=CHANNELS)
    fixture.three_channel_to_rgb(g)
    g.eval()
    keys = fixture.rosinality_key_map(g)
    g.load_state_dict({pkg: converted[ros] for ros, pkg in keys.items()}, strict=True)
    noises = [converted[f"noises.noise_{i}"] for i in range(len(fixture.rosinality_noise_shapes(RESOLUTION)))]
    worst = 0.0
    with torch.no_grad():
        for name, got in (("mapping_w", g.mapping(ref["z"])),
                          ("image_z", g([ref["z"]], input_type="z", noises=noises)),
                          ("image_w_plus", g([ref["w_plus"]], input_type="w_plus", noises=noises))):
            diff = (got - ref[name]).abs().max().item()
            worst = max(worst, diff)
            print(f"stylegan2-torch vs stand-in NVIDIA {name}: max |diff| {diff:.2e}")
    assert worst < 1e-4, worst
    assert torch.equal(converted["latent_avg"], ref["w_avg"])


def main():
    from safetensors.torch import load_file

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fake, work = tmp / "fake", tmp / "work"
        work.mkdir()
        nv.write_stand_ins(fake)
        nv.write(fake, "build.py", BUILD)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(fake)}
        proc = subprocess.run([sys.executable, str(fake / "build.py"), str(work)], cwd=fake, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr)
            raise SystemExit("building the synthetic NVIDIA pickle failed")
        print(proc.stdout.strip())
        shutil.rmtree(fake)  # the converter runs without any (stand-in) NVIDIA code

        pkl = work / "network-snapshot-nvidia-fixture.pkl"
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        proc = nv.run_converter(pkl, CONVERTED, work)
        print(proc.stdout.strip(), proc.stderr.strip())
        if proc.returncode != 0:
            raise SystemExit(f"converter failed with exit code {proc.returncode}")
        sort_metadata(CONVERTED)
        shutil.copyfile(work / "reference.safetensors", REFERENCE)

    converted, ref = load_file(str(CONVERTED)), load_file(str(REFERENCE))
    assert tuple(ref["w_plus"].shape) == (2, N_LATENT, STYLE_DIM)
    assert tuple(ref["image_z"].shape) == (2, 3, RESOLUTION, RESOLUTION)
    sanity_check(converted, ref)
    for path in (CONVERTED, REFERENCE):
        print(f"wrote {path.relative_to(TOOLS.parent)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
