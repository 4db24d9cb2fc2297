"""``galzoo search``: nearest neighbours of a galaxy, and precision per tag, over saved embeddings (notebook 04).

::

    galzoo search --embeddings runs/embed --query syn0_000012 --k 10
    galzoo search --embeddings runs/embed --catalog my/catalog.csv --evaluate --out runs/search
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import add_out_arguments, add_quiet_argument, positive_int
from .console import step_notes
from .errors import UsageError
from .outdir import prepare_out

__all__ = ["register", "run"]


def _print_neighbours(emb, index, query: str, k: int, metric: str, source: Path) -> dict:
    """Print the ``k`` nearest neighbours of ``query``, nearest first; return them for metrics.json."""
    try:
        row = emb.row(query)
    except KeyError as err:
        raise ValueError(f"{err.args[0]} in {emb.info.get('path', source)}") from err
    found, distances = index.neighbours(row, k)
    n_found = found.shape[1]
    fewer = f"; --k {k} asks for more, but only {n_found} other galaxies exist: all are listed" if n_found < k else ""
    print(f"search: {n_found} nearest of {query} among {len(emb)} galaxies ({metric}){fewer}")
    column = "distance" if metric == "euclidean" else "cosine distance (1 - cosine similarity)"
    ids = [str(emb.id_str[other]) for other in found[0]]
    width = max([len("id_str"), *map(len, ids)])
    print(f"rank  {'id_str':<{width}}  {column}")
    for rank, (galaxy, distance) in enumerate(zip(ids, distances[0]), start=1):
        print(f"{rank:4d}  {galaxy:<{width}}  {distance:.4f}")
    return {"found": n_found, "distance": "euclidean" if metric == "euclidean" else "1 - cosine similarity",
            "neighbours": {galaxy: float(d) for galaxy, d in zip(ids, distances[0])}}


def _print_evaluation(emb, index, catalog_path: Path, k: int, min_galaxies: int, note) -> dict:
    """Print precision@k per tag of the catalog's 'tags' column; return it for metrics.json."""
    import pandas as pd

    from ..catalog import read_catalog
    from ..similarity import precision_at_k_per_tag

    note(f"reading the catalog {catalog_path} and measuring precision@k per tag")
    catalog = emb.align(read_catalog(catalog_path, schema=None, require_votes=False, check_images=False), catalog_path)
    if "tags" not in catalog.columns:
        raise ValueError(f"{catalog_path} has no 'tags' column to evaluate against")
    ks = sorted({7, 10, 50, k})
    table = precision_at_k_per_tag(emb.features, catalog["tags"].fillna(""), k=ks, index=index,
                                   min_galaxies=min_galaxies)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(table.round(3).to_string())
    mean = table[f"precision@{k}"].mean()
    if k > len(emb) - 1:
        print(f"search: --k {k} asks for more neighbours than the {len(emb) - 1} other galaxies; "
              f"precision@{k} counts all {len(emb) - 1} of them")
    print(f"search: mean precision@{k} over {len(table)} tags = {mean:.3f} (chance {table['chance'].mean():.3f})")
    return {f"mean_precision@{k}": float(mean), "tags": table.round(4).to_dict(orient="index")}


def run(args: argparse.Namespace) -> int:
    """Search and/or evaluate; print the results; write OUT/metrics.json when ``--out`` is given."""
    if args.query is None and not args.evaluate:
        raise UsageError("give --query ID to find a galaxy's neighbours, or --evaluate with --catalog")
    if args.evaluate and args.catalog is None:
        raise UsageError("--evaluate needs --catalog with a 'tags' column (';'-joined tags per galaxy)")
    note = step_notes("search", args.quiet)
    prepare_out(args)
    note(f"reading the embeddings {args.embeddings}")

    from ..jsonio import write_metrics
    from ..representations import load_embeddings
    from ..similarity import SimilarityIndex

    emb = load_embeddings(args.embeddings)
    note(f"{len(emb)} galaxies x {emb.dims} features; indexing them ({args.metric})")
    index = SimilarityIndex(emb.features, metric=args.metric)
    metrics: dict = {"n": len(emb), "dims": emb.dims, "metric": args.metric, "k": args.k}
    if args.query is not None:
        metrics.update(_print_neighbours(emb, index, args.query, args.k, args.metric, args.embeddings))
    if args.evaluate:
        metrics.update(_print_evaluation(emb, index, args.catalog, args.k, args.min_galaxies, note))
    if args.out is not None:
        write_metrics(args.out / "metrics.json", metrics)
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``galzoo search`` to ``subparsers``."""
    p = subparsers.add_parser(
        "search",
        help="find the galaxies most similar to one galaxy; evaluate precision per tag",
        description="Exact nearest-neighbour search over embeddings written by `galzoo embed`. "
        "--query prints the neighbours, nearest first, with their distance to the query (cosine: "
        "1 - cosine similarity, 0 for the same direction); --evaluate (with --catalog) prints precision@k per tag.",
    )
    p.add_argument("--embeddings", type=Path, required=True, help="embeddings.npz, or the folder holding it")
    p.add_argument("--query", default=None, help="id_str of the query galaxy")
    p.add_argument("--k", type=positive_int, default=10,
                   help="number of neighbours (default 10; all the other galaxies when there are fewer)")
    p.add_argument("--metric", choices=["cosine", "euclidean"], default="cosine")
    p.add_argument("--catalog", type=Path, default=None, help="catalog with a 'tags' column, for --evaluate")
    p.add_argument("--evaluate", action="store_true", help="print precision@k per tag (needs --catalog)")
    p.add_argument("--min-galaxies", type=positive_int, default=11, help="skip rarer tags in --evaluate")
    add_out_arguments(p, required=False, what="folder for metrics.json (optional)")
    add_quiet_argument(p)
    p.set_defaults(run=run)
    return p
