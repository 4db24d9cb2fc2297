"""A plain PyTorch training loop for the decision-tree model, written to be read.

One epoch = one pass over the training galaxies: images in, Dirichlet concentrations out,
the Dirichlet–multinomial loss of the volunteers' votes, AdamW, gradient clipping, a warm-up
then cosine learning-rate schedule. After each epoch: the validation loss, a checkpoint (so a
killed run resumes exactly where it was), the best model so far, and early stopping.

On CUDA it uses mixed precision (bf16 where the GPU supports it) and channels-last memory,
and keeps the decoded images on the GPU when they fit (:class:`DeviceBatches`), so no
DataLoader has to feed it batch by batch.
Under ``torchrun`` it trains data-parallel (DDP): NCCL on GPUs, gloo on CPUs. The optimiser
step, schedule, scaler, clipping and early stopping are :mod:`galzoo_tools.training_step`'s,
shared with fine-tuning.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..config import get_device
from ..cpu_memory import keep_freed_memory
from ..losses import dirichlet_multinomial_loss
from ..schema import Schema, decals_dr5
from ..training_step import EarlyStopping, OptimiserStep, adamw, autocast, default_channels_last
from .config import TrainConfig
from .data import DeviceBatches, _data_on_device, _epoch_indices, _loader, _to_device
from .distributed import DistributedContext, distributed_context

__all__ = [
    "CHECKPOINT_NAME",
    "TrainResult",
    "fit",
    "evaluate_loss",
    "images_per_second",
    "read_checkpoint",
    "check_resume_settings",
]

CHECKPOINT_NAME = "last_checkpoint.pt"


@dataclass
class TrainResult:
    """What a run produced: per-epoch history and where the best model and checkpoint are."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = math.inf
    stopped_early: bool = False
    images_per_second: float = 0.0
    cache_seconds: float = 0.0
    """Time spent decoding every image up front, before the first epoch: into memory for loaders
    with workers, or onto the device with ``data_on_device``."""
    checkpoint: Path | None = None
    batch_size: int = 0
    """The training batch size used: ``config.batch_size``, or fewer when there were fewer training
    galaxies (per process) than that."""

    @property
    def epochs_run(self) -> int:
        return len(self.history)


@torch.no_grad()
@keep_freed_memory()
def evaluate_loss(
    model: nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    schema: Schema = decals_dr5,
    device: torch.device | None = None,
    amp: bool = False,
    channels_last: bool = False,
    ctx: DistributedContext = DistributedContext(),
) -> torch.Tensor:
    """Mean Dirichlet–multinomial loss per question over a loader, ``(n_questions,)``."""
    device = device or next(model.parameters()).device
    model.eval()
    total = torch.zeros(schema.n_questions, dtype=torch.float64, device=device)
    count = torch.zeros((), dtype=torch.float64, device=device)
    for images, counts in loader:
        images, counts = _to_device(images, counts, device, channels_last)
        with autocast(device, amp):
            concentrations = model(images)
        total += dirichlet_multinomial_loss(counts, concentrations.float(), schema).sum(0).double()
        count += counts.shape[0]
    if ctx.enabled:
        import torch.distributed as dist

        dist.all_reduce(total)
        dist.all_reduce(count)
    return (total / count.clamp_min(1)).cpu()


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict:
    """The training state :func:`fit` saved to ``path``; a damaged file is a ``ValueError`` naming it."""
    path = Path(path)
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for a bad file
        raise ValueError(
            f"cannot read the checkpoint {path} ({' '.join(str(err).split())[:200]}); it is damaged or "
            "truncated: delete it and start the run afresh (without resume)"
        ) from err


def check_resume_settings(state_or_path: dict | str | os.PathLike, settings: dict | None,
                          where: str | os.PathLike | None = None, warn: bool = True) -> None:
    """Refuse to resume a run whose checkpoint recorded other ``settings`` than these.

    ``state_or_path`` is a checkpoint written by :func:`fit` (or its path: nothing happens
    when there is no file; ``where`` names a state in messages). A key both record with
    different values is a ``ValueError`` naming every such key with both values; keys only one
    side records are not compared. A checkpoint without settings (from an older galzoo)
    resumes with a warning (unless ``warn=False``).
    """
    if settings is None:
        return
    where = where if where is not None else "the checkpoint"
    if not isinstance(state_or_path, dict):
        where = Path(state_or_path)
        if not where.exists():
            return
        state_or_path = read_checkpoint(where)
    recorded = state_or_path.get("settings")
    if recorded is None:
        if not warn:
            return
        warnings.warn(f"{where} records no settings (written by an older galzoo), so resuming cannot check "
                      "that they match this run's", UserWarning, stacklevel=2)
        return
    differ = [k for k in settings if k in recorded and recorded[k] != settings[k]]
    if differ:
        said = "; ".join(f"{k}: {recorded[k]!r} then, {settings[k]!r} now" for k in differ)
        raise ValueError(
            f"cannot resume: {where} was written with other settings ({said}); resume with the settings it "
            "was started with, or start a new run (another output folder, or galzoo pretrain --overwrite)"
        )


