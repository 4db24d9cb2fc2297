"""Compressing representations: PCA (incremental for large data) and 2-D maps."""

import numpy as np
import pytest

import galzoo_tools.representations.pca as pca_module
from galzoo_tools import representations as rep


def test_fit_pca_keeps_a_low_rank_signal_and_goes_incremental_for_large_data(monkeypatch):
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((600, 3)) @ rng.standard_normal((3, 30)) * 5
    features = (signal + 0.1 * rng.standard_normal((600, 30))).astype(np.float32)
    full = rep.fit_pca(features, 10)
    assert type(full).__name__ == "PCA" and full.explained_variance_ratio_[:3].sum() > 0.99
    monkeypatch.setattr(pca_module, "INCREMENTAL_PCA_ELEMENTS", 1000)
    inc = rep.fit_pca(features, 10, batch_size=100)
    assert type(inc).__name__ == "IncrementalPCA"
    np.testing.assert_allclose(inc.explained_variance_ratio_[:3], full.explained_variance_ratio_[:3], atol=0.01)
    assert rep.fit_pca(features, 0.95, incremental=False).n_components_ == 3


def test_maps_have_one_point_per_galaxy():
    features = np.random.default_rng(0).standard_normal((60, 20)).astype(np.float32)
    for method in ("pca", "tsne"):
        coords = rep.map_2d(features, method)
        assert coords.shape == (60, 2) and np.isfinite(coords).all()
    with pytest.raises(ValueError, match="method"):
        rep.map_2d(features, "mds")
    assert rep.map_methods()[:2] == ["pca", "tsne"]
