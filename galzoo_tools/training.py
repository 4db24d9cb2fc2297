"""A plain PyTorch training loop for the decision-tree model, written to be read.

One epoch = one pass over the training galaxies: images in, Dirichlet concentrations out,
the Dirichlet–multinomial loss of the volunteers' votes, AdamW, gradient clipping, a warm-up
then cosine learning-rate schedule. After each epoch: the validation loss, a checkpoint (so a
killed run resumes exactly where it was), the best model so far, and early stopping.

On CUDA it uses mixed precision (bf16 where the GPU supports it) and channels-last memory,
and keeps the decoded images on the GPU when they fit (:class:`DeviceBatches`), so no
DataLoader has to feed it batch by batch.
Under ``torchrun`` it trains data-parallel (DDP): NCCL on GPUs, gloo on CPUs.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .augment import to_float_images
from .config import get_device
from .cpu_memory import keep_freed_memory
from .losses import dirichlet_multinomial_loss
from .schema import Schema, decals_dr5

__all__ = [
    "TrainConfig",
    "TrainResult",
    "fit",
    "evaluate_loss",
    "images_per_second",
    "warmup_cosine",
    "amp_dtype",
    "DistributedContext",
    "distributed_context",
    "DeviceBatches",
    "read_checkpoint",
    "check_resume_settings",
]

CHECKPOINT_NAME = "last_checkpoint.pt"


@dataclass
class TrainConfig:
    """Everything that shapes a training run (saved inside each checkpoint)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    min_lr_fraction: float = 0.01
    grad_clip: float = 1.0
    patience: int = 5
    seed: int = 42
    amp: bool | None = None
    channels_last: bool | None = None
    num_workers: int | None = None
    data_on_device: bool | None = None
    """Keep the decoded training and validation sets on the device as uint8 tensors and gather
    each batch there, with no DataLoader: ``None`` does so on CUDA when they take under
    :data:`DEVICE_DATA_FRACTION` of the free GPU memory; ``True`` always (the CPU too), ``False`` never."""


DEVICE_DATA_FRACTION = 0.4
"""The largest share of free GPU memory the decoded images may take in ``data_on_device=None``."""


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


@dataclass(frozen=True)
class DistributedContext:
    """Rank and world size; ``world_size == 1`` outside ``torchrun``."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def distributed_context() -> DistributedContext:
    """Join the process group that ``torchrun`` describes in the environment (if any).

    NCCL when each process has a GPU, gloo otherwise - which is how DDP is tested on CPU.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistributedContext(rank=dist.get_rank(), local_rank=local_rank, world_size=dist.get_world_size())


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


def _epoch_indices(n: int, shuffle: bool, seed: int, ctx: DistributedContext, epoch: int) -> torch.Tensor:
    """The order of the galaxies in one epoch: it depends only on (seed, epoch), so a resumed run
    sees the same batches, and both data paths (DataLoader, on-device tensors) see the same ones.
    Under DDP, this replica's share."""
    if ctx.enabled:
        sampler = DistributedSampler(range(n), num_replicas=ctx.world_size, rank=ctx.rank, shuffle=shuffle,
                                     seed=seed, drop_last=shuffle)
        sampler.set_epoch(epoch)
        return torch.tensor(list(sampler), dtype=torch.long)
    if shuffle:
        return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch))
    return torch.arange(n)


def _loader(
    data: Dataset, batch_size: int, shuffle: bool, device: torch.device, config: TrainConfig,
    ctx: DistributedContext, epoch: int,
) -> DataLoader:
    """A DataLoader over this epoch's order (:func:`_epoch_indices`); training drops the last partial batch."""
    from .datasets import default_num_workers

    workers = default_num_workers(device) if config.num_workers is None else config.num_workers
    indices = _epoch_indices(len(data), shuffle, config.seed, ctx, epoch).tolist()  # type: ignore[arg-type]
    return DataLoader(
        data,
        batch_size=batch_size,
        sampler=indices,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=shuffle,
        # seeds the workers (and keeps the loader off the global RNG, which augmentation uses)
        generator=torch.Generator().manual_seed(config.seed * 1000 + epoch),
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )


