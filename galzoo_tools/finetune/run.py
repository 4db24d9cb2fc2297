"""Fine-tuning end to end, as ``galzoo finetune`` runs it: catalog → budget → model → test metrics.

``train_size`` labelled galaxies, drawn stratified from the catalog, are all the model may
learn from (a validation split for early stopping is taken from them); every other row is the
test set. :func:`finetune` writes into ``out_dir``:

* ``model/`` — the fine-tuned model (:func:`galzoo_tools.models.load_model`);
* ``predictions.parquet`` — each test galaxy's class probabilities, prediction and label;
* ``split.csv`` — which galaxy was ``train``, ``val`` or ``test``;
* ``history.json`` (per epoch, gradient modes) and ``metrics.json``.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..jsonio import write_metrics
from ..models import save_model, trained_image_size
from .data import check_class_counts, encode_labels, infer_task, stratified_sample
from .evaluate import predict_labels, score
from .model import FinetuneModel, build_finetune_model
from .train import FinetuneConfig, FitReport, Mode, fit_finetune

__all__ = ["FinetuneResult", "finetune", "with_shortcuts", "source_image_size", "DEFAULT_IMAGE_SIZE"]

DEFAULT_IMAGE_SIZE = 128
"""Image size for sources that do not record one (ImageNet, scratch, hub encoders)."""


@dataclass
class FinetuneResult:
    """The fine-tuned model, its test predictions and metrics, and what training did."""

    model: FinetuneModel
    metrics: dict[str, Any]
    predictions: pd.DataFrame
    report: FitReport


def source_image_size(source: str | os.PathLike[str]) -> int | None:
    """Deprecated: use :func:`galzoo_tools.models.trained_image_size`."""
    from ..models import trained_image_size

    warnings.warn("finetune.source_image_size is deprecated; use galzoo_tools.models.trained_image_size",
                  DeprecationWarning, stacklevel=2)
    return trained_image_size(source)


def _read(catalog: str | os.PathLike | pd.DataFrame, label_col: str, image_root: str | os.PathLike | None) -> pd.DataFrame:
    from ..catalog import read_catalog

    table = read_catalog(catalog, schema=None, require_votes=False, image_root=image_root)
    if label_col not in table.columns:
        source = catalog if not isinstance(catalog, pd.DataFrame) else "the catalog"
        raise ValueError(f"{source} has no column {label_col!r}; columns are {list(table.columns)[:15]}. "
                         "Pass the name of your label column (e.g. --label-col ring).")
    return table


def with_shortcuts(config: FinetuneConfig | None, **shortcuts: Any) -> FinetuneConfig:
    """``config`` (default :class:`FinetuneConfig`) with the shortcut keyword arguments that were
    given (not None) filled in: the config stays the single truth for everything else."""
    given = {name: value for name, value in shortcuts.items() if value is not None}
    return replace(config or FinetuneConfig(), **given)


def _model_source(model: str | os.PathLike | None, init: str | os.PathLike | None) -> str | os.PathLike:
    """``model``, or the deprecated ``init`` (warned), or ``reference``."""
    if init is None:
        return "reference" if model is None else model
    warnings.warn("init= is deprecated; use model=", DeprecationWarning, stacklevel=3)
    if model is not None:
        raise ValueError(f"give the starting model once, as model= (got model={model!r} and init={init!r})")
    return init


def finetune(
    catalog: str | os.PathLike | pd.DataFrame,
    label_col: str,
    model: str | os.PathLike | None = None,
    train_size: int = 128,
    out_dir: str | os.PathLike | None = None,
    seed: int | None = None,
    mode: Mode | None = None,
    task: str = "auto",
    image_size: int | None = None,
    config: FinetuneConfig | None = None,
    backbone: str | None = None,
    image_root: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    init: str | os.PathLike | None = None,
) -> FinetuneResult:
    """Fine-tune the encoder ``model`` (a source, default ``reference``) on ``train_size`` labels of
    ``label_col``; test on the rest.

    ``config`` says how to train; ``mode`` and ``seed`` are shortcuts for its fields, used only
    when given (``None``: the config's). The seed also draws the labelled galaxies.
    ``image_size`` defaults to the size ``model`` was pretrained at (else 128). Images of any
    size and format PIL reads are centre-cropped to a square and resized. Writes ``out_dir``
    (module docstring) when given; returns the model, metrics and test predictions. ``init`` is
    the deprecated name of ``model``.
    """
    from ..config import get_device
    from ..datasets import load_images

    start = time.perf_counter()
    device = torch.device(device) if device is not None else get_device()
    source = _model_source(model, init)
    config = with_shortcuts(config, mode=mode, seed=seed)
    seed = config.seed
    table = _read(catalog, label_col, image_root)
    task_name = infer_task(table[label_col], task)
    y, classes = encode_labels(table[label_col], task_name)
    if train_size >= len(table):
        raise ValueError(f"train_size={train_size} leaves no test galaxies in a catalog of {len(table)}; "
                         "use fewer labels or a bigger catalog")
    labelled = stratified_sample(y, train_size, seed, stratify=task_name != "regression")
    if task_name != "regression":  # before any image is read: a draw of one class cannot be learnt
        check_class_counts(y[labelled], classes, config.mode, population=y, label=label_col)  # type: ignore[arg-type]
    test = np.setdiff1d(np.arange(len(table)), labelled)

    net = build_finetune_model(source, task_name, classes, backbone=backbone).to(device)
    size = image_size or trained_image_size(source) or DEFAULT_IMAGE_SIZE
    channels = int(net.encoder_info.get("in_chans") or 3)
    images = load_images(table.iloc[labelled], size, channels)
    report = fit_finetune(net, images, y[labelled], config, device, progress)
    predictions = predict_labels(net, table.iloc[test], size, label_col=label_col, progress=progress)
    test_scores = score(net, y[test], _prediction_array(net, predictions))

    metrics: dict[str, Any] = {f"test_{k}": v for k, v in test_scores.items() if k != "n"}
    metrics.update({
        "n_train": int(train_size), "n_fit": report.n_train, "n_val": report.n_val, "n_test": int(len(test)),
        "mode": report.mode, "model": str(source), "task": task_name, "classes": classes, "label_col": label_col,
        "image_size": int(size), "backbone": net.encoder_info.get("backbone"), "seed": int(seed),
        "l2": report.l2, "trainable_blocks": report.trainable_blocks, "best_epoch": report.best_epoch,
        "epochs_run": max(0, len(report.history) - 1), "stopped_early": report.stopped_early,
        "cached_trunk": report.cached_trunk, "feature_scaling": net.feature_scaling, "device": str(device),
    })
    metrics["seconds"] = round(time.perf_counter() - start, 2)
    if out_dir is not None:
        _write(Path(out_dir), net, table, labelled, report, predictions, metrics, config)
    return FinetuneResult(net, metrics, predictions, report)


def _prediction_array(model: FinetuneModel, predictions: pd.DataFrame) -> np.ndarray:
    if model.task == "regression":
        return predictions["predicted"].to_numpy(np.float64)
    return predictions[[f"p_{c}" for c in model.classes]].to_numpy(np.float64)


def _write(out: Path, model: FinetuneModel, table: pd.DataFrame, labelled: np.ndarray, report: FitReport,
           predictions: pd.DataFrame, metrics: dict[str, Any], config: FinetuneConfig) -> None:
    out.mkdir(parents=True, exist_ok=True)
    keep = ("image_size", "label_col", "mode", "n_train", "seed", "model")
    save_model(model, out / "model", {k: metrics[k] for k in keep})
    predictions.to_parquet(out / "predictions.parquet", index=False)
    split = np.full(len(table), "test", dtype=object)
    split[labelled] = "train"
    split[labelled[report.val_rows]] = "val"
    pd.DataFrame({"id_str": table["id_str"], "split": split}).to_csv(out / "split.csv", index=False)
    write_metrics(out / "history.json", report.history, warn=False)  # epoch 0 (the probe) has no train loss
    write_metrics(out / "metrics.json", {**metrics, "config": asdict(config)})  # e.g. ROC AUC of one class -> null
