"""Compressing representations: principal components (:func:`fit_pca`) and 2-D maps (:func:`map_2d`).

A 1280-d representation is more than a person or a distance needs: a few dozen principal
components keep most of its variance, and t-SNE or UMAP lay the galaxies on a map where
neighbours stay neighbours (figures in :mod:`galzoo_tools.representations.plots`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

__all__ = ["INCREMENTAL_PCA_ELEMENTS", "fit_pca", "map_2d", "map_methods"]

INCREMENTAL_PCA_ELEMENTS = 50_000_000
"""``fit_pca(incremental=None)`` switches to IncrementalPCA above this many feature values (200 MB)."""


def fit_pca(
    features: np.ndarray,
    n_components: int | float = 40,
    incremental: bool | None = None,
    batch_size: int = 10_000,
    seed: int = 0,
) -> Any:
    """A fitted scikit-learn PCA (or IncrementalPCA) of ``features``.

    Use ``pca.transform(x)`` for the compressed features and ``pca.explained_variance_ratio_``
    for the share of variance each component keeps. ``n_components`` below 1 asks for as many
    components as keep that share of the variance (ordinary PCA only). ``incremental=None``
    chooses IncrementalPCA, which reads ``batch_size`` rows at a time, when the features have
    more than 50 million values, so a million galaxies fit in memory.
    """
    from sklearn.decomposition import PCA, IncrementalPCA

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need features of shape (galaxies >= 2, dims), got {features.shape}")
    if incremental is None:
        incremental = features.size > INCREMENTAL_PCA_ELEMENTS
    if isinstance(n_components, float) and n_components < 1:
        if incremental:
            raise ValueError("IncrementalPCA needs a whole number of components; pass n_components=int")
        return PCA(n_components=n_components, svd_solver="full", random_state=seed).fit(features)
    n = int(min(n_components, *features.shape))
    if incremental:
        pca = IncrementalPCA(n_components=n, batch_size=max(batch_size, n))
        for start in range(0, len(features), max(batch_size, n)):
            chunk = features[start:start + max(batch_size, n)]
            if len(chunk) >= n:
                pca.partial_fit(chunk)
        return pca
    return PCA(n_components=n, random_state=seed).fit(features)


def map_methods() -> list[str]:
    """2-D map methods available here: ``pca``, ``tsne`` and ``umap`` when umap-learn is installed."""
    import importlib.util

    return ["pca", "tsne"] + (["umap"] if importlib.util.find_spec("umap") is not None else [])


def map_2d(
    features: np.ndarray,
    method: Literal["pca", "tsne", "umap"] = "tsne",
    seed: int = 0,
    pca_components: int = 50,
    perplexity: float = 30.0,
) -> np.ndarray:
    """2-D coordinates (N, 2) of ``features`` for a map of the galaxies.

    PCA keeps the two directions of largest variance (linear, global distances mean something);
    t-SNE and UMAP keep neighbourhoods (clusters are real, distances between them are not).
    Both run on the first ``pca_components`` principal components, as is usual.
    """
    features = np.asarray(features, dtype=np.float32)
    if method == "pca":
        return fit_pca(features, 2, seed=seed).transform(features)
    if method not in ("tsne", "umap"):
        raise ValueError(f"method must be one of {map_methods()}, got {method!r}")
    reduced = features
    if features.shape[1] > pca_components and len(features) > pca_components:
        reduced = fit_pca(features, pca_components, seed=seed).transform(features)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(perplexity, max(2.0, (len(features) - 1) / 3))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
    try:
        import umap
    except ImportError:
        raise ImportError("method='umap' needs umap-learn: pip install 'galzoo-tools[umap]' (or use 'tsne')") from None
    return umap.UMAP(n_components=2, random_state=seed).fit_transform(reduced)


