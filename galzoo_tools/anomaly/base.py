"""What every labelling strategy shares: the galaxies labelled so far, undo, and the ranking rule.

A strategy (:class:`~.gp_active.GPActiveLearner`, :class:`~.baselines.AstronomalyLearner`,
:class:`RandomLearner`) is asked for the next galaxies to show (``next_batch``), told the
researcher's 0-5 scores (``add_labels``), and asked for its ranking of every galaxy,
most interesting first (``ranking``). It refits lazily, only when labels changed.

The ranking rule, as in Walmsley et al. (2022): a labelled galaxy is ranked by the score the
researcher gave it, every other galaxy by the strategy's prediction; on a tie the labelled
galaxy comes first (it is certain).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ActiveLearner", "RandomLearner", "rank_with_labels"]


def rank_with_labels(predicted: np.ndarray, labelled: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Galaxy indices, most interesting first: labels where known, ``predicted`` elsewhere."""
    key = np.asarray(predicted, dtype=np.float64).copy()
    known = np.zeros(len(key), dtype=bool)
    known[labelled] = True
    key[labelled] = labels
    return np.lexsort((~known, -key))


class ActiveLearner:
    """Base class: bookkeeping of labels; subclasses implement ``_fit``, ``_predict`` and ``_acquire``."""

    name = "base"

    def __init__(self, features: np.ndarray, seed: int = 0):
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"features must be 2-d (one row per galaxy), got shape {x.shape}")
        self.features = x
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._labelled: list[int] = []
        self._labels: list[float] = []
        self._fitted_on: int | None = None

    @property
    def n_galaxies(self) -> int:
        return len(self.features)

    @property
    def labelled(self) -> np.ndarray:
        """Indices labelled so far, in the order they were labelled."""
        return np.asarray(self._labelled, dtype=np.int64)

    @property
    def labels(self) -> np.ndarray:
        """The researcher's 0-5 scores of :attr:`labelled`."""
        return np.asarray(self._labels, dtype=np.float64)

    @property
    def n_labelled(self) -> int:
        return len(self._labelled)

    def add_labels(self, indices: np.ndarray, scores: np.ndarray) -> None:
        """Record the researcher's ``scores`` (0-5) of galaxies ``indices``; a relabel replaces the old score."""
        indices = np.atleast_1d(np.asarray(indices, dtype=np.int64))
        scores = np.atleast_1d(np.asarray(scores, dtype=np.float64))
        if indices.shape != scores.shape:
            raise ValueError(f"got {len(indices)} galaxies but {len(scores)} scores")
        if len(indices) and (indices.min() < 0 or indices.max() >= self.n_galaxies):
            raise ValueError(f"galaxy indices must be in 0..{self.n_galaxies - 1}")
        if not np.isfinite(scores).all() or (scores < 0).any() or (scores > 5).any():
            raise ValueError("scores must be numbers from 0 to 5")
        for i, s in zip(indices.tolist(), scores.tolist()):
            if i in self._labelled:
                self._labels[self._labelled.index(i)] = s
            else:
                self._labelled.append(i)
                self._labels.append(s)
        self._fitted_on = None

    def forget(self, n: int = 1) -> np.ndarray:
        """Undo: drop the last ``n`` labels and return their galaxy indices."""
        n = min(n, self.n_labelled)
        cut = self.n_labelled - n
        dropped = self._labelled[cut:]
        del self._labelled[cut:], self._labels[cut:]
        self._fitted_on = None
        return np.asarray(dropped, dtype=np.int64)

    def _ensure_fit(self) -> None:
        if self._fitted_on != self.n_labelled:
            self._fit()
            self._fitted_on = self.n_labelled

    def unlabelled_mask(self) -> np.ndarray:
        mask = np.ones(self.n_galaxies, dtype=bool)
        mask[self.labelled] = False
        return mask

    def next_batch(self, n: int = 10) -> np.ndarray:
        """The ``n`` unlabelled galaxies to show the researcher next (never one already labelled)."""
        n = min(n, self.n_galaxies - self.n_labelled)
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        self._ensure_fit()
        return self._acquire(n)

    def predict(self) -> np.ndarray:
        """The strategy's interest score for every galaxy (ignoring the labels it was given)."""
        self._ensure_fit()
        return self._predict()

    def ranking(self) -> np.ndarray:
        """Every galaxy index, most interesting first (labelled galaxies by their labels)."""
        return rank_with_labels(self.predict(), self.labelled, self.labels)

    def _top_unlabelled(self, priority: np.ndarray, n: int) -> np.ndarray:
        priority = np.where(self.unlabelled_mask(), priority, -np.inf)
        top = np.argpartition(-priority, n - 1)[:n]
        return top[np.argsort(-priority[top], kind="stable")]

    def _random_unlabelled(self, n: int) -> np.ndarray:
        return self.rng.choice(np.flatnonzero(self.unlabelled_mask()), size=n, replace=False)

    def _fit(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _acquire(self, n: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class RandomLearner(ActiveLearner):
    """The no-brain baseline: show random galaxies; rank the liked ones first, the rest at random."""

    name = "random"

    def __init__(self, features: np.ndarray, seed: int = 0):
        super().__init__(features, seed)
        self._order_key = self.rng.random(self.n_galaxies)

    def _fit(self) -> None:
        pass

    def _predict(self) -> np.ndarray:
        return self._order_key

    def _acquire(self, n: int) -> np.ndarray:
        return self._random_unlabelled(n)