class DeviceBatches:
    """Batches gathered from images and labels already on the device, in :func:`_epoch_indices`
    order: what a DataLoader yields, without its per-batch host work (the images were decoded
    and resized once, up front)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, indices: torch.Tensor,
                 drop_last: bool) -> None:
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.indices = indices.to(images.device)
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.indices)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for b in range(len(self)):
            index = self.indices[b * self.batch_size : (b + 1) * self.batch_size]
            yield self.images.index_select(0, index), self.labels.index_select(0, index)


def _data_on_device(config: TrainConfig, device: torch.device, datasets: tuple[Dataset, ...]) -> bool:
    """Whether to keep the decoded images on the device (see :attr:`TrainConfig.data_on_device`)."""
    from .datasets import GalaxyDataset

    stackable = all(isinstance(d, GalaxyDataset) and d.stackable for d in datasets)
    if config.data_on_device is not None:
        if config.data_on_device and not stackable:
            raise ValueError("data_on_device=True needs non-empty, cached GalaxyDatasets with labels and a "
                             "resize_transform(...) (or no transform)")
        return config.data_on_device
    if device.type != "cuda" or not stackable:
        return False
    needed = sum(d.stacked_bytes() for d in datasets)  # type: ignore[attr-defined]
    free, _ = torch.cuda.mem_get_info(device)
    return needed <= DEVICE_DATA_FRACTION * free


def _to_device(
    images: torch.Tensor, labels: torch.Tensor, device: torch.device, channels_last: bool,
    augment: nn.Module | None = None,
):
    """Move a batch (uint8 travels 4x lighter), make it float, augment it there, set memory format."""
    images = to_float_images(images.to(device, non_blocking=True))
    if augment is not None:
        images = augment(images)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return images.contiguous(memory_format=memory_format), labels.to(device, non_blocking=True)


def amp_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on GPUs that support it (no loss scaling needed), else float16."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


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
        with torch.autocast(device.type, dtype=amp_dtype(device), enabled=amp):
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
    channels_last = device.type == "cuda" if config.channels_last is None else config.channels_last
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / CHECKPOINT_NAME

    # loaders with worker processes share images decoded before the workers start: decode them
    # all now (before CUDA starts, as decoding may fork), and time it: on a GPU machine it can
    # take longer than an epoch
    from .datasets import GalaxyDataset, default_num_workers

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

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    per_replica = math.ceil(len(train_data) / ctx.world_size)
    steps_per_epoch = max(1, per_replica // config.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(steps_per_epoch * config.epochs, config.warmup_fraction, config.min_lr_fraction)
    )
    use_scaler = amp and amp_dtype(device) == torch.float16
    scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)

    result = TrainResult(checkpoint=checkpoint_path, batch_size=config.batch_size)
    result.cache_seconds = cache_seconds
    start_epoch, bad_epochs, train_images, train_seconds = 0, 0, 0, 0.0
    if resume and checkpoint_path.exists():
        state = read_checkpoint(checkpoint_path, device)
        check_resume_settings(state, settings, checkpoint_path)
        if "settings" in state and settings is not None:
            settings = {**state["settings"], **settings}  # keep what an older run recorded and this one did not
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"].cpu())
        result.history = list(state["history"])
        result.best_epoch, result.best_val_loss = state["best_epoch"], state["best_val_loss"]
        bad_epochs, result.stopped_early = state["bad_epochs"], state["stopped_early"]
        train_images, train_seconds = state["train_images"], state["train_seconds"]
        start_epoch = state["epoch"] + 1

    for epoch in range(start_epoch, config.epochs):
        if result.stopped_early:
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
            with torch.autocast(device.type, dtype=amp_dtype(device), enabled=amp):
                concentrations = train_model(images)
            loss = dirichlet_multinomial_loss(counts, concentrations.float(), schema, reduction="mean")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            running += loss.detach()
            n_batches += 1
            train_images += images.shape[0] * ctx.world_size
            if bar is not None:
                bar.update(1)
                if n_batches % 20 == 1:
                    bar.set_postfix(loss=f"{float(running) / n_batches:.3f}")
            if on_step is not None:
                on_step(scheduler.last_epoch, float(loss.detach()))
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
            "lr": float(scheduler.get_last_lr()[0]),
            "steps": n_batches,
            "seconds": epoch_seconds,
        }
        result.history.append(record)
        if val_loss < result.best_val_loss:
            result.best_val_loss, result.best_epoch, bad_epochs = val_loss, epoch, 0
            if on_best is not None and ctx.is_main:
                on_best(model, record)
        else:
            bad_epochs += 1
            result.stopped_early = bad_epochs >= config.patience
        if ctx.is_main:
            _atomic_save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "rng": torch.get_rng_state(),
                    "epoch": epoch,
                    "history": result.history,
                    "best_epoch": result.best_epoch,
                    "best_val_loss": result.best_val_loss,
                    "bad_epochs": bad_epochs,
                    "stopped_early": result.stopped_early,
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
    return images / seconds if seconds > 0 else 0.0
