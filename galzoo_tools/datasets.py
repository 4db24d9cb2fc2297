"""Galaxy images as a torch Dataset, the augmentations zoobot trains with, and a DataLoader
whose worker count suits the machine.

Images are decoded to ``uint8`` tensors (C×H×W) and augmented as ``uint8`` with
``torchvision.transforms.v2`` (four times less memory traffic than float), then scaled to
float in [0, 1] as the very last step. Any PNG or JPEG works: any size, RGB or greyscale.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from .config import cpu_cores, worker_processes
from .schema import Schema, decals_dr5

__all__ = [
    "GalaxyDataset",
    "decode_image",
    "train_transform",
    "eval_transform",
    "resize_transform",
    "ResizeTransform",
    "make_dataloader",
    "load_images",
    "default_num_workers",
    "CACHE_LIMIT_BYTES",
]


def _cache_limit_bytes() -> int:
    """A quarter of the machine's memory, at least 2 GiB; ``GALZOO_IMAGE_CACHE_GB`` overrides it."""
    override = os.environ.get("GALZOO_IMAGE_CACHE_GB")
    if override:
        try:
            return int(float(override) * 1024**3)
        except ValueError:
            raise ValueError(f"GALZOO_IMAGE_CACHE_GB must be a number of GiB, not {override!r}") from None
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        memory = 0
    return max(2 * 1024**3, memory // 4)


CACHE_LIMIT_BYTES = _cache_limit_bytes()
"""``cache="auto"`` keeps decoded images in memory when they would take less than this: a
quarter of the machine's memory, at least 2 GiB (set ``GALZOO_IMAGE_CACHE_GB`` to change it)."""


def decode_image(path: str | os.PathLike, channels: int = 3) -> torch.Tensor:
    """One image file as a ``uint8`` tensor ``(channels, H, W)``.

    Greyscale, RGB, RGBA and palette images all work; 16-bit and float images (e.g. from FITS
    conversions) are stretched min-max to 0..255 rather than clipped.
    """
    return torch.from_numpy(_decode_array(path, channels))


def _decode_array(path: str | os.PathLike, channels: int = 3, id_str: str | None = None) -> np.ndarray:
    """:func:`decode_image` as a numpy array ``(channels, H, W)``; ``id_str`` names the galaxy in errors."""
    from PIL import Image

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    try:
        with Image.open(path) as img:
            if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(img, dtype=np.float32)
                span = max(float(arr.max() - arr.min()), 1e-12)
                img = Image.fromarray(((arr - arr.min()) / span * 255).round().astype(np.uint8))
            arr = np.array(img.convert("RGB" if channels == 3 else "L"))
    except Exception as err:
        who = f" (id_str {id_str!r})" if id_str is not None else ""
        raise OSError(f"cannot read image {path}{who}: {err}. Re-save it as PNG or JPEG, or drop that galaxy's "
                      "row from the catalog.") from err
    return arr[None] if arr.ndim == 2 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def _decode_many(paths: list[str], channels: int, ids: list[str | None] | None = None) -> list[np.ndarray]:
    """Decode a chunk of images in a worker process (numpy only: no torch state is touched)."""
    return [_decode_array(path, channels, i) for path, i in zip(paths, ids or [None] * len(paths), strict=True)]


class _MatchChannels(torch.nn.Module):
    """1 → 3 channels by repetition, 3 → 1 by luminance; anything else passes."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        from torchvision.transforms.v2 import functional as F

        have = image.shape[-3]
        if have == self.channels:
            return image
        if self.channels == 3 and have == 1:
            return image.expand(*image.shape[:-3], 3, *image.shape[-2:])
        if self.channels == 1 and have == 3:
            return F.rgb_to_grayscale(image, num_output_channels=1)
        raise ValueError(f"cannot turn a {have}-channel image into {self.channels} channels")


class _CentreSquare(torch.nn.Module):
    """Crop the largest centred square, so resizing never squashes a galaxy."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        from torchvision.transforms.v2 import functional as F

        h, w = image.shape[-2:]
        return image if h == w else F.center_crop(image, [min(h, w)])


def train_transform(
    size: int,
    channels: int = 3,
    crop_scale: tuple[float, float] = (0.7, 1.0),
    crop_ratio: tuple[float, float] = (0.9, 1.1),
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Zoobot-style augmentation: flips, a mild random resized crop, rotation by any angle.

    A galaxy has no preferred orientation or handedness, so rotations and flips are free extra
    data. Works on ``uint8`` C×H×W tensors; returns float32 in [0, 1] of shape (channels, size, size).
    Cropping first and rotating the small crop is much cheaper than rotating the full image.
    """
    from torchvision.transforms import v2

    return v2.Compose([
        _MatchChannels(channels),
        _CentreSquare(),
        v2.RandomHorizontalFlip(),
        v2.RandomVerticalFlip(),
        v2.RandomResizedCrop(size, scale=crop_scale, ratio=crop_ratio, antialias=True),
        v2.RandomRotation(180, interpolation=v2.InterpolationMode.BILINEAR),
        v2.ToDtype(torch.float32, scale=True),
    ])


class ResizeTransform(torch.nn.Module):
    """Centre square and resize to ``size``, ``uint8`` in and out, with no randomness.

    Because the same image always gives the same pixels, a decoded set can be resized once and
    kept as one tensor (:meth:`GalaxyDataset.stacked`); random augmentation happens later, on
    the device (:class:`galzoo_tools.augment.BatchAugment`).
    """

    def __init__(self, size: int, channels: int = 3) -> None:
        super().__init__()
        from torchvision.transforms import v2

        self.size, self.channels = size, channels
        self.steps = v2.Compose([_MatchChannels(channels), _CentreSquare(), v2.Resize((size, size), antialias=True)])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.steps(image)


def resize_transform(size: int, channels: int = 3) -> ResizeTransform:
    """Centre square and resize to ``size``, staying ``uint8``: for batches augmented later on
    the device (:class:`galzoo_tools.augment.BatchAugment`) and for compact in-memory sets."""
    return ResizeTransform(size, channels)


def eval_transform(size: int, channels: int = 3) -> Callable[[torch.Tensor], torch.Tensor]:
    """Deterministic: centre square, resize to ``size``, float32 in [0, 1]."""
    from torchvision.transforms import v2

    return v2.Compose([
        _MatchChannels(channels),
        _CentreSquare(),
        v2.Resize((size, size), antialias=True),
        v2.ToDtype(torch.float32, scale=True),
    ])


def _estimate_decoded_bytes(file_locs: Sequence[str], channels: int, n_sample: int = 8) -> float:
    from PIL import Image

    if not len(file_locs):
        return 0.0
    idx = np.linspace(0, len(file_locs) - 1, min(n_sample, len(file_locs))).astype(int)
    pixels = []
    for i in idx:
        try:
            with Image.open(file_locs[i]) as img:
                pixels.append(img.width * img.height)
        except Exception:
            continue
    return float(np.mean(pixels)) * channels * len(file_locs) if pixels else math.inf


class GalaxyDataset(Dataset):
    """Images from a catalog's ``file_loc`` with their labels.

    ``dataset[i]`` is ``(image, labels)``: the image after ``transform`` (``uint8`` C×H×W when
    there is none and no ``size``), labels as float32 — the schema's vote counts in
    ``schema.label_cols`` order, or the ``label_cols`` you give (e.g. ``["ring"]``). With
    ``schema=None`` and no ``label_cols`` it is just the image (unlabelled galaxies).

    ``catalog`` is a DataFrame (from :func:`galzoo_tools.catalog.read_catalog`) or a path to
    one. ``cache`` keeps decoded ``uint8`` images in memory (``"auto"``: when they would take
    less than :data:`CACHE_LIMIT_BYTES`); each DataLoader worker process holds its own cache.
    """

    def __init__(
        self,
        catalog: pd.DataFrame | str | os.PathLike,
        schema: Schema | None = decals_dr5,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        label_cols: Sequence[str] | None = None,
        cache: bool | Literal["auto"] = "auto",
        channels: int = 3,
        size: int | None = None,
    ):
        if not isinstance(catalog, pd.DataFrame):
            from .catalog import read_catalog

            catalog = read_catalog(catalog, schema=schema, require_votes=label_cols is None and schema is not None)
        if "file_loc" not in catalog.columns:
            raise KeyError("catalog has no 'file_loc' column; load it with galzoo_tools.catalog.read_catalog")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, not {channels}")
        self.catalog = catalog.reset_index(drop=True)
        self.file_locs: list[str] = self.catalog["file_loc"].astype(str).tolist()
        self._ids: list[str] | None = self.catalog["id_str"].astype(str).tolist() if "id_str" in self.catalog else None
        self.channels = channels
        self.transform = transform if transform is not None or size is None else eval_transform(size, channels)
        if label_cols is None and schema is not None:
            label_cols = schema.label_cols
        self.label_cols = list(label_cols) if label_cols is not None else None
        self.labels = self._label_tensor(schema) if self.label_cols is not None else None
        if cache == "auto":
            cache = _estimate_decoded_bytes(self.file_locs, channels) < CACHE_LIMIT_BYTES
        self.cache_enabled = bool(cache)
        self._cache: dict[int, torch.Tensor] = {}

    def _label_tensor(self, schema: Schema | None) -> torch.Tensor:
        assert self.label_cols is not None
        missing = [c for c in self.label_cols if c not in self.catalog.columns]
        if missing:
            hint = (
                "pass schema=None for images only, or label_cols=[...] for your own labels"
                if schema is not None and self.label_cols == schema.label_cols
                else "check label_cols"
            )
            raise KeyError(f"catalog lacks label column(s) {missing[:5]}; {hint}")
        values = self.catalog[self.label_cols].astype(np.float32).to_numpy()
        if np.isnan(values).any():
            rows = self.catalog.index[np.isnan(values).any(axis=1)].tolist()
            raise ValueError(f"label columns {self.label_cols[:3]}… have NaN in rows {rows[:5]}; fix or drop them")
        return torch.tensor(values)

    @property
    def ids(self) -> list[str]:
        return self.catalog["id_str"].astype(str).tolist() if "id_str" in self.catalog else []

    def __len__(self) -> int:
        return len(self.file_locs)

    def image(self, index: int) -> torch.Tensor:
        """The decoded, untransformed ``uint8`` image (from the cache when there)."""
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        image = self._decode(index)
        if self.cache_enabled:
            self._cache[index] = image
        return image

    def _decode(self, index: int) -> torch.Tensor:
        """Decode image ``index``; an unreadable file is an ``OSError`` naming it and its galaxy's id_str."""
        galaxy = self._ids[index] if self._ids is not None else None
        return torch.from_numpy(_decode_array(self.file_locs[index], self.channels, galaxy))

    def preload(self, num_threads: int | None = None, processes: int | None = None) -> None:
        """Decode every image into the cache now.

        In ``processes`` worker processes when given; by default in one per core for big
        catalogs on machines with 4 or more cores (part of PNG decoding holds the GIL, so
        threads stop scaling); otherwise in ``num_threads`` threads.
        """
        if not self.cache_enabled:
            return
        todo = [i for i in range(len(self)) if i not in self._cache]
        if processes is None:
            processes = worker_processes() if len(todo) >= _PROCESS_PRELOAD_MIN else 1
        if processes > 1:
            chunks = [todo[k : k + 256] for k in range(0, len(todo), 256)]
            with ProcessPoolExecutor(max_workers=processes) as pool:
                ids = self._ids
                decoded = pool.map(_decode_many, [[self.file_locs[i] for i in c] for c in chunks],
                                   [self.channels] * len(chunks),
                                   [[ids[i] for i in c] if ids is not None else None for c in chunks])
                for chunk, arrays in zip(chunks, decoded, strict=True):
                    for i, array in zip(chunk, arrays, strict=True):
                        self._cache[i] = torch.from_numpy(array)
            return
        with ThreadPoolExecutor(max_workers=num_threads or min(16, os.cpu_count() or 1)) as pool:
            images = pool.map(self._decode, todo)
            for i, image in zip(todo, images, strict=True):
                self._cache[i] = image

    @property
    def stackable(self) -> bool:
        """Whether :meth:`stacked` applies: labelled, cached, not empty, and no transform or a
        fixed ``uint8`` resize (a random transform must run afresh for every batch)."""
        return (self.labels is not None and self.cache_enabled and len(self) > 0
                and (self.transform is None or isinstance(self.transform, ResizeTransform)))

    def _transformed(self, index: int) -> torch.Tensor:
        image = self.image(index)
        return image if self.transform is None else self.transform(image)

    def stacked_bytes(self) -> int:
        """Memory :meth:`stacked` needs for the images: the first image's size times the count."""
        return self._transformed(0).numel() * len(self) if len(self) else 0

    def stacked(self, device: torch.device | str = "cpu", chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
        """Every image, transformed, as one ``uint8`` tensor ``(N, C, H, W)`` on ``device``, and the labels.

        Built a chunk at a time, so only one chunk is ever held twice. Training then gathers
        each batch with one indexing operation instead of a DataLoader (on a GPU: no host work
        per batch at all).
        """
        if not self.stackable:
            raise ValueError("stacked() needs a non-empty, labelled, cached GalaxyDataset with no transform "
                             "or a resize_transform(...); random transforms must run per batch")
        self.preload()
        first = self._transformed(0)
        out = torch.empty((len(self), *first.shape), dtype=torch.uint8, device=device)
        for start in range(0, len(self), chunk):
            indices = range(start, min(len(self), start + chunk))
            images = [self._transformed(i) for i in indices]
            for i, image in zip(indices, images, strict=True):
                if image.shape != first.shape:
                    raise ValueError(
                        f"{self.file_locs[i]} gives an image of shape {tuple(image.shape)}, not "
                        f"{tuple(first.shape)} like {self.file_locs[0]}: give the dataset a "
                        "resize_transform(size) so that every image has the same size")
            out[start : start + len(images)] = torch.stack(images).to(device)
        assert self.labels is not None
        return out, self.labels.to(device)

    def __getitem__(self, index: int):
        image = self.image(index)
        if self.transform is not None:
            image = self.transform(image)
        if self.labels is None:
            return image
        return image, self.labels[index]


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


_PROCESS_PRELOAD_MIN = 2000
"""Catalogs smaller than this are decoded in threads: starting processes would cost more."""


def default_num_workers(device: torch.device) -> int:
    """DataLoader workers: up to 8 on CUDA; on CPU few or none, since training uses the cores."""
    cores = cpu_cores()
    if device.type == "cuda":
        return min(8, cores)
    return 0 if cores <= 2 else min(4, cores // 4)


def make_dataloader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool,
    device: torch.device | str | None = None,
    num_workers: int | None = None,
    drop_last: bool = False,
    seed: int | None = None,
) -> DataLoader:
    """A DataLoader tuned for ``device`` (default :func:`galzoo_tools.config.get_device`).

    CUDA: up to 8 workers, pinned memory, persistent workers and prefetching, so the GPU waits
    for no image. CPU: no workers on small machines (they would fight the training threads).
    Workers run single-threaded torch. A cached dataset is decoded once in the main process
    before forked workers start, so they share it instead of each decoding their own.
    """
    from .config import get_device

    device = torch.device(device) if device is not None else get_device()
    workers = default_num_workers(device) if num_workers is None else num_workers
    start_method = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]
    if workers > 0 and isinstance(dataset, GalaxyDataset) and start_method == "fork":
        dataset.preload()
    extra = dict(persistent_workers=True, prefetch_factor=4, worker_init_fn=_worker_init) if workers > 0 else {}
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=drop_last,
        generator=generator,
        **extra,
    )


def load_images(
    catalog: pd.DataFrame | Sequence[str],
    size: int,
    channels: int = 3,
    num_threads: int | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Every image of a catalog (or list of paths) as one ``uint8`` tensor ``(N, channels, size, size)``.

    For small sets held in memory (notebooks, embeddings). Decoding and resizing run in threads;
    the whole set is never held at full resolution at once.
    """
    if isinstance(catalog, pd.DataFrame):
        file_locs = catalog["file_loc"].astype(str).tolist()
    else:
        file_locs = [str(p) for p in catalog]
    out = torch.empty((len(file_locs), channels, size, size), dtype=torch.uint8)
    resize = resize_transform(size, channels)

    def one(i: int) -> None:
        out[i] = resize(decode_image(file_locs[i], channels))

    with ThreadPoolExecutor(max_workers=num_threads or min(8, os.cpu_count() or 1)) as pool:
        jobs = pool.map(one, range(len(file_locs)))
        if progress:
            from tqdm.auto import tqdm

            jobs = tqdm(jobs, total=len(file_locs), desc="loading images", unit="img")
        for _ in jobs:
            pass
    return out
