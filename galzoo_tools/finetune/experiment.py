"""Learning curves: test accuracy, ROC AUC and loss against the number of labels, per starting point.

The paper's headline for fine-tuning (Walmsley et al. 2022, §5, Fig. 12): an encoder pretrained
on Galaxy Zoo answers needs far fewer ring labels than one pretrained on ImageNet, most of all
when labels are scarce. :func:`learning_curves` measures that on any labelled catalog. All
starting points see the *same* labelled galaxies (paired draws per budget and repeat) and the
same fixed test set, so their differences are not luck of the draw. In ``linear`` mode each
encoder embeds every galaxy once and each run only refits the head, so a grid of 8 budgets ×
3 repeats × 3 encoders costs about three embedding passes.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from .data import encode_labels, infer_task, stratified_sample
from .evaluate import predict_features, score
from .model import build_finetune_model
from .probe import embed_images, fit_linear_probe
from .train import FinetuneConfig, fit_finetune

__all__ = ["LearningCurves", "learning_curves", "summarise_curves", "plot_learning_curves", "mistakes",
           "plot_mistakes", "DEFAULT_BUDGETS", "DEFAULT_INITS"]

DEFAULT_BUDGETS = (8, 16, 32, 64, 128, 256, 512, 1024)
DEFAULT_INITS = ("reference", "imagenet", "scratch")
METRICS = ("accuracy", "roc_auc", "loss")


@dataclass
class LearningCurves:
    """One row per run in ``runs`` (init, mode, budget, repeat, test metrics, seconds), and every
    run's test predictions in ``probabilities[(init, budget, repeat)]`` (P(class 1) for binary)."""

    runs: pd.DataFrame
    test: pd.DataFrame
    test_labels: np.ndarray
    classes: list
    probabilities: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict)


