"""Learning curves: test accuracy, ROC AUC and loss against the number of labels, per starting model.

The paper's headline for fine-tuning (the third task of Walmsley et al. 2022): an encoder pretrained
on Galaxy Zoo answers needs far fewer ring labels than one pretrained on ImageNet, most of all
when labels are scarce. :func:`learning_curves` measures that on any labelled catalog. All
starting models see the *same* labelled galaxies (paired draws per budget and repeat) and the
same fixed test set, so their differences are not luck of the draw. In ``linear`` mode each
encoder embeds every galaxy once (or not at all, given its features) and each run only refits
the head on those shared features, so a grid of 8 budgets × 3 repeats × 3 encoders costs about
three embedding passes. Figures of the results are in :mod:`.plots`.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..representations import embed
from .data import encode_labels, infer_task, stratified_sample
from .evaluate import predict_features, score
from .model import FinetuneModel, build_finetune_model
from .probe import fit_linear_probe
from .run import with_shortcuts
from .train import FinetuneConfig, Mode, fit_finetune

__all__ = ["LearningCurves", "learning_curves", "summarise_curves", "mistakes", "DEFAULT_BUDGETS", "DEFAULT_MODELS"]

DEFAULT_BUDGETS = (8, 16, 32, 64, 128, 256, 512, 1024)
DEFAULT_MODELS = ("reference", "imagenet", "scratch")
METRICS = ("accuracy", "roc_auc", "loss")


@dataclass
class LearningCurves:
    """One row per run in ``runs`` (model, mode, budget, repeat, test metrics, seconds), and every
    run's test predictions in ``probabilities[(model, budget, repeat)]`` (P(class 1) for binary)."""

    runs: pd.DataFrame
    test: pd.DataFrame
    test_labels: np.ndarray
    classes: list
    probabilities: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict)


def learning_curves(
    catalog: pd.DataFrame | str | os.PathLike,
    label_col: str = "ring",
    models: Sequence[str] | None = None,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    repeats: int = 3,
    n_test: int | None = None,
    mode: Mode | None = None,
    image_size: int = 128,
    config: FinetuneConfig | None = None,
    seed: int | None = None,
    features: Mapping[str, np.ndarray | torch.Tensor] | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    inits: Sequence[str] | None = None,
) -> LearningCurves:
    """Fine-tune every starting model on ``repeats`` stratified draws of each label budget; test on a fixed set.

    ``models``: source names (default ``reference``, ``imagenet``, ``scratch``, or the keys of
    ``features``). ``config`` says how to train (``mode``: ``linear`` (fast), ``partial`` or
    ``full``); ``mode`` and ``seed`` are shortcuts for its fields, used only when given. The seed
    draws the test set and, plus the repeat number, each labelled set. ``features`` maps a model
    name to its precomputed features of every catalog row, in catalog order (e.g. from
    :func:`galzoo_tools.representations.embed`, or any other representation): only a head is
    fitted on them, and no encoder is built or run for that name. ``n_test`` (default: 40 % of
    the catalog, at most 1000) galaxies are held out first; budgets larger than what is left are
    skipped. ``inits`` is the deprecated name of ``models``.
    """
    from ..catalog import read_catalog
    from ..config import get_device
    from ..datasets import load_images

    if inits is not None:
        warnings.warn("inits= is deprecated; use models=", DeprecationWarning, stacklevel=2)
        if models is not None:
            raise ValueError("give the starting models once, as models=")
        models = inits
    features = dict(features or {})
    models = list(models if models is not None else (features or DEFAULT_MODELS))
    config = with_shortcuts(config, mode=mode, seed=seed)
    if features and config.mode != "linear":
        raise ValueError(f"precomputed features serve linear probes only; config.mode is {config.mode!r}")
    device = torch.device(device) if device is not None else get_device()
    table = catalog if isinstance(catalog, pd.DataFrame) else read_catalog(catalog, schema=None, require_votes=False)
    table = table.reset_index(drop=True)
    for name, values in features.items():
        if len(values) != len(table):
            raise ValueError(f"features[{name!r}] has {len(values)} rows for {len(table)} catalog rows; give the "
                             "features of every catalog row, in catalog order")
    task = infer_task(table[label_col])
    y, classes = encode_labels(table[label_col], task)
    n_test = n_test or min(1000, int(0.4 * len(table)))
    test = stratified_sample(y, n_test, config.seed + 1000, stratify=task != "regression")
    pool = np.setdiff1d(np.arange(len(table)), test)
    budgets = [b for b in budgets if b <= len(pool)]
    need_images = any(str(name) not in features for name in models)
    images = load_images(table, image_size, progress=progress) if need_images else None

    rows, probabilities = [], {}
    for name in models:
        torch.manual_seed(config.seed)
        if str(name) in features:  # only the head is fitted: no encoder to build or run
            shared = features[str(name)]
            base = FinetuneModel(nn.Identity(), {"num_features": int(shared.shape[1])}, task, classes,
                                 feature_scaling=config.feature_scaling)
        else:
            base = build_finetune_model(name, task, classes, feature_scaling=config.feature_scaling).to(device)
            shared = embed(base, images, progress=progress) if config.mode == "linear" else None
        for budget in budgets:
            for repeat in range(repeats):
                start = time.perf_counter()
                draw_seed = config.seed + repeat
                labelled = pool[stratified_sample(y[pool], budget, draw_seed, stratify=task != "regression")]
                predicted = _run(base, shared, images, y, labelled, test, replace(config, seed=draw_seed), device)
                metrics = score(base, y[test], predicted)
                rows.append({"model": str(name), "mode": config.mode, "budget": budget, "repeat": repeat,
                             **{f"test_{k}": v for k, v in metrics.items() if k != "n"},
                             "n_test": len(test), "seconds": time.perf_counter() - start})
                binary = predicted.ndim == 2 and predicted.shape[1] == 2
                probabilities[(str(name), budget, repeat)] = predicted[:, 1] if binary else predicted
        del base, shared
    return LearningCurves(pd.DataFrame(rows), table.iloc[test].reset_index(drop=True), y[test], classes or [],
                          probabilities)


