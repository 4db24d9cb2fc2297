"""Teaching helpers for the Dirichlet–multinomial: exact vote distributions, pictures, and fits.

The decision-tree loss (:mod:`galzoo_tools.losses`) says: for each question the model predicts
concentrations α, and the votes of N volunteers are Dirichlet–multinomial(N, α). These helpers
make that distribution concrete: enumerate every way N volunteers can split their votes, give
each its probability, draw it, and fit α to observed votes by gradient descent with the very
loss a network trains on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from scipy.special import gammaln

from .losses import dirichlet_multinomial_loss
from .schema import Schema, decals_dr5, get_schema

__all__ = [
    "vote_outcomes",
    "dirichlet_multinomial_pmf",
    "multinomial_pmf",
    "beta_binomial_pmf",
    "plot_vote_pmf",
    "ConcentrationFit",
    "fit_concentrations",
]


def vote_outcomes(n: int, n_answers: int) -> np.ndarray:
    """Every way ``n`` volunteers can split their votes over ``n_answers`` answers, ``(m, n_answers)``."""
    if n < 0 or n_answers < 1:
        raise ValueError(f"need n >= 0 and n_answers >= 1, got n={n}, n_answers={n_answers}")
    if n_answers == 1:
        return np.array([[n]], dtype=np.int64)
    rows = [
        np.concatenate([[first], rest])
        for first in range(n, -1, -1)
        for rest in vote_outcomes(n - first, n_answers - 1)
    ]
    return np.asarray(rows, dtype=np.int64)


def _alpha(alpha: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(alpha, dtype=np.float64).reshape(-1)
    if a.size < 2 or np.any(a <= 0) or not np.all(np.isfinite(a)):
        raise ValueError(f"concentrations must be >= 2 positive finite numbers, got {a.tolist()}")
    return a


def dirichlet_multinomial_pmf(
    n: int, alpha: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Probability of every possible vote split when ``n`` volunteers answer a question.

    Returns ``(outcomes, pmf)``: ``outcomes`` is ``(m, len(alpha))`` vote counts (each row sums
    to ``n``) and ``pmf`` their probabilities under Dirichlet–multinomial(n, alpha), summing to 1.
    Practical for 2–4 answers (the number of outcomes grows like n^(answers-1)).
    """
    a = _alpha(alpha)
    k = vote_outcomes(n, a.size).astype(np.float64)
    log_p = (
        gammaln(n + 1) + gammaln(a.sum()) - gammaln(n + a.sum())
        + np.sum(gammaln(k + a) - gammaln(a) - gammaln(k + 1), axis=1)
    )
    return k.astype(np.int64), np.exp(log_p)


