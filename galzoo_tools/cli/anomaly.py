"""``galzoo anomaly``: personalised anomaly ranking from saved embeddings and 0-5 interest scores (notebook 05).

The work is :func:`galzoo_tools.anomaly.rank_by_interest`; this module parses, calls it, prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import add_out_arguments, add_quiet_argument, positive_int
from .console import step_notes
from .outdir import prepare_out

__all__ = ["register", "run"]


def methods_list(text: str) -> list[str]:
    """``--methods``: comma-separated names, each a method :mod:`galzoo_tools.anomaly` knows (else a usage error)."""
    from ..anomaly import parse_methods

    try:
        return parse_methods(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def run(args: argparse.Namespace) -> int:
    """Rank the galaxies; write OUT/ranking.csv and OUT/metrics.json; print a one-line summary."""
    from ..anomaly import rank_by_interest

    note = step_notes("anomaly", args.quiet)
    prepare_out(args)
    note(f"reading the embeddings {args.embeddings} and the catalog {args.catalog}")
    metrics = rank_by_interest(
        args.embeddings, args.catalog, interest_col=args.interest_col, persona=args.persona, methods=args.methods,
        labels=args.labels, batch_size=args.batch_size, components=args.components,
        interesting_at=args.interesting_at, seed=args.seed, out_dir=args.out, notes=note,
    ).metrics
    method = metrics["ranking_method"]
    best = metrics["methods"][method]
    print(
        f"anomaly: {metrics['n_galaxies']} galaxies, {metrics['n_interesting']} interesting "
        f"({metrics['interest']} >= {args.interesting_at:g}); {method} with {best['labels_used']} labels: "
        f"precision top-50 {best['precision_at_50']:.2f}, top-100 {best['precision_at_100']:.2f}, "
        f"AP {best['average_precision']:.2f} -> {args.out / 'ranking.csv'}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``galzoo anomaly`` to ``subparsers``."""
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
    p.add_argument("--labels", type=positive_int, default=200, help="label budget per method (default 200, as the paper)")
    p.add_argument("--batch-size", type=positive_int, default=10, help="galaxies per labelling batch (default 10)")
    p.add_argument("--components", type=positive_int, default=40, help="PCA components (default 40)")
    p.add_argument("--methods", type=methods_list, default="gp,astronomaly,random,isolation_forest",
                   help="comma-separated: gp, astronomaly, random, isolation_forest, lof (default all but lof)")
    p.add_argument("--seed", type=int, default=0, help="seed for the first random batch and the forests")
    add_out_arguments(p)
    add_quiet_argument(p)
    p.set_defaults(run=run)
    return p
