"""The linear probe: embed the galaxies once with the frozen encoder, then fit only the head.

With a few dozen labels this is usually the best one can do (nothing to overfit but one
linear layer) and it costs one forward pass per galaxy. The head is a softmax (or linear)
regression on scaled features (the model's ``feature_scaling``: ``cosine`` by default, see
:data:`galzoo_tools.finetune.model.FEATURE_SCALINGS`), fitted exactly with L-BFGS; its L2
strength is chosen by cross-validation on the labelled galaxies, then the head is refitted on
all of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from .model import FeatureScaling, FinetuneModel, scale_features

__all__ = ["L2_GRID", "class_weights", "fit_head", "fit_linear_probe"]

L2_GRID: tuple[float, ...] = (3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0, 30.0, 100.0)
"""L2 strengths (on the mean loss over scaled features) tried by cross-validation. With 8
labels the best is often 10 or more: strong shrinkage is what few labels need."""


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run small solves on one thread: their ops take microseconds, and on a busy CPU
    synchronising several threads per op costs 10–100× more than the work itself."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def class_weights(y: np.ndarray | torch.Tensor, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights ``n / (n_classes * count)``: each class counts equally in the loss."""
    counts = torch.bincount(torch.as_tensor(y), minlength=n_classes).float()
    return torch.where(counts > 0, counts.sum() / (n_classes * counts.clamp_min(1)), torch.zeros_like(counts))


def _feature_stats(x: torch.Tensor, scaling: FeatureScaling) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and std that :func:`scale_features` needs. ``cosine`` only centres (std 1).
    ``standardise`` floors each std at a tenth of the median, so that features that barely vary
    on these galaxies are not blown up (fine-tuning would then amplify every small change of
    them into a huge logit)."""
    if scaling == "cosine":
        return x.mean(0), torch.ones(x.shape[1], dtype=x.dtype)
    std = x.std(0, unbiased=False)
    return x.mean(0), std.clamp_min(max(0.1 * float(std.median()), 1e-6))


def _loss(outputs: torch.Tensor, y: torch.Tensor, task: str, weight: torch.Tensor | None) -> torch.Tensor:
    if task == "regression":
        return F.mse_loss(outputs[:, 0], y)
    return F.cross_entropy(outputs, y, weight=weight)


def _solve(x: torch.Tensor, y: torch.Tensor, n_out: int, task: str, weight: torch.Tensor | None, l2: float,
           init: tuple[torch.Tensor, torch.Tensor] | None = None, max_iter: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Head weight ``(n_out, F)`` and bias minimising loss + l2/2·|W|² on standardised features ``x``.

    With fewer galaxies than features the optimum lies in the span of the galaxies' features
    (the penalty only grows outside it), so the problem is solved in that ≤ N-dimensional space
    and mapped back: exact, and much faster for small label budgets.
    """
    basis = None
    if x.shape[0] < x.shape[1]:
        u, s, basis = torch.linalg.svd(x, full_matrices=False)
        x = u * s
    w = torch.zeros(n_out, x.shape[1], dtype=x.dtype) if init is None else init[0].clone()
    if basis is not None and init is not None:
        w = init[0] @ basis.T
    b = torch.zeros(n_out, dtype=x.dtype) if init is None else init[1].clone()
    w.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=max_iter, tolerance_grad=1e-5, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = _loss(x @ w.T + b, y, task, weight) + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    w, b = w.detach(), b.detach()
    return (w @ basis if basis is not None else w), b


def _folds(y: np.ndarray, task: str, seed: int, max_folds: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == "regression":
        k = min(max_folds, len(y))
        return list(KFold(k, shuffle=True, random_state=seed).split(y)) if k >= 2 else []
    k = min(max_folds, int(min(np.unique(y, return_counts=True)[1])))
    if k < 2:
        return []
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def fit_head(model: FinetuneModel, features: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, l2: float,
             balance: bool = True) -> None:
    """Fit ``model``'s head (and its feature/target standardisation) on these features, in place.

    Every fitted quantity is replaced, so one model can be refitted on draw after draw."""
    x = torch.as_tensor(features).double().cpu()
    mean, std = _feature_stats(x, model.feature_scaling)
    x = scale_features(x, mean, std, model.feature_scaling)
    target, weight = _targets(model, y, balance)
    if model.task == "regression":
        t_mean, t_std = target.mean(), target.std(unbiased=False).clamp_min(1e-6)
        target = (target - t_mean) / t_std
        model.target_mean.fill_(float(t_mean))
        model.target_std.fill_(float(t_std))
    with _one_thread():
        w, b = _solve(x, target, model.head.out_features, model.task, weight, l2)
    with torch.no_grad():
        model.feature_mean.copy_(mean.float())
        model.feature_std.copy_(std.float())
        model.head.weight.copy_(w.float())
        model.head.bias.copy_(b.float())


def _targets(model: FinetuneModel, y: np.ndarray | torch.Tensor, balance: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    if model.task == "regression":
        return torch.tensor(np.asarray(y), dtype=torch.float64), None
    y = torch.tensor(np.asarray(y), dtype=torch.long)
    n_classes = model.head.out_features
    return y, (class_weights(y, n_classes).double() if balance else None)


def fit_linear_probe(model: FinetuneModel, features: np.ndarray | torch.Tensor, y: np.ndarray, balance: bool = True,
                     l2_grid: Sequence[float] = L2_GRID, seed: int = 0) -> dict[str, float]:
    """Choose the L2 strength by k-fold cross-validation (≤ 5 folds) on the labelled galaxies,
    then fit the head on all of them. Returns ``{"l2": …, "cv_loss": …}`` (cv_loss NaN when
    there are too few labels to cross-validate, in which case the middle of the grid is used).
    """
    y = np.asarray(y)
    folds = _folds(y, model.task, seed)
    x = torch.as_tensor(features).double().cpu()
    grid = sorted(l2_grid, reverse=True)  # strong to weak: each fit warm-starts the next
    totals = np.zeros(len(grid))
    for train, val in folds:
        mean, std = _feature_stats(x[train], model.feature_scaling)
        x_train = scale_features(x[train], mean, std, model.feature_scaling)
        x_val = scale_features(x[val], mean, std, model.feature_scaling)
        target, weight = _targets(model, y[train], balance)
        val_target, val_weight = _targets(model, y[val], balance)
        if model.task == "regression":
            t_mean, t_std = target.mean(), target.std(unbiased=False).clamp_min(1e-6)
            target, val_target = (target - t_mean) / t_std, (val_target - t_mean) / t_std
        head = None
        with _one_thread():
            for i, l2 in enumerate(grid):
                head = _solve(x_train, target, model.head.out_features, model.task, weight, l2, init=head)
                outputs = x_val @ head[0].T + head[1]
                totals[i] += float(_loss(outputs, val_target, model.task, val_weight)) * len(val)
    if folds:
        scores = totals / len(y)
        best = min(range(len(grid)), key=lambda i: (round(float(scores[i]), 4), -grid[i]))
        cv_loss = float(scores[best])
    else:
        best, cv_loss = len(grid) // 2, float("nan")
    fit_head(model, features, y, grid[best], balance)
    return {"l2": float(grid[best]), "cv_loss": cv_loss}
