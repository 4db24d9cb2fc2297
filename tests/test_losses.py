"""The Dirichlet–multinomial loss against independent references (scipy, mpmath)."""

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from galzoo_tools.losses import (
    dirichlet_multinomial_loss,
    expected_fractions,
    fraction_mse_loss,
    multinomial_loss,
    reduce_loss,
)
from galzoo_tools.schema import Schema, decals_dr5


def scipy_nll(counts: np.ndarray, alpha: np.ndarray, schema: Schema) -> np.ndarray:
    """Per-question NLL from scipy.stats.dirichlet_multinomial, question by question."""
    out = np.zeros((counts.shape[0], schema.n_questions))
    for i in range(counts.shape[0]):
        for q in schema.questions:
            k = counts[i, q.slice]
            n = int(k.sum())
            if n > 0:
                out[i, q.index] = -stats.dirichlet_multinomial.logpmf(k, alpha[i, q.slice], n)
    return out


def mpmath_nll(k: list[int], alpha: list[float]) -> float:
    """The same formula in 50-digit arithmetic: the truth for extreme values."""
    mpmath.mp.dps = 50
    n, a = sum(k), sum(mpmath.mpf(x) for x in alpha)
    logp = mpmath.loggamma(n + 1) + mpmath.loggamma(a) - mpmath.loggamma(n + a)
    for ki, ai in zip(k, alpha):
        ai = mpmath.mpf(ai)
        logp += mpmath.loggamma(ki + ai) - mpmath.loggamma(ai) - mpmath.loggamma(ki + 1)
    return float(-logp)


def random_tree_counts(rng: np.random.Generator, n_galaxies: int, volunteers: int) -> np.ndarray:
    """Counts that obey the DR5 tree, from random per-question fractions."""
    counts = np.zeros((n_galaxies, decals_dr5.n_answers))
    for i in range(n_galaxies):
        for q in decals_dr5.depth_order():
            n = volunteers if q.asked_after is None else counts[i, decals_dr5.answer(q.asked_after).index]
            p = rng.dirichlet(np.ones(len(q.answers)))
            counts[i, q.slice] = rng.multinomial(int(n), p)
    return counts


def test_matches_scipy_on_random_galaxies():
    rng = np.random.default_rng(0)
    counts = np.concatenate([random_tree_counts(rng, 20, 5), random_tree_counts(rng, 20, 40)])
    alpha = rng.uniform(0.5, 80, size=counts.shape)
    ours = dirichlet_multinomial_loss(torch.tensor(counts), torch.tensor(alpha)).numpy()
    reference = scipy_nll(counts, alpha, decals_dr5)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-9)


