"""Embedding: one embed for any model and any images or catalog; storing and aligning embeddings."""

import numpy as np
import pandas as pd
import pytest
import torch

from galzoo_tools import representations as rep
from galzoo_tools.datasets import load_images
from galzoo_tools.models import build_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("scratch", backbone="efficientnet_lite0").eval()


def test_catalog_embeddings_match_the_bare_encoder_on_odd_images(model, odd_catalog):
    emb = rep.catalog_embeddings(model, odd_catalog, image_size=32, batch_size=4, progress=False, device="cpu")
    assert emb.features.shape == (6, model.num_features) and emb.features.dtype == np.float32
    assert list(emb.id_str) == [f"gal{i:03d}" for i in range(6)]
    assert emb.info["n"] == 6 and emb.info["image_size"] == 32 and emb.info["images_per_second"] > 0
    table = pd.read_csv(odd_catalog).assign(file_loc=lambda d: str(odd_catalog.parent) + "/" + d.file_loc)
    images = load_images(table, 32)
    with torch.no_grad():
        expected = model.embed(images.float() / 255).numpy()
    np.testing.assert_allclose(emb.features, expected, rtol=1e-4, atol=1e-4)
    assert not np.allclose(emb.features[0], emb.features[1])
    for given in (odd_catalog, table, table["file_loc"].tolist()):  # a path, a DataFrame, a list of images
        features = rep.embed(model, given, image_size=32, progress=False)
        np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)


def test_one_embed_for_images_as_tensors_or_arrays_and_for_any_module_with_embed(model):
    from galzoo_tools.finetune import FinetuneModel

    images = (torch.rand(3, 3, 32, 32) * 255).to(torch.uint8)
    features = rep.embed(model, images, progress=False)
    assert isinstance(features, np.ndarray) and features.dtype == np.float32 and features.shape == (3, 1280)
    np.testing.assert_allclose(rep.embed(model, images.numpy(), batch_size=2, progress=False), features, atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(features, model.embed(images.float() / 255).numpy(), rtol=1e-5, atol=1e-5)
    tuned = FinetuneModel(model.encoder, model.encoder_info, "binary").train()
    tuned_features = rep.embed(tuned, images, progress=False)
    assert tuned_features.shape == (3, 1280) and tuned.training  # the caller's mode is kept
    assert rep.embed(model, images[:0], progress=False).shape == (0, 1280)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        rep.embed(model, images[0], progress=False)


def test_tta_is_seeded_and_averages_other_views(model):
    images = (torch.rand(3, 3, 32, 32) * 255).to(torch.uint8)
    plain = rep.embed(model, images, tta=0, device="cpu", progress=False)
    views = rep.embed(model, images, tta=2, seed=1, device="cpu", progress=False)
    again = rep.embed(model, images, tta=2, seed=1, device="cpu", progress=False)
    np.testing.assert_array_equal(views, again)
    assert not np.allclose(plain, views)
    with pytest.raises(ValueError, match="tta"):
        rep.embed(model, images, tta=-1, device="cpu")


def test_old_embed_names_warn_and_forward(model, odd_catalog):
    from galzoo_tools import finetune

    assert not hasattr(finetune, "embed_images") and not hasattr(finetune, "embed_catalog")  # one name, one behaviour
    images = (torch.rand(2, 3, 32, 32) * 255).to(torch.uint8)
    expected = rep.embed(model, images, progress=False)
    with pytest.warns(DeprecationWarning, match="embed\\(model, images\\)"):
        np.testing.assert_array_equal(rep.embed_images(images, model, device="cpu"), expected)
    with pytest.warns(DeprecationWarning, match="catalog_embeddings"):
        emb = rep.embed_catalog(odd_catalog, encoder=model, image_size=32, progress=False)
    assert len(emb) == 6


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
