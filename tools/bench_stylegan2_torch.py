#!/usr/bin/env python3
"""PyTorch CPU reference timings of a random-weight config-f StyleGAN2 generator (batch 1).

The generator is the PyPI package `stylegan2-torch==1.3.0`, set up exactly as in
tools/build_stylegan2_fixture.py (imported from there, not copied): its CUDA op compile stubbed
out (upfirdn2d runs rosinality's plain-torch `upfirdn2d_native`, fused_leaky_relu its own CPU
path) and 3-channel ToRGB layers. Architecture: style 512, 8 mapping layers, channel
multiplier 2 (rosinality's config-f; 30,370,060 g_ema parameters at 1024 px, asserted).

Measured per resolution, after 1 warm-up iteration, over --iters iterations:
  forward            image from w (W space, broadcast to all layers), fixed noise, under
                     torch.no_grad() (inference; no autograd graph is recorded)
  forward+backward   the same forward with autograd, loss = image.square().mean(), backward
                     to every generator parameter and to the input w (grads reset each time)

Output (stdout), one line per measurement, for a Rust bench to parse:
  torch-cpu <resolution> <forward|forward+backward> median_ms=<x> min_ms=<y> params=<count>
With --json, one JSON object instead: {"threads", "torch", "peak_rss_mb", "results": [...]}.
Peak RSS of the whole process (resource.getrusage; cumulative over the resolutions run) and
progress go to stderr.

    /root/sg2venv/bin/python tools/bench_stylegan2_torch.py                 # 256 and 1024
    /root/sg2venv/bin/python tools/bench_stylegan2_torch.py --resolutions 256 --iters 10 --json

Set up the venv as in tools/build_stylegan2_fixture.py:
    python3 -m venv /root/sg2venv && /root/sg2venv/bin/pip install torch stylegan2-torch==1.3.0 numpy safetensors
"""

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_stylegan2_fixture as fixture  # noqa: E402  (the package patches and config-f channels)

STYLE_DIM = 512
N_MLP = 8
CONFIG_F_1024_PARAMS = 30_370_060
DEFAULT_ITERS = {1024: 3}  # every other resolution: 5


def build(resolution):
    Generator = fixture.import_package()
    g = Generator(resolution, latent_dim=STYLE_DIM, n_mlp=N_MLP, channels=fixture.config_f_channels(2))
    fixture.three_channel_to_rgb(g)
    g.eval()
    params = sum(p.numel() for p in g.parameters())
    if resolution == 1024:
        assert params == CONFIG_F_1024_PARAMS, params
    return g, params


def timed(fn, iters):
    fn()  # warm-up
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), min(times)


def bench(resolution, iters):
    torch.manual_seed(resolution)
    g, params = build(resolution)
    noises = [torch.randn(*s) for s in fixture.rosinality_noise_shapes(resolution)]
    with torch.no_grad():
        w = g.mapping(torch.randn(1, STYLE_DIM))

    def forward():
        with torch.no_grad():
            image = g([w], input_type="w", noises=noises)
        assert image.shape == (1, 3, resolution, resolution)

    def forward_backward():
        g.zero_grad(set_to_none=True)
        w_in = w.clone().requires_grad_(True)
        loss = g([w_in], input_type="w", noises=noises).square().mean()
        loss.backward()
        assert w_in.grad is not None and g.input.input.grad is not None

    results = []
    for name, fn in (("forward", forward), ("forward+backward", forward_backward)):
        median, best = timed(fn, iters)
        results.append(dict(resolution=resolution, measurement=name, median_ms=round(median, 1),
                            min_ms=round(best, 1), params=params, iters=iters))
        print(f"  {resolution} {name}: median {median:.1f} ms over {iters}", file=sys.stderr, flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resolutions", default="256,1024", help="comma-separated, e.g. 256,1024")
    parser.add_argument("--iters", type=int, default=None, help="timed iterations (default 3 at 1024, else 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    resolutions = [int(r) for r in args.resolutions.split(",") if r.strip()]
    results = []
    for resolution in resolutions:
        iters = args.iters if args.iters is not None else DEFAULT_ITERS.get(resolution, 5)
        results.extend(bench(resolution, iters))
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"peak RSS {peak_rss_mb:.0f} MiB (torch {torch.__version__}, {torch.get_num_threads()} threads)",
          file=sys.stderr)
    if args.json:
        print(json.dumps(dict(threads=torch.get_num_threads(), torch=torch.__version__,
                              peak_rss_mb=round(peak_rss_mb, 1), results=results), indent=1))
    else:
        for r in results:
            print(f"torch-cpu {r['resolution']} {r['measurement']} median_ms={r['median_ms']} "
                  f"min_ms={r['min_ms']} params={r['params']}")


if __name__ == "__main__":
    sys.exit(main())
