"""Anomaly search: metrics, personas, the GP maths, the baselines and the active-learning loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galzoo_tools import anomaly as an
from galzoo_tools.synthetic import simulate_catalog


def rare_cluster(n: int = 1500, hits: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features with a small cluster the researcher loves (5) and scattered outliers they do not (0)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20))
    scores = np.zeros(n)
    wanted = rng.choice(n, hits, replace=False)
    x[wanted, :3] += 3.5
    scores[wanted] = 5
    rest = np.setdiff1d(np.arange(n), wanted)
    odd = rng.choice(rest, hits, replace=False)
    x[odd] *= 3.0  # statistically odd, but boring to this researcher
    return x, scores


# --- metrics ------------------------------------------------------------------------------------
def test_metrics_of_known_rankings() -> None:
    hit = np.array([1, 0, 1, 0, 0, 0], dtype=bool)
    order = np.array([0, 2, 1, 3, 4, 5])
    assert an.precision_at_k(order, hit, 2) == 1.0
    assert an.precision_at_k(order, hit, 4) == 0.5
    assert an.average_precision(order, hit) == 1.0
    assert an.average_precision(np.array([1, 0, 3, 2, 4, 5]), hit) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert an.rank_weighted_score(order, hit, 2) == 1.0
    # hits at 0-based ranks 1 and 3 of a top-4: weights 3 and 1 over 10
    assert an.rank_weighted_score(np.array([1, 0, 3, 2, 4, 5]), hit, 4) == pytest.approx(0.4)
    assert np.isnan(an.average_precision(order, np.zeros(6, bool)))
    with pytest.raises(ValueError):
        an.precision_at_k(order, hit, 0)


# --- personas -----------------------------------------------------------------------------------
def test_personas_follow_the_truth() -> None:
    _, catalog = simulate_catalog(3000, seed=3)
    mergers = an.persona_scores(catalog, "mergers")
    assert set(np.unique(mergers)) <= {0, 1, 2, 3, 5}
    assert ((mergers >= 4) == (catalog["true_merger"] == "merger")).all()
    rings = an.persona_scores(catalog, "rings")
    assert ((rings >= 4) == (catalog["true_ring_type"] != "none")).all()
    assert (rings[catalog["true_ring_type"] == "outer"] == 5).all()
    lenses = an.persona_scores(catalog, "lenses")
    assert ((lenses == 5) == (catalog["true_lens"] == 1)).all()
    with pytest.raises(ValueError, match="unknown persona"):
        an.persona_scores(catalog, "bars")
    with pytest.raises(ValueError, match="true_merger"):
        an.persona_scores(catalog.drop(columns="true_merger"), "mergers")


def test_rare_subset_makes_the_wanted_kind_rare() -> None:
    scores = np.r_[np.full(100, 5.0), np.zeros(900)]
    keep = an.rare_subset(scores, fraction=0.02, seed=1)
    assert (scores[keep] >= 4).mean() <= 0.02 and (scores[keep] >= 4).sum() == 18
    assert (scores[keep] < 4).sum() == 900
    assert len(an.rare_subset(np.r_[5.0, np.zeros(99)], fraction=0.05)) == 100


def test_simulated_researcher_reads_a_column_and_counts() -> None:
    table = pd.DataFrame({"interest": [0, 5, 3]})
    researcher = an.SimulatedResearcher.from_column(table, "interest")
    assert researcher(np.array([1, 2])).tolist() == [5.0, 3.0] and researcher.n_asked == 2
    with pytest.raises(ValueError, match="0 to 5"):
        an.SimulatedResearcher.from_column(pd.DataFrame({"interest": [0, 7]}), "interest")
    with pytest.raises(ValueError, match="no column"):
        an.SimulatedResearcher.from_column(table, "nope")


# --- features -----------------------------------------------------------------------------------
def test_compress_features_is_standardised_pca() -> None:
    x = np.random.default_rng(0).normal(size=(300, 64)) @ np.random.default_rng(1).normal(size=(64, 64))
    z = an.compress_features(x, 40)
    assert z.shape == (300, 40)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-9)
    assert an.compress_features(x[:10], 40).shape == (10, 10)
    x[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"rows \[3\]"):
        an.compress_features(x)


# --- the GP -------------------------------------------------------------------------------------
def test_gp_predict_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 8))
    labelled = rng.choice(500, 40, replace=False)
    fit = an.fit_gp(x[labelled], rng.integers(0, 6, 40).astype(float))
    mean, std = an.gp_predict(fit, x, chunk=128)
    sk_mean, sk_std = fit.regressor.predict(x, return_std=True)
    np.testing.assert_allclose(mean, sk_mean, atol=1e-8)
    np.testing.assert_allclose(std, sk_std, atol=1e-8)


def test_expected_improvement() -> None:
    ei = an.expected_improvement(np.array([0.0, 5.0, 5.0, 7.0]), np.array([1.0, 1.0, 0.1, 0.0]), best=5.0, xi=0.5)
    assert ei[1] > ei[2] > 0 and ei[0] < ei[2]   # uncertainty is worth exploring
    assert ei[3] == pytest.approx(1.5)           # certain and better: the plain gain
    assert (an.expected_improvement(np.zeros(3), np.zeros(3), best=1.0) == 0).all()


def test_gp_learner_first_batch_random_then_no_repeats() -> None:
    x, scores = rare_cluster(400, 12)
    learner = an.GPActiveLearner(x, seed=1)
    first = learner.next_batch(10)
    assert len(set(first.tolist())) == 10
    np.testing.assert_array_equal(first, an.GPActiveLearner(x, seed=1).next_batch(10))  # seeded
    an.run_learner(learner, an.SimulatedResearcher(scores), budget=60, batch_size=10)
    assert learner.n_labelled == 60 and len(np.unique(learner.labelled)) == 60
    order = learner.ranking()
    assert sorted(order.tolist()) == list(range(400))
    assert (learner.acquisition()[learner.labelled] >= 0).all()


def test_ranking_puts_labels_first_on_ties_and_uses_them() -> None:
    order = an.rank_with_labels(np.array([3.0, 5.0, 1.0, 4.0]), labelled=np.array([2, 3]), labels=np.array([5.0, 0.0]))
    assert order.tolist() == [2, 1, 0, 3]


def test_forget_undoes_labels() -> None:
    learner = an.RandomLearner(np.zeros((20, 2)), seed=0)
    learner.add_labels([3, 4, 5], [1, 2, 3])
    assert learner.forget(2).tolist() == [4, 5] and learner.labelled.tolist() == [3]
    learner.add_labels([3], [5])
    assert learner.labels.tolist() == [5.0]
    with pytest.raises(ValueError, match="0 to 5"):
        learner.add_labels([1], [6])


# --- baselines ----------------------------------------------------------------------------------
def test_distance_weighted_score_matches_astronomaly_formula() -> None:
    anomaly, user, dist = np.array([5.0, 5.0, 2.0]), np.array([0.0, 5.0, 0.0]), np.array([0.0, 0.0, 3.0])
    final = an.distance_weighted_score(anomaly, user, dist)
    assert final[0] == pytest.approx(5.0 * 0.1)    # on a boring label: scaled by f_u = 0.1
    assert final[1] == pytest.approx(5.0 * 0.95)   # on a 5: f_u = 0.95
    assert final[2] == pytest.approx(2.0 * np.tanh(np.exp(3.0) - 1 + np.arctanh(0.1)))  # far away: ~ the anomaly
    np.testing.assert_allclose(an.rescale_scores(np.array([2.0, 4.0, 3.0])), [0, 5, 2.5])


def test_nearest_labelled_distance() -> None:
    x = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [1.0, 0.0]])
    np.testing.assert_allclose(an.nearest_labelled_distance(x, np.array([0, 2]), chunk=3), [0, 5, 0, 1])


def test_isolation_forest_finds_outliers() -> None:
    x = np.random.default_rng(0).normal(size=(300, 5))
    x[:5] += 8
    assert set(np.argsort(-an.isolation_forest_scores(x))[:5]) == set(range(5))
    assert set(np.argsort(-an.lof_scores(x))[:5]) == set(range(5))


# --- the whole loop: the method must beat the baselines on a rare, personal kind ----------------
def test_gp_beats_baselines_on_a_rare_cluster() -> None:
    x, scores = rare_cluster(1000, 20)
    history = an.compare_methods(an.compress_features(x, 20), scores, seeds=(0, 1), budget=60)
    table = an.summarise(history)
    assert set(table.index) == {"gp", "astronomaly", "random", "isolation_forest", "lof"}
    assert (table["labels"].drop(["isolation_forest", "lof"]) == 60).all()
    gp = table.loc["gp", "average_precision"]
    assert table.loc["gp", "precision_at_50"] <= 20 / 50 + 1e-9
    assert gp > 0.9
    for other in ("astronomaly", "random", "isolation_forest", "lof"):
        assert gp > table.loc[other, "average_precision"] + 0.15, other
    steps = history[history["method"] == "gp"].groupby("seed")["labels"].apply(list)
    assert all(s == list(range(10, 61, 10)) for s in steps)
