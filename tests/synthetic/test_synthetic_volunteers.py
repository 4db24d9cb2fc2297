"""Simulated volunteers: vote counts obey the DR5 tree and every answer gets used."""

import numpy as np
import pytest

from galzoo_tools.pretrain.evaluate import simulated_truth, vote_fraction_mae
from galzoo_tools.schema import decals_dr5
from galzoo_tools.synthetic import draw_n_volunteers, expected_fractions, simulate_catalog, simulate_votes
from galzoo_tools.synthetic.volunteers import ASKED_OF

COLS = decals_dr5.label_cols


@pytest.fixture(scope="module")
def catalog():
    return simulate_catalog(2000, seed=3)[1]


def test_children_never_outnumber_the_answer_leading_to_them(catalog):
    counts = catalog[COLS].to_numpy()
    root = decals_dr5.question("smooth-or-featured-dr5")
    assert (counts[:, root.slice].sum(1) == catalog["total_votes"]).all()
    for q in decals_dr5.questions:
        asked = counts[:, q.slice].sum(1)
        if q.name in ASKED_OF:
            parents = sum(counts[:, decals_dr5.answer(c).index] for c in ASKED_OF[q.name])
            assert (asked == parents).all(), q.name
        elif q.asked_after is not None:
            assert (asked == counts[:, decals_dr5.answer(q.asked_after).index]).all(), q.name
    assert (counts >= 0).all()


def test_every_answer_is_used(catalog):
    unused = [c for c in COLS if catalog[c].sum() == 0]
    assert not unused


def test_true_fractions_sum_to_one_per_question(catalog):
    fractions = catalog[[c + "_true_fraction" for c in COLS]].to_numpy()
    assert (fractions > 0).all()
    for q in decals_dr5.questions:
        np.testing.assert_allclose(fractions[:, q.slice].sum(1), 1.0, atol=1e-9)


def test_volunteer_numbers_look_like_gz_decals():
    n = draw_n_volunteers(20000, np.random.default_rng(0))
    few, many = (n <= 10).mean(), (n >= 25).mean()
    assert 0.55 < few < 0.65 and 0.35 < many < 0.45
    assert np.median(n[n <= 10]) == 5 and 35 <= np.median(n[n >= 25]) <= 45


def test_votes_follow_the_true_fractions():
    fractions = np.tile(simulate_catalog(1, seed=0)[1][[c + "_true_fraction" for c in COLS]].to_numpy(), (4000, 1))
    counts = simulate_votes(fractions, np.full(4000, 40), np.random.default_rng(1))
    q = decals_dr5.question("smooth-or-featured-dr5")
    observed = counts[:, q.slice].sum(0) / counts[:, q.slice].sum()
    np.testing.assert_allclose(observed, fractions[0, q.slice], atol=0.01)


def test_featured_galaxies_get_featured_votes(catalog):
    featured = catalog["smooth-or-featured-dr5_featured-or-disk"] / catalog["total_votes"]
    spiral = catalog["true_n_arms"] > 0
    elliptical = catalog["true_kind"] == "elliptical"
    assert featured[spiral].mean() > featured[elliptical].mean() + 0.4


def test_expected_fractions_average_out_the_tilt_no_image_shows():
    morphology, catalog = simulate_catalog(1500, seed=4)
    expected = expected_fractions(morphology, draws=100)
    for q in decals_dr5.questions:
        np.testing.assert_allclose(expected[:, q.slice].sum(1), 1.0, rtol=1e-9)
    # the tilted truth is closer to the votes than anything the morphology alone can give ...
    oracle = vote_fraction_mae(simulated_truth(catalog), catalog)["mean"]
    floor = vote_fraction_mae(expected, catalog)["mean"]
    assert 1.03 * oracle < floor < 1.3 * oracle
    # ... and the average has converged: another set of draws agrees closely
    assert np.abs(expected - expected_fractions(morphology, draws=100, seed=1)).mean() < 0.01
    with pytest.raises(ValueError, match="draws"):
        expected_fractions(morphology, draws=0)
