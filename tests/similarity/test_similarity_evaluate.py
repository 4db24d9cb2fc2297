"""Evaluating representations for search: tags, typical queries and precision@k per tag."""

import numpy as np
import pandas as pd
import pytest

from galzoo_tools import similarity as sim


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


def test_compare_encoders_puts_the_better_representation_ahead():
    features, tags = planted()
    noise = np.random.default_rng(5).standard_normal(features.shape).astype(np.float32)
    table = sim.compare_encoders({"learned": features, "random": noise}, tags, k=10)
    assert list(table.columns) == ["galaxies", "chance", "learned", "random"]
    assert table["learned"].mean() > table["random"].mean()
