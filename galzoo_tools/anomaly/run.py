"""Rank every galaxy by one researcher's interest, end to end: what ``galzoo anomaly`` runs.

>>> result = rank_by_interest("runs/emb", "runs/universe/catalog.parquet", persona="rings", labels=200)
>>> result.ranking.head()                          # id_str, rank, predicted_score, labelled, label
>>> result.metrics["methods"]["gp"]["precision_at_50"]

The interest scores (a column of 0-5 scores, or a persona computed from the synthetic truth)
play the researcher: each labelling strategy only ever sees the scores of the galaxies it asks
about (``labels`` of them), and the rest is used to measure it. The ranking written is the
paper's GP method's when it runs, else the first strategy's; the unsupervised detectors
(isolation forest, local outlier factor) use no labels and are measured once.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from .base import ActiveLearner
from .evaluate import LEARNERS, make_learner, run_learner, unsupervised_metrics
from .features import DEFAULT_COMPONENTS, compress_features
from .metrics import DEFAULT_KS, ranking_metrics
from .personas import INTERESTING_AT, SimulatedResearcher, persona_scores

if TYPE_CHECKING:
    from ..representations import Embeddings

__all__ = ["UNSUPERVISED", "METHODS", "DEFAULT_METHODS", "InterestRanking", "parse_methods", "interest_scores",
           "rank_by_interest"]

UNSUPERVISED = ("isolation_forest", "lof")
"""Detectors that rank by oddity alone, with no labels."""

METHODS = (*LEARNERS, *UNSUPERVISED)
"""Every method :func:`rank_by_interest` can run: the labelling strategies, then the unsupervised detectors."""

DEFAULT_METHODS = ("gp", "astronomaly", "random", "isolation_forest")
"""What runs unless told otherwise: all but LOF (slow on many galaxies, and the weakest)."""


@dataclass
class InterestRanking:
    """Every galaxy, most interesting first (``ranking``), and how each method did (``metrics``)."""

    ranking: pd.DataFrame
    metrics: dict[str, Any]


def parse_methods(methods: str | Sequence[str]) -> list[str]:
    """Method names from a comma-separated string or a sequence, checked: each known, at least one learner.

    A ranking needs a labelling strategy, so a list of unsupervised detectors alone is refused.
    """
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else map(str, methods))]
    names = list(dict.fromkeys(m for m in names if m))
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    if not any(m in LEARNERS for m in names):
        raise ValueError(f"methods {','.join(names) or '(none)'} name no labelling strategy; "
                         f"include {', '.join(LEARNERS)}")
    return names


def interest_scores(
    catalog: pd.DataFrame, column: str | None = None, persona: str | None = None
) -> tuple[np.ndarray, str]:
    """The researcher's 0-5 score per catalog row, and where it came from: ``column`` or ``persona:NAME``."""
    if (column is None) == (persona is None):
        raise ValueError("give exactly one of an interest column and a persona")
    if persona is not None:
        return persona_scores(catalog, persona), f"persona:{persona}"
    assert column is not None
    return SimulatedResearcher.from_column(catalog, column).scores, column


def _read_inputs(
    embeddings: Embeddings | str | os.PathLike[str], catalog: pd.DataFrame | str | os.PathLike[str]
) -> tuple[Embeddings, pd.DataFrame]:
    """The embeddings and the catalog rows in their order (ids unique on both sides, none missing)."""
    from ..catalog import read_table
    from ..representations import Embeddings, align_embeddings, load_embeddings

    emb = embeddings if isinstance(embeddings, Embeddings) else load_embeddings(embeddings)
    source = None if isinstance(catalog, pd.DataFrame) else catalog
    table = catalog if isinstance(catalog, pd.DataFrame) else read_table(catalog)  # id_str and scores: no images
    return emb, align_embeddings(emb, table, source)


def _learner_report(learner: ActiveLearner, is_interesting: np.ndarray) -> dict[str, float | int]:
    return {**ranking_metrics(learner.ranking(), is_interesting, DEFAULT_KS), "labels_used": learner.n_labelled,
            "interesting_labelled": int(is_interesting[learner.labelled].sum())}