def _run(base: FinetuneModel, shared: np.ndarray | torch.Tensor | None, images: torch.Tensor | None, y: np.ndarray,
         labelled: np.ndarray, test: np.ndarray, config: FinetuneConfig, device: torch.device) -> np.ndarray:
    """Test predictions after one draw: a fresh head on the shared features (linear; every fitted
    quantity of ``base``'s head is replaced, so one model serves all draws), or a copy of ``base``
    fine-tuned on the draw's images."""
    if shared is not None:
        fit_linear_probe(base, shared[labelled], y[labelled], config.balance, seed=config.seed)
        return predict_features(base, shared[test])
    assert images is not None
    model = copy.deepcopy(base)
    fit_finetune(model, images[labelled], y[labelled], config, device)
    return predict_features(model, embed(model, images[test], progress=False))


def summarise_curves(runs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Mean ± standard deviation over repeats, one row per (model, budget): the results table."""
    table = runs.groupby(["model", "budget"], sort=False)[[f"test_{m}" for m in metrics]].agg(["mean", "std"])
    out = pd.DataFrame(index=table.index)
    for m in metrics:
        mean, std = table[(f"test_{m}", "mean")], table[(f"test_{m}", "std")].fillna(0)
        out[m] = [f"{a:.3f} ± {s:.3f}" for a, s in zip(mean, std)]
    return out.unstack("model").swaplevel(axis=1).sort_index(axis=1, level=0, sort_remaining=False)


def mistakes(curves: LearningCurves, budget: int, repeat: int = 0, threshold: float = 0.5) -> pd.DataFrame:
    """The test galaxies some model gets wrong at ``budget`` labels (binary tasks): their label,
    each model's P(class 1) and ``wrong_by`` (which models got it wrong)."""
    frame = curves.test[["id_str", "file_loc"]].copy()
    frame["label"] = curves.test_labels
    names = [i for i in dict.fromkeys(k[0] for k in curves.probabilities) if (i, budget, repeat) in curves.probabilities]
    wrong = []
    for name in names:
        p = curves.probabilities[(name, budget, repeat)]
        frame[f"p_{name}"] = p
        wrong.append((p >= threshold).astype(int) != curves.test_labels)
    wrong_by = np.array(wrong)
    frame["wrong_by"] = [", ".join(i for i, w in zip(names, col) if w) for col in wrong_by.T]
    return frame[wrong_by.any(axis=0)].reset_index(drop=True)
