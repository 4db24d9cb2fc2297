"""Representations: embedding catalogs of any images, saving them, PCA and maps."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest_data import make_catalog_folder
from matplotlib.figure import Figure

from galzoo_tools import representations as rep
from galzoo_tools.datasets import load_images
from galzoo_tools.models import build_model
from galzoo_tools.plot_maps import plot_explained_variance, plot_map_with_thumbnails


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("scratch", backbone="efficientnet_lite0").eval()


@pytest.fixture()
def odd_catalog(tmp_path):
    """PNG and JPEG, RGB and grey, square and not: what a user's folder of real galaxies looks like."""
    catalog = make_catalog_folder(tmp_path, n=6)
    path = tmp_path / "catalog.csv"
    catalog.to_csv(path, index=False)
    return path


def test_embed_catalog_matches_the_bare_encoder_on_odd_images(model, odd_catalog):
    emb = rep.embed_catalog(odd_catalog, encoder=model, image_size=32, batch_size=4, progress=False, device="cpu")
    assert emb.features.shape == (6, model.num_features) and emb.features.dtype == np.float32
    assert list(emb.id_str) == [f"gal{i:03d}" for i in range(6)]
    assert emb.info["n"] == 6 and emb.info["image_size"] == 32 and emb.info["images_per_second"] > 0
    images = load_images(pd.read_csv(odd_catalog).assign(file_loc=lambda d: str(odd_catalog.parent) + "/" + d.file_loc), 32)
    with torch.no_grad():
        expected = model.embed(images.float() / 255).numpy()
    np.testing.assert_allclose(emb.features, expected, rtol=1e-4, atol=1e-4)
    assert not np.allclose(emb.features[0], emb.features[1])


def test_tta_is_seeded_and_averages_other_views(model):
    images = (torch.rand(3, 3, 32, 32) * 255).to(torch.uint8)
    plain = rep.embed_images(images, model, tta=0, device="cpu")
    views = rep.embed_images(images, model, tta=2, seed=1, device="cpu")
    again = rep.embed_images(images, model, tta=2, seed=1, device="cpu")
    np.testing.assert_array_equal(views, again)
    assert not np.allclose(plain, views)
    with pytest.raises(ValueError, match="tta"):
        rep.embed_images(images, model, tta=-1, device="cpu")


def test_save_and_load_embeddings_round_trip(tmp_path):
    ids = np.array(["a", "bb", "galaxy_ccc"])
    features = np.arange(12, dtype=np.float64).reshape(3, 4)
    path = rep.save_embeddings(tmp_path / "run", ids, features)
    assert path == tmp_path / "run" / "embeddings.npz"
    assert [p.name for p in path.parent.iterdir()] == ["embeddings.npz"]  # no temporary file left behind
    emb = rep.load_embeddings(tmp_path / "run")
    assert emb.features.dtype == np.float32 and list(emb.id_str) == list(ids)
    np.testing.assert_array_equal(emb.features, features.astype(np.float32))
    assert emb.row("bb") == 1
    with pytest.raises(KeyError, match="nope"):
        emb.row("nope")


def test_load_embeddings_explains_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="galzoo embed"):
        rep.load_embeddings(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="id_str"):
        rep.load_embeddings(tmp_path / "other.npz")
    np.savez(tmp_path / "pickled.npz", id_str=np.array(["a"], dtype=object), features=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="not an embeddings file"):
        rep.load_embeddings(tmp_path / "pickled.npz")
    with pytest.raises(ValueError, match="match"):
        rep.save_embeddings(tmp_path / "bad.npz", ["a", "b"], np.zeros((3, 2)))


def test_fit_pca_keeps_a_low_rank_signal_and_goes_incremental_for_large_data(monkeypatch):
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((600, 3)) @ rng.standard_normal((3, 30)) * 5
    features = (signal + 0.1 * rng.standard_normal((600, 30))).astype(np.float32)
    full = rep.fit_pca(features, 10)
    assert type(full).__name__ == "PCA" and full.explained_variance_ratio_[:3].sum() > 0.99
    monkeypatch.setattr(rep, "INCREMENTAL_PCA_ELEMENTS", 1000)
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


def test_baseline_features():
    images = torch.zeros(5, 3, 40, 40, dtype=torch.uint8)
    assert rep.pixel_features(images, 8).shape == (5, 192)
    random = rep.random_features(5, 7, seed=3)
    assert random.shape == (5, 7) and random.dtype == np.float32
    np.testing.assert_array_equal(random, rep.random_features(5, 7, seed=3))


def test_map_with_thumbnails_tiles_without_overlap(odd_catalog):
    coords = np.random.default_rng(1).uniform(size=(6, 2))
    paths = pd.read_csv(odd_catalog)["file_loc"].map(lambda p: str(odd_catalog.parent / p)).tolist()
    fig = plot_map_with_thumbnails(coords, paths, colors=["a", "b"] * 3, cells=3)
    assert isinstance(fig, Figure)
    boxes = [a for a in fig.axes[0].artists if type(a).__name__ == "AnnotationBbox"]
    assert 1 <= len(boxes) <= 6
    cells = {tuple(np.minimum((b.xy - coords.min(0)) / np.ptp(coords, 0) * 3, 2.999).astype(int)) for b in boxes}
    assert len(cells) == len(boxes)  # at most one thumbnail per cell


def test_explained_variance_figure():
    pca = rep.fit_pca(np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32), 5)
    assert isinstance(plot_explained_variance(pca), Figure)


def test_align_embeddings_orders_the_catalog_and_refuses_ambiguous_ids():
    emb = rep.Embeddings(np.array(["a", "b", "c"]), np.eye(3), {"path": "run/embeddings.npz"})
    catalog = pd.DataFrame({"id_str": ["c", "x", "a", "b"], "value": [3, 0, 1, 2]})
    aligned = rep.align_embeddings(emb, catalog, "cat.csv")
    assert aligned["id_str"].tolist() == ["a", "b", "c"] and aligned["value"].tolist() == [1, 2, 3]
    assert emb.align(catalog)["value"].tolist() == [1, 2, 3]

    repeated = pd.concat([catalog, catalog.iloc[[2]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"cat\.csv.*duplicate id_str.*'a'"):
        rep.align_embeddings(emb, repeated, "cat.csv")
    twice = rep.Embeddings(np.array(["a", "b", "a"]), np.eye(3), {"path": "run/embeddings.npz"})
    with pytest.raises(ValueError, match=r"run/embeddings\.npz.*duplicate id_str.*'a'"):
        rep.align_embeddings(twice, catalog, "cat.csv")
    with pytest.raises(ValueError, match=r"1 embedded galaxies are not in the catalog cat\.csv.*'c'"):
        rep.align_embeddings(emb, catalog.drop(index=0), "cat.csv")
    blank = catalog.assign(id_str=["c", None, "a", "b"])
    with pytest.raises(ValueError, match=r"cat\.csv.*blank id_str.*row\(s\) \[1\]"):
        rep.align_embeddings(emb, blank, "cat.csv")
    with pytest.raises(ValueError, match="no id_str column"):
        rep.align_embeddings(emb, catalog.drop(columns="id_str"), "cat.csv")
