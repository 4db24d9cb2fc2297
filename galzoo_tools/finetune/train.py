"""Fine-tuning a :class:`FinetuneModel` on a few labelled galaxies: three modes, one small loop.

* ``linear`` — frozen encoder: embed once, fit the head (:mod:`.probe`). Seconds on a CPU.
* ``partial`` — the last ``blocks`` encoder blocks train too. The frozen front is run once per
  galaxy and cached (for ``views`` augmented copies of each training galaxy), so every epoch
  only runs the small trainable top: ~10× cheaper than a plain loop, and exact, because frozen
  blocks run in eval mode anyway.
* ``full`` — every block trains, with layer-wise learning-rate decay (blocks nearer the input
  move less); images are augmented on the device every step.

``partial`` and ``full`` start from the linear-probe head (Kumar et al. 2022, "LP-FT": a random
head would first pull the pretrained features around to fit itself), then train with AdamW,
warm-up + cosine learning rate, gradient clipping and early stopping on a validation split of
the labelled set; the best epoch's weights are kept. AMP and channels-last on CUDA. The
optimiser step and early stopping are :mod:`galzoo_tools.training_step`'s, shared with pretraining.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..augment import BatchAugment, to_float_images
from ..cpu_memory import keep_freed_memory
from ..training_step import EarlyStopping, OptimiserStep, adamw, amp_dtype, autocast, default_channels_last
from .data import check_class_counts, split_labelled
from .model import FeatureScaling, FinetuneModel, feature_chain, set_trainable_blocks, layer_decay_param_groups
from ..representations import embed
from .probe import _loss, _targets, fit_linear_probe

__all__ = ["Mode", "FinetuneConfig", "FitReport", "fit_finetune"]

Mode = Literal["linear", "partial", "full"]


@dataclass
class FinetuneConfig:
    """How to fine-tune; the defaults suit a few hundred labels at 128 px."""

    mode: Mode = "linear"
    blocks: int = 2
    """``partial``: number of encoder blocks (counted from the output side) that train."""
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-4
    """Learning rate of the head; encoder block k from the top gets ``lr * layer_decay**k``."""
    layer_decay: float = 0.75
    weight_decay: float = 0.05
    warmup_fraction: float = 0.1
    grad_clip: float = 1.0
    patience: int = 5
    val_fraction: float = 0.2
    balance: bool = True
    """Weight classes inversely to their frequency, so a rare class counts as much as a common one."""
    feature_scaling: FeatureScaling | None = None
    """How the head sees the encoder's features (:data:`~galzoo_tools.finetune.model.FEATURE_SCALINGS`;
    ``None``: the model's own, by default ``cosine`` for classification and ``standardise`` for
    regression); :func:`fit_finetune` sets it on the model, which saves it."""
    train_batchnorm: bool = False
    """Let BatchNorm layers of trainable blocks update their statistics (sensible only with
    large batches, e.g. full fine-tuning of a scratch encoder on thousands of labels)."""
    augment: bool = True
    views: int = 3
    """``partial``: cached views per training galaxy (the first unaugmented)."""
    seed: int = 0
    amp: bool | None = None
    channels_last: bool | None = None
    """Channels-last memory for the model and batches; ``None``: on CUDA and CPU (faster on both)."""

    def __post_init__(self) -> None:
        if self.mode not in ("linear", "partial", "full"):
            raise ValueError(f"mode must be 'linear', 'partial' or 'full', not {self.mode!r}")


@dataclass
class FitReport:
    """What fine-tuning did: labels used for training/validation, the probe's L2, per-epoch history."""

    mode: str
    n_train: int
    n_val: int
    l2: float
    trainable_blocks: int = 0
    history: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    cached_trunk: bool = False
    val_rows: list[int] = field(default_factory=list)
    """Positions (within the labelled set) of the validation galaxies."""


