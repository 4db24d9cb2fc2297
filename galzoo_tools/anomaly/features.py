"""From a representation to the features anomaly search works in: PCA, then standardise.

Walmsley et al. (2022) compress the 1280-d representation to 40 principal components (they
found 40 worked better than 10, 20 or 200) and scale each to zero mean and unit variance, so
that distances, isolation forests and the Gaussian process treat every direction alike. The
PCA is :func:`galzoo_tools.representations.fit_pca`, the one every stage uses.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import StandardScaler

from ..representations.pca import fit_pca

__all__ = ["compress_features", "DEFAULT_COMPONENTS"]

DEFAULT_COMPONENTS = 40
"""Principal components kept, as in the paper."""


def compress_features(features: np.ndarray, n_components: int = DEFAULT_COMPONENTS, seed: int = 0) -> np.ndarray:
    """``(n, d)`` features -> ``(n, min(n_components, n, d))`` standardised principal components (float64).

    Rows with NaN or infinite values are refused (a broken embedding would otherwise
    become the "most anomalous" galaxy).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must be a 2-d array with at least 2 rows (one per galaxy), got shape {x.shape}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ValueError(
            f"features rows {np.flatnonzero(bad)[:10].tolist()} contain NaN or inf "
            f"({int(bad.sum())} rows); re-embed those galaxies or drop them"
        )
    if n_components < 1:
        raise ValueError(f"n_components must be at least 1, got {n_components}")
    reduced = fit_pca(x, int(n_components), seed=seed).transform(x.astype(np.float32))
    return StandardScaler().fit_transform(reduced.astype(np.float64))
