"""Measure strategies against a simulated researcher: metrics as a function of labels spent.

>>> history = compare_methods(features, persona_scores(catalog, "mergers"), seeds=(0, 1, 2), budget=200)
>>> summarise(history)            # mean and spread over seeds at the final budget

Each strategy is run for ``budget`` labels in batches of ``batch_size``; after every batch its
ranking of *all* galaxies is scored (labelled galaxies included, ranked by their labels, as
the researcher would use it). The unsupervised detectors need no labels and are scored once.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .base import ActiveLearner, RandomLearner
from .baselines import AstronomalyLearner, isolation_forest_scores, lof_scores
from .gp_active import GPActiveLearner
from .metrics import DEFAULT_KS, ranking_metrics
from .personas import INTERESTING_AT, SimulatedResearcher

__all__ = ["LEARNERS", "METHOD_LABELS", "make_learner", "run_learner", "simulate_labelling",
           "unsupervised_metrics", "compare_methods", "summarise"]

LEARNERS: dict[str, type[ActiveLearner]] = {
    "gp": GPActiveLearner,
    "astronomaly": AstronomalyLearner,
    "random": RandomLearner,
}
"""Labelling strategies by name."""

METHOD_LABELS = {
    "gp": "GP + expected improvement (paper)",
    "astronomaly": "Astronomaly (iforest + RF, Lochner & Bassett)",
    "random": "random labels",
    "isolation_forest": "isolation forest (no labels)",
    "lof": "local outlier factor (no labels)",
}
"""Readable names for plots and tables."""


def make_learner(method: str, features: np.ndarray, seed: int = 0, **kwargs: object) -> ActiveLearner:
    """A fresh strategy by name: ``gp``, ``astronomaly`` or ``random``."""
    try:
        cls = LEARNERS[method]
    except KeyError:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(LEARNERS)}") from None
    return cls(features, seed=seed, **kwargs)  # type: ignore[arg-type]


def run_learner(
    learner: ActiveLearner,
    researcher: Callable[[np.ndarray], np.ndarray],
    budget: int = 200,
    batch_size: int = 10,
    after_batch: Callable[[ActiveLearner], None] | None = None,
) -> ActiveLearner:
    """Show ``learner``'s batches to ``researcher`` until ``budget`` labels are spent; ``after_batch`` sees each step."""
    if budget < 1 or batch_size < 1:
        raise ValueError(f"budget and batch_size must be positive, got {budget} and {batch_size}")
    while learner.n_labelled < min(budget, learner.n_galaxies):
        batch = learner.next_batch(min(batch_size, budget - learner.n_labelled))
        learner.add_labels(batch, researcher(batch))
        if after_batch is not None:
            after_batch(learner)
    return learner


def simulate_labelling(
    features: np.ndarray,
    scores: np.ndarray,
    method: str = "gp",
    budget: int = 200,
    batch_size: int = 10,
    seed: int = 0,
    interesting_at: float = INTERESTING_AT,
    ks: Sequence[int] = DEFAULT_KS,
    **learner_kwargs: object,
) -> pd.DataFrame:
    """One strategy, one seed: a row of metrics after every batch (``labels``, ``found``, ``seconds`` per step, ...)."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) != len(features):
        raise ValueError(f"got {len(features)} feature rows but {len(scores)} scores")
    is_interesting = scores >= interesting_at
    learner = make_learner(method, features, seed, **learner_kwargs)
    rows: list[dict[str, object]] = []
    clock = [time.perf_counter()]

    def record(current: ActiveLearner) -> None:
        order = current.ranking()
        rows.append({
            "method": method, "seed": seed, "labels": current.n_labelled,
            "found": int(is_interesting[current.labelled].sum()),
            **ranking_metrics(order, is_interesting, ks),
            "seconds": time.perf_counter() - clock[0],
        })
        clock[0] = time.perf_counter()

    run_learner(learner, SimulatedResearcher(scores), budget, batch_size, after_batch=record)
    return pd.DataFrame(rows)


def unsupervised_metrics(
    features: np.ndarray, scores: np.ndarray, seed: int = 0, interesting_at: float = INTERESTING_AT,
    ks: Sequence[int] = DEFAULT_KS,
) -> pd.DataFrame:
    """Isolation forest and local outlier factor rankings scored against the researcher (no labels used)."""
    is_interesting = np.asarray(scores) >= interesting_at
    rows = []
    for name, raw in (("isolation_forest", isolation_forest_scores(features, seed)), ("lof", lof_scores(features))):
        rows.append({"method": name, "seed": seed, "labels": 0, "found": 0,
                     **ranking_metrics(np.argsort(-raw, kind="stable"), is_interesting, ks)})
    return pd.DataFrame(rows)


def compare_methods(
    features: np.ndarray,
    scores: np.ndarray,
    methods: Sequence[str] = ("gp", "astronomaly", "random"),
    seeds: Sequence[int] = (0, 1, 2),
    budget: int = 200,
    batch_size: int = 10,
    interesting_at: float = INTERESTING_AT,
    ks: Sequence[int] = DEFAULT_KS,
    unsupervised: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Every method x seed (+ the unsupervised detectors): one long table of metrics per labels spent."""
    from tqdm.auto import tqdm

    runs = [(m, s) for s in seeds for m in methods]
    parts = []
    for method, seed in tqdm(runs, desc="simulated labelling", disable=not progress):
        parts.append(simulate_labelling(features, scores, method, budget, batch_size, seed, interesting_at, ks))
    if unsupervised:
        parts.extend(unsupervised_metrics(features, scores, s, interesting_at, ks) for s in seeds)
    return pd.concat(parts, ignore_index=True)


def summarise(history: pd.DataFrame, labels: int | None = None,
              metrics: Sequence[str] = ("precision_at_50", "precision_at_100", "precision_at_200",
                                        "average_precision", "rank_weighted_100")) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each metric, per method, at ``labels`` spent (default: each method's last step)."""
    rows = []
    for method, group in history.groupby("method", sort=False):
        at = group["labels"].max() if labels is None or method in ("isolation_forest", "lof") else labels
        step = group[group["labels"] == at]
        row: dict[str, object] = {"method": method, "labels": int(at), "seeds": step["seed"].nunique()}
        for m in metrics:
            if m in step:
                row[m] = step[m].mean()
                row[m + "_std"] = step[m].std(ddof=0)
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")