def learning_curves(
    catalog: pd.DataFrame | str | os.PathLike,
    label_col: str = "ring",
    inits: Sequence[str] = DEFAULT_INITS,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    repeats: int = 3,
    n_test: int | None = None,
    mode: str = "linear",
    image_size: int = 128,
    config: FinetuneConfig | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> LearningCurves:
    """Fine-tune every ``init`` on ``repeats`` stratified draws of each label budget; test on a fixed set.

    ``n_test`` (default: 40 % of the catalog, at most 1000) galaxies are held out first; budgets
    larger than what is left are skipped. ``mode`` is ``linear`` (fast), ``partial`` or ``full``.
    """
    from ..catalog import read_catalog
    from ..config import get_device
    from ..datasets import load_images

    device = torch.device(device) if device is not None else get_device()
    table = catalog if isinstance(catalog, pd.DataFrame) else read_catalog(catalog, schema=None, require_votes=False)
    table = table.reset_index(drop=True)
    task = infer_task(table[label_col])
    y, classes = encode_labels(table[label_col], task)
    n_test = n_test or min(1000, int(0.4 * len(table)))
    test = stratified_sample(y, n_test, seed + 1000, stratify=task != "regression")
    pool = np.setdiff1d(np.arange(len(table)), test)
    budgets = [b for b in budgets if b <= len(pool)]
    images = load_images(table, image_size, progress=progress)
    config = replace(config or FinetuneConfig(), mode=mode)  # type: ignore[arg-type]

    rows, probabilities = [], {}
    for init in inits:
        torch.manual_seed(seed)
        base = build_finetune_model(init, task, classes, feature_scaling=config.feature_scaling).to(device)
        features = embed_images(base, images, progress=progress) if mode == "linear" else None
        for budget in budgets:
            for repeat in range(repeats):
                start = time.perf_counter()
                labelled = pool[stratified_sample(y[pool], budget, seed + repeat, stratify=task != "regression")]
                model = copy.deepcopy(base)
                if features is not None:
                    fit_linear_probe(model, features[labelled], y[labelled], config.balance, seed=seed + repeat)
                    test_features = features[test]
                else:
                    fit_finetune(model, images[labelled], y[labelled], replace(config, seed=seed + repeat), device)
                    test_features = embed_images(model, images[test])
                predicted = predict_features(model, test_features)
                metrics = score(model, y[test], predicted)
                rows.append({"init": str(init), "mode": mode, "budget": budget, "repeat": repeat,
                             **{f"test_{k}": v for k, v in metrics.items() if k != "n"},
                             "n_test": len(test), "seconds": time.perf_counter() - start})
                probabilities[(str(init), budget, repeat)] = predicted[:, 1] if predicted.ndim == 2 and predicted.shape[1] == 2 else predicted
                del model
    return LearningCurves(pd.DataFrame(rows), table.iloc[test].reset_index(drop=True), y[test], classes or [],
                          probabilities)


def summarise_curves(runs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Mean ± standard deviation over repeats, one row per (init, budget): the results table."""
    table = runs.groupby(["init", "budget"], sort=False)[[f"test_{m}" for m in metrics]].agg(["mean", "std"])
    out = pd.DataFrame(index=table.index)
    for m in metrics:
        mean, std = table[(f"test_{m}", "mean")], table[(f"test_{m}", "std")].fillna(0)
        out[m] = [f"{a:.3f} ± {s:.3f}" for a, s in zip(mean, std)]
    return out.unstack("init").swaplevel(axis=1).sort_index(axis=1, level=0, sort_remaining=False)


def plot_learning_curves(runs: pd.DataFrame, metrics: Sequence[str] = METRICS, title: str | None = None) -> Figure:
    """One panel per metric: mean over repeats against the label budget, ± 1 std shaded, per init."""
    fig = Figure(figsize=(4.2 * len(metrics), 3.4))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    labels = {"accuracy": "test accuracy", "roc_auc": "test ROC AUC", "loss": "test loss (cross-entropy)"}
    for ax, metric in zip(axes, metrics):
        for init, group in runs.groupby("init", sort=False):
            stats = group.groupby("budget")[f"test_{metric}"].agg(["mean", "std"]).fillna(0)
            line, = ax.plot(stats.index, stats["mean"], "o-", ms=4, label=str(init))
            ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                            color=line.get_color(), alpha=0.2, lw=0)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("labelled galaxies")
        ax.set_ylabel(labels.get(metric, metric))
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def mistakes(curves: LearningCurves, budget: int, repeat: int = 0, threshold: float = 0.5) -> pd.DataFrame:
    """The test galaxies some model gets wrong at ``budget`` labels (binary tasks): their label,
    each init's P(class 1) and ``wrong_by`` (which inits got it wrong)."""
    frame = curves.test[["id_str", "file_loc"]].copy()
    frame["label"] = curves.test_labels
    inits = [i for i in dict.fromkeys(k[0] for k in curves.probabilities) if (i, budget, repeat) in curves.probabilities]
    wrong = []
    for init in inits:
        p = curves.probabilities[(init, budget, repeat)]
        frame[f"p_{init}"] = p
        wrong.append((p >= threshold).astype(int) != curves.test_labels)
    wrong_by = np.array(wrong)
    frame["wrong_by"] = [", ".join(i for i, w in zip(inits, col) if w) for col in wrong_by.T]
    return frame[wrong_by.any(axis=0)].reset_index(drop=True)


def plot_mistakes(curves: LearningCurves, budget: int, repeat: int = 0, per_init: int = 8) -> Figure:
    """One row per init: test galaxies it gets wrong at ``budget`` labels, most confident first,
    titled with the true label and the model's P(class 1)."""
    from PIL import Image

    wrong = mistakes(curves, budget, repeat)
    inits = [c[2:] for c in wrong.columns if c.startswith("p_")]
    fig = Figure(figsize=(1.5 * per_init, 1.75 * len(inits)))
    axes = fig.subplots(len(inits), per_init, squeeze=False)
    for row, init in zip(axes, inits):
        mine = wrong[wrong["wrong_by"].str.split(", ").map(lambda names: init in names)]
        mine = mine.assign(confidence=(mine[f"p_{init}"] - 0.5).abs()).sort_values("confidence", ascending=False)
        for k, ax in enumerate(row):
            ax.set_axis_off()
            if k < len(mine):
                galaxy = mine.iloc[k]
                ax.imshow(np.asarray(Image.open(galaxy["file_loc"]).convert("RGB")))
                ax.set_title(f"y={galaxy['label']} p={galaxy[f'p_{init}']:.2f}", fontsize=7, pad=2)
        n_wrong = len(mine)
        row[0].text(-0.1, 0.5, f"{init}\n{n_wrong} wrong", transform=row[0].transAxes, ha="right", va="center",
                    fontsize=8)
    fig.subplots_adjust(left=0.1, right=0.995, top=0.93, bottom=0.01, wspace=0.04, hspace=0.3)
    return fig
