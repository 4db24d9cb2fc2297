"""Embedding: the pooled encoder features of galaxies, one vector each, and how to store them.

Walmsley et al. (2022) show that the features a network learns while answering every Galaxy
Zoo question are a general-purpose description of a galaxy: similar galaxies get nearby
vectors. :func:`embed` computes them for any model with an ``.embed`` method (a pretrained
:class:`~galzoo_tools.models.ZooModel`, a fine-tuned
:class:`~galzoo_tools.finetune.FinetuneModel`, ...) or any source name, from images in memory
or from a catalog. :func:`catalog_embeddings` also keeps each galaxy's ``id_str`` and how the
features were made (:class:`Embeddings`), which :func:`save_embeddings` / :func:`load_embeddings`
store compactly and :func:`align_embeddings` pairs with a catalog again.

>>> features = embed("reference", "data/synthetic_sample/catalog.parquet")   # (400, 1280) float32
>>> emb = catalog_embeddings("reference", "data/synthetic_sample/catalog.parquet")
>>> save_embeddings("runs/embed/embeddings.npz", emb.id_str, emb.features)
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import default_file_mode, get_device, get_scale
from ..cpu_memory import keep_freed_memory
from ..training_step import default_channels_last

__all__ = [
    "Embeddings",
    "EMBEDDINGS_FILE",
    "ModelLike",
    "ImagesOrCatalog",
    "embed",
    "catalog_embeddings",
    "load_encoder_model",
    "save_embeddings",
    "load_embeddings",
    "align_embeddings",
    "embed_images",
    "embed_catalog",
]

EMBEDDINGS_FILE = "embeddings.npz"
"""File name :func:`save_embeddings` uses when given a folder."""

ModelLike = str | os.PathLike[str] | nn.Module
"""A model (any module with ``.embed``, or one mapping [0, 1] images to features) or a source
name: ``"reference"``, ``"imagenet"``, ``"scratch"``, ``"hf_hub:…"``, ``"local-dir:…"`` or a
checkpoint folder."""

ImagesOrCatalog = torch.Tensor | np.ndarray | pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""Images in memory (N, C, H, W) (``uint8``, or float in [0, 1]), or a catalog: a DataFrame, a
CSV/parquet path, or a list of image paths."""


@dataclass
class Embeddings:
    """One feature vector per galaxy: ``id_str`` (N,) strings and ``features`` (N, D) float32.

    ``info`` records how they were made (encoder, image size, throughput) and is written to
    ``metrics.json`` by ``galzoo embed``.
    """

    id_str: np.ndarray
    features: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.id_str = np.asarray(self.id_str).astype(str)
        self.features = np.ascontiguousarray(self.features, dtype=np.float32)
        if self.features.ndim != 2:
            raise ValueError(f"features must be 2-D (galaxies, dims), got shape {self.features.shape}")
        if len(self.id_str) != len(self.features):
            raise ValueError(f"{len(self.id_str)} ids but {len(self.features)} feature rows; they must match")

    def __len__(self) -> int:
        return len(self.features)

    @property
    def dims(self) -> int:
        return int(self.features.shape[1])

    def row(self, id_str: str) -> int:
        """Row of the galaxy called ``id_str`` (a KeyError names a few ids that do exist)."""
        hits = np.flatnonzero(self.id_str == str(id_str))
        if not len(hits):
            raise KeyError(f"no galaxy with id_str {id_str!r} among {len(self)} (e.g. {list(self.id_str[:3])})")
        return int(hits[0])

    def align(self, catalog: pd.DataFrame, source: str | os.PathLike[str] | None = None) -> pd.DataFrame:
        """The rows of ``catalog`` in the order of these embeddings: :func:`align_embeddings`."""
        return align_embeddings(self, catalog, source)


def _first_repeats(ids: pd.Series, n: int = 5) -> list[str]:
    """The first ``n`` distinct ids that occur more than once, in order of first repeat."""
    repeated = ids[ids.duplicated(keep="first")]
    return [str(i) for i in repeated.drop_duplicates().head(n)]


