"""How fast the synthetic universe is made: galaxies/s rendered (+ votes), and PNGs written/s.

Run: ``python benchmarks/bench_synthetic.py [--n 512] [--survey sdss]``. Numbers depend on the
machine; the project aims at >= 300 galaxies/s at 128 px on one CPU core (``--one-core`` pins
the FFTs and PyTorch's noise to one thread, as each rendering process of ``galzoo simulate
--processes N`` runs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from galzoo_tools.synthetic import simulate
from galzoo_tools.synthetic.render import use_one_thread
from galzoo_tools.synthetic.universe import PNG_COMPRESS_LEVEL, _save_png


def bench_simulate(n: int, size: int, survey: str = "decals") -> float:
    """Galaxies per second for latent sampling + votes + rendering to uint8 arrays (best of 3)."""
    simulate(min(n, 32), size=size, seed=99, survey=survey)  # warm up
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        simulate(n, size=size, seed=0, survey=survey)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def bench_png(n: int, size: int, workers: int, level: int = PNG_COMPRESS_LEVEL) -> tuple[float, float]:
    """PNGs written per second with ``workers`` threads, and mean KiB per file."""
    images, _ = simulate(n, size=size, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(Path(tmp) / f"{k}.png", images[k], level) for k in range(n)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(_save_png, jobs))
        seconds = time.perf_counter() - t0
        kib = sum(p.stat().st_size for p, _, _ in jobs) / n / 1024
    return n / seconds, kib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="galaxies per measurement")
    parser.add_argument("--survey", default="decals", help="survey preset: decals, sdss or mixed")
    parser.add_argument("--one-core", action="store_true", help="one thread for FFTs and noise")
    args = parser.parse_args()
    if args.one_core:
        use_one_thread()
    for size in (64, 128, 256):
        n = args.n if size < 256 else max(args.n // 2, 32)
        print(f"render+votes  {size:>3} px ({args.survey}): {bench_simulate(n, size, args.survey):7.0f} galaxies/s")
    for workers in (1, 2):
        rate, kib = bench_png(args.n, 128, workers)
        print(f"png write     128 px, {workers} thread(s), level {PNG_COMPRESS_LEVEL}: {rate:7.0f} images/s ({kib:.1f} KiB each)")


if __name__ == "__main__":
    main()
