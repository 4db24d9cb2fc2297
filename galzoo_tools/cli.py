"""The ``galzoo`` command line: one subcommand per notebook, for scripted and batch runs.

Each subcommand is one ``add_<name>(subparsers)`` function that registers its arguments and
sets ``func`` to the code that runs it; add a new one by writing such a function and listing
it in ``SUBCOMMANDS``. Every subcommand writes its artefacts and a ``metrics.json`` into
``--out DIR`` and prints a one-line summary.

``--out`` is checked first (:func:`galzoo_tools.cli_common.prepare_out_dir`): created, writable,
and refused if it holds another run, unless ``--overwrite`` (or, for pretrain, ``--resume``).
Errors follow one policy (see :func:`main`): usage errors exit 2 with the usage; bad data,
files, models, devices or output folders print one line, ``galzoo COMMAND: error: ...``, and
exit 1 (``GALZOO_DEBUG=1`` shows the traceback); Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from .cli_common import add_overwrite_argument

__all__ = ["main", "build_parser", "SUBCOMMANDS"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _image_size(text: str) -> int:
    value = int(text)
    if not 32 <= value <= 512:
        raise argparse.ArgumentTypeError(f"must be a number of pixels from 32 to 512, got {text}")
    return value


def _run_simulate(args: argparse.Namespace) -> int:
    from .cli_common import prepare_out_dir
    from .config import worker_processes
    from .synthetic import write_universe

    prepare_out_dir(args.out, overwrite=args.overwrite)
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
    p.add_argument("--size", type=_image_size, default=128, help="image size in pixels, 32-512 (default 128)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same universe (default 0)")
    p.add_argument("--survey", choices=[*SURVEYS, MIXED], default="decals",
                   help="how the sky looks: decals (GZ DECaLS, default), sdss (GZ2) or mixed (each in turn)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if needed; refused if it holds "
                   "another run, unless --overwrite)")
    add_overwrite_argument(p)
    p.add_argument("--batch-size", type=_positive_int, default=64, help="galaxies rendered at once")
    p.add_argument("--compress-level", type=int, default=PNG_COMPRESS_LEVEL, choices=range(10), metavar="0-9",
                   help=f"PNG zlib level (default {PNG_COMPRESS_LEVEL}: fast; 9: smallest)")
    p.add_argument("--processes", type=_positive_int, default=None,
                   help="rendering processes (default: every core on machines with 4 or more, else 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_simulate)


def _run_pretrain(args: argparse.Namespace) -> int:
    from .cli_common import is_main_process, prepare_out_dir
    from .pretrain import PretrainConfig, pretrain

    if is_main_process():  # under torchrun rank 0 checks (and clears) OUT; the others only write into it
        prepare_out_dir(args.out, overwrite=args.overwrite, resume=args.resume, can_resume=True)
    scale_overrides = {"n_galaxies": args.simulate, "image_size": args.image_size, "epochs": args.epochs,
                       "batch_size": args.batch_size}
    config = PretrainConfig.for_scale(
        args.scale, **{k: v for k, v in scale_overrides.items() if v is not None}, backbone=args.backbone,
        init=args.init, channels=args.channels, lr=args.lr, seed=args.seed, num_workers=args.workers,
        half=args.half, survey=args.survey,
    )
    metrics = pretrain(config, args.out, catalog=args.catalog, resume=args.resume, progress=not args.quiet)
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
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue from OUT/last_checkpoint.pt (refused if the run had other settings)")
    add_overwrite_argument(again)
    p.add_argument("--half", action="store_true", help="store the best model in float16 (half the size)")
    p.add_argument("--out", type=Path, required=True,
                   help="output folder (refused if it holds another run, unless --overwrite or --resume)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_pretrain)


def _run_predict(args: argparse.Namespace) -> int:
    from .cli_common import prepare_out_dir, step_notes

    note = step_notes("predict", args.quiet)  # the steps before the progress bar take 10-40 s: say what they do
    prepare_out_dir(args.out, overwrite=args.overwrite)
    note(f"reading the catalog {args.catalog}")

    from .catalog import read_catalog
    from .jsonio import write_metrics
    from .models import load_model, read_model_config, resolve_model_source
    from .pretrain import predict_vote_fractions

    catalog = read_catalog(args.catalog, schema=None, require_votes=False)
    source = resolve_model_source(str(args.model))
    if source.kind != "checkpoint":
        online = " (and fetching it needs the internet)" if source.kind in ("hf-hub", "imagenet-timm") else ""
        raise ValueError(
            f"predict needs a galzoo model with a Dirichlet head for the vote questions, and --model {args.model} "
            f"is an encoder ({source.kind}) without one{online}; give 'reference' or the model folder a "
            "`galzoo pretrain --out DIR` run wrote (DIR/model). Encoders suit `galzoo embed --encoder`, "
            "`galzoo pretrain --init` and `galzoo finetune --init`"
        )
    folder = source.location
    note(f"{len(catalog)} galaxies; loading the model {folder}")
    model = load_model(folder)
    config = read_model_config(folder)
    image_size = args.image_size or int(config.get("image_size", 128))
    note(f"reading {len(catalog)} images at {image_size}px and predicting")
    predictions = predict_vote_fractions(model, catalog, image_size, args.batch_size, mc_samples=args.mc_samples,
                                         channels=int(config.get("in_chans", 3)), progress=not args.quiet)
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
    p.add_argument("--model", default="reference",
                   help="'reference', or a model folder written by pretrain (OUT/model, or OUT itself)")
    p.add_argument("--image-size", type=_positive_int, default=None, help="default: the size the model was trained at")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--mc-samples", type=_positive_int, default=1, help="Monte-Carlo dropout passes to average")
    p.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds another run)")
    add_overwrite_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar and no notes on stderr")
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


def _reported_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input or a bad environment: one line on stderr and exit 1.

    Anything else is a bug in galzoo and keeps its traceback.
    """
    from PIL import UnidentifiedImageError  # an OSError; named for the reader
    from safetensors import SafetensorError

    return (ValueError, OSError, RuntimeError, EOFError, SafetensorError, UnidentifiedImageError)


def _debug() -> bool:
    return os.environ.get("GALZOO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._subparsers._group_actions if parser._subparsers else []:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``galzoo`` console script; returns the exit status.

    The error policy, the same for every subcommand: a usage error (bad or missing arguments,
    arguments that do not go together) prints the usage and exits 2; a data, file, model,
    device, network or output error prints one line, ``galzoo COMMAND: error: MESSAGE``, and
    exits 1 (``GALZOO_DEBUG=1`` shows the traceback instead); Ctrl-C prints
    ``galzoo COMMAND: interrupted`` and exits 130. Under ``torchrun`` only rank 0 prints.
    """
    from .cli_common import UsageError, is_main_process, one_line

    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"galzoo {args.command}"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if _debug():
            raise
        if is_main_process():
            print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except UsageError as err:
        if _debug():
            raise
        _subparser(parser, args.command).error(one_line(err))
    except _reported_errors() as err:
        if _debug():
            raise
        if is_main_process():
            message = one_line(err)
            if "out of memory" in message.lower() and "--batch-size" not in message:
                message += "; try a smaller --batch-size"
            print(f"{prefix}: error: {message}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - parser.error exits


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
