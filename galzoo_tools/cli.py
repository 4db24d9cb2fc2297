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
    from .config import worker_processes
    from .synthetic import write_universe

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


def add_simulate(subparsers: argparse._SubParsersAction) -> None:
    """``galzoo simulate``: write a synthetic universe (images + catalog) to ``--out``."""
    from .synthetic import MIXED, SURVEYS
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
    p.add_argument("--survey", choices=[*SURVEYS, MIXED], default="decals",
                   help="how the sky looks: decals (GZ DECaLS, default), sdss (GZ2) or mixed (each in turn)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if needed)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="galaxies rendered at once")
    p.add_argument("--compress-level", type=int, default=PNG_COMPRESS_LEVEL, choices=range(10), metavar="0-9",
                   help=f"PNG zlib level (default {PNG_COMPRESS_LEVEL}: fast; 9: smallest)")
    p.add_argument("--processes", type=_positive_int, default=None,
                   help="rendering processes (default: every core on machines with 4 or more, else 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_simulate)


def _run_pretrain(args: argparse.Namespace) -> int:
    from .pretraining import pretrain

    metrics = pretrain(
        args.out, catalog=args.catalog, simulate=args.simulate, scale=args.scale, backbone=args.backbone,
        source=args.init, image_size=args.image_size, epochs=args.epochs, batch_size=args.batch_size,
        channels=args.channels, lr=args.lr, seed=args.seed, resume=args.resume, num_workers=args.workers,
        progress=not args.quiet, half=args.half, survey=args.survey,
    )
    if metrics:
        oracle = metrics["oracle_vote_mae"]
        print(
            f"pretrain: {metrics['backbone']} {metrics['image_size']}px, {metrics['epochs_run']} epochs -> "
            f"{Path(args.out) / 'model'}; val loss {metrics['val_loss']:.3f}; vote MAE {metrics['vote_mae']:.3f} "
            f"(baseline {metrics['baseline_vote_mae']:.3f}"
            + (f", oracle {oracle:.3f}" if oracle is not None else "")
            + f"); {metrics['images_per_second']:.0f} images/s"
        )
    return 0


def add_pretrain(subparsers: argparse._SubParsersAction) -> None:
    """``galzoo pretrain``: train a model on every Galaxy Zoo question (notebook 02)."""
    from .synthetic import MIXED, SURVEYS

    p = subparsers.add_parser(
        "pretrain",
        help="train a CNN on every GZ DECaLS question with the Dirichlet-multinomial loss",
        description="Train on a catalog (or on freshly simulated galaxies); writes OUT/model/, "
        "OUT/last_checkpoint.pt, OUT/metrics.json. Runs data-parallel under torchrun.",
    )
    data = p.add_mutually_exclusive_group()
    data.add_argument("--catalog", type=Path, help="catalog (CSV/parquet) with file_loc and the 34 vote columns")
    data.add_argument("--simulate", type=_positive_int, metavar="N",
                      help="simulate N galaxies (cached under ~/.cache/galzoo/universes; default: the scale's size)")
    p.add_argument("--survey", choices=[*SURVEYS, MIXED], default="decals",
                   help="with --simulate: how the simulated sky looks (decals, sdss or mixed; default decals)")
    p.add_argument("--scale", choices=["tiny", "small", "full"], default=None,
                   help="preset for image size, epochs, batch size (default $GALZOO_SCALE or small)")
    p.add_argument("--backbone", default="efficientnet_lite0", help="any timm model name (default efficientnet_lite0)")
    p.add_argument("--init", default="scratch",
                   help="encoder start: scratch | imagenet | reference | hf_hub:... | a galzoo model folder "
                        "(a galzoo model for the same questions keeps its head: training continues from it)")
    p.add_argument("--image-size", type=_positive_int, default=None, help="override the scale's image size")
    p.add_argument("--epochs", type=_positive_int, default=None, help="override the scale's epochs")
    p.add_argument("--batch-size", type=_positive_int, default=None, help="override the scale's batch size")
    p.add_argument("--channels", type=int, choices=[1, 3], default=3, help="3 for colour, 1 for greyscale")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the model and the batches")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: chosen for the device)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last_checkpoint.pt")
    p.add_argument("--half", action="store_true", help="store the best model in float16 (half the size)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_pretrain)


def _run_predict(args: argparse.Namespace) -> int:
    from .catalog import read_catalog
    from .jsonio import write_metrics
    from .models import load_model, read_model_config, resolve_model_source
    from .pretraining import predict_catalog

    folder = resolve_model_source(str(args.model)).location
    model = load_model(folder)
    config = read_model_config(folder)
    catalog = read_catalog(args.catalog, schema=None, require_votes=False)
    image_size = args.image_size or int(config.get("image_size", 128))
    predictions = predict_catalog(model, catalog, image_size, args.batch_size, mc_samples=args.mc_samples,
                                  channels=int(config.get("in_chans", 3)), progress=not args.quiet)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "predictions.parquet"
    predictions.to_parquet(path, index=False)
    write_metrics(args.out / "metrics.json",
                  {"n": len(predictions), "model": str(folder), "image_size": image_size, "mc_samples": args.mc_samples})
    print(f"predict: {len(predictions)} galaxies with {folder} at {image_size}px -> {path}")
    return 0


def add_predict(subparsers: argparse._SubParsersAction) -> None:
    """``galzoo predict``: vote fractions for every galaxy of a catalog."""
    p = subparsers.add_parser(
        "predict",
        help="predict vote fractions for a catalog with a trained model",
        description="Writes OUT/predictions.parquet: id_str and one {column}_fraction per answer.",
    )
    p.add_argument("--catalog", type=Path, required=True, help="catalog (CSV/parquet) with id_str and file_loc")
    p.add_argument("--model", default="reference", help="a model folder written by pretrain, or 'reference'")
    p.add_argument("--image-size", type=_positive_int, default=None, help="default: the size the model was trained at")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--mc-samples", type=_positive_int, default=1, help="Monte-Carlo dropout passes to average")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_predict)


from .cli_search import add_embed, add_search  # noqa: E402 - subcommands defined in their own module
from .cli_anomaly import add_anomaly  # noqa: E402 - subcommand defined in its own module
from .cli_finetune import add_finetune  # noqa: E402 - subcommand defined in its own module
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_simulate, add_pretrain, add_predict, add_embed, add_search, add_anomaly, add_finetune]
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
