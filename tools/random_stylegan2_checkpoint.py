#!/usr/bin/env python3
"""Writes a random-weight StyleGAN2 config-f generator as a rosinality-format checkpoint, to try the
StyleGAN2 paths of the app (loading, the Model menu, time estimates, personalize mechanics) at full
size without a trained model. The faces are noise-like: random weights, not a face model.

    venv/bin/python tools/random_stylegan2_checkpoint.py --resolution 1024 --out /tmp/config-f-1024.pt

Built with stylegan2-torch 1.3.0 and the patches of tools/build_stylegan2_fixture.py (imported).
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_stylegan2_fixture as fixture  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    Generator = fixture.import_package()
    torch.manual_seed(args.seed)
    channels = {r: c for r, c in fixture.config_f_channels().items() if r <= args.resolution}
    g = Generator(args.resolution, latent_dim=512, n_mlp=8, channels=channels)
    fixture.three_channel_to_rgb(g)
    g.eval()
    noises = [torch.randn(*s) for s in fixture.rosinality_noise_shapes(args.resolution)]
    state = fixture.rosinality_state_dict(g, noises)
    torch.save({"g_ema": state}, args.out)
    params = sum(v.numel() for k, v in state.items() if not k.startswith("noises.") and not k.endswith(".kernel"))
    print(f"{args.out}: {args.resolution} px config-f, {params} parameters, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    sys.exit(main())
