"""The training step both loops share: schedule, clipping, resumable state, early stopping."""

import math

import pytest
import torch
from torch import nn

from galzoo_tools.training_step import EarlyStopping, OptimiserStep, adamw, warmup_cosine


def test_warmup_then_cosine_down_to_the_floor():
    factor = warmup_cosine(100, warmup_fraction=0.1, min_lr_fraction=0.01)
    assert [factor(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert factor(55) == pytest.approx(0.01 + 0.99 * 0.5)
    assert factor(100) == pytest.approx(0.01) and factor(500) == pytest.approx(0.01)
    assert warmup_cosine(100, 0.01, min_warmup=10)(4) == pytest.approx(0.5)  # at least min_warmup steps


def _stepper(model: nn.Module, grad_clip: float = 1.0) -> OptimiserStep:
    return OptimiserStep(torch.optim.SGD(model.parameters(), lr=1.0), model.parameters(), total_steps=10,
                         warmup_fraction=0.0, grad_clip=grad_clip)


def test_a_step_clips_the_gradient_and_follows_the_schedule():
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    step = _stepper(model, grad_clip=0.5)
    step((model(torch.ones(1, 1)) - 100).pow(2).sum())  # gradient -200: clipped to norm 0.5
    assert model.weight.item() == pytest.approx(0.5)
    assert step.steps == 1
    assert step.lr == pytest.approx(warmup_cosine(10, 0.0)(1))


def test_a_restored_step_continues_exactly():
    torch.manual_seed(0)
    a = nn.Linear(3, 1)
    b = nn.Linear(3, 1)
    b.load_state_dict(a.state_dict())
    first, x = _stepper(a), torch.randn(8, 3)
    for _ in range(3):
        first(a(x).pow(2).mean())
    second = _stepper(b)
    for _ in range(3):
        second(b(x).pow(2).mean())
    restored = _stepper(b)
    restored.load_state_dict(second.state_dict())
    assert set(second.state_dict()) == {"optimizer", "scheduler", "scaler"}
    first(a(x).pow(2).mean())
    restored(b(x).pow(2).mean())
    assert restored.steps == first.steps == 4
    torch.testing.assert_close(a.weight, b.weight)


def test_early_stopping_counts_epochs_without_a_real_improvement():
    stopping = EarlyStopping(patience=2, min_delta=0.1)
    assert stopping.update(5.0, 0)
    assert not stopping.update(4.95, 1) and not stopping.stopped  # better, but by less than min_delta
    assert stopping.update(4.0, 2) and stopping.bad_epochs == 0
    assert not stopping.update(math.nan, 3)
    assert not stopping.update(4.5, 4) and stopping.stopped
    assert (stopping.best_loss, stopping.best_epoch) == (4.0, 2)


def test_adamw_is_fused_on_cpu_and_steps_like_plain_adamw():
    torch.manual_seed(0)
    fused_model, plain_model = nn.Linear(4, 3), nn.Linear(4, 3)
    plain_model.load_state_dict(fused_model.state_dict())
    start = fused_model.weight.detach().clone()
    groups = [{"params": [fused_model.weight], "lr": 0.01}, {"params": [fused_model.bias], "lr": 0.05}]
    fused = adamw(groups, torch.device("cpu"), weight_decay=0.1)
    plain = torch.optim.AdamW([{"params": [plain_model.weight], "lr": 0.01}, {"params": [plain_model.bias], "lr": 0.05}],
                              weight_decay=0.1)
    assert fused.defaults["fused"] and not plain.defaults["fused"]
    x = torch.randn(16, 4)
    for _ in range(5):
        for model, optimiser in ((fused_model, fused), (plain_model, plain)):
            optimiser.zero_grad()
            model(x).pow(2).sum().backward()
            optimiser.step()
    assert (fused_model.weight - start).abs().mean() > 0.02  # it moved: five steps of up to lr each
    for a, b in zip(fused_model.parameters(), plain_model.parameters()):
        torch.testing.assert_close(a, b)


def test_adamw_falls_back_to_the_plain_kernel_elsewhere():
    assert not adamw(nn.Linear(2, 1).parameters(), torch.device("meta"), lr=1e-3).defaults["fused"]
