"""How good is a ranking at putting the galaxies a researcher wants first?

Every metric takes ``order`` (galaxy indices, most interesting first) and ``is_interesting``
(one boolean per galaxy, e.g. ``scores >= 4``). A researcher reads a ranking from the top,
so what matters is the share of wanted galaxies among the first few hundred:

* **precision at k**: the share of the top ``k`` that are interesting;
* **average precision**: the mean, over every interesting galaxy, of the precision at its
  rank (1.0 when all of them come before anything else);
* **rank-weighted score** (Lochner & Bassett 2021, eq. 4): the top ``k`` weighted by
  ``k, k-1, …, 1``, normalised so a perfect top ``k`` scores 1, rewarding finds near the top.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["precision_at_k", "average_precision", "rank_weighted_score", "ranking_metrics", "DEFAULT_KS"]

DEFAULT_KS: tuple[int, ...] = (50, 100, 200)
"""The cut-offs reported everywhere: how many galaxies a researcher might look through."""


def _hits(order: np.ndarray, is_interesting: np.ndarray) -> np.ndarray:
    order = np.asarray(order)
    is_interesting = np.asarray(is_interesting, dtype=bool)
    if order.ndim != 1 or is_interesting.ndim != 1:
        raise ValueError("order and is_interesting must be 1-d arrays")
    return is_interesting[order]


def precision_at_k(order: np.ndarray, is_interesting: np.ndarray, k: int) -> float:
    """Share of interesting galaxies among the first ``k`` of ``order``."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    hits = _hits(order, is_interesting)[:k]
    return float(hits.sum() / k)


def average_precision(order: np.ndarray, is_interesting: np.ndarray) -> float:
    """Mean precision at the rank of each interesting galaxy (NaN when there are none)."""
    hits = _hits(order, is_interesting)
    if not hits.any():
        return float("nan")
    ranks = np.flatnonzero(hits) + 1
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks))


def rank_weighted_score(order: np.ndarray, is_interesting: np.ndarray, k: int) -> float:
    """Lochner & Bassett's rank-weighted score of the top ``k``: sum of (k - i) over hits at 0-based rank i, over k(k+1)/2."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    hits = _hits(order, is_interesting)[:k]
    weights = k - np.arange(len(hits))
    return float(np.sum(weights * hits) / (k * (k + 1) / 2))


def ranking_metrics(order: np.ndarray, is_interesting: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """``precision_at_{k}`` and ``rank_weighted_{k}`` for each ``k``, plus ``average_precision``."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"precision_at_{k}"] = precision_at_k(order, is_interesting, k)
    out["average_precision"] = average_precision(order, is_interesting)
    for k in ks:
        out[f"rank_weighted_{k}"] = rank_weighted_score(order, is_interesting, k)
    return out
