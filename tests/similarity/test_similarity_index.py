"""The similarity index: exact against brute force, across chunks, with FAISS when installed."""

import numpy as np
import pytest

import galzoo_tools.similarity.index as index_module
from galzoo_tools import similarity as sim


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
    monkeypatch.setattr(index_module, "_SCORE_BUDGET", {"cpu": 4096, "cuda": 4096})
    monkeypatch.setattr(index_module, "_QUERY_BLOCK", 3)


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
