"""``galzoo embed`` and ``galzoo search``: representations and similarity search from the shell.

::

    galzoo embed --catalog my/catalog.csv --encoder reference --out runs/embed
    galzoo search --embeddings runs/embed --query syn0_000012 --k 10
    galzoo search --embeddings runs/embed --catalog my/catalog.csv --evaluate --out runs/search
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli_common import add_overwrite_argument

__all__ = ["add_embed", "add_search"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _run_embed(args: argparse.Namespace) -> int:
    from .cli_common import prepare_out_dir, step_notes

    note = step_notes("embed", args.quiet)  # the steps before the progress bar take 10-40 s: say what they do
    prepare_out_dir(args.out, overwrite=args.overwrite)
    note(f"reading the catalog {args.catalog}")

    from .jsonio import write_metrics
    from .representations import catalog_embeddings, save_embeddings

    emb = catalog_embeddings(args.encoder, args.catalog, image_size=args.image_size, batch_size=args.batch_size,
                             tta=args.tta, num_workers=args.workers, progress=not args.quiet, notes=note)
    path = save_embeddings(args.out / "embeddings.npz", emb.id_str, emb.features)
    metrics = {**emb.info, "catalog": str(args.catalog), "embeddings": str(path)}
    write_metrics(args.out / "metrics.json", metrics)
    print(f"embed: {metrics['n']} galaxies x {metrics['dims']} features with {args.encoder} at {metrics['image_size']}px "
          f"-> {path}; {metrics['images_per_second']} images/s")
    return 0


def add_embed(subparsers: argparse._SubParsersAction) -> None:
    """``galzoo embed``: pooled encoder features of every galaxy in a catalog (notebook 03)."""
    p = subparsers.add_parser(
        "embed",
        help="compute the representation (pooled encoder features) of every galaxy in a catalog",
        description="Writes OUT/embeddings.npz (arrays id_str and float32 features) and OUT/metrics.json "
        "(n, dims, images_per_second, ...). Images of any size are centre-cropped and resized.",
    )
    p.add_argument("--catalog", type=Path, required=True, help="catalog (CSV/parquet) with id_str and file_loc")
    p.add_argument("--encoder", "--model", dest="encoder", default="reference",
                   help="reference | imagenet | scratch | hf_hub:owner/name | local-dir:/path | a model folder, "
                        "e.g. OUT/model of `galzoo pretrain --out OUT` (--model is the same option)")
    p.add_argument("--image-size", type=_positive_int, default=None,
                   help="default: the size the model was trained at (else the scale's)")
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--tta", type=_non_negative_int, default=0,
                   help="average the features over this many extra rotated/flipped views (default 0)")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: chosen for the device)")
    p.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds another run)")
    add_overwrite_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar and no notes on stderr")
    p.set_defaults(func=_run_embed)


def _run_search(args: argparse.Namespace) -> int:
    from .cli_common import UsageError, prepare_out_dir
    from .jsonio import write_metrics
    from .representations import load_embeddings
    from .similarity import SimilarityIndex, precision_at_k_per_tag

    if args.query is None and not args.evaluate:
        raise UsageError("give --query ID to find a galaxy's neighbours, or --evaluate with --catalog")
    if args.evaluate and args.catalog is None:
        raise UsageError("--evaluate needs --catalog with a 'tags' column (';'-joined tags per galaxy)")
    if args.out is not None:
        prepare_out_dir(args.out, refuse_existing=False)  # it only adds metrics.json, e.g. beside the embeddings
    emb = load_embeddings(args.embeddings)
    try:
        row = emb.row(args.query) if args.query is not None else None
    except KeyError as err:
        raise ValueError(f"{err.args[0]} in {emb.info.get('path', args.embeddings)}") from err
    index = SimilarityIndex(emb.features, metric=args.metric)
    metrics: dict = {"n": len(emb), "dims": emb.dims, "metric": args.metric, "k": args.k}
    if row is not None:
        found, distances = index.neighbours(row, args.k)
        n_found = found.shape[1]
        fewer = f"; --k {args.k} asks for more, but only {n_found} other galaxies exist: all are listed" \
            if n_found < args.k else ""
        print(f"search: {n_found} nearest of {args.query} among {len(emb)} galaxies ({args.metric}){fewer}")
        column = "distance" if args.metric == "euclidean" else "cosine distance (1 - cosine similarity)"
        ids = [str(emb.id_str[other]) for other in found[0]]
        width = max([len("id_str"), *map(len, ids)])
        print(f"rank  {'id_str':<{width}}  {column}")
        for rank, (galaxy, distance) in enumerate(zip(ids, distances[0]), start=1):
            print(f"{rank:4d}  {galaxy:<{width}}  {distance:.4f}")
        metrics["found"] = n_found
        metrics["distance"] = "euclidean" if args.metric == "euclidean" else "1 - cosine similarity"
        metrics["neighbours"] = {galaxy: float(d) for galaxy, d in zip(ids, distances[0])}
    if args.evaluate:
        import pandas as pd

        from .catalog import read_catalog

        catalog = emb.align(read_catalog(args.catalog, schema=None, require_votes=False, check_images=False),
                          args.catalog)
        if "tags" not in catalog.columns:
            raise ValueError(f"{args.catalog} has no 'tags' column to evaluate against")
        ks = sorted({7, 10, 50, args.k})
        table = precision_at_k_per_tag(emb.features, catalog["tags"].fillna(""), k=ks, index=index,
                                       min_galaxies=args.min_galaxies)
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            print(table.round(3).to_string())
        mean = table[f"precision@{args.k}"].mean()
        if args.k > len(emb) - 1:
            print(f"search: --k {args.k} asks for more neighbours than the {len(emb) - 1} other galaxies; "
                  f"precision@{args.k} counts all {len(emb) - 1} of them")
        print(f"search: mean precision@{args.k} over {len(table)} tags = {mean:.3f} (chance {table['chance'].mean():.3f})")
        metrics.update({f"mean_precision@{args.k}": float(mean), "tags": table.round(4).to_dict(orient="index")})
    if args.out is not None:
        write_metrics(args.out / "metrics.json", metrics)
    return 0


def add_search(subparsers: argparse._SubParsersAction) -> None:
    """``galzoo search``: nearest neighbours of a galaxy, and precision per tag (notebook 04)."""
    p = subparsers.add_parser(
        "search",
        help="find the galaxies most similar to one galaxy; evaluate precision per tag",
        description="Exact nearest-neighbour search over embeddings written by `galzoo embed`. "
        "--query prints the neighbours, nearest first, with their distance to the query (cosine: "
        "1 - cosine similarity, 0 for the same direction); --evaluate (with --catalog) prints precision@k per tag.",
    )
    p.add_argument("--embeddings", type=Path, required=True, help="embeddings.npz, or the folder holding it")
    p.add_argument("--query", default=None, help="id_str of the query galaxy")
    p.add_argument("--k", type=_positive_int, default=10,
                   help="number of neighbours (default 10; all the other galaxies when there are fewer)")
    p.add_argument("--metric", choices=["cosine", "euclidean"], default="cosine")
    p.add_argument("--catalog", type=Path, default=None, help="catalog with a 'tags' column, for --evaluate")
    p.add_argument("--evaluate", action="store_true", help="print precision@k per tag (needs --catalog)")
    p.add_argument("--min-galaxies", type=_positive_int, default=11, help="skip rarer tags in --evaluate")
    p.add_argument("--out", type=Path, default=None, help="folder for metrics.json (optional)")
    p.set_defaults(func=_run_search)
