"""``galzoo pretrain``: train a model on every Galaxy Zoo question (notebook 02); runs under ``torchrun``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import MODEL_SOURCES, add_out_arguments, add_quiet_argument, image_size, non_negative_int, positive_int
from .console import is_main_process
from .outdir import prepare_out

__all__ = ["register", "run"]


def run(args: argparse.Namespace) -> int:
    """Train (or continue training); print a one-line summary of the best model."""
    from ..pretrain import PretrainConfig, pretrain

    if is_main_process():  # under torchrun rank 0 checks (and clears) OUT; the others only write into it
        prepare_out(args)
    scale_overrides = {"n_galaxies": args.simulate, "image_size": args.image_size, "epochs": args.epochs,
                       "batch_size": args.batch_size}
    config = PretrainConfig.for_scale(
        args.scale, **{k: v for k, v in scale_overrides.items() if v is not None}, backbone=args.backbone,
        init=args.init, channels=args.channels, lr=args.lr, seed=args.seed, num_workers=args.workers,
        half=args.half, survey=args.survey, frozen_blocks=args.frozen_blocks,
        survey_jitter=args.survey_jitter,
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


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``galzoo pretrain`` to ``subparsers``."""
    from ..synthetic import MIXED, SURVEYS

    p = subparsers.add_parser(
        "pretrain",
        help="train a CNN on every GZ DECaLS question with the Dirichlet-multinomial loss",
        description="Train on a catalog (or on freshly simulated galaxies); writes OUT/model/, "
        "OUT/last_checkpoint.pt, OUT/metrics.json. Runs data-parallel under torchrun.",
    )
    data = p.add_mutually_exclusive_group()
    data.add_argument("--catalog", type=Path, help="catalog (CSV/parquet) with file_loc and the 34 vote columns")
    data.add_argument("--simulate", type=positive_int, metavar="N",
                      help="simulate N galaxies (cached under ~/.cache/galzoo/universes; default: the scale's size)")
    p.add_argument("--survey", choices=[*SURVEYS, MIXED], default="decals",
                   help="with --simulate: how the simulated sky looks (decals, sdss or mixed; default decals)")
    p.add_argument("--scale", choices=["tiny", "small", "full"], default=None,
                   help="preset for image size, epochs, batch size (default $GALZOO_SCALE or small)")
    p.add_argument("--backbone", default="efficientnet_lite0", help="any timm model name (default efficientnet_lite0)")
    p.add_argument("--init", default="scratch", metavar="MODEL",
                   help=f"the weights to start from, any model source: {MODEL_SOURCES} (default scratch; a galzoo "
                        "model for the same questions keeps its head: training continues from it)")
    p.add_argument("--image-size", type=image_size, default=None, help="override the scale's image size")
    p.add_argument("--epochs", type=positive_int, default=None, help="override the scale's epochs")
    p.add_argument("--batch-size", type=positive_int, default=None, help="override the scale's batch size")
    p.add_argument("--channels", type=int, choices=[1, 3], default=3, help="3 for colour, 1 for greyscale")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the model and the batches")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: chosen for the device)")
    p.add_argument("--half", action="store_true", help="store the best model in float16 (half the size)")
    p.add_argument("--frozen-blocks", type=non_negative_int, default=0, metavar="N",
                   help="freeze the stem and first N blocks, run them once per galaxy for the 8 quarter-turn/flip "
                        "symmetries and train the rest on those outputs (faster on a CPU; default 0: the whole "
                        "network, any angle)")
    p.add_argument("--survey-jitter", action="store_true",
                   help="also give every training image its own colour balance, stretch, blur and noise "
                        "(domain randomisation; whole-network training only)")
    add_out_arguments(p, resume=True)
    add_quiet_argument(p)
    p.set_defaults(run=run)
    return p
