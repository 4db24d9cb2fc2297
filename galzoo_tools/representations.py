"""Representations: the pooled encoder features of every galaxy in a catalog, and what to do with them.

Walmsley et al. (2022) show that the features a network learns while answering every Galaxy
Zoo question are a general-purpose description of a galaxy: similar galaxies get nearby
vectors. This module computes them (:func:`embed_catalog`), stores them compactly
(:func:`save_embeddings` / :func:`load_embeddings`), compresses them (:func:`fit_pca`) and
lays them out on a 2-D map (:func:`map_2d`; figures in :mod:`galzoo_tools.plot_maps`).

>>> emb = embed_catalog("data/synthetic_sample/catalog.parquet", encoder="reference")
>>> emb.features.shape          # (400, 1280) for EfficientNet-Lite0
>>> save_embeddings("runs/embed/embeddings.npz", emb.id_str, emb.features)
"""

from __future__ import annotations

import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import default_file_mode, get_device, get_scale
from .cpu_memory import keep_freed_memory

__all__ = [
    "Embeddings",
    "EMBEDDINGS_FILE",
    "load_encoder_model",
    "embed_images",
    "embed_catalog",
    "save_embeddings",
    "load_embeddings",
    "align_embeddings",
    "fit_pca",
    "map_2d",
    "map_methods",
    "pixel_features",
    "random_features",
]

EMBEDDINGS_FILE = "embeddings.npz"
"""File name :func:`save_embeddings` uses when given a folder."""

INCREMENTAL_PCA_ELEMENTS = 50_000_000
"""``fit_pca(incremental=None)`` switches to IncrementalPCA above this many feature values (200 MB)."""


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


