"""Figures for notebook 05: metrics against labels spent, and the galaxies a ranking puts first."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..plotting import image_grid
from .evaluate import METHOD_LABELS

__all__ = ["plot_label_curves", "ranked_galaxies_grid", "METHOD_COLOURS"]

METHOD_COLOURS = {"gp": "tab:red", "astronomaly": "tab:blue", "random": "tab:gray",
                  "isolation_forest": "tab:green", "lof": "tab:olive"}

_TITLES = {"precision_at_50": "precision in the top 50", "precision_at_100": "precision in the top 100",
           "precision_at_200": "precision in the top 200", "average_precision": "average precision",
           "rank_weighted_100": "rank-weighted score (top 100)", "found": "interesting galaxies labelled"}


def plot_label_curves(
    history: pd.DataFrame,
    metrics: Sequence[str] = ("precision_at_50", "precision_at_100", "average_precision"),
    title: str | None = None,
    ax_size: tuple[float, float] = (4.0, 3.2),
) -> Figure:
    """One panel per metric: mean over seeds against labels spent, shaded min-max; unsupervised as dashed lines."""
    fig = Figure(figsize=(ax_size[0] * len(metrics), ax_size[1]))
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics):
        for method, group in history.groupby("method", sort=False):
            colour = METHOD_COLOURS.get(str(method))
            label = METHOD_LABELS.get(str(method), str(method))
            if (group["labels"] == 0).all():
                if metric != "found":
                    ax.axhline(group[metric].mean(), ls="--", lw=1.2, color=colour, label=label)
                continue
            stats = group.groupby("labels")[metric].agg(["mean", "min", "max"])
            ax.plot(stats.index, stats["mean"], color=colour, lw=2, label=label)
            ax.fill_between(stats.index, stats["min"], stats["max"], color=colour, alpha=0.2, lw=0)
        ax.set_xlabel("labels spent")
        ax.set_title(_TITLES.get(metric, metric), fontsize=10)
        if metric != "found":
            ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, frameon=False, loc="best")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def ranked_galaxies_grid(
    images: np.ndarray | Sequence[np.ndarray] | Sequence[str | os.PathLike[str]],
    order: np.ndarray,
    scores: np.ndarray | None = None,
    n: int = 16,
    ncols: int = 8,
    labelled: np.ndarray | None = None,
    ax_size: float = 0.9,
) -> Figure:
    """The first ``n`` galaxies of a ranking, titled with rank, the researcher's score and ``*`` if it was labelled.

    ``images`` holds one image per galaxy: arrays (H x W x C or C x H x W) or file paths
    (e.g. ``catalog["file_loc"]``), which are read only for the galaxies shown.
    """
    top = np.asarray(order)[:n]
    known = set(np.asarray(labelled).tolist()) if labelled is not None else set()
    titles = []
    for rank, i in enumerate(top, start=1):
        score = f" · {scores[i]:.0f}" if scores is not None else ""
        titles.append(f"#{rank}{score}{'*' if int(i) in known else ''}")
    pictures = [_as_hwc(images[int(i)]) for i in top]  # type: ignore[index]
    return image_grid(pictures, titles, ncols=ncols, ax_size=ax_size)


def _as_hwc(image: np.ndarray | str | os.PathLike[str]) -> np.ndarray:
    if isinstance(image, (str, os.PathLike)):
        from PIL import Image

        with Image.open(image) as img:
            return np.asarray(img.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = np.moveaxis(arr, 0, -1)
    return arr[..., 0] if arr.ndim == 3 and arr.shape[-1] == 1 else arr
