"""Exact vote distributions against scipy, and concentration fits against known truth."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

from galzoo_tools.dirichlet import (
    beta_binomial_pmf,
    dirichlet_multinomial_pmf,
    fit_concentrations,
    multinomial_pmf,
    plot_vote_pmf,
    vote_outcomes,
)
from galzoo_tools.schema import Schema, decals_dr5

ONE_QUESTION = Schema.from_dict({"q": {"answers": ["a", "b", "c"], "asked_after": None}})


@pytest.mark.parametrize("n, answers, expected", [(5, 2, 6), (5, 3, 21), (40, 3, 861), (0, 3, 1)])
def test_vote_outcomes_are_all_distinct_splits(n: int, answers: int, expected: int) -> None:
    out = vote_outcomes(n, answers)
    assert out.shape == (expected, answers)
    assert np.all(out.sum(axis=1) == n) and np.all(out >= 0)
    assert len({tuple(r) for r in out}) == expected


@pytest.mark.parametrize("n", [1, 5, 40])
@pytest.mark.parametrize("alpha", [[0.3, 0.3], [8.0, 2.0], [1.0, 1.0, 1.0], [80.0, 20.0, 5.0], [0.5, 2, 3, 1]])
def test_pmf_sums_to_one_and_matches_scipy(n: int, alpha: list[float]) -> None:
    outcomes, pmf = dirichlet_multinomial_pmf(n, alpha)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
    reference = stats.dirichlet_multinomial.pmf(outcomes, alpha, n)
    np.testing.assert_allclose(pmf, reference, rtol=1e-9, atol=1e-15)


def test_multinomial_pmf_matches_scipy() -> None:
    outcomes, pmf = multinomial_pmf(7, [0.5, 0.3, 0.2])
    np.testing.assert_allclose(pmf, stats.multinomial.pmf(outcomes, 7, [0.5, 0.3, 0.2]), rtol=1e-10)
    _, degenerate = multinomial_pmf(4, [1.0, 0.0])
    assert degenerate.max() == pytest.approx(1.0)


def test_large_concentrations_approach_the_multinomial() -> None:
    _, dm = dirichlet_multinomial_pmf(10, [6e5, 3e5, 1e5])
    _, mn = multinomial_pmf(10, [0.6, 0.3, 0.1])
    np.testing.assert_allclose(dm, mn, atol=1e-4)


def test_beta_binomial_marginal_matches_scipy() -> None:
    alpha = [2.0, 3.0, 0.5]
    np.testing.assert_allclose(beta_binomial_pmf(12, alpha, answer=1), stats.betabinom.pmf(range(13), 12, 3.0, 2.5))


def test_bad_concentrations_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        dirichlet_multinomial_pmf(5, [1.0, 0.0])


@pytest.mark.parametrize("alpha", [[3.0, 1.0], [1.0, 2.0, 1.0], [1, 1, 1, 1, 1]])
def test_plot_vote_pmf_draws(alpha: list[float]) -> None:
    ax = plot_vote_pmf(5, alpha)
    assert ax.collections or ax.patches or ax.lines
    plt.close(ax.figure)


def test_fit_recovers_population_concentrations() -> None:
    rng = np.random.default_rng(0)
    true_alpha = np.array([6.0, 3.0, 1.0])
    p = rng.dirichlet(true_alpha, 400)
    counts = np.array([rng.multinomial(40, pi) for pi in p])
    fit = fit_concentrations(counts, schema=ONE_QUESTION, steps=600, lr=0.05)
    np.testing.assert_allclose(fit.fractions, counts.sum(0) / counts.sum(), atol=0.01)
    np.testing.assert_allclose(fit.concentrations, true_alpha, rtol=0.25)
    assert fit.loss_history[-1] < fit.loss_history[0]


@pytest.mark.parametrize("parameterisation", ["softplus", "exp"])
def test_fit_one_galaxy_mean_matches_observed_fractions(parameterisation: str) -> None:
    counts = np.zeros(decals_dr5.n_answers)
    sf = decals_dr5.question("smooth-or-featured-dr5")
    rounded = decals_dr5.question("how-rounded-dr5")
    counts[sf.slice] = [30, 8, 2]
    counts[rounded.slice] = [20, 10, 0]
    fit = fit_concentrations(counts, steps=800, lr=0.2, parameterisation=parameterisation)
    np.testing.assert_allclose(fit.fractions[sf.slice], [0.75, 0.2, 0.05], atol=0.03)
    np.testing.assert_allclose(fit.fractions[rounded.slice][:2], [2 / 3, 1 / 3], atol=0.03)
    unasked = decals_dr5.question("bar-dr5")
    np.testing.assert_allclose(fit.concentrations[unasked.slice], 1.0)
    assert np.all(np.diff(fit.loss_history[-50:]) <= 1e-9)


def test_fit_refuses_wrong_shape() -> None:
    with pytest.raises(ValueError, match="34 columns"):
        fit_concentrations(np.zeros(5))
