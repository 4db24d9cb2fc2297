"""The ``galzoo`` command line: one subcommand per notebook, for scripted and batch runs.

Each subcommand is one ``add_<name>(subparsers)`` function that registers its arguments and
sets ``func`` to the code that runs it; add a new one by writing such a function and listing
it in ``SUBCOMMANDS``. Every subcommand writes its artefacts and a ``metrics.json`` into
``--out DIR`` and prints a one-line summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

__all__ = ["main", "build_parser", "SUBCOMMANDS"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _run_simulate(args: argparse.Namespace) -> int:
    from .synthetic import write_universe

    catalog_path = write_universe(
        args.out, n=args.n, size=args.size, seed=args.seed, progress=not args.quiet,
        batch_size=args.batch_size, compress_level=args.compress_level,
    )
    metrics = json.loads((Path(args.out) / "metrics.json").read_text())
    print(
        f"simulate: {metrics['n']} galaxies at {metrics['size']} px (seed {metrics['seed']}) -> "
        f"{catalog_path}; ring fraction {metrics['ring_fraction']:.3f}; "
        f"{metrics['galaxies_per_second']:.0f} galaxies/s"
    )
    return 0


def add_simulate(subparsers: argparse._SubParsersAction) -> None:
    """``galzoo simulate``: write a synthetic universe (images + catalog) to ``--out``."""
    from .synthetic.universe import PNG_COMPRESS_LEVEL

    p = subparsers.add_parser(
        "simulate",
        help="write a synthetic galaxy universe (PNG images + catalog.parquet + metrics.json)",
        description="Simulate galaxies and volunteer votes; writes OUT/images/*.png, "
        "OUT/catalog.parquet and OUT/metrics.json.",
    )
    p.add_argument("--n", type=_positive_int, default=1000, help="number of galaxies (default 1000)")
    p.add_argument("--size", type=int, default=128, help="image size in pixels, 32-512 (default 128)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same universe (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if needed)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="galaxies rendered at once")
    p.add_argument("--compress-level", type=int, default=PNG_COMPRESS_LEVEL, choices=range(10), metavar="0-9",
                   help=f"PNG zlib level (default {PNG_COMPRESS_LEVEL}: fast; 9: smallest)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_simulate)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_simulate]
"""Functions that each register one subcommand."""


def build_parser() -> argparse.ArgumentParser:
    """The ``galzoo`` argument parser with every subcommand in ``SUBCOMMANDS``."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="galzoo",
        description="Galaxy morphology tools of Walmsley et al. 2022, from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"galzoo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``galzoo`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as err:
        parser.error(f"{args.command}: {err}")
    return 2  # pragma: no cover - parser.error exits


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
