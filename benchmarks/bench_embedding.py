"""Embedding throughput: catalog_embeddings (files on disk -> features) against a bare inference loop.

Run: ``GALZOO_OFFLINE=1 python benchmarks/bench_embedding.py [--model imagenet --n 256]``.
The bare loop runs the same encoder on images already decoded into memory, at the same batch
size, under ``torch.inference_mode``: the best a loop can do. The project's target is that
catalog_embeddings reaches >= 0.8x its images/s although it also reads and resizes every image file.

Both run inside :func:`galzoo_tools.cpu_memory.keep_freed_memory` (embedding always does);
the bare loop is also timed without it, to show what glibc's default handling of big CPU
buffers costs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from galzoo_tools import cpu_memory
from galzoo_tools.cpu_memory import keep_freed_memory
from galzoo_tools.datasets import load_images
from galzoo_tools.config import get_device
from galzoo_tools.models import load_model
from galzoo_tools.representations import catalog_embeddings
from galzoo_tools.synthetic import write_universe


def bare_loop(model: torch.nn.Module, images: torch.Tensor, batch_size: int) -> float:
    """Images per second of ``model.embed`` over in-memory uint8 images."""
    device = next(model.parameters()).device
    with torch.inference_mode():
        model.embed(images[:batch_size].to(device).float() / 255)  # warm up
        start = time.perf_counter()
        for i in range(0, len(images), batch_size):
            model.embed(images[i:i + batch_size].to(device).float() / 255)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="imagenet", help="reference | imagenet | scratch | a model folder")
    parser.add_argument("--n", type=int, default=256, help="galaxies (simulated at --size px)")
    parser.add_argument("--size", type=int, default=128, help="image size in pixels")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is kept")
    args = parser.parse_args()

    model = load_model(args.model, device=get_device())
    with tempfile.TemporaryDirectory() as tmp:
        catalog = write_universe(Path(tmp), n=args.n, size=args.size, seed=777, progress=False)
        table = pd.read_parquet(catalog)
        images = load_images([str(Path(tmp) / loc) for loc in table["file_loc"]], args.size)
        catalog_embeddings(model, catalog, image_size=args.size, batch_size=args.batch_size, progress=False)  # warm up
        bare, ours, default_malloc = 0.0, 0.0, 0.0
        for _ in range(args.rounds):
            default_malloc = max(default_malloc, bare_loop(model, images, args.batch_size))
            with keep_freed_memory():
                bare = max(bare, bare_loop(model, images, args.batch_size))
            emb = catalog_embeddings(model, catalog, image_size=args.size, batch_size=args.batch_size, progress=False)
            ours = max(ours, emb.info["images_per_second"])
    print(f"{args.model} at {args.size} px, batch {args.batch_size}, {args.n} galaxies, {emb.info['device']}")
    print(f"  bare loop, glibc's default malloc        {default_malloc:8.1f} images/s")
    print(f"  bare loop, keep_freed_memory             {bare:8.1f} images/s  = {bare / default_malloc:.2f} x default"
          + ("" if cpu_memory.available() else "  (inactive here: not glibc, or MALLOC_* set)"))
    print(f"  catalog_embeddings (PNG files on disk)   {ours:8.1f} images/s  = {ours / bare:.2f} x bare (target >= 0.8)")


if __name__ == "__main__":
    main()
