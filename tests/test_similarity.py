"""Similarity search: exactness against brute force, and the per-tag precision evaluation."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from galzoo_tools import similarity as sim
from galzoo_tools.plot_maps import explore_neighbours, plot_neighbours, plot_precision_per_tag


def brute_force(features, queries, k, metric):
    if metric == "cosine":
        f = features / np.linalg.norm(features, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        distance = 1 - q.astype(np.float64) @ f.T.astype(np.float64)
    else:
        distance = np.sqrt(((queries[:, None, :].astype(np.float64) - features[None]) ** 2).sum(-1))
    order = np.argsort(distance, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(distance, order, 1)


@pytest.fixture()
def small_chunks(monkeypatch):
    """Force many database chunks and several query blocks, so the running top-k really merges."""
    monkeypatch.setattr(sim, "_SCORE_BUDGET", {"cpu": 4096, "cuda": 4096})
    monkeypatch.setattr(sim, "_QUERY_BLOCK", 3)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_search_is_exact_across_chunks(small_chunks, metric):
    rng = np.random.default_rng(0)
    features = (rng.standard_normal((5000, 8)) + [3, 0, 0, 0, 0, 0, 0, 0]).astype(np.float32)
    queries = rng.standard_normal((7, 8)).astype(np.float32)
    index = sim.SimilarityIndex(features, metric=metric, device="cpu")
    rows, distances = index.search(queries, k=12)
    expected_rows, expected_distances = brute_force(features, queries, 12, metric)
    assert rows.shape == distances.shape == (7, 12) and rows.dtype == np.int64
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(distances, expected_distances, atol=1e-5)
    assert (np.diff(distances, axis=1) >= 0).all()


def test_single_query_and_k_capped():
    features = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    index = sim.SimilarityIndex(features, device="cpu")
    rows, distances = index.search(features[2], k=50)
    assert rows.shape == (1, 5) and rows[0, 0] == 2 and abs(distances[0, 0]) < 1e-6


def test_neighbours_leave_the_query_out():
    features = np.array([[1, 0], [1, 0.01], [0, 1], [1, 0]], dtype=np.float32)  # rows 0 and 3 are duplicates
    index = sim.SimilarityIndex(features, device="cpu")
    rows, distances = index.neighbours([0, 2], k=2)
    assert 0 not in rows[0] and 2 not in rows[1]
    assert set(rows[0]) == {1, 3}
    with pytest.raises(IndexError):
        index.neighbours([4])


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="metric"):
        sim.SimilarityIndex(np.zeros((3, 2)), metric="manhattan")
    with pytest.raises(ValueError, match="rows \\[1\\]"):
        sim.SimilarityIndex(np.array([[1.0, 2.0], [np.nan, 0.0]]))
    index = sim.SimilarityIndex(np.eye(3, dtype=np.float32), device="cpu")
    with pytest.raises(ValueError, match="same encoder"):
        index.search(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="positive"):
        index.search(np.ones(3), k=0)


@pytest.mark.skipif(not sim.faiss_available(), reason="faiss is an optional extra")
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_faiss_backend_agrees(metric):
    features = np.random.default_rng(2).standard_normal((500, 16)).astype(np.float32)
    torch_rows, torch_d = sim.SimilarityIndex(features, metric, device="cpu").neighbours([0, 5, 9], 10)
    faiss_rows, faiss_d = sim.SimilarityIndex(features, metric, backend="faiss").neighbours([0, 5, 9], 10)
    np.testing.assert_array_equal(torch_rows, faiss_rows)
    np.testing.assert_allclose(torch_d, faiss_d, atol=1e-4)


def test_tag_matrix_orders_by_frequency():
    flags = sim.tag_matrix(["ring;bar", "bar", "", None, "bar;spiral"])
    assert list(flags.columns) == ["bar", "ring", "spiral"]
    assert flags["bar"].tolist() == [True, True, False, False, True]


def planted(n_per=30, noise=0.05, seed=0):
    """Two tags that own a direction each, and a 'scattered' tag spread at random."""
    rng = np.random.default_rng(seed)
    centres = np.eye(8, dtype=np.float32)
    features, tags = [], []
    for j, name in enumerate(["ring", "bar", "plain"]):
        features.append(centres[j] + noise * rng.standard_normal((n_per, 8)))
        tags += [name] * n_per
    features = np.concatenate(features).astype(np.float32)
    scattered = rng.choice(len(tags), 30, replace=False)
    tags = [t + (";scattered" if i in scattered else "") for i, t in enumerate(tags)]
    return features, pd.Series(tags)


def test_precision_is_one_for_clusters_and_chance_for_scattered_tags():
    features, tags = planted()
    table = sim.precision_at_k_per_tag(features, tags, k=(7, 10, 50))
    assert list(table.columns) == ["galaxies", "chance", "precision@7", "precision@10", "precision@50", "query"]
    assert table.loc["ring", "precision@10"] == 1.0 and table.loc["bar", "precision@7"] == 1.0
    assert table.loc["ring", "precision@50"] == pytest.approx(29 / 50)  # only 29 other rings exist
    assert tags[table.loc["ring", "query"]].startswith("ring")
    random = sim.precision_at_k_per_tag(features, tags, k=10, queries="random", n_random=20)
    assert random.loc["scattered", "precision@10"] < 0.6 and random.loc["ring", "precision@10"] == 1.0
    assert table.loc["ring", "chance"] == pytest.approx(29 / 89)


def test_query_never_counts_as_its_own_neighbour():
    features = np.array([[0, 1], [1, 0], [1, 0.05], [1, 0.1], [0, 1.02]], dtype=np.float32)
    tags = ["lens", "x", "x", "x", "lens"]
    table = sim.precision_at_k_per_tag(features, tags, k=1, min_galaxies=2)
    assert table.loc["lens", "precision@1"] == 1.0
    far = ["lens", "lens", "x", "x", "x"]
    assert sim.precision_at_k_per_tag(features, far, k=1, min_galaxies=2).loc["lens", "precision@1"] == 0.0


def test_typical_query_is_nearest_the_tag_mean():
    features = np.array([[1, 0], [0.9, 0.1], [0.8, 0.6], [0, 1]], dtype=np.float32)
    assert sim.typical_galaxy(features, np.array([0, 1, 2]), "euclidean") == 1
    assert sim.typical_galaxy(features, np.array([True, True, True, False]), "euclidean") == 1


def test_compare_encoders_and_figures():
    features, tags = planted()
    noise = np.random.default_rng(5).standard_normal(features.shape).astype(np.float32)
    table = sim.compare_encoders({"learned": features, "random": noise}, tags, k=10)
    assert list(table.columns) == ["galaxies", "chance", "learned", "random"]
    assert table["learned"].mean() > table["random"].mean()
    assert isinstance(plot_precision_per_tag(table), Figure)
    images = np.random.default_rng(0).integers(0, 255, (len(features), 16, 16, 3), dtype=np.uint8)
    index = sim.SimilarityIndex(features, device="cpu")
    rows, distances = index.neighbours(3, 5)
    assert isinstance(plot_neighbours(images, 3, rows[0], distances[0], ids=[f"g{i}" for i in range(90)]), Figure)
    assert isinstance(explore_neighbours(index, images, [f"g{i}" for i in range(90)], k=4, static=True), Figure)



def test_cosine_similarity_matches_its_definition():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 6)), rng.normal(size=(3, 6))
    got = sim.cosine_similarity(a, b)
    want = np.array([[u @ v / np.linalg.norm(u) / np.linalg.norm(v) for v in b] for u in a])
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(np.diag(sim.cosine_similarity(a)), 1.0, rtol=1e-5)
    assert sim.cosine_similarity(a[:1], -a[:1])[0, 0] == pytest.approx(-1.0, abs=1e-6)
    with pytest.raises(ValueError, match="all zeros"):
        sim.cosine_similarity(np.zeros((2, 6)))
