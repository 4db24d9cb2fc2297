"""``galzoo predict``: vote fractions for every galaxy of a catalog, from a model with the vote head."""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import add_model_argument, add_out_arguments, add_quiet_argument, image_size, positive_int
from .console import step_notes
from .outdir import prepare_out

__all__ = ["register", "run"]


def _vote_model_folder(model: str) -> Path:
    """The folder of the galzoo model ``model`` names; an encoder without the vote head is refused."""
    from ..models import resolve_model_source

    source = resolve_model_source(model)
    if source.kind == "finetuned":
        raise ValueError(
            f"--model {model} is a fine-tuned classifier, not a model with the vote head: predict gives Galaxy Zoo "
            "vote fractions; for its labels use galzoo_tools.finetune.predict_labels (or `galzoo finetune`'s "
            "predictions.csv). Give 'reference' or a `galzoo pretrain --out DIR` run's DIR/model"
        )
    if source.kind != "checkpoint":
        online = " (and fetching it needs the internet)" if source.kind in ("hf-hub", "imagenet-timm") else ""
        raise ValueError(
            f"predict needs a galzoo model with a Dirichlet head for the vote questions, and --model {model} "
            f"is an encoder ({source.kind}) without one{online}; give 'reference' or the model folder a "
            "`galzoo pretrain --out DIR` run wrote (DIR/model). Encoders suit `galzoo embed --model`, "
            "`galzoo pretrain --init` and `galzoo finetune --model`"
        )
    return Path(source.location)


def run(args: argparse.Namespace) -> int:
    """Predict and write OUT/predictions.parquet and OUT/metrics.json; print a one-line summary."""
    note = step_notes("predict", args.quiet)  # the steps before the progress bar take 10-40 s: say what they do
    prepare_out(args)
    note(f"reading the catalog {args.catalog}")

    from ..catalog import read_catalog
    from ..jsonio import write_metrics
    from ..models import load_model, read_model_config
    from ..pretrain import predict_vote_fractions

    catalog = read_catalog(args.catalog, schema=None, require_votes=False)
    folder = _vote_model_folder(str(args.model))
    note(f"{len(catalog)} galaxies; loading the model {folder}")
    model = load_model(folder)
    config = read_model_config(folder)
    size = args.image_size or int(config.get("image_size", 128))
    note(f"reading {len(catalog)} images at {size}px and predicting")
    predictions = predict_vote_fractions(model, catalog, size, args.batch_size, mc_samples=args.mc_samples,
                                         channels=int(config.get("in_chans", 3)), progress=not args.quiet)
    path = args.out / "predictions.parquet"
    predictions.to_parquet(path, index=False)
    write_metrics(args.out / "metrics.json",
                  {"n": len(predictions), "model": str(folder), "image_size": size, "mc_samples": args.mc_samples})
    print(f"predict: {len(predictions)} galaxies with {folder} at {size}px -> {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``galzoo predict`` to ``subparsers``."""
    p = subparsers.add_parser(
        "predict",
        help="predict vote fractions for a catalog with a trained model",
        description="Writes OUT/predictions.parquet: id_str and one {column}_fraction per answer.",
    )
    p.add_argument("--catalog", type=Path, required=True, help="catalog (CSV/parquet) with id_str and file_loc")
    add_model_argument(p, help="a galzoo model with the vote head: 'reference' (default), or the folder a "
                               "`galzoo pretrain --out OUT` run wrote (OUT/model, or OUT itself)")
    p.add_argument("--image-size", type=image_size, default=None, help="default: the size the model was trained at")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--mc-samples", type=positive_int, default=1, help="Monte-Carlo dropout passes to average")
    add_out_arguments(p)
    add_quiet_argument(p)
    p.set_defaults(run=run)
    return p
