"""``galzoo anomaly``: personalised anomaly ranking from saved embeddings and a column of 0-5 scores.

The scores column plays the researcher: the strategies only ever see the scores of the
galaxies they ask about (``--labels`` of them), and the rest is used to measure them. Writes
``OUT/ranking.csv`` (the paper's GP method, most interesting first) and ``OUT/metrics.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["add_anomaly", "run_anomaly"]


def _scores(catalog: pd.DataFrame, column: str | None, persona: str | None) -> tuple[np.ndarray, str]:
    from .anomaly import SimulatedResearcher, persona_scores

    if persona is not None:
        return persona_scores(catalog, persona), f"persona:{persona}"
    assert column is not None
    return SimulatedResearcher.from_column(catalog, column).scores, column


def run_anomaly(args: argparse.Namespace) -> int:
    """Run every requested method on the embeddings; write the ranking and metrics."""
    from .anomaly import (
        DEFAULT_KS, compress_features, make_learner, ranking_metrics, run_learner, SimulatedResearcher,
        unsupervised_metrics,
    )
    from .catalog import read_table
    from .cli_common import prepare_out_dir
    from .jsonio import write_metrics
    from .representations import align_embeddings, load_embeddings

    start = time.perf_counter()
    _check_methods(args.methods)
    prepare_out_dir(args.out, overwrite=args.overwrite)
    embeddings = load_embeddings(args.embeddings)
    catalog = read_table(args.catalog)  # id_str and scores only: no images needed
    catalog = align_embeddings(embeddings, catalog, args.catalog)  # refuses repeated, blank or missing ids
    scores, source = _scores(catalog, args.interest_col, args.persona)
    is_interesting = scores >= args.interesting_at
    features = compress_features(embeddings.features, args.components, seed=args.seed)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    report: dict[str, dict[str, float | int]] = {}
    ranking = None
    for method in methods:
        if method in ("isolation_forest", "lof"):
            continue
        learner = make_learner(method, features, seed=args.seed)
        run_learner(learner, SimulatedResearcher(scores), args.labels, args.batch_size)
        order = learner.ranking()
        report[method] = {**ranking_metrics(order, is_interesting, DEFAULT_KS), "labels_used": learner.n_labelled,
                          "interesting_labelled": int(is_interesting[learner.labelled].sum())}
        if ranking is None or method == "gp":
            ranking = (method, learner, order)
    if any(m in ("isolation_forest", "lof") for m in methods):
        table = unsupervised_metrics(features, scores, args.seed, args.interesting_at, DEFAULT_KS)
        for row in table.to_dict("records"):
            if row["method"] in methods:
                report[str(row["method"])] = {k: v for k, v in row.items() if k not in ("method", "seed", "labels", "found")}
                report[str(row["method"])]["labels_used"] = 0
    if ranking is None:
        raise ValueError(f"--methods {args.methods!r} names no labelling strategy; include gp, astronomaly or random")

    method, learner, order = ranking
    labelled = np.zeros(len(order), dtype=bool)
    labelled[learner.labelled] = True
    given = np.full(len(order), np.nan)
    given[learner.labelled] = learner.labels
    pd.DataFrame({
        "id_str": embeddings.id_str[order], "rank": np.arange(1, len(order) + 1),
        "predicted_score": learner.predict()[order], "labelled": labelled[order], "label": given[order],
    }).to_csv(args.out / "ranking.csv", index=False)
    metrics = {
        "ranking_method": method, "n_galaxies": len(order), "n_interesting": int(is_interesting.sum()),
        "interest": source, "interesting_at": args.interesting_at, "label_budget": args.labels,
        "batch_size": args.batch_size, "components": int(features.shape[1]), "seed": args.seed,
        "seconds": round(time.perf_counter() - start, 2), "methods": report,
    }
    write_metrics(args.out / "metrics.json", metrics)  # an undefined metric (e.g. AP of nothing) -> null
    best = report[method]
    print(
        f"anomaly: {len(order)} galaxies, {int(is_interesting.sum())} interesting ({source} >= {args.interesting_at:g}); "
        f"{method} with {best['labels_used']} labels: precision top-50 {best['precision_at_50']:.2f}, "
        f"top-100 {best['precision_at_100']:.2f}, AP {best['average_precision']:.2f} -> {args.out / 'ranking.csv'}"
    )
    return 0


def _check_methods(text: str) -> None:
    """``--methods`` names only labelling strategies (``LEARNERS``) and the unsupervised baselines."""
    from .anomaly import LEARNERS
    from .cli_common import UsageError

    known = [*LEARNERS, "isolation_forest", "lof"]
    unknown = [m.strip() for m in text.split(",") if m.strip() and m.strip() not in known]
    if unknown:
        raise UsageError(f"--methods: unknown method {unknown[0]!r}; choose from {', '.join(known)}")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_anomaly(subparsers: argparse._SubParsersAction) -> None:
    """``galzoo anomaly``: personalised anomaly detection by active learning (notebook 05)."""
    from .cli_common import add_overwrite_argument

    p = subparsers.add_parser(
        "anomaly",
        help="rank galaxies by a researcher's interest, learnt from a few labels (GP + expected improvement)",
        description="Compress the embeddings (PCA, standardised), let each method ask for --labels scores "
        "from the 0-5 column (or persona), and write OUT/ranking.csv (gp method, most interesting first) "
        "and OUT/metrics.json (precision in the top 50/100/200, average precision, labels used, per method).",
    )
    p.add_argument("--embeddings", type=Path, required=True, help="embeddings.npz (or its folder) from `galzoo embed`")
    p.add_argument("--catalog", type=Path, required=True, help="catalog (CSV/parquet) with id_str and the score column")
    interest = p.add_mutually_exclusive_group(required=True)
    interest.add_argument("--interest-col", help="column of 0-5 interest scores: the simulated researcher")
    interest.add_argument("--persona", help="score from the synthetic truth instead: rings, mergers, lenses or artifacts")
    p.add_argument("--interesting-at", type=float, default=4.0, help="a score at least this is interesting (default 4)")
    p.add_argument("--labels", type=_positive_int, default=200, help="label budget per method (default 200, as the paper)")
    p.add_argument("--batch-size", type=_positive_int, default=10, help="galaxies per labelling batch (default 10)")
    p.add_argument("--components", type=_positive_int, default=40, help="PCA components (default 40)")
    p.add_argument("--methods", default="gp,astronomaly,random,isolation_forest",
                   help="comma-separated: gp, astronomaly, random, isolation_forest, lof (default all but lof)")
    p.add_argument("--seed", type=int, default=0, help="seed for the first random batch and the forests")
    p.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds another run)")
    add_overwrite_argument(p)
    p.set_defaults(func=run_anomaly)
