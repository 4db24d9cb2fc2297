"""How good a representation is for similarity search: precision@k per tag, as in the paper.

Pick one galaxy with a tag (e.g. *ring*), look at its nearest neighbours, and count how many
share it.

>>> table = precision_at_k_per_tag(features, catalog["tags"], k=(7, 10, 50))
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import pandas as pd

from .index import Metric, SimilarityIndex, _as_matrix

__all__ = ["tag_matrix", "typical_galaxy", "precision_at_k_per_tag", "compare_encoders"]


def tag_matrix(tags: pd.Series | Sequence[str] | Sequence[Sequence[str]] | pd.DataFrame) -> pd.DataFrame:
    """One boolean column per tag (most common first) from ``;``-joined strings, lists, or a boolean frame."""
    if isinstance(tags, pd.DataFrame):
        return tags.astype(bool)
    def parse(value: object) -> list[str]:
        if isinstance(value, str):
            return [x.strip() for x in value.split(";") if x.strip()]
        return list(value) if isinstance(value, (list, tuple, set, np.ndarray)) else []

    split = pd.Series([parse(value) for value in tags], dtype=object)
    names = pd.Series([name for row in split for name in row]).value_counts(sort=True)
    order = sorted(names.index, key=lambda name: (-names[name], name))
    return pd.DataFrame({name: split.map(lambda row, n=name: n in row).to_numpy() for name in order})


def typical_galaxy(features: np.ndarray, members: np.ndarray | Sequence[int], metric: Metric = "cosine") -> int:
    """Of the galaxies in rows ``members`` (or a boolean mask), the one nearest their mean feature.

    The most typical example of a group: the query a person would pick to find more like it.
    """
    members = np.asarray(members)
    members = np.flatnonzero(members) if members.dtype == bool else members.astype(np.int64)
    group = features[members]
    if metric == "cosine":
        group = group / np.maximum(np.linalg.norm(group, axis=1, keepdims=True), 1e-12)
    centre = group.mean(axis=0)
    if metric == "cosine":
        closeness = -(group @ centre)
    else:
        closeness = ((group - centre) ** 2).sum(axis=1)
    return int(members[int(np.argmin(closeness))])


def precision_at_k_per_tag(
    features: np.ndarray,
    tags: pd.Series | Sequence[str] | pd.DataFrame,
    k: int | Sequence[int] = (7, 10, 50),
    queries: Literal["typical", "random"] = "typical",
    n_random: int = 10,
    metric: Metric = "cosine",
    min_galaxies: int = 11,
    seed: int = 0,
    index: SimilarityIndex | None = None,
) -> pd.DataFrame:
    """For each tag, the fraction of a tagged query galaxy's ``k`` nearest neighbours that share the tag.

    ``queries="typical"``: one query per tag, the tagged galaxy nearest the tag's mean feature
    (the example a person would pick). ``"random"``: the mean over ``n_random`` random tagged
    galaxies (harder: it includes odd, faint examples). The query itself never counts as its
    own neighbour. Tags on fewer than ``min_galaxies`` galaxies are skipped (with fewer than
    k + 1 a perfect score is impossible).

    Returns one row per tag: ``galaxies`` (how many carry it), ``chance`` (the precision of
    random neighbours, (galaxies − 1) / (N − 1)), ``precision@K`` for each K, and ``query``
    (the typical query's row; −1 for random queries).
    """
    features = _as_matrix(features, "features")
    ks = sorted({int(x) for x in np.atleast_1d(k)})
    if queries not in ("typical", "random"):
        raise ValueError(f"queries must be 'typical' or 'random', got {queries!r}")
    flags = tag_matrix(tags)
    if len(flags) != len(features):
        raise ValueError(f"{len(flags)} tag rows for {len(features)} feature rows; they must match")
    index = index or SimilarityIndex(features, metric=metric)
    k_max = min(ks[-1], len(features) - 1)
    rng = np.random.default_rng(seed)
    records = {}
    for name in flags.columns:
        members = np.flatnonzero(flags[name].to_numpy())
        if len(members) < max(min_galaxies, 2):
            continue
        if queries == "typical":
            query_rows = np.array([typical_galaxy(features, members, metric)])
        else:
            query_rows = rng.choice(members, size=min(n_random, len(members)), replace=False)
        found, _ = index.neighbours(query_rows, k_max)
        hits = flags[name].to_numpy()[found]
        record = {"galaxies": len(members), "chance": (len(members) - 1) / (len(features) - 1)}
        for kk in ks:
            record[f"precision@{kk}"] = float(hits[:, :kk].mean())
        record["query"] = int(query_rows[0]) if queries == "typical" else -1
        records[name] = record
    columns = ["galaxies", "chance", *[f"precision@{kk}" for kk in ks], "query"]
    table = pd.DataFrame.from_dict(records, orient="index", columns=columns)
    table.index.name = "tag"
    return table


def compare_encoders(
    features: dict[str, np.ndarray],
    tags: pd.Series | Sequence[str] | pd.DataFrame,
    k: int = 10,
    **options: object,
) -> pd.DataFrame:
    """precision@``k`` per tag (rows) for several representations (columns), plus ``galaxies`` and ``chance``.

    ``options`` go to :func:`precision_at_k_per_tag` (``queries``, ``metric``, ``min_galaxies``…).
    """
    if not features:
        raise ValueError("give at least one representation, e.g. {'reference': features}")
    columns = {}
    first = None
    for name, values in features.items():
        table = precision_at_k_per_tag(values, tags, k=(k,), **options)  # type: ignore[arg-type]
        first = table if first is None else first
        columns[name] = table[f"precision@{k}"]
    assert first is not None
    return pd.concat([first[["galaxies", "chance"]], pd.DataFrame(columns)], axis=1)
