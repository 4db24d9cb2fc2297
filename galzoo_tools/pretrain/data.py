"""The galaxies a pretraining run sees: the train / validation / test split, and the batches.

Batches come either from a DataLoader or, where the decoded images fit on the device, from
:class:`DeviceBatches` gathering them there; both follow :func:`_epoch_indices`, so both
give the same batches in the same order.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..augment import to_float_images
from .config import DEVICE_DATA_FRACTION, TrainConfig
from .distributed import DistributedContext

__all__ = ["split_catalog", "read_split", "split_path", "DeviceBatches"]


def split_catalog(
    catalog: pd.DataFrame, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Random train / validation / test split (row order shuffled by ``seed``)."""
    if not 0 < val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError("need 0 < val_fraction, 0 <= test_fraction and val_fraction + test_fraction < 1")
    order = np.random.default_rng(seed).permutation(len(catalog))
    n_val = max(1, int(round(len(catalog) * val_fraction)))
    n_test = int(round(len(catalog) * test_fraction))
    val, test, train = np.split(order, [n_val, n_val + n_test])
    if len(train) == 0:
        raise ValueError(f"catalog of {len(catalog)} galaxies is too small to split")
    take = catalog.iloc
    return take[train].reset_index(drop=True), take[val].reset_index(drop=True), take[test].reset_index(drop=True)


def split_path(run_dir: str | os.PathLike) -> Path:
    """Where a pretrain run keeps its split: ``split.csv`` (or ``split.csv.gz``, as the committed reference model)."""
    run_dir = Path(run_dir)
    for name in ("split.csv", "split.csv.gz"):
        if (run_dir / name).exists():
            return run_dir / name
    raise FileNotFoundError(f"{run_dir} has no split.csv or split.csv.gz: is it a galzoo pretrain output folder?")


def read_split(run_dir: str | os.PathLike) -> pd.DataFrame:
    """A pretrain run's split (:func:`split_path`) as a table of ``id_str`` and ``split``."""
    return pd.read_csv(split_path(run_dir))


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
    from ..datasets import default_num_workers

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
    from ..datasets import GalaxyDataset

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
