"""How fast the synthetic universe is made: galaxies/s rendered (+ votes), and PNGs written/s.

Run: ``python benchmarks/bench_synthetic.py [--n 512]``. Numbers depend on the machine; the
issue asks for >= 300 galaxies/s at 128 px on two CPU cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from galzoo_tools.synthetic import simulate
from galzoo_tools.synthetic.universe import PNG_COMPRESS_LEVEL, _save_png


def bench_simulate(n: int, size: int) -> float:
    """Galaxies per second for latent sampling + votes + rendering to uint8 arrays."""
    simulate(min(n, 32), size=size, seed=99)  # warm up
    t0 = time.perf_counter()
    simulate(n, size=size, seed=0)
    return n / (time.perf_counter() - t0)


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
    args = parser.parse_args()
    for size in (64, 128, 256):
        n = args.n if size < 256 else max(args.n // 2, 32)
        print(f"render+votes  {size:>3} px: {bench_simulate(n, size):7.0f} galaxies/s")
    for workers in (1, 2):
        rate, kib = bench_png(args.n, 128, workers)
        print(f"png write     128 px, {workers} thread(s), level {PNG_COMPRESS_LEVEL}: {rate:7.0f} images/s ({kib:.1f} KiB each)")


if __name__ == "__main__":
    main()