@keep_freed_memory()
def fit(
    model: nn.Module,
    train_data: Dataset,
    val_data: Dataset,
    out_dir: str | os.PathLike,
    config: TrainConfig | None = None,
    schema: Schema = decals_dr5,
    resume: bool = False,
    device: torch.device | str | None = None,
    progress: bool = True,
    on_best: Callable[[nn.Module, dict], None] | None = None,
    on_step: Callable[[int, float], None] | None = None,
    augment: nn.Module | None = None,
    settings: dict | None = None,
) -> TrainResult:
    """Train ``model`` (images → concentrations) on ``train_data`` (image, vote counts) pairs.

    Writes ``out_dir/last_checkpoint.pt`` after every epoch; ``resume=True`` continues from it
    (same batches, same random numbers, same result as an uninterrupted run). ``on_best`` is
    called with the model and the epoch's record whenever validation loss improves (use it to
    save the best model). ``on_step(step, loss)`` is called after every optimiser step.
    ``augment`` (e.g. :class:`galzoo_tools.augment.BatchAugment`) transforms each training
    batch on the device; validation batches are never augmented. ``settings`` (plain values,
    e.g. the catalog, seed and learning rate) are saved in the checkpoint; resuming with other
    values for any of them is a ``ValueError`` (:func:`check_resume_settings`).
    """
    config = config or TrainConfig()
    ctx = distributed_context()
    config = _fitting_batch_size(config, len(train_data), ctx)  # type: ignore[arg-type]
    device = torch.device(device) if device is not None else get_device()
    if ctx.enabled and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
    amp = device.type == "cuda" if config.amp is None else config.amp
    channels_last = default_channels_last(device) if config.channels_last is None else config.channels_last
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / CHECKPOINT_NAME

    # loaders with worker processes share images decoded before the workers start: decode them
    # all now (before CUDA starts, as decoding may fork), and time it: on a GPU machine it can
    # take longer than an epoch
    from ..datasets import GalaxyDataset, default_num_workers

    workers = default_num_workers(device) if config.num_workers is None else config.num_workers
    cache_start = time.perf_counter()
    cached = 0
    for data in (train_data, val_data):
        if (workers > 0 or config.data_on_device) and isinstance(data, GalaxyDataset) and data.cache_enabled:
            data.preload()
            cached += len(data)
    # then, where they fit, keep them all on the device, resized once, and gather each batch there
    on_device = _data_on_device(config, device, (train_data, val_data))
    stacked = [data.stacked(device) for data in (train_data, val_data)] if on_device else []  # type: ignore[attr-defined]
    cached = max(cached, len(train_data) + len(val_data)) if on_device else cached  # type: ignore[arg-type]
    cache_seconds = time.perf_counter() - cache_start
    if cached and progress and ctx.is_main:
        where = f"onto {device}" if on_device else "into memory"
        print(f"decoded {cached} images {where} in {cache_seconds:.1f} s")

    def batches(which: int, shuffle: bool, epoch: int) -> DataLoader | DeviceBatches:
        data = (train_data, val_data)[which]
        if not on_device:
            return _loader(data, config.batch_size, shuffle, device, config, ctx, epoch)
        indices = _epoch_indices(len(data), shuffle, config.seed, ctx, epoch)  # type: ignore[arg-type]
        return DeviceBatches(*stacked[which], config.batch_size, indices, drop_last=shuffle)

    torch.manual_seed(config.seed)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    train_model: nn.Module = model
    if ctx.enabled:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    per_replica = math.ceil(len(train_data) / ctx.world_size)
    steps_per_epoch = max(1, per_replica // config.batch_size)
    step = OptimiserStep(
        adamw(model.parameters(), device, lr=config.lr, weight_decay=config.weight_decay), model.parameters(),
        steps_per_epoch * config.epochs, config.warmup_fraction, min_lr_fraction=config.min_lr_fraction,
        grad_clip=config.grad_clip, device=device, amp=amp,
    )
    stopping = EarlyStopping(config.patience)

    result = TrainResult(checkpoint=checkpoint_path, batch_size=config.batch_size)
    result.cache_seconds = cache_seconds
    start_epoch, train_images, train_seconds = 0, 0, 0.0
    if resume and checkpoint_path.exists():
        state = read_checkpoint(checkpoint_path, device)
        check_resume_settings(state, settings, checkpoint_path)
        if "settings" in state and settings is not None:
            settings = {**state["settings"], **settings}  # keep what an older run recorded and this one did not
        model.load_state_dict(state["model"])
        step.load_state_dict(state)
        torch.set_rng_state(state["rng"].cpu())
        result.history = list(state["history"])
        stopping = EarlyStopping(config.patience, best_loss=state["best_val_loss"], best_epoch=state["best_epoch"],
                                 bad_epochs=state["bad_epochs"], stopped=state["stopped_early"])
        train_images, train_seconds = state["train_images"], state["train_seconds"]
        start_epoch = state["epoch"] + 1

    for epoch in range(start_epoch, config.epochs):
        if stopping.stopped:
            break
        train_model.train()
        loader = batches(0, True, epoch)
        bar = None
        if progress and ctx.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(loader), desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", leave=False)
        # the running loss stays on the device: reading it every step would make the CPU wait
        # for the GPU each batch, so it is read only for the progress bar, every few batches
        running, n_batches = torch.zeros((), device=device), 0
        epoch_start = time.perf_counter()
        for images, counts in loader:
            images, counts = _to_device(images, counts, device, channels_last, augment)
            with autocast(device, amp):
                concentrations = train_model(images)
            loss = dirichlet_multinomial_loss(counts, concentrations.float(), schema, reduction="mean")
            step(loss)
            running += loss.detach()
            n_batches += 1
            train_images += images.shape[0] * ctx.world_size
            if bar is not None:
                bar.update(1)
                if n_batches % 20 == 1:
                    bar.set_postfix(loss=f"{float(running) / n_batches:.3f}")
            if on_step is not None:
                on_step(step.steps, float(loss.detach()))
        if n_batches == 0:
            raise ValueError(f"epoch {epoch + 1} took no training step ({len(train_data)} training galaxies, "
                             f"batch size {config.batch_size}, {ctx.world_size} process(es)); the model would be "
                             "saved untrained. Give it more training galaxies.")
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        epoch_seconds = time.perf_counter() - epoch_start
        train_seconds += epoch_seconds
        if bar is not None:
            bar.close()

        val_loader = batches(1, False, epoch)
        per_question = evaluate_loss(model, val_loader, schema, device, amp, channels_last, ctx)
        val_loss = float(per_question.sum())
        record = {
            "epoch": epoch,
            "train_loss": float(running) / max(1, n_batches),
            "val_loss": val_loss,
            "val_loss_per_question": {q.name: float(v) for q, v in zip(schema.questions, per_question)},
            "lr": step.lr,
            "steps": n_batches,
            "seconds": epoch_seconds,
        }
        result.history.append(record)
        if stopping.update(val_loss, epoch) and on_best is not None and ctx.is_main:
            on_best(model, record)
        if ctx.is_main:
            _atomic_save(
                {
                    "model": model.state_dict(),
                    **step.state_dict(),
                    "rng": torch.get_rng_state(),
                    "epoch": epoch,
                    "history": result.history,
                    "best_epoch": stopping.best_epoch,
                    "best_val_loss": stopping.best_loss,
                    "bad_epochs": stopping.bad_epochs,
                    "stopped_early": stopping.stopped,
                    "train_images": train_images,
                    "train_seconds": train_seconds,
                    "config": asdict(config),
                    **({"settings": settings} if settings is not None else {}),
                },
                checkpoint_path,
            )
        if progress and ctx.is_main:
            print(
                f"epoch {epoch + 1}/{config.epochs}: train loss {record['train_loss']:.3f}, "
                f"val loss {val_loss:.3f}, {images_per_second(train_images, train_seconds):.0f} images/s"
            )
    result.best_epoch, result.best_val_loss, result.stopped_early = (
        stopping.best_epoch, stopping.best_loss, stopping.stopped)
    result.images_per_second = images_per_second(train_images, train_seconds)
    return result


def _fitting_batch_size(config: TrainConfig, n_train: int, ctx: DistributedContext) -> TrainConfig:
    """``config``, with the batch size cut to the training galaxies each process gets per epoch
    when they are fewer (training drops the last partial batch, so it would take no step at all).
    Raises ``ValueError`` when a process would get no galaxy."""
    per_replica = n_train // ctx.world_size  # the DistributedSampler drops the remainder
    if per_replica < 1:
        where = f" for {ctx.world_size} processes (each needs at least one)" if ctx.enabled else ""
        raise ValueError(f"no training galaxies to fit on: {n_train}{where}; give the run a bigger catalog")
    if per_replica >= config.batch_size:
        return config
    if ctx.is_main:
        each = " per process" if ctx.enabled else ""
        warnings.warn(f"only {per_replica} training galaxies{each} but batch size {config.batch_size}: the batch "
                      f"size is cut to {per_replica}, or every epoch would take no step (the last partial batch "
                      "is dropped)", UserWarning, stacklevel=3)
    return replace(config, batch_size=per_replica)


def images_per_second(images: int, seconds: float) -> float:
    """Training throughput, 0 before any time was measured."""
    return images / seconds if seconds > 0 else 0.0
