"""The decision-tree loss of Walmsley et al. 2022, and two naive baselines to compare it with.

For each question, the model predicts Dirichlet concentrations α (one per answer). The votes
``k`` that ``N`` volunteers gave are then Dirichlet–multinomial distributed:

    P(k | α) = N! / ∏ k_i!  ·  Γ(A) / Γ(N + A)  ·  ∏ Γ(k_i + α_i) / Γ(α_i),     A = Σ α_i

The loss is −log P summed over questions. A question with N = 0 (nobody was asked it)
has P = 1 and contributes exactly zero loss and zero gradient, which is how the loss copes
with the decision tree: unasked questions simply drop out. Galaxies with 40 votes constrain
the model more than galaxies with 5, as they should.

The log-probability includes the multinomial coefficient, so values are comparable with
zoobot's (which uses pyro's DirichletMultinomial). It is computed in float64 internally:
``lgamma`` of counts up to 10^4 and concentrations up to 10^4 subtracts numbers near 10^5,
which float32 cannot do to 1e-5. The cost is negligible next to any network.
"""

from __future__ import annotations

from typing import Literal

import torch

from .schema import Schema, decals_dr5

__all__ = [
    "dirichlet_multinomial_loss",
    "multinomial_loss",
    "fraction_mse_loss",
    "reduce_loss",
    "expected_fractions",
    "per_question_sum",
]

Reduction = Literal["none", "per_galaxy", "mean"]


def _index(schema: Schema, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(schema.answer_question_index, device=device)


def per_question_sum(values: torch.Tensor, schema: Schema = decals_dr5) -> torch.Tensor:
    """Sum ``(batch, n_answers)`` values within each question → ``(batch, n_questions)``."""
    out = values.new_zeros(values.shape[0], schema.n_questions)
    return out.index_add(1, _index(schema, values.device), values)


def _check(counts: torch.Tensor, other: torch.Tensor, schema: Schema, name: str) -> None:
    if counts.shape != other.shape or counts.ndim != 2 or counts.shape[1] != schema.n_answers:
        raise ValueError(
            f"counts and {name} must both have shape (batch, {schema.n_answers}) for schema "
            f"{schema.name!r}; got {tuple(counts.shape)} and {tuple(other.shape)}"
        )


def reduce_loss(per_question: torch.Tensor, reduction: Reduction = "mean") -> torch.Tensor:
    """``none`` keeps (batch, questions); ``per_galaxy`` sums questions; ``mean`` then averages galaxies."""
    if reduction == "none":
        return per_question
    per_galaxy = per_question.sum(dim=1)
    if reduction == "per_galaxy":
        return per_galaxy
    if reduction == "mean":
        return per_galaxy.mean()
    raise ValueError(f"reduction must be 'none', 'per_galaxy' or 'mean', not {reduction!r}")


def dirichlet_multinomial_loss(
    counts: torch.Tensor,
    concentrations: torch.Tensor,
    schema: Schema = decals_dr5,
    reduction: Reduction = "none",
) -> torch.Tensor:
    """Negative log-likelihood of vote ``counts`` under Dirichlet–multinomials with ``concentrations``.

    Both tensors are ``(batch, n_answers)`` in ``schema.label_cols`` order; concentrations must
    be positive. Returns ``(batch, n_questions)`` by default (see :func:`reduce_loss`), in the
    dtype of ``concentrations``.
    """
    _check(counts, concentrations, schema, "concentrations")
    out_dtype = concentrations.dtype if concentrations.is_floating_point() else torch.float32
    k = counts.to(torch.float64)
    alpha = concentrations.to(torch.float64)
    n = per_question_sum(k, schema)
    big_a = per_question_sum(alpha, schema)
    per_answer = torch.lgamma(k + alpha) - torch.lgamma(alpha) - torch.lgamma(k + 1)
    log_prob = (
        torch.lgamma(n + 1) + torch.lgamma(big_a) - torch.lgamma(n + big_a) + per_question_sum(per_answer, schema)
    )
    nll = torch.where(n > 0, -log_prob, torch.zeros_like(log_prob))
    return reduce_loss(nll.to(out_dtype), reduction)


def expected_fractions(concentrations: torch.Tensor, schema: Schema = decals_dr5) -> torch.Tensor:
    """The mean of each question's Dirichlet: α_i / Σα, i.e. the predicted vote fractions."""
    totals = per_question_sum(concentrations, schema)
    return concentrations / totals[:, _index(schema, concentrations.device)]


def multinomial_loss(
    counts: torch.Tensor,
    fractions: torch.Tensor,
    schema: Schema = decals_dr5,
    reduction: Reduction = "none",
    eps: float = 1e-7,
) -> torch.Tensor:
    """Teaching baseline: multinomial NLL of the counts given point-estimate ``fractions``.

    Like the Dirichlet–multinomial it weighs a 40-vote galaxy more than a 5-vote one, but it has
    no way to say "I am unsure of the fraction itself", so it is over-confident on few votes.
    """
    _check(counts, fractions, schema, "fractions")
    out_dtype = fractions.dtype if fractions.is_floating_point() else torch.float32
    k = counts.to(torch.float64)
    p = fractions.to(torch.float64).clamp_min(eps)
    n = per_question_sum(k, schema)
    log_prob = torch.lgamma(n + 1) + per_question_sum(k * torch.log(p) - torch.lgamma(k + 1), schema)
    nll = torch.where(n > 0, -log_prob, torch.zeros_like(log_prob))
    return reduce_loss(nll.to(out_dtype), reduction)


def fraction_mse_loss(
    counts: torch.Tensor,
    fractions: torch.Tensor,
    schema: Schema = decals_dr5,
    reduction: Reduction = "none",
) -> torch.Tensor:
    """Teaching baseline: squared error between predicted and observed vote fractions.

    Summed over each question's answers; unasked questions contribute 0. Every galaxy weighs
    the same whether 5 or 40 volunteers saw it - the flaw the Dirichlet–multinomial fixes.
    """
    _check(counts, fractions, schema, "fractions")
    k = counts.to(fractions.dtype)
    n = per_question_sum(k, schema)
    n_per_answer = n[:, _index(schema, counts.device)]
    observed = torch.where(n_per_answer > 0, k / n_per_answer.clamp_min(1), torch.zeros_like(k))
    squared = torch.where(n_per_answer > 0, (fractions - observed) ** 2, torch.zeros_like(k))
    return reduce_loss(per_question_sum(squared, schema), reduction)
