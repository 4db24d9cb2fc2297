"""How good are predicted vote fractions? Numbers a reader can put in context.

Observed fractions from 5 volunteers are noisy, so even a perfect model has an error. We
report three errors, measured the same way:

* ``vote_mae``: the model's predicted fractions against the observed ones;
* ``oracle_vote_mae``: the simulator's true answer probabilities against the observed ones
  (the noise floor: no model can expect to beat it);
* ``baseline_vote_mae``: the training set's mean fractions against the observed ones
  (what you get without looking at the image).

Like Walmsley et al. (2022), a question only counts for a galaxy where at least half of its
volunteers were asked it, so fractions are not made of one or two stray votes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import Schema, decals_dr5
from .votes import counts_array, counts_to_fractions, question_totals

__all__ = ["asked_mask", "vote_fraction_mae", "mean_fraction_baseline", "vote_mae_report", "true_fractions"]


def asked_mask(counts: np.ndarray | pd.DataFrame, schema: Schema = decals_dr5, min_asked: float = 0.5) -> np.ndarray:
    """``(n, n_questions)`` True where at least ``min_asked`` of the galaxy's volunteers answered."""
    totals = question_totals(counts, schema)
    volunteers = totals[:, [q.index for q in schema.root_questions]].max(axis=1, keepdims=True)
    return (totals > 0) & (totals >= min_asked * volunteers)


def vote_fraction_mae(
    predicted: np.ndarray,
    counts: np.ndarray | pd.DataFrame,
    schema: Schema = decals_dr5,
    min_asked: float = 0.5,
) -> dict[str, float]:
    """Mean absolute error per question (over its answers and eligible galaxies) and ``"mean"``.

    ``"mean"`` averages the questions that have any eligible galaxy, so rare questions count
    as much as common ones.
    """
    predicted = counts_array(predicted, schema)
    observed = counts_to_fractions(counts, schema)
    mask = asked_mask(counts, schema, min_asked)
    errors = np.abs(predicted - observed)
    out: dict[str, float] = {}
    for q in schema.questions:
        rows = mask[:, q.index]
        if rows.any():
            out[q.name] = float(errors[rows, q.slice].mean())
    out["mean"] = float(np.mean(list(out.values()))) if out else float("nan")
    return out


def mean_fraction_baseline(train_counts: np.ndarray | pd.DataFrame, schema: Schema = decals_dr5) -> np.ndarray:
    """The training set's mean observed fraction per answer (over galaxies asked), ``(n_answers,)``."""
    fractions = counts_to_fractions(train_counts, schema, unasked=np.nan)
    asked = np.isfinite(fractions)
    totals = np.where(asked, fractions, 0.0).sum(axis=0)
    return np.divide(totals, asked.sum(axis=0), out=np.zeros(fractions.shape[1]), where=asked.any(axis=0))


def true_fractions(catalog: pd.DataFrame, schema: Schema = decals_dr5) -> np.ndarray | None:
    """The simulator's ``{column}_true_fraction`` columns, or None for real data."""
    cols = [c + "_true_fraction" for c in schema.label_cols]
    if not all(c in catalog.columns for c in cols):
        return None
    return catalog[cols].to_numpy(dtype=np.float64)


def vote_mae_report(
    predicted: np.ndarray,
    catalog: pd.DataFrame,
    train_catalog: pd.DataFrame,
    schema: Schema = decals_dr5,
) -> dict[str, float | None]:
    """``vote_mae``, ``baseline_vote_mae`` and (with synthetic truth) ``oracle_vote_mae``."""
    baseline = np.broadcast_to(mean_fraction_baseline(train_catalog, schema), predicted.shape)
    truth = true_fractions(catalog, schema)
    return {
        "vote_mae": vote_fraction_mae(predicted, catalog, schema)["mean"],
        "baseline_vote_mae": vote_fraction_mae(baseline, catalog, schema)["mean"],
        "oracle_vote_mae": None if truth is None else vote_fraction_mae(truth, catalog, schema)["mean"],
    }