class _Inputs:
    """Training and validation inputs, and how the model maps them to head outputs.

    Either raw images (augmented on the device each step, full forward), or, for a frozen
    front that forms a chain of modules, its cached output (only the trainable top runs).
    """

    def __init__(self, model: FinetuneModel, images: torch.Tensor, train: np.ndarray, val: np.ndarray,
                 config: FinetuneConfig, device: torch.device, channels_last: bool) -> None:
        self.model, self.device, self.channels_last = model, device, channels_last
        size = images.shape[-1]
        self.augment = BatchAugment(size) if config.augment else None
        chain = feature_chain(model.encoder, image_size=min(size, 64)) if config.mode == "partial" else None
        first = next((i for i, m in enumerate(chain or []) if any(p.requires_grad for p in m.parameters())), None)
        self.cached = chain is not None and first is not None and first > 0
        if self.cached:
            self.trunk, self.top = nn.Sequential(*chain[:first]), nn.Sequential(*chain[first:])
            views = max(1, config.views) if config.augment else 1
            self.train_x = torch.stack([self._trunk(images[train], view > 0) for view in range(views)])
            self.val_x = self._trunk(images[val], False)
        else:
            self.train_x, self.val_x = images[train].to(device), images[val].to(device)

    @torch.no_grad()
    def _trunk(self, images: torch.Tensor, augment: bool, batch_size: int = 128) -> torch.Tensor:
        self.model.eval()  # frozen blocks always run with their pretrained BatchNorm statistics
        out = []
        for start in range(0, len(images), batch_size):
            x = to_float_images(images[start:start + batch_size].to(self.device))
            if augment and self.augment is not None:
                x = self.augment(x)
            out.append(self.trunk(self.model.prepare(self._format(x))).float())
        return torch.cat(out)

    def _format(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x

    @torch.no_grad()
    def probe_features(self, batch_size: int = 128) -> torch.Tensor:
        """Eval-mode features of the unaugmented training galaxies, for the linear probe
        (from the cached front when there is one, so the front runs only once)."""
        if not self.cached:
            return torch.from_numpy(embed(self.model, self.train_x, batch_size=batch_size, progress=False))
        self.model.eval()
        plain = self.train_x[0]
        out = [self.model.encoder.forward_head(self.top(self._format(plain[i:i + batch_size]))).float().cpu()
               for i in range(0, len(plain), batch_size)]
        return torch.cat(out)

    def train_batch(self, rows: torch.Tensor) -> torch.Tensor:
        """Inputs for training galaxies ``rows`` (positions within the training split)."""
        if self.cached:
            view = torch.randint(0, self.train_x.shape[0], (len(rows),), device=self.train_x.device)
            return self.train_x[view, rows.to(self.train_x.device)]
        x = to_float_images(self.train_x[rows.to(self.train_x.device)])
        return self.augment(x) if self.augment is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._format(x)
        if self.cached:
            return self.model.head_forward(self.model.encoder.forward_head(self.top(x)))
        return self.model(x)


@keep_freed_memory()
def fit_finetune(model: FinetuneModel, images: torch.Tensor, y: np.ndarray, config: FinetuneConfig | None = None,
                 device: torch.device | str | None = None, progress: bool = False) -> FitReport:
    """Fine-tune ``model`` in place on ``images`` (``uint8`` or [0, 1], ``(N, C, H, W)``) and labels ``y``
    (class indices, or values for regression); see the module docstring for the modes."""
    from ..config import get_device

    config = config or FinetuneConfig()
    device = torch.device(device) if device is not None else get_device()
    torch.manual_seed(config.seed)
    model.to(device)
    model.feature_scaling = config.feature_scaling or model.feature_scaling
    y = np.asarray(y)
    classify = model.task != "regression"
    if classify:
        check_class_counts(y, model.classes, config.mode)  # type: ignore[arg-type]
    if config.mode == "linear":
        set_trainable_blocks(model, 0)
        probe = fit_linear_probe(model, embed(model, images, progress=False), y, config.balance, seed=config.seed)
        return FitReport("linear", len(y), 0, probe["l2"])

    train, val = split_labelled(y, config.val_fraction, config.seed, stratify=classify)
    if classify and len(np.unique(y[train])) < len(model.classes):  # type: ignore[arg-type]
        raise ValueError(f"the validation split of {len(y)} labels left the fitting part {len(train)} labels of only "
                         f"{len(np.unique(y[train]))} of {len(model.classes)} classes; draw more labels")  # type: ignore[arg-type]
    n_blocks = set_trainable_blocks(model, config.blocks if config.mode == "partial" else None)
    model.freeze_batchnorm = not config.train_batchnorm
    amp = device.type == "cuda" if config.amp is None else config.amp
    channels_last = default_channels_last(device) if config.channels_last is None else config.channels_last
    if channels_last:
        model.to(memory_format=torch.channels_last)
    inputs = _Inputs(model, images, train, val, config, device, channels_last)
    probe = fit_linear_probe(model, inputs.probe_features(), y[train], config.balance, seed=config.seed)
    report = FitReport(config.mode, len(train), len(val), probe["l2"], n_blocks, cached_trunk=inputs.cached,
                       val_rows=val.tolist())

    target, weight = _targets(model, y, config.balance)
    if model.task == "regression":
        target = (target - float(model.target_mean)) / float(model.target_std)
    target = target.to(device, torch.float32 if model.task == "regression" else torch.long)
    weight = weight.float().to(device) if weight is not None else None
    train_target, val_target = target[torch.as_tensor(train, device=device)], target[torch.as_tensor(val, device=device)]

    batch = min(config.batch_size, len(train))
    steps_per_epoch = max(1, len(train) // batch)
    step = OptimiserStep(
        adamw(layer_decay_param_groups(model, config.lr, config.layer_decay, config.weight_decay), device),
        [p for p in model.parameters() if p.requires_grad], steps_per_epoch * config.epochs, config.warmup_fraction,
        min_warmup=10, grad_clip=config.grad_clip, device=device, amp=amp,
    )
    dtype = amp_dtype(device)

    first_loss = _val_loss(model, inputs, val_target, weight, amp, dtype)
    stopping = EarlyStopping(config.patience, min_delta=1e-4, best_loss=first_loss, best_epoch=0)
    best_state, report.best_epoch = copy.deepcopy(model.state_dict()), 0
    report.history.append({"epoch": 0, "train_loss": float("nan"), "val_loss": first_loss})
    epochs = range(1, config.epochs + 1)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc=f"fine-tuning ({config.mode})", unit="epoch", leave=False)
    generator = torch.Generator().manual_seed(config.seed)
    for epoch in epochs:
        model.train()
        order = torch.randperm(len(train), generator=generator).to(device)
        running = 0.0
        for i in range(steps_per_epoch):
            rows = order[i * batch:(i + 1) * batch]
            with autocast(device, amp):
                outputs = inputs.forward(inputs.train_batch(rows))
            loss = _loss(outputs.float(), train_target[rows], model.task, weight)
            step(loss)
            running += float(loss.detach())
        val_loss = _val_loss(model, inputs, val_target, weight, amp, dtype)
        report.history.append({"epoch": epoch, "train_loss": running / steps_per_epoch, "val_loss": val_loss})
        if stopping.update(val_loss, epoch):
            best_state, report.best_epoch = copy.deepcopy(model.state_dict()), epoch
        elif stopping.stopped:
            report.stopped_early = True
            break
    model.load_state_dict(best_state)
    if channels_last:
        model.to(memory_format=torch.contiguous_format)
    model.eval()
    return report


@torch.no_grad()
def _val_loss(model: FinetuneModel, inputs: _Inputs, target: torch.Tensor, weight: torch.Tensor | None,
              amp: bool, amp_dtype: torch.dtype, batch_size: int = 256) -> float:
    model.eval()
    total = 0.0
    for start in range(0, len(target), batch_size):
        x = inputs.val_x[start:start + batch_size]
        x = x if inputs.cached else to_float_images(x)
        with torch.autocast(inputs.device.type, dtype=amp_dtype, enabled=amp):
            outputs = inputs.forward(x)
        total += float(_loss(outputs.float(), target[start:start + batch_size], model.task, weight)) * len(x)
    return total / max(1, len(target))