def multinomial_pmf(n: int, p: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`dirichlet_multinomial_pmf` but with the fractions ``p`` known exactly (no Dirichlet)."""
    prob = np.asarray(p, dtype=np.float64).reshape(-1)
    if np.any(prob < 0) or not np.isclose(prob.sum(), 1.0):
        raise ValueError(f"fractions must be >= 0 and sum to 1, got {prob.tolist()}")
    k = vote_outcomes(n, prob.size).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_terms = np.where(k > 0, k * np.log(prob), 0.0)
    log_p = gammaln(n + 1) + np.sum(log_terms - gammaln(k + 1), axis=1)
    return k.astype(np.int64), np.exp(log_p)


def beta_binomial_pmf(n: int, alpha: Sequence[float] | np.ndarray, answer: int = 0) -> np.ndarray:
    """P(k of ``n`` volunteers pick ``answer``), k = 0..n: one answer's marginal, a beta-binomial.

    The other answers are lumped together (concentration = their sum), which is exact for a
    Dirichlet–multinomial and lets any question, however many answers, be drawn as bars.
    """
    a = _alpha(alpha)
    a_yes, a_no = a[answer], a.sum() - a[answer]
    _, pmf = dirichlet_multinomial_pmf(n, [a_yes, a_no])
    return pmf[::-1].copy()


def _ternary_xy(outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = outcomes[0].sum()
    shares = outcomes / max(n, 1)
    return shares[:, 1] + 0.5 * shares[:, 2], shares[:, 2] * np.sqrt(3) / 2


def plot_vote_pmf(
    n: int,
    alpha: Sequence[float] | np.ndarray,
    answer_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    color: str = "#2c7fb8",
) -> Axes:
    """Draw the Dirichlet–multinomial distribution of ``n`` votes for one question.

    Two answers: bars over "votes for the first answer". Three answers: a triangle in which
    each hexagon is one vote split, its corners are "everyone chose this answer", and darker
    means more likely (the cross marks the expected split). More answers: one beta-binomial
    marginal per answer, as lines.
    """
    a = _alpha(alpha)
    names = list(answer_names) if answer_names is not None else [f"answer {i}" for i in range(a.size)]
    if len(names) != a.size:
        raise ValueError(f"{len(names)} answer names for {a.size} concentrations")
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.0))
    mean = a / a.sum()
    if a.size == 2:
        outcomes, pmf = dirichlet_multinomial_pmf(n, a)
        ax.bar(outcomes[:, 0], pmf, width=0.85 if n < 60 else 1.0, color=color)
        ax.axvline(n * mean[0], color="k", ls="--", lw=1, label="expected")
        ax.set_xlabel(f"votes for '{names[0]}' (of {n})")
        ax.set_ylabel("probability")
        ax.set_xlim(-0.7, n + 0.7)
    elif a.size == 3:
        outcomes, pmf = dirichlet_multinomial_pmf(n, a)
        x, y = _ternary_xy(outcomes)
        ax.set_xlim(-0.12, 1.12)
        ax.set_ylim(-0.16, np.sqrt(3) / 2 + 0.13)
        ax.set_aspect("equal")
        width_pt = ax.get_window_extent().width * 72 / ax.figure.dpi
        spacing_pt = min(width_pt, ax.get_window_extent().height * 72 / ax.figure.dpi) / 1.24 / max(n, 1)
        ax.plot([0, 1, 0.5, 0], [0, 0, np.sqrt(3) / 2, 0], color="0.6", lw=0.8)
        ax.scatter(x, y, c=pmf, s=(0.85 * spacing_pt) ** 2, cmap="magma_r", vmin=0, vmax=1.3 * pmf.max(),
                   marker="h", linewidths=0)
        mx, my = _ternary_xy((n * mean)[None, :])
        ax.plot(mx, my, "x", color="#e34a33", ms=8, mew=2)
        offsets = [(0, -0.1, "center"), (1, -0.1, "center"), (0.5, np.sqrt(3) / 2 + 0.08, "center")]
        for name, (cx, cy, ha) in zip(names, offsets):
            ax.text(cx, cy, f"all {name}", ha=ha, va="center", fontsize=8)
        ax.set_axis_off()
    else:
        ks = np.arange(n + 1)
        for i, name in enumerate(names):
            ax.plot(ks, beta_binomial_pmf(n, a, answer=i), marker="o", ms=2.5, lw=1, label=name)
        ax.set_xlabel(f"votes for each answer (of {n})")
        ax.set_ylabel("probability")
        ax.legend(fontsize=7, frameon=False)
    return ax


@dataclass(frozen=True)
class ConcentrationFit:
    """The outcome of :func:`fit_concentrations`: final α, and the loss and α at every step."""

    concentrations: np.ndarray
    loss_history: np.ndarray
    concentration_history: np.ndarray
    schema: Schema

    @property
    def fractions(self) -> np.ndarray:
        """The fitted Dirichlet means α_i / Σα per question: the predicted vote fractions."""
        total = self.totals[self.schema.answer_question_index]
        return self.concentrations / total

    @property
    def totals(self) -> np.ndarray:
        """Total concentration Σα per question: large means confident about the fractions."""
        return np.bincount(self.schema.answer_question_index, weights=self.concentrations,
                           minlength=self.schema.n_questions)


def fit_concentrations(
    counts: Sequence[float] | np.ndarray,
    schema: Schema | str = decals_dr5,
    steps: int = 500,
    lr: float = 0.1,
    parameterisation: Literal["softplus", "exp"] = "softplus",
    init: float = 1.0,
) -> ConcentrationFit:
    """Fit one set of concentrations to vote counts by gradient descent on the decision-tree loss.

    ``counts`` is one galaxy, ``(n_answers,)``, or several galaxies that share one set of
    concentrations, ``(m, n_answers)``. The free parameters are unconstrained numbers θ mapped to
    α = softplus(θ) or exp(θ), which keeps α positive, as a network's output layer does. Adam
    minimises the mean over galaxies of :func:`~galzoo_tools.losses.dirichlet_multinomial_loss`.
    Questions nobody answered get no gradient and keep their starting value ``init``.

    For a single galaxy the best total concentration is infinite (its own fractions, held with
    certainty), so the totals keep growing with ``steps``; several look-alike galaxies give a
    finite total that measures how much their votes disagree.
    """
    schema = get_schema(schema)
    k = torch.as_tensor(np.asarray(counts, dtype=np.float64))
    if k.ndim == 1:
        k = k[None, :]
    if k.ndim != 2 or k.shape[1] != schema.n_answers:
        raise ValueError(
            f"counts must have {schema.n_answers} columns for schema {schema.name!r}, got {tuple(k.shape)}"
        )
    if init <= 0:
        raise ValueError(f"init must be > 0, got {init}")
    if parameterisation == "softplus":
        start, link = float(np.log(np.expm1(init))), torch.nn.functional.softplus
    elif parameterisation == "exp":
        start, link = float(np.log(init)), torch.exp
    else:
        raise ValueError(f"parameterisation must be 'softplus' or 'exp', not {parameterisation!r}")
    theta = torch.full((1, schema.n_answers), start, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.Adam([theta], lr=lr)
    history = np.empty(steps)
    alphas = np.empty((steps, schema.n_answers))
    for step in range(steps):
        optimiser.zero_grad()
        alpha = link(theta).expand(k.shape[0], -1)
        loss = dirichlet_multinomial_loss(k, alpha, schema, reduction="mean")
        loss.backward()
        history[step] = loss.item()
        alphas[step] = alpha[0].detach().numpy()
        optimiser.step()
    with torch.no_grad():
        alpha = link(theta)[0].numpy().copy()
    return ConcentrationFit(concentrations=alpha, loss_history=history, concentration_history=alphas, schema=schema)

