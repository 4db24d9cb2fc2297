"""Researchers with tastes: 0-5 interest scores built from the synthetic truth.

In a notebook a person scores galaxies with the labeller widget. To *measure* a method we
need a researcher who never tires and always answers the same way, so a **persona** turns the
simulator's truth (``true_*`` columns) into the 0-5 score that kind of researcher would give:
5 for exactly what they are after, 4 for a clear but lesser example, 1-3 for look-alikes
that catch the eye but are not it, 0 for everything else. "Interesting" means a score of at
least 4 (:data:`INTERESTING_AT`).

>>> scores = persona_scores(catalog, "mergers")   # one 0-5 score per galaxy
>>> researcher = SimulatedResearcher(scores)       # answers researcher(indices) -> scores
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["PERSONAS", "Persona", "INTERESTING_AT", "persona_scores", "rare_subset", "SimulatedResearcher"]

INTERESTING_AT = 4.0
"""A galaxy scored at least this is one the researcher wanted."""


@dataclass(frozen=True)
class Persona:
    """A named taste: which truth columns it reads and how it turns them into 0-5 scores."""

    name: str
    description: str
    columns: tuple[str, ...]
    score: Callable[[pd.DataFrame], np.ndarray] = field(repr=False)


def _rings(c: pd.DataFrame) -> np.ndarray:
    ring = c["true_ring_type"].to_numpy()
    return np.select([ring == "outer", ring == "inner", c["true_lens"].to_numpy() == 1], [5, 4, 2], 0)


def _mergers(c: pd.DataFrame) -> np.ndarray:
    state = c["true_merger"].to_numpy()
    near = (c["true_tidal"].to_numpy() == 1) | (c["true_companion"].to_numpy() == 1)
    return np.select(
        [state == "merger", state == "major-disturbance", near, state == "minor-disturbance"], [5, 3, 2, 1], 0
    )


def _lenses(c: pd.DataFrame) -> np.ndarray:
    return np.select([c["true_lens"].to_numpy() == 1, c["true_ring_type"].to_numpy() != "none"], [5, 1], 0)


def _artifacts(c: pd.DataFrame) -> np.ndarray:
    kind = c["true_artifact"].to_numpy()
    return np.select([np.isin(kind, ["satellite-trail", "bad-pixels"]), kind == "saturated-star"], [5, 4], 0)


PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in (
        Persona("rings", "ring galaxies: outer ring 5, inner ring 4, lensing arcs (ring-like) 2",
                ("true_ring_type", "true_lens"), _rings),
        Persona("mergers", "mergers 5; major disturbance 3; tidal tails or a companion 2; minor disturbance 1",
                ("true_merger", "true_tidal", "true_companion"), _mergers),
        Persona("lenses", "strong gravitational lenses 5; ringed galaxies (look-alikes) 1",
                ("true_lens", "true_ring_type"), _lenses),
        Persona("artifacts", "imaging artefacts: satellite trails and bad pixels 5, saturated stars 4",
                ("true_artifact",), _artifacts),
    )
}
"""Every persona by name (``rings``, ``mergers``, ``lenses``, ``artifacts``)."""


def persona_scores(catalog: pd.DataFrame, persona: str) -> np.ndarray:
    """The 0-5 score (float) that ``persona`` gives each galaxy of a synthetic catalog."""
    try:
        p = PERSONAS[persona]
    except KeyError:
        raise ValueError(f"unknown persona {persona!r}; choose one of {sorted(PERSONAS)}") from None
    missing = [c for c in p.columns if c not in catalog.columns]
    if missing:
        raise ValueError(
            f"persona {persona!r} reads the synthetic truth columns {missing}, which the catalog lacks; "
            "personas need a catalog made by galzoo_tools.synthetic (for your own galaxies, score them "
            "with the labeller or pass a 0-5 column)"
        )
    return p.score(catalog).astype(np.float64)


def rare_subset(
    scores: np.ndarray, fraction: float = 0.02, interesting_at: float = INTERESTING_AT, seed: int = 0
) -> np.ndarray:
    """Row positions that keep every uninteresting galaxy and just enough interesting ones to make up ``fraction``.

    The wanted kind is rare in real surveys; this makes it rare in a synthetic one. Returns the
    sorted positions (all rows when interesting galaxies are already at most ``fraction``).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    scores = np.asarray(scores, dtype=float)
    hits = np.flatnonzero(scores >= interesting_at)
    rest = np.flatnonzero(scores < interesting_at)
    keep_hits = int(np.floor(fraction * len(rest) / (1 - fraction)))
    if keep_hits >= len(hits):
        return np.arange(len(scores))
    chosen = np.random.default_rng(seed).choice(hits, size=keep_hits, replace=False)
    return np.sort(np.concatenate([rest, chosen]))


class SimulatedResearcher:
    """Answers with known 0-5 scores, counting how many galaxies it was shown."""

    def __init__(self, scores: np.ndarray):
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 1:
            raise ValueError(f"scores must be 1-d (one per galaxy), got shape {scores.shape}")
        if not np.isfinite(scores).all() or scores.min() < 0 or scores.max() > 5:
            raise ValueError("scores must be finite numbers from 0 to 5")
        self.scores = scores
        self.n_asked = 0

    @classmethod
    def from_column(cls, catalog: pd.DataFrame, column: str) -> "SimulatedResearcher":
        """A researcher whose scores are ``catalog[column]`` (0-5)."""
        if column not in catalog.columns:
            raise ValueError(f"catalog has no column {column!r} to read interest scores from")
        values = pd.to_numeric(catalog[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0) | (values > 5)
        if bad.any():
            rows = catalog.index[bad][:10].tolist()
            raise ValueError(f"column {column!r} must hold scores from 0 to 5; rows {rows} do not")
        return cls(values)

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        self.n_asked += len(indices)
        return self.scores[indices]
