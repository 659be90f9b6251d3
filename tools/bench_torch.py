#!/usr/bin/env python3
"""The reference side of the generator benchmark: the same DCGAN in PyTorch on the CPU.

    pip install torch numpy      # PyPI's torch wheel; this script runs it on the CPU only
    python3 tools/bench_torch.py [--iters 30]

Runs the package's own `gan_face_generate.models.Generator` with its weights (the pinned wheel, fetched
and checksum-verified by tools/pinned.py), batch 1 and batch 16, and prints one JSON line per case:
{"impl": "pytorch-cpu", "batch": B, "median_ms": .., "p90_ms": .., "threads": T, "version": ".."}.
`cargo bench --bench generator` runs this script and prints its figures beside burn's.
"""
import argparse
import io
import json
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import pinned  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iters", type=int, default=30)
    args = parser.parse_args()
    import torch
    sys.path.insert(0, str(pinned.extracted_package()))
    from gan_face_generate.models import Generator

    net = Generator(0, 3, 100, 64)
    ckpt = torch.load(io.BytesIO(pinned.weights_bytes()), map_location="cpu", weights_only=True)
    net.load_state_dict(ckpt["netG_state_dict"])
    net.eval()
    gen = torch.Generator().manual_seed(0)
    for batch in (1, 16):
        z = torch.randn(batch, 100, 1, 1, generator=gen)
        iters = args.iters if batch == 1 else max(5, args.iters // 3)
        times = []
        with torch.inference_mode():
            for _ in range(3):
                net(z)
            for _ in range(iters):
                start = time.perf_counter()
                net(z)
                times.append((time.perf_counter() - start) * 1e3)
        times.sort()
        print(json.dumps({"impl": "pytorch-cpu", "batch": batch, "median_ms": statistics.median(times),
                          "p90_ms": times[int(0.9 * (len(times) - 1))], "threads": torch.get_num_threads(),
                          "version": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
