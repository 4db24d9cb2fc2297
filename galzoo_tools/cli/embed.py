"""``galzoo embed``: pooled encoder features of every galaxy in a catalog (notebook 03).

::

    galzoo embed --catalog my/catalog.csv --model reference --out runs/embed
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import (
    MODEL_SOURCES,
    add_model_argument,
    add_out_arguments,
    add_quiet_argument,
    image_size,
    non_negative_int,
    positive_int,
)
from .console import step_notes
from .outdir import prepare_out

__all__ = ["register", "run"]


def run(args: argparse.Namespace) -> int:
    """Embed the catalog; write OUT/embeddings.npz and OUT/metrics.json; print a one-line summary."""
    note = step_notes("embed", args.quiet)  # the steps before the progress bar take 10-40 s: say what they do
    prepare_out(args)
    note(f"reading the catalog {args.catalog}")

    from ..jsonio import write_metrics
    from ..representations import catalog_embeddings, save_embeddings

    emb = catalog_embeddings(args.model, args.catalog, image_size=args.image_size, batch_size=args.batch_size,
                             tta=args.tta, num_workers=args.workers, progress=not args.quiet, notes=note)
    path = save_embeddings(args.out / "embeddings.npz", emb.id_str, emb.features)
    metrics = {**emb.info, "catalog": str(args.catalog), "embeddings": str(path)}
    write_metrics(args.out / "metrics.json", metrics)
    print(f"embed: {metrics['n']} galaxies x {metrics['dims']} features with {args.model} at {metrics['image_size']}px "
          f"-> {path}; {metrics['images_per_second']} images/s")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``galzoo embed`` to ``subparsers``."""
    p = subparsers.add_parser(
        "embed",
        help="compute the representation (pooled encoder features) of every galaxy in a catalog",
        description="Writes OUT/embeddings.npz (arrays id_str and float32 features) and OUT/metrics.json "
        "(n, dims, images_per_second, ...). Images of any size are centre-cropped and resized.",
    )
    p.add_argument("--catalog", type=Path, required=True, help="catalog (CSV/parquet) with id_str and file_loc")
    add_model_argument(p, help=f"the encoder: {MODEL_SOURCES} (default reference)", deprecated=["--encoder"])
    p.add_argument("--image-size", type=image_size, default=None,
                   help="default: the size the model was trained at (else the scale's)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--tta", type=non_negative_int, default=0,
                   help="average the features over this many extra rotated/flipped views (default 0)")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: chosen for the device)")
    add_out_arguments(p)
    add_quiet_argument(p)
    p.set_defaults(run=run)
    return p