def test_float32_inputs_still_match_to_1e5():
    rng = np.random.default_rng(1)
    counts = random_tree_counts(rng, 30, 40)
    alpha = rng.uniform(0.01, 500, size=counts.shape)
    ours = dirichlet_multinomial_loss(
        torch.tensor(counts, dtype=torch.float32), torch.tensor(alpha, dtype=torch.float32)
    )
    assert ours.dtype == torch.float32
    reference = scipy_nll(counts, alpha.astype(np.float32).astype(np.float64), decals_dr5)
    np.testing.assert_allclose(ours.numpy(), reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("total", [1, 5, 40, 1000, 10_000])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_extreme_counts_and_concentrations_match_mpmath(total, scale):
    schema = Schema.from_dict({"q": {"answers": ["a", "b", "c"], "asked_after": None}})
    k = [total - total // 3, total // 3, 0]
    alpha = [scale, 2 * scale, 0.5 * scale]
    for dtype in (torch.float64, torch.float32):
        ours = dirichlet_multinomial_loss(
            torch.tensor([k], dtype=dtype), torch.tensor([alpha], dtype=dtype), schema
        )
        truth = mpmath_nll(k, [float(torch.tensor(a, dtype=dtype)) for a in alpha])
        assert torch.isfinite(ours).all()
        assert float(ours[0, 0]) == pytest.approx(truth, rel=1e-5, abs=1e-6)


def test_unasked_questions_give_exactly_zero_loss_and_gradient():
    counts = torch.zeros(2, decals_dr5.n_answers, dtype=torch.float64)
    counts[0, decals_dr5.answer("smooth-or-featured-dr5_smooth").index] = 5
    counts[0, decals_dr5.answer("how-rounded-dr5_round").index] = 5
    alpha = torch.rand(2, decals_dr5.n_answers, dtype=torch.float64).add(0.1).requires_grad_()
    loss = dirichlet_multinomial_loss(counts, alpha)
    asked = [decals_dr5.question("smooth-or-featured-dr5").index, decals_dr5.question("how-rounded-dr5").index]
    unasked = [i for i in range(decals_dr5.n_questions) if i not in asked]
    assert (loss[0, unasked] == 0).all() and (loss[1] == 0).all()
    assert (loss[0, asked] > 0).all()
    loss.sum().backward()
    grad = alpha.grad
    assert (grad[1] == 0).all()
    unasked_cols = [c for q in unasked for c in range(*decals_dr5.questions[q].slice.indices(34))]
    assert (grad[0, unasked_cols] == 0).all()
    assert (grad[0, decals_dr5.question("how-rounded-dr5").slice] != 0).all()


def test_gradcheck_float64():
    rng = np.random.default_rng(2)
    counts = torch.tensor(random_tree_counts(rng, 3, 12))
    alpha = torch.tensor(rng.uniform(0.3, 20, size=counts.shape), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: dirichlet_multinomial_loss(counts, a), (alpha,))


@settings(max_examples=60, deadline=None)
@given(
    k=st.lists(st.integers(0, 10_000), min_size=2, max_size=6),
    log_alpha=st.lists(st.floats(-3, 4), min_size=6, max_size=6),
)
def test_property_matches_mpmath(k, log_alpha):
    schema = Schema.from_dict({"q": {"answers": [str(i) for i in range(len(k))], "asked_after": None}})
    alpha = [10.0**x for x in log_alpha[: len(k)]]
    # both in float64: in float32, alpha ~ 3,000 leaves lgamma only ~1e-7 relative precision
    counts, concentrations = torch.tensor([k], dtype=torch.float64), torch.tensor([alpha], dtype=torch.float64)
    ours = float(dirichlet_multinomial_loss(counts, concentrations, schema)[0, 0])
    if sum(k) == 0:
        assert ours == 0.0
    else:
        assert ours == pytest.approx(mpmath_nll(k, alpha), rel=1e-7, abs=1e-8)


def test_probabilities_of_all_outcomes_sum_to_one():
    schema = Schema.from_dict({"q": {"answers": ["a", "b", "c"], "asked_after": None}})
    n = 7
    outcomes = torch.tensor([[i, j, n - i - j] for i in range(n + 1) for j in range(n + 1 - i)], dtype=torch.float64)
    alpha = torch.tensor([[0.7, 3.0, 1.2]], dtype=torch.float64).expand_as(outcomes)
    total = torch.exp(-dirichlet_multinomial_loss(outcomes, alpha, schema)).sum()
    assert float(total) == pytest.approx(1.0, rel=1e-12)


def test_reductions():
    loss = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert reduce_loss(loss, "none") is loss
    assert reduce_loss(loss, "per_galaxy").tolist() == [3.0, 7.0]
    assert float(reduce_loss(loss, "mean")) == 5.0
    with pytest.raises(ValueError, match="reduction"):
        reduce_loss(loss, "sum")


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match=r"\(batch, 34\)"):
        dirichlet_multinomial_loss(torch.zeros(2, 30), torch.ones(2, 30))


def test_baselines_match_their_formulas():
    rng = np.random.default_rng(3)
    counts = random_tree_counts(rng, 10, 40)
    alpha = torch.tensor(rng.uniform(1, 10, size=counts.shape))
    fractions = expected_fractions(alpha)
    mult = multinomial_loss(torch.tensor(counts), fractions).numpy()
    mse = fraction_mse_loss(torch.tensor(counts), fractions).numpy()
    fr = fractions.numpy()
    for i in range(5):
        for q in decals_dr5.questions:
            k = counts[i, q.slice]
            n = k.sum()
            if n == 0:
                assert mult[i, q.index] == 0 and mse[i, q.index] == 0
                continue
            ref = -stats.multinomial.logpmf(k, int(n), fr[i, q.slice])
            assert mult[i, q.index] == pytest.approx(ref, rel=1e-9)
            assert mse[i, q.index] == pytest.approx(((fr[i, q.slice] - k / n) ** 2).sum(), rel=1e-9)


def test_more_votes_weigh_more_under_dirichlet_but_not_under_mse():
    """The pedagogical point of notebook 01, as a test: same fractions, 8x the votes."""
    schema = Schema.from_dict({"q": {"answers": ["yes", "no"], "asked_after": None}})
    alpha = torch.tensor([[2.0, 8.0]])  # predicts 20% yes
    few, many = torch.tensor([[3.0, 2.0]]), torch.tensor([[24.0, 16.0]])  # both 60% yes
    dm_gap = float(dirichlet_multinomial_loss(many, alpha, schema) - dirichlet_multinomial_loss(few, alpha, schema))
    fr = expected_fractions(alpha, schema)
    mse_gap = float(fraction_mse_loss(many, fr, schema) - fraction_mse_loss(few, fr, schema))
    assert dm_gap > 1.0
    assert mse_gap == pytest.approx(0.0, abs=1e-7)
    assert math.isfinite(dm_gap)
