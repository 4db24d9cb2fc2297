"""Figures of fine-tuning: learning curves per starting model, and the test galaxies each gets wrong."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .experiment import METRICS, LearningCurves, mistakes

__all__ = ["plot_learning_curves", "plot_mistakes"]


def plot_learning_curves(runs: pd.DataFrame, metrics: Sequence[str] = METRICS, title: str | None = None) -> Figure:
    """One panel per metric: mean over repeats against the label budget, ± 1 std shaded, per starting model."""
    fig = Figure(figsize=(4.2 * len(metrics), 3.4))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    labels = {"accuracy": "test accuracy", "roc_auc": "test ROC AUC", "loss": "test loss (cross-entropy)"}
    for ax, metric in zip(axes, metrics):
        for name, group in runs.groupby("model", sort=False):
            stats = group.groupby("budget")[f"test_{metric}"].agg(["mean", "std"]).fillna(0)
            line, = ax.plot(stats.index, stats["mean"], "o-", ms=4, label=str(name))
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


def plot_mistakes(curves: LearningCurves, budget: int, repeat: int = 0, per_model: int = 8) -> Figure:
    """One row per starting model: test galaxies it gets wrong at ``budget`` labels, most confident first,
    titled with the true label and the model's P(class 1)."""
    from PIL import Image

    wrong = mistakes(curves, budget, repeat)
    names = [c[2:] for c in wrong.columns if c.startswith("p_")]
    fig = Figure(figsize=(1.5 * per_model, 1.75 * len(names)))
    axes = fig.subplots(len(names), per_model, squeeze=False)
    for row, name in zip(axes, names):
        mine = wrong[wrong["wrong_by"].str.split(", ").map(lambda who, name=name: name in who)]
        mine = mine.assign(confidence=(mine[f"p_{name}"] - 0.5).abs()).sort_values("confidence", ascending=False)
        for k, ax in enumerate(row):
            ax.set_axis_off()
            if k < len(mine):
                galaxy = mine.iloc[k]
                ax.imshow(np.asarray(Image.open(galaxy["file_loc"]).convert("RGB")))
                ax.set_title(f"y={galaxy['label']} p={galaxy[f'p_{name}']:.2f}", fontsize=7, pad=2)
        n_wrong = len(mine)
        row[0].text(-0.1, 0.5, f"{name}\n{n_wrong} wrong", transform=row[0].transAxes, ha="right", va="center",
                    fontsize=8)
    fig.subplots_adjust(left=0.1, right=0.995, top=0.93, bottom=0.01, wspace=0.04, hspace=0.3)
    return fig
