"""Figures for judging a trained model: loss curves, predicted vs observed fractions, calibration."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..schema import Schema, decals_dr5
from ..votes import counts_to_fractions
from .evaluate import asked_mask

__all__ = ["plot_history", "plot_predicted_vs_observed", "plot_calibration", "DEFAULT_ANSWERS"]

DEFAULT_ANSWERS = (
    "smooth-or-featured-dr5_smooth",
    "smooth-or-featured-dr5_featured-or-disk",
    "disk-edge-on-dr5_yes",
    "has-spiral-arms-dr5_yes",
    "bar-dr5_no",
    "merging-dr5_none",
)
"""Answers that most galaxies are asked about and that readers recognise."""


def plot_history(history: Sequence[dict]) -> Figure:
    """Training and validation loss per epoch (the loss is summed over questions)."""
    epochs = [r["epoch"] + 1 for r in history]
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    ax.plot(epochs, [r["train_loss"] for r in history], "o-", label="training (augmented)")
    ax.plot(epochs, [r["val_loss"] for r in history], "s-", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("Dirichlet–multinomial loss\n(per galaxy, summed over questions)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _eligible(counts: np.ndarray | pd.DataFrame, schema: Schema, column: str, min_asked: float) -> np.ndarray:
    return asked_mask(counts, schema, min_asked)[:, schema.question(schema.answer(column).question).index]


def plot_predicted_vs_observed(
    predicted: np.ndarray,
    counts: np.ndarray | pd.DataFrame,
    schema: Schema = decals_dr5,
    answers: Sequence[str] = DEFAULT_ANSWERS,
    min_asked: float = 0.5,
    truth: np.ndarray | None = None,
) -> Figure:
    """One scatter per answer: predicted fraction against the volunteers' observed fraction.

    Points are galaxies where at least ``min_asked`` of volunteers were asked the question.
    With ``truth`` (the simulator's true fractions) those are drawn too: the scatter of truth
    against observation is the noise no model can remove.
    """
    observed = counts_to_fractions(counts, schema)
    ncols = min(3, len(answers))
    nrows = -(-len(answers) // ncols)
    fig = Figure(figsize=(3.1 * ncols, 3.0 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, column in zip(axes.flat, answers):
        i = schema.answer(column).index
        rows = _eligible(counts, schema, column, min_asked)
        if truth is not None:
            ax.scatter(observed[rows, i], truth[rows, i], s=5, alpha=0.3, c="tab:grey", label="truth")
        ax.scatter(observed[rows, i], predicted[rows, i], s=5, alpha=0.5, label="model")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(column.replace("-dr5_", ": "), fontsize=9)
        ax.set_xlabel("observed fraction", fontsize=8)
        ax.set_ylabel("predicted", fontsize=8)
    for ax in list(axes.flat)[len(answers):]:
        ax.set_axis_off()
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_calibration(
    predicted: np.ndarray,
    counts: np.ndarray | pd.DataFrame,
    schema: Schema = decals_dr5,
    answers: Sequence[str] = DEFAULT_ANSWERS,
    bins: int = 10,
    min_asked: float = 0.5,
) -> Figure:
    """Mean observed fraction in bins of predicted fraction: on the diagonal = calibrated."""
    observed = counts_to_fractions(counts, schema)
    edges = np.linspace(0, 1, bins + 1)
    fig = Figure(figsize=(4.6, 4.2))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect calibration")
    for column in answers:
        i = schema.answer(column).index
        rows = _eligible(counts, schema, column, min_asked)
        p, o = predicted[rows, i], observed[rows, i]
        which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
        n = np.bincount(which, minlength=bins)
        filled = n >= 5
        mean_p = np.bincount(which, weights=p, minlength=bins)[filled] / n[filled]
        mean_o = np.bincount(which, weights=o, minlength=bins)[filled] / n[filled]
        ax.plot(mean_p, mean_o, "o-", ms=3, label=column.replace("-dr5_", ": "))
    ax.set_xlabel("predicted fraction (bin mean)")
    ax.set_ylabel("observed fraction (bin mean)")
    ax.legend(fontsize=6.5)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
