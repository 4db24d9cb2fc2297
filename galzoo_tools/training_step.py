"""What every galzoo training loop does around its forward pass, written once.

Both loops (pretraining, :func:`galzoo_tools.pretrain.fit`, and fine-tuning,
:func:`galzoo_tools.finetune.fit_finetune`) compute a loss their own way, then hand it to an
:class:`OptimiserStep`: zero the gradients, backward (through a gradient scaler when float16
autocast needs one), clip the gradient norm, step AdamW, step the warm-up + cosine learning
rate (:func:`warmup_cosine`). After each epoch they ask :class:`EarlyStopping` whether the
validation loss improved and whether to stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import torch
from torch import nn

__all__ = ["warmup_cosine", "amp_dtype", "autocast", "default_channels_last", "adamw", "OptimiserStep", "EarlyStopping"]


def warmup_cosine(
    total_steps: int, warmup_fraction: float, min_lr_fraction: float = 0.01, min_warmup: int = 1
) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warm-up (at least ``min_warmup`` steps), then a
    cosine decay to ``min_lr_fraction``. For ``torch.optim.lr_scheduler.LambdaLR``."""
    warmup = max(min_warmup, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return min_lr_fraction + (1 - min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def amp_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on GPUs that support it (no loss scaling needed), else float16."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """Mixed precision in :func:`amp_dtype` on ``device`` when ``enabled``."""
    return torch.autocast(device.type, dtype=amp_dtype(device), enabled=enabled)


def default_channels_last(device: torch.device) -> bool:
    """Whether to train in channels-last memory on ``device`` when the config leaves it open.

    On CUDA it lets the convolutions use tensor cores; on a CPU, oneDNN's convolutions (the
    depthwise ones of EfficientNet above all) run faster on channels-last tensors too
    (``benchmarks/bench_training.py`` prints both). Other devices keep the default layout.
    """
    return device.type in ("cuda", "cpu")


def adamw(params: Iterable[nn.Parameter] | Iterable[dict], device: torch.device, **settings: float) -> torch.optim.AdamW:
    """AdamW, with PyTorch's fused kernel on CUDA and CPU (where it is supported).

    The fused update handles every parameter tensor (149 in EfficientNet-Lite0) in one kernel.
    On a CPU PyTorch's default is a loop over the tensors: ``benchmarks/bench_training.py``
    measured one step at ~10 ms that way and 2-3 ms fused on 2 cores. On CUDA the default already
    groups tensors ("foreach"); PyTorch documents fused as the faster of the two. ``settings``
    are AdamW's (``lr``, ``weight_decay``, ...); ``params`` may be parameter groups.
    """
    return torch.optim.AdamW(params, fused=device.type in ("cuda", "cpu"), **settings)


class OptimiserStep:
    """One optimiser step per call, ``step(loss)``, with its schedule, scaler and clipping.

    ``optimizer`` steps every call; its learning rate follows :func:`warmup_cosine` over
    ``total_steps``. With ``amp`` in float16 the loss is scaled (a ``GradScaler``) and the
    gradients unscaled before their norm over ``parameters`` is clipped to ``grad_clip``.
    :meth:`state_dict` holds what a resumed run needs: ``optimizer``, ``scheduler``, ``scaler``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, parameters: Iterable[nn.Parameter], total_steps: int,
                 warmup_fraction: float, *, min_lr_fraction: float = 0.01, min_warmup: int = 1,
                 grad_clip: float = 1.0, device: torch.device = torch.device("cpu"), amp: bool = False) -> None:
        self.optimizer = optimizer
        self.parameters = list(parameters)
        self.grad_clip = grad_clip
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, warmup_cosine(total_steps, warmup_fraction, min_lr_fraction, min_warmup))
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp and amp_dtype(device) == torch.float16)

    def __call__(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.parameters, self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()

    @property
    def steps(self) -> int:
        """Optimiser steps taken so far (resumed runs included)."""
        return self.scheduler.last_epoch

    @property
    def lr(self) -> float:
        """The learning rate of the first parameter group for the next step."""
        return float(self.scheduler.get_last_lr()[0])

    def state_dict(self) -> dict[str, dict]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore from a dict with (at least) the keys :meth:`state_dict` writes."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])


@dataclass
class EarlyStopping:
    """Track the best validation loss; stop after ``patience`` epochs without an improvement
    of more than ``min_delta``."""

    patience: int
    min_delta: float = 0.0
    best_loss: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    stopped: bool = False

    def update(self, loss: float, epoch: int) -> bool:
        """Record epoch ``epoch``'s validation loss; True when it is the best so far."""
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = loss, epoch, 0
            return True
        self.bad_epochs += 1
        self.stopped = self.bad_epochs >= self.patience
        return False
