"""``galzoo simulate``: write a synthetic universe (PNG images, catalog.parquet, metrics.json) to ``--out``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .args import add_out_arguments, add_quiet_argument, image_size, positive_int
from .outdir import prepare_out

__all__ = ["register", "run"]


def run(args: argparse.Namespace) -> int:
    """Simulate the galaxies and their votes; print a one-line summary."""
    from ..config import worker_processes
    from ..synthetic import write_universe

    prepare_out(args)
    catalog_path = write_universe(
        args.out, n=args.n, size=args.size, seed=args.seed, progress=not args.quiet,
        batch_size=args.batch_size, compress_level=args.compress_level,
        processes=args.processes or worker_processes(), survey=args.survey,
    )
    metrics = json.loads((Path(args.out) / "metrics.json").read_text())
    print(
        f"simulate: {metrics['n']} {metrics['survey']} galaxies at {metrics['size']} px (seed {metrics['seed']}) -> "
        f"{catalog_path}; ring fraction {metrics['ring_fraction']:.3f}; "
        f"{metrics['galaxies_per_second']:.0f} galaxies/s"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``galzoo simulate`` to ``subparsers``."""
    from ..synthetic import MIXED, SURVEYS
    from ..synthetic.universe import PNG_COMPRESS_LEVEL

    p = subparsers.add_parser(
        "simulate",
        help="write a synthetic galaxy universe (PNG images + catalog.parquet + metrics.json)",
        description="Simulate galaxies and volunteer votes; writes OUT/images/*.png, "
        "OUT/catalog.parquet and OUT/metrics.json.",
    )
    p.add_argument("--n", type=positive_int, default=1000, help="number of galaxies (default 1000)")
    p.add_argument("--size", type=image_size, default=128, help="image size in pixels, 32-512 (default 128)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same universe (default 0)")
    p.add_argument("--survey", choices=[*SURVEYS, MIXED], default="decals",
                   help="how the sky looks: decals (GZ DECaLS, default), sdss (GZ2) or mixed (each in turn)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="galaxies rendered at once")
    p.add_argument("--compress-level", type=int, default=PNG_COMPRESS_LEVEL, choices=range(10), metavar="0-9",
                   help=f"PNG zlib level (default {PNG_COMPRESS_LEVEL}: fast; 9: smallest)")
    p.add_argument("--processes", type=positive_int, default=None,
                   help="rendering processes (default: every core on machines with 4 or more, else 1)")
    add_out_arguments(p)
    add_quiet_argument(p)
    p.set_defaults(run=run)
    return p