def align_embeddings(
    embeddings: Embeddings, catalog: pd.DataFrame, source: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """The rows of ``catalog`` in the order of ``embeddings``, matched on ``id_str``: row ``i`` of
    the result describes the galaxy of feature row ``i``.

    Every command that pairs embeddings with a catalog goes through here, because a mismatch
    would otherwise pair each score with the wrong galaxy without a word. Raises ``ValueError``
    naming the file (``source``, the catalog's path, and the embeddings' ``info["path"]``), the
    first offending ids or rows and what to do, when: the catalog has no ``id_str`` column or a
    blank one; an ``id_str`` repeats in the catalog or in the embeddings; or an embedded galaxy
    is missing from the catalog. Catalog rows without an embedding are left out.
    """
    where = f"the catalog {source}" if source is not None else "the catalog"
    embedded = f"the embeddings {embeddings.info['path']}" if embeddings.info.get("path") else "the embeddings"
    if "id_str" not in catalog.columns:
        raise ValueError(f"{where} has no id_str column to match the embeddings on; columns are "
                         f"{list(catalog.columns)[:12]}")
    raw = catalog["id_str"]
    blank = raw.isna() | raw.astype(str).str.strip().eq("")
    if blank.any():
        rows = [int(r) for r in np.flatnonzero(blank.to_numpy())]
        raise ValueError(f"{where}: blank id_str in {len(rows)} row(s) {rows[:10]} (counted from 0 after the "
                         "header); give every galaxy its id_str, or drop those rows")
    ids = embeddings.id_str
    if len(np.unique(ids)) != len(ids):
        repeats = _first_repeats(pd.Series(ids))
        raise ValueError(f"{embedded}: duplicate id_str, e.g. {repeats}: each id must name one feature row, or "
                         "the galaxies cannot be matched with the catalog; embed a catalog with unique id_str "
                         "again (galzoo embed)")
    names = raw.astype(str).reset_index(drop=True)
    if names.duplicated().any():
        repeats = _first_repeats(names)
        rows = [int(r) for r in np.flatnonzero(names.isin(repeats).to_numpy())][:10]
        raise ValueError(f"{where}: duplicate id_str, e.g. {repeats} (rows {rows}, counted from 0 after the "
                         "header): each galaxy must appear once, or its embedding is matched with the wrong row; "
                         "drop the repeated rows (e.g. df.drop_duplicates('id_str')) or make id_str unique")
    position = pd.Series(np.arange(len(names)), index=names.to_numpy())
    missing = np.setdiff1d(ids, names.to_numpy())
    if len(missing):
        raise ValueError(f"{len(missing)} embedded galaxies are not in {where}, e.g. "
                         f"{[str(m) for m in missing[:3]]}; give the catalog the embeddings were made from, "
                         "or embed this catalog (galzoo embed)")
    aligned = catalog.iloc[position.loc[ids].to_numpy()].reset_index(drop=True)
    aligned["id_str"] = aligned["id_str"].astype(str)
    if len(aligned) != len(embeddings) or not np.array_equal(aligned["id_str"].to_numpy(), ids):
        raise ValueError(f"{where} and {embedded} could not be matched row for row ({len(aligned)} rows for "
                         f"{len(embeddings)} embeddings)")
    return aligned


def _ready_model(
    model: str | os.PathLike[str] | nn.Module, device: torch.device | str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """A model ready to embed (eval mode, on ``device``) and what it needs: ``{"image_size", "channels", "name"}``.

    ``model`` is a module with ``.embed`` (or any module mapping [0, 1] images to features), or
    any source :func:`galzoo_tools.models.load_model` takes. ``image_size`` is the size a galzoo
    model was trained at, else None.
    """
    from ..models import load_model, trained_image_size

    device = torch.device(device) if device is not None else get_device()
    if isinstance(model, nn.Module):
        info = getattr(model, "encoder_info", None)  # ZooModel, FinetuneModel, EncoderModel
        channels = info.get("in_chans") or 3 if isinstance(info, dict) else _first_conv_chans(model)
        return model.to(device).eval(), {"image_size": None, "channels": int(channels), "name": type(model).__name__}
    loaded = load_model(model, device=device)
    return loaded, {"image_size": trained_image_size(model), "channels": int(loaded.encoder_info["in_chans"]),
                    "name": str(model)}


def load_encoder_model(
    encoder: str | os.PathLike[str] | nn.Module, device: torch.device | str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Deprecated: use :func:`galzoo_tools.models.load_model` (and ``trained_image_size``)."""
    warnings.warn("representations.load_encoder_model is deprecated; use galzoo_tools.models.load_model",
                  DeprecationWarning, stacklevel=2)
    return _ready_model(encoder, device)


def _first_conv_chans(module: nn.Module) -> int:
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            return layer.in_channels
    return 3


def _features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    embed = getattr(model, "embed", None)
    return embed(images) if callable(embed) else model(images)


class _Embedder:
    """Runs one batch: to the device, float in [0, 1], optional augmentation, AMP on CUDA, mean over views."""

    def __init__(self, model: nn.Module, device: torch.device, tta: int, image_size: int) -> None:
        from ..augment import BatchAugment

        self.model, self.device, self.tta = model, device, int(tta)
        self.cuda = device.type == "cuda"
        self.channels_last = default_channels_last(device)  # faster convolutions on GPUs and CPUs
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.augment = BatchAugment(image_size) if tta > 0 else None

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        images = batch.to(self.device, non_blocking=True)
        images = images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()
        views = [images] + [self.augment(images) for _ in range(self.tta)] if self.augment else [images]
        total = None
        for view in views:
            if self.channels_last:
                view = view.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cuda):
                out = _features(self.model, view).float()
            total = out if total is None else total + out
        assert total is not None
        return (total / len(views)).cpu()


def _check_tta(tta: int) -> int:
    if int(tta) != tta or tta < 0:
        raise ValueError(f"tta is the number of augmented views to average (0 for none), got {tta!r}")
    return int(tta)


def _is_images(data: object) -> bool:
    return isinstance(data, torch.Tensor) or (isinstance(data, np.ndarray) and data.dtype.kind in "uifb")


def _device_for(model: ModelLike, device: torch.device | str | None) -> torch.device:
    """The device asked for; else a module's own device (embedding never moves a caller's model
    behind their back); else the best available."""
    if device is not None:
        return torch.device(device)
    if isinstance(model, nn.Module):
        first = next(model.parameters(), None)
        if first is not None:
            return first.device
    return get_device()


def _run_batches(run: _Embedder, batches: Any, device: torch.device, seed: int, dims: int) -> np.ndarray:
    """Features of every batch, with the augmentation RNG seeded without touching the caller's."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        out = [run(batch) for batch in batches]
    return torch.cat(out).numpy() if out else np.zeros((0, dims), np.float32)


def _progress(items: Any, progress: bool) -> Any:
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="embedding", unit="batch")


def _as_table(catalog: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    from ..catalog import read_catalog

    if not isinstance(catalog, (pd.DataFrame, str, os.PathLike)):
        paths = [str(p) for p in catalog]
        catalog = pd.DataFrame({"id_str": paths, "file_loc": paths})
    return read_catalog(catalog, schema=None, require_votes=False)


@torch.inference_mode()
@keep_freed_memory()
def embed(
    model: ModelLike,
    images_or_catalog: ImagesOrCatalog,
    *,
    image_size: int | None = None,
    batch_size: int = 64,
    tta: int = 0,
    device: torch.device | str | None = None,
    num_workers: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> np.ndarray:
    """Features (N, D) float32 of every galaxy, in the order given: the one way to embed.

    ``model``: a module (its ``.embed`` is used when it has one, so a
    :class:`~galzoo_tools.models.ZooModel` and a fine-tuned model give their pooled encoder
    features) or a source name (:data:`ModelLike`). ``images_or_catalog``: images in memory
    (N, C, H, W), used at the size they have, or a catalog (DataFrame, CSV/parquet path, or a
    list of image paths) whose images are streamed from disk, centre-cropped to a square and
    resized to ``image_size`` (default: the size the checkpoint was trained at, else the
    scale's size). ``tta > 0`` averages the plain image and ``tta`` randomly rotated, flipped
    and zoomed views (seeded by ``seed``), which makes the features less sensitive to
    orientation. A module stays on its device (unless ``device`` says otherwise) and keeps its
    train/eval mode; bfloat16 autocast and channels-last are used on CUDA. For the galaxies'
    ids and how the features were made, use :func:`catalog_embeddings`.
    """
    if not _is_images(images_or_catalog):
        return catalog_embeddings(model, images_or_catalog, image_size=image_size, batch_size=batch_size, tta=tta,
                                  device=device, num_workers=num_workers, seed=seed, progress=progress).features
    tta = _check_tta(tta)
    images = torch.as_tensor(images_or_catalog)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    was_training = model.training if isinstance(model, nn.Module) else False
    net, _ = _ready_model(model, _device_for(model, device))
    try:
        device = next(net.parameters()).device
        run = _Embedder(net, device, tta, int(images.shape[-1]))
        batches = (images[i:i + batch_size] for i in _progress(range(0, len(images), batch_size), progress))
        return _run_batches(run, batches, device, seed, int(getattr(net, "num_features", 0)))
    finally:
        net.train(was_training)


@torch.inference_mode()
@keep_freed_memory()
def catalog_embeddings(
    model: ModelLike,
    catalog: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    image_size: int | None = None,
    batch_size: int = 64,
    tta: int = 0,
    device: torch.device | str | None = None,
    num_workers: int | None = None,
    seed: int = 0,
    progress: bool = True,
    notes: Callable[[str], None] | None = None,
) -> Embeddings:
    """:func:`embed` of a catalog, kept with each galaxy's ``id_str`` and how it was made.

    Returns :class:`Embeddings`, whose ``info`` (encoder, image size, throughput, device) is what
    ``galzoo embed`` writes to ``metrics.json``. ``notes``, if given, is called with one line
    per step between reading the catalog and the first batch (they take seconds).
    """
    from ..datasets import GalaxyDataset, make_dataloader, resize_transform

    note = notes or (lambda message: None)
    tta = _check_tta(tta)
    table = _as_table(catalog)
    name = type(model).__name__ if isinstance(model, nn.Module) else model
    note(f"{len(table)} galaxies; loading the encoder {name}")
    was_training = model.training if isinstance(model, nn.Module) else False
    net, spec = _ready_model(model, _device_for(model, device))
    try:
        device = next(net.parameters()).device
        size = int(image_size or spec["image_size"] or get_scale().image_size)
        note(f"reading {len(table)} images at {size}px and embedding them on {device}")
        data = GalaxyDataset(table, schema=None, transform=resize_transform(size, spec["channels"]),
                             channels=spec["channels"], cache=False)
        loader = make_dataloader(data, batch_size, shuffle=False, device=device, num_workers=num_workers)
        run = _Embedder(net, device, tta, size)
        start = time.perf_counter()
        features = _run_batches(run, _progress(loader, progress), device, seed, int(getattr(net, "num_features", 0)))
        seconds = time.perf_counter() - start
    finally:
        net.train(was_training)
    info = {
        "encoder": spec["name"], "image_size": size, "channels": spec["channels"], "tta": tta,
        "n": len(features), "dims": int(features.shape[1]), "seconds": round(seconds, 3),
        "images_per_second": round(len(features) / seconds, 1) if seconds > 0 else None, "device": str(device),
    }
    return Embeddings(table["id_str"].astype(str).to_numpy(), features, info)


def embed_images(
    images: torch.Tensor | np.ndarray,
    encoder: ModelLike = "reference",
    batch_size: int = 64,
    tta: int = 0,
    device: torch.device | str | None = None,
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """Deprecated: use ``embed(model, images)`` (the model comes first)."""
    warnings.warn("representations.embed_images(images, encoder) is deprecated; use embed(model, images)",
                  DeprecationWarning, stacklevel=2)
    return embed(encoder, images, batch_size=batch_size, tta=tta, device=device, seed=seed, progress=progress)


def embed_catalog(
    catalog: pd.DataFrame | str | os.PathLike[str],
    encoder: ModelLike = "reference",
    image_size: int | None = None,
    batch_size: int = 64,
    tta: int = 0,
    device: torch.device | str | None = None,
    num_workers: int | None = None,
    seed: int = 0,
    progress: bool = True,
    notes: Callable[[str], None] | None = None,
) -> Embeddings:
    """Deprecated: use ``catalog_embeddings(model, catalog)`` (or ``embed`` for the features alone)."""
    warnings.warn("representations.embed_catalog(catalog, encoder) is deprecated; use catalog_embeddings(model, "
                  "catalog), or embed(model, catalog) for the features alone", DeprecationWarning, stacklevel=2)
    return catalog_embeddings(encoder, catalog, image_size=image_size, batch_size=batch_size, tta=tta, device=device,
                              num_workers=num_workers, seed=seed, progress=progress, notes=notes)


def _npz_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path / EMBEDDINGS_FILE if path.is_dir() or not path.suffix else path


def save_embeddings(path: str | os.PathLike[str], ids: Sequence[str] | np.ndarray, features: np.ndarray) -> Path:
    """Write ``embeddings.npz`` (arrays ``id_str`` and float32 ``features``) atomically; returns its path.

    ``path`` is the file, or a folder to hold ``embeddings.npz``. The file is written next to
    its destination and renamed into place, so a crash never leaves half a file. It is an
    uncompressed ``.npz`` of fixed-width strings and float32: a million 40-d galaxies take
    about 200 MB and load without pickle.
    """
    emb = Embeddings(np.asarray(ids), np.asarray(features))
    target = _npz_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".embeddings-", suffix=".npz.tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, id_str=emb.id_str, features=emb.features)
        os.chmod(tmp, default_file_mode())  # mkstemp makes it private (0600); the rest of a run is readable by all
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_embeddings(path: str | os.PathLike[str]) -> Embeddings:
    """Read what :func:`save_embeddings` wrote (a file, or a folder holding ``embeddings.npz``)."""
    target = _npz_path(path)
    if not target.is_file():
        raise FileNotFoundError(f"{target} not found; write it with `galzoo embed --out DIR` or save_embeddings()")
    if target.stat().st_size == 0:
        raise ValueError(f"{target} is empty (0 bytes), as an interrupted copy leaves it; copy it again, or "
                         "write it again with `galzoo embed --out DIR`")
    try:
        with np.load(target, allow_pickle=False) as data:
            missing = {"id_str", "features"} - set(data.files)
            if missing:
                raise KeyError(f"lacks array(s) {sorted(missing)}, holds {data.files}")
            ids, features = data["id_str"], data["features"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{target} is not an embeddings file ({err}); re-create it with save_embeddings") from err
    return Embeddings(ids, features, {"path": str(target)})


