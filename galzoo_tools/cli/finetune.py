"""``galzoo finetune``: fine-tune a pretrained encoder on N labels of a catalog column (notebook 06)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import MODEL_SOURCES, add_model_argument, add_out_arguments, add_quiet_argument, image_size, positive_int
from .outdir import prepare_out

__all__ = ["register", "run"]


def run(args: argparse.Namespace) -> int:
    """Fine-tune and test; write OUT/ (model, predictions, split, history, metrics); print a one-line summary."""
    from ..finetune import FinetuneConfig, finetune

    prepare_out(args)
    config = FinetuneConfig(mode=args.mode, seed=args.seed, blocks=args.blocks, epochs=args.epochs,
                            batch_size=args.batch_size, lr=args.lr, balance=not args.no_balance,
                            feature_scaling=args.feature_scaling)
    metrics = finetune(
        args.catalog, args.label_col, model=args.model, train_size=args.train_size, out_dir=args.out, seed=args.seed,
        mode=args.mode, task=args.task, image_size=args.image_size, config=config, backbone=args.backbone,
        image_root=args.image_root, progress=not args.quiet,
    ).metrics
    if metrics["task"] == "regression":
        result = f"test MSE {metrics['test_mse']:.4g}, R² {metrics['test_r2']:.3f}"
    else:
        result = f"test accuracy {metrics['test_accuracy']:.3f}, ROC AUC {metrics['test_roc_auc']:.3f}"
    print(
        f"finetune: {metrics['model']} ({metrics['mode']}) on {metrics['n_train']} labels of "
        f"{metrics['label_col']!r} at {metrics['image_size']}px -> {Path(args.out) / 'model'}; {result} "
        f"on {metrics['n_test']} test galaxies; {metrics['seconds']:.0f} s"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``galzoo finetune`` to ``subparsers``."""
    p = subparsers.add_parser(
        "finetune",
        help="fine-tune a pretrained encoder on N labelled galaxies (e.g. rings) and test on the rest",
        description="Draws --train-size labelled galaxies (stratified; a validation split for early stopping "
        "comes out of them) from CATALOG; every other row is the test set. Writes OUT/model/, "
        "OUT/predictions.parquet, OUT/split.csv, OUT/history.json and OUT/metrics.json.",
    )
    p.add_argument("--catalog", type=Path, required=True,
                   help="catalog (CSV/parquet) with file_loc (any PNG/JPEG, any size) and the label column")
    p.add_argument("--label-col", required=True, help="column to learn, e.g. ring (0/1)")
    add_model_argument(p, help=f"the encoder to start from: {MODEL_SOURCES} (default reference)",
                       deprecated=["--init"])
    p.add_argument("--train-size", type=positive_int, required=True, metavar="N", help="number of labelled galaxies")
    p.add_argument("--seed", type=int, default=0, help="seed for the draw of labels, the split and training")
    p.add_argument("--mode", choices=["linear", "partial", "full"], default="linear",
                   help="linear: frozen encoder + fitted head (default, fastest); partial: also train the last "
                   "--blocks blocks; full: train everything with layer-wise learning-rate decay")
    p.add_argument("--blocks", type=int, default=2, help="partial: encoder blocks to train (default 2)")
    p.add_argument("--task", choices=["auto", "binary", "multiclass", "regression"], default="auto",
                   help="default: binary for 2 values, multiclass for a few, regression otherwise")
    p.add_argument("--image-size", type=image_size, default=None,
                   help="default: the size the encoder was pretrained at (reference: 128), else 128")
    p.add_argument("--epochs", type=positive_int, default=40, help="partial/full: most epochs (early stopping)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=float, default=1e-4, help="partial/full: head learning rate (default 1e-4)")
    p.add_argument("--backbone", default=None, help="timm backbone for imagenet/scratch (default efficientnet_lite0)")
    p.add_argument("--image-root", type=Path, default=None, help="folder that relative file_loc paths start from")
    p.add_argument("--no-balance", action="store_true", help="do not weight classes by inverse frequency")
    p.add_argument("--feature-scaling", choices=["cosine", "standardise"], default=None,
                   help="how the head sees the features: cosine (centred, each galaxy's vector scaled to one "
                        "length; best with few labels) or standardise (each feature to unit variance); "
                        "default cosine for classification, standardise for regression")
    add_out_arguments(p)
    add_quiet_argument(p)
    p.set_defaults(run=run)
    return p
