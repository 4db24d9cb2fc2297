"""The baselines the paper compares with: plain outlier detection, and Astronomaly.

**Unsupervised** (no researcher at all): an isolation forest or a local outlier factor
ranks galaxies by how unusual their features are. Unusual is not the same as *interesting to
you*: artefacts, bright stars and odd crops are unusual too.

**Astronomaly** (Lochner & Bassett 2021, "Astronomaly: personalised active anomaly detection
in astronomical data") starts from the isolation-forest ranking and lets the researcher's
scores pull boring regions of feature space down:

* anomaly score a: isolation-forest scores rescaled to 0-5 (most anomalous = 5);
* user score u: a random forest regresses the researcher's 0-5 labels on the features and
  predicts every galaxy;
* d0: each galaxy's distance to its nearest labelled galaxy, divided by the mean of those
  distances over all galaxies;
* final = a · tanh(exp(α d0) − 1 + artanh(f_u)),  f_u = 0.1 + 0.85 u / 5,  α = 1.

Near labelled galaxies (d0 → 0) the final score is a · f_u, so a galaxy like ones you scored
0 is scaled down tenfold; far from any label the tanh → 1 and the anomaly score stands. As in
Astronomaly's interface, the researcher is shown the top of the current ranking.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest, RandomForestRegressor
from sklearn.neighbors import LocalOutlierFactor

from .base import ActiveLearner

__all__ = [
    "isolation_forest_scores",
    "lof_scores",
    "rescale_scores",
    "nearest_labelled_distance",
    "distance_weighted_score",
    "AstronomalyLearner",
]


def isolation_forest_scores(features: np.ndarray, seed: int = 0, n_estimators: int = 100) -> np.ndarray:
    """Isolation-forest anomaly scores, larger = more anomalous (minus sklearn's ``decision_function``)."""
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed).fit(features)
    return -forest.decision_function(features)


def lof_scores(features: np.ndarray, n_neighbors: int = 20) -> np.ndarray:
    """Local-outlier-factor scores, larger = more anomalous (minus sklearn's ``negative_outlier_factor_``)."""
    n_neighbors = min(n_neighbors, len(features) - 1)
    lof = LocalOutlierFactor(n_neighbors=n_neighbors).fit(features)
    return -lof.negative_outlier_factor_


def rescale_scores(scores: np.ndarray, low: float = 0.0, high: float = 5.0) -> np.ndarray:
    """Map scores linearly onto ``[low, high]`` (all ``high`` when every score is equal)."""
    scores = np.asarray(scores, dtype=np.float64)
    span = scores.max() - scores.min()
    if span == 0:
        return np.full_like(scores, high)
    return low + (high - low) * (scores - scores.min()) / span


def nearest_labelled_distance(features: np.ndarray, labelled: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Euclidean distance from every galaxy to its nearest labelled galaxy (0 for the labelled ones)."""
    x = np.asarray(features, dtype=np.float64)
    ref = x[np.asarray(labelled, dtype=np.int64)]
    ref_sq = (ref * ref).sum(1)
    out = np.empty(len(x))
    for start in range(0, len(x), chunk):
        block = x[start : start + chunk]
        sq = (block * block).sum(1)[:, None] + ref_sq[None, :] - 2.0 * block @ ref.T
        out[start : start + len(block)] = np.sqrt(np.maximum(sq.min(1), 0.0))
    out[labelled] = 0.0
    return out


def distance_weighted_score(
    anomaly: np.ndarray, user: np.ndarray, distance: np.ndarray, alpha: float = 1.0,
    min_score: float = 0.1, max_score: float = 5.0,
) -> np.ndarray:
    """Lochner & Bassett's final score: ``anomaly · tanh(exp(α d/mean(d)) − 1 + artanh(f_u))``, ``f_u = min + 0.85 u/max``."""
    f_u = min_score + 0.85 * np.clip(np.asarray(user, dtype=np.float64), 0.0, max_score) / max_score
    distance = np.asarray(distance, dtype=np.float64)
    mean = distance.mean()
    d0 = distance / mean if mean > 0 else np.zeros_like(distance)
    return np.asarray(anomaly) * np.tanh(np.expm1(alpha * d0) + np.arctanh(f_u))


class AstronomalyLearner(ActiveLearner):
    """Isolation forest re-weighted by a random-forest model of the researcher's scores (Lochner & Bassett 2021)."""

    name = "astronomaly"

    def __init__(self, features: np.ndarray, seed: int = 0, anomaly_scores: np.ndarray | None = None,
                 alpha: float = 1.0, n_estimators: int = 100):
        super().__init__(features, seed)
        raw = isolation_forest_scores(self.features, seed) if anomaly_scores is None else anomaly_scores
        self.anomaly = rescale_scores(raw)
        self.alpha = alpha
        self.n_estimators = n_estimators
        self._final = self.anomaly.copy()
        self.user = np.zeros(self.n_galaxies)

    def _fit(self) -> None:
        if self.n_labelled == 0:
            self._final = self.anomaly.copy()
            return
        regressor = RandomForestRegressor(n_estimators=self.n_estimators, random_state=self.seed, n_jobs=1)
        regressor.fit(self.features[self.labelled], self.labels)
        self.user = regressor.predict(self.features)
        distance = nearest_labelled_distance(self.features, self.labelled)
        self._final = distance_weighted_score(self.anomaly, self.user, distance, self.alpha)

    def _predict(self) -> np.ndarray:
        return self._final

    def _acquire(self, n: int) -> np.ndarray:
        return self._top_unlabelled(self._final, n)