def load_encoder_model(
    encoder: str | os.PathLike[str] | nn.Module, device: torch.device | str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """An encoder ready to embed, and what it needs: ``{"image_size", "channels", "name"}``.

    ``encoder`` is a model (a :class:`~galzoo_tools.models.ZooModel`, or any module mapping
    [0, 1] images to features) or a source name: ``"reference"``, ``"imagenet"``, ``"scratch"``,
    ``"hf_hub:…"``, ``"local-dir:…"`` or a checkpoint folder. ``image_size`` is the size a
    checkpoint was trained at, else None.
    """
    from .models import ZooModel, build_model, load_model, read_model_config, resolve_model_source

    device = torch.device(device) if device is not None else get_device()
    if isinstance(encoder, nn.Module):
        channels = encoder.encoder_info.get("in_chans", 3) if isinstance(encoder, ZooModel) else _first_conv_chans(encoder)
        return encoder.to(device).eval(), {"image_size": None, "channels": int(channels), "name": type(encoder).__name__}
    source = resolve_model_source(encoder)
    if source.kind == "checkpoint":
        model = load_model(source.location, device=device)  # type: ignore[arg-type]
        config = read_model_config(source.location)  # type: ignore[arg-type]
        size = config.get("image_size")
        return model, {"image_size": int(size) if size else None, "channels": int(config["in_chans"]), "name": str(encoder)}
    model = build_model(str(encoder)).to(device).eval()
    return model, {"image_size": None, "channels": int(model.encoder_info["in_chans"]), "name": str(encoder)}


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
        from .augment import BatchAugment

        self.model, self.device, self.tta = model, device, int(tta)
        self.cuda = device.type == "cuda"
        if self.cuda:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.augment = BatchAugment(image_size) if tta > 0 else None

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        images = batch.to(self.device, non_blocking=True)
        images = images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()
        views = [images] + [self.augment(images) for _ in range(self.tta)] if self.augment else [images]
        total = None
        for view in views:
            if self.cuda:
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


@torch.inference_mode()
@keep_freed_memory()
def embed_images(
    images: torch.Tensor | np.ndarray,
    encoder: str | os.PathLike[str] | nn.Module = "reference",
    batch_size: int = 64,
    tta: int = 0,
    device: torch.device | str | None = None,
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """Features (N, D) float32 of images already in memory: (N, C, H, W) uint8 or float in [0, 1].

    Images are used at the size they have. See :func:`embed_catalog` for ``tta``.
    """
    model, _ = load_encoder_model(encoder, device)
    device = next(model.parameters()).device
    images = torch.as_tensor(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    run = _Embedder(model, device, _check_tta(tta), int(images.shape[-1]))
    starts = range(0, len(images), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="embedding", unit="batch")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        out = [run(images[i:i + batch_size]) for i in starts]
    dims = int(getattr(model, "num_features", 0))
    return torch.cat(out).numpy() if out else np.zeros((0, dims), np.float32)


@torch.inference_mode()
@keep_freed_memory()
def embed_catalog(
    catalog: pd.DataFrame | str | os.PathLike[str],
    encoder: str | os.PathLike[str] | nn.Module = "reference",
    image_size: int | None = None,
    batch_size: int = 64,
    tta: int = 0,
    device: torch.device | str | None = None,
    num_workers: int | None = None,
    seed: int = 0,
    progress: bool = True,
    notes: Callable[[str], None] | None = None,
) -> Embeddings:
    """Pooled encoder features of every galaxy in ``catalog`` (a DataFrame or a CSV/parquet path).

    Images (PNG/JPEG, any size, RGB or grey) are centre-cropped to a square and resized to
    ``image_size`` (default: the size the checkpoint was trained at, else the scale's size),
    streamed in batches to the best device (bfloat16 autocast and channels-last on CUDA) and
    run through the encoder under ``torch.inference_mode``. ``tta > 0`` averages the features
    of the plain image and ``tta`` randomly rotated, flipped and zoomed views (seeded by
    ``seed``), which makes them less sensitive to orientation. ``notes``, if given, is called
    with one line per step between reading the catalog and the first batch.
    """
    from .catalog import read_catalog
    from .datasets import GalaxyDataset, make_dataloader, resize_transform

    note = notes or (lambda message: None)
    tta = _check_tta(tta)
    table = read_catalog(catalog, schema=None, require_votes=False)
    note(f"{len(table)} galaxies; loading the encoder "
         f"{type(encoder).__name__ if isinstance(encoder, nn.Module) else encoder}")
    model, spec = load_encoder_model(encoder, device)
    device = next(model.parameters()).device
    size = int(image_size or spec["image_size"] or get_scale().image_size)
    note(f"reading {len(table)} images at {size}px and embedding them on {device}")
    data = GalaxyDataset(table, schema=None, transform=resize_transform(size, spec["channels"]), channels=spec["channels"])
    loader = make_dataloader(data, batch_size, shuffle=False, device=device, num_workers=num_workers)
    run = _Embedder(model, device, tta, size)
    batches = loader
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(loader, desc="embedding", unit="batch")
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        out = [run(batch) for batch in batches]
    seconds = time.perf_counter() - start
    dims = int(getattr(model, "num_features", 0))
    features = torch.cat(out).numpy() if out else np.zeros((0, dims), np.float32)
    info = {
        "encoder": spec["name"], "image_size": size, "channels": spec["channels"], "tta": tta,
        "n": len(features), "dims": int(features.shape[1]), "seconds": round(seconds, 3),
        "images_per_second": round(len(features) / seconds, 1) if seconds > 0 else None, "device": str(device),
    }
    return Embeddings(table["id_str"].astype(str).to_numpy(), features, info)


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


def fit_pca(
    features: np.ndarray,
    n_components: int | float = 40,
    incremental: bool | None = None,
    batch_size: int = 10_000,
    seed: int = 0,
) -> Any:
    """A fitted scikit-learn PCA (or IncrementalPCA) of ``features``.

    Use ``pca.transform(x)`` for the compressed features and ``pca.explained_variance_ratio_``
    for the share of variance each component keeps. ``n_components`` below 1 asks for as many
    components as keep that share of the variance (ordinary PCA only). ``incremental=None``
    chooses IncrementalPCA, which reads ``batch_size`` rows at a time, when the features have
    more than 50 million values, so a million galaxies fit in memory.
    """
    from sklearn.decomposition import PCA, IncrementalPCA

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need features of shape (galaxies >= 2, dims), got {features.shape}")
    if incremental is None:
        incremental = features.size > INCREMENTAL_PCA_ELEMENTS
    if isinstance(n_components, float) and n_components < 1:
        if incremental:
            raise ValueError("IncrementalPCA needs a whole number of components; pass n_components=int")
        return PCA(n_components=n_components, svd_solver="full", random_state=seed).fit(features)
    n = int(min(n_components, *features.shape))
    if incremental:
        pca = IncrementalPCA(n_components=n, batch_size=max(batch_size, n))
        for start in range(0, len(features), max(batch_size, n)):
            chunk = features[start:start + max(batch_size, n)]
            if len(chunk) >= n:
                pca.partial_fit(chunk)
        return pca
    return PCA(n_components=n, random_state=seed).fit(features)


def map_methods() -> list[str]:
    """2-D map methods available here: ``pca``, ``tsne`` and ``umap`` when umap-learn is installed."""
    import importlib.util

    return ["pca", "tsne"] + (["umap"] if importlib.util.find_spec("umap") is not None else [])


def map_2d(
    features: np.ndarray,
    method: Literal["pca", "tsne", "umap"] = "tsne",
    seed: int = 0,
    pca_components: int = 50,
    perplexity: float = 30.0,
) -> np.ndarray:
    """2-D coordinates (N, 2) of ``features`` for a map of the galaxies.

    PCA keeps the two directions of largest variance (linear, global distances mean something);
    t-SNE and UMAP keep neighbourhoods (clusters are real, distances between them are not).
    Both run on the first ``pca_components`` principal components, as is usual.
    """
    features = np.asarray(features, dtype=np.float32)
    if method == "pca":
        return fit_pca(features, 2, seed=seed).transform(features)
    if method not in ("tsne", "umap"):
        raise ValueError(f"method must be one of {map_methods()}, got {method!r}")
    reduced = features
    if features.shape[1] > pca_components and len(features) > pca_components:
        reduced = fit_pca(features, pca_components, seed=seed).transform(features)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(perplexity, max(2.0, (len(features) - 1) / 3))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
    try:
        import umap
    except ImportError:
        raise ImportError("method='umap' needs umap-learn: pip install 'galzoo-tools[umap]' (or use 'tsne')") from None
    return umap.UMAP(n_components=2, random_state=seed).fit_transform(reduced)


def pixel_features(images: torch.Tensor | np.ndarray, size: int = 16) -> np.ndarray:
    """The "no model" baseline: images (N, C, H, W) averaged down to ``size`` px and flattened, float32."""
    images = torch.as_tensor(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    small = torch.nn.functional.adaptive_avg_pool2d(images.float(), size)
    return small.flatten(1).numpy().astype(np.float32)


def random_features(n: int, dims: int = 40, seed: int = 0) -> np.ndarray:
    """The "no information" baseline: standard-normal features (N, dims), float32."""
    return np.random.default_rng(seed).standard_normal((n, dims), dtype=np.float32)