def _ranking_table(ids: np.ndarray, learner: ActiveLearner) -> pd.DataFrame:
    order = learner.ranking()
    labelled = np.zeros(len(order), dtype=bool)
    labelled[learner.labelled] = True
    given = np.full(len(order), np.nan)
    given[learner.labelled] = learner.labels
    return pd.DataFrame({
        "id_str": ids[order], "rank": np.arange(1, len(order) + 1), "predicted_score": learner.predict()[order],
        "labelled": labelled[order], "label": given[order],
    })


def rank_by_interest(
    embeddings: Embeddings | str | os.PathLike[str],
    catalog: pd.DataFrame | str | os.PathLike[str],
    *,
    interest_col: str | None = None,
    persona: str | None = None,
    methods: str | Sequence[str] = DEFAULT_METHODS,
    labels: int = 200,
    batch_size: int = 10,
    components: int = DEFAULT_COMPONENTS,
    interesting_at: float = INTERESTING_AT,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    notes: Callable[[str], None] | None = None,
) -> InterestRanking:
    """Run each of ``methods`` on the embeddings with ``labels`` scores to spend; rank every galaxy.

    ``embeddings`` is an :class:`~galzoo_tools.representations.Embeddings` or its file (or folder);
    ``catalog`` a DataFrame or a CSV/parquet path holding ``id_str`` and the score column
    ``interest_col`` (or, for a ``persona``, the synthetic truth columns). Galaxies are matched on
    ``id_str``: a repeated, blank or missing id is a ``ValueError`` naming it. Features are
    compressed to ``components`` PCA components; a galaxy scored at least ``interesting_at`` counts
    as interesting. With ``out_dir``, writes ``ranking.csv`` and ``metrics.json`` (strict JSON:
    an undefined metric is ``null``) there. ``notes``, if given, is called with one line per step.
    """
    from ..jsonio import write_metrics

    note = notes or (lambda message: None)
    start = time.perf_counter()
    chosen = parse_methods(methods)
    emb, table = _read_inputs(embeddings, catalog)
    scores, source = interest_scores(table, interest_col, persona)
    is_interesting = scores >= interesting_at
    note(f"{len(emb)} galaxies, {int(is_interesting.sum())} interesting; compressing {emb.dims} features "
         f"to {components} components")
    features = compress_features(emb.features, components, seed=seed)

    report: dict[str, dict[str, Any]] = {}
    ranked_by: tuple[str, ActiveLearner] | None = None
    for method in (m for m in chosen if m in LEARNERS):
        note(f"{method}: asking for {labels} labels in batches of {batch_size}")
        learner = make_learner(method, features, seed=seed)
        run_learner(learner, SimulatedResearcher(scores), labels, batch_size)
        report[method] = _learner_report(learner, is_interesting)
        if ranked_by is None or method == "gp":
            ranked_by = (method, learner)
    if any(m in UNSUPERVISED for m in chosen):
        note(f"{', '.join(m for m in chosen if m in UNSUPERVISED)}: ranking by oddity, no labels")
        table_u = unsupervised_metrics(features, scores, seed, interesting_at, DEFAULT_KS)
        for row in table_u.to_dict("records"):
            if row["method"] in chosen:
                report[str(row["method"])] = {
                    **{k: v for k, v in row.items() if k not in ("method", "seed", "labels", "found")}, "labels_used": 0}
    assert ranked_by is not None  # parse_methods insists on a labelling strategy

    method, learner = ranked_by
    ranking = _ranking_table(emb.id_str, learner)
    metrics = {
        "ranking_method": method, "n_galaxies": len(ranking), "n_interesting": int(is_interesting.sum()),
        "interest": source, "interesting_at": interesting_at, "label_budget": labels, "batch_size": batch_size,
        "components": int(features.shape[1]), "seed": seed, "seconds": round(time.perf_counter() - start, 2),
        "methods": report,
    }
    if out_dir is not None:
        ranking.to_csv(Path(out_dir) / "ranking.csv", index=False)
        write_metrics(Path(out_dir) / "metrics.json", metrics)
    return InterestRanking(ranking=ranking, metrics=metrics)
