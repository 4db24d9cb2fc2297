"""Image statistics: how a set of galaxy cut-outs looks to a model, to compare synthetic and real skies.

Every image is first resized to ``size`` px (PIL bilinear, 128 by default: what the reference
model sees). :func:`image_stats` then measures, on the grey image (mean of the channels):

=================== ==========================================================================
``bg``, ``noise``   sky level (median) and robust scatter (1.4826 × MAD) of an 8 px border
``peak_snr``        (brightest pixel − bg) / noise
``central_frac``    area of the central object (the connected pixels > bg + 5 noise holding
                    the image centre) / image area
``r50_frac``        radii about the image centre holding 50 % / 90 % of the central object's
``r90_frac``        light above the sky, / image width
``conc``            r90 / r50
``other_sources``   other connected objects of ≥ 3 px above bg + 5 noise (stars, neighbours)
``sat_frac``        fraction of pixels with a saturated channel (≥ 254)
``r_over_g``        colour of the central object: channel means over its pixels (whole image
``b_over_g``        when there is none), r / g and b / g
``bg_r/g/b``        sky level per channel (median of the top and bottom 8 rows)
=================== ==========================================================================

These follow the definitions of the statistics handed to the project with the real-sky
numbers (:data:`DECALS_TARGETS`), so the numbers are comparable; one deliberate difference:
``other_sources`` never counts the central object, even when it is smaller than 3 px.

>>> rows = stats_table(images)                      # one row per image
>>> table = compare_to_targets(summarise(rows))     # synthetic median inside the real 10-90 %?
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage

__all__ = [
    "STAT_NAMES",
    "DECALS_TARGETS",
    "PixelHistograms",
    "resize_image",
    "load_image",
    "image_stats",
    "stats_table",
    "load_catalog_images",
    "catalog_image_stats",
    "summarise",
    "compare_to_targets",
    "pixel_histograms",
]

STAT_NAMES: tuple[str, ...] = (
    "bg", "noise", "peak_snr", "central_frac", "r50_frac", "r90_frac", "conc", "other_sources",
    "sat_frac", "r_over_g", "b_over_g", "bg_r", "bg_g", "bg_b",
)
BORDER = 8
"""Width in px of the border that measures the sky."""
DETECT_SIGMA = 5.0
"""Pixels brighter than bg + DETECT_SIGMA × noise belong to an object."""
MIN_SOURCE_PIXELS = 3
SATURATED = 254
MAD_TO_SIGMA = 1.4826

DECALS_TARGETS: dict[str, tuple[float, float, float]] = {
    "bg": (15.7, 16.7, 18.0),
    "noise": (2.47, 3.95, 5.93),
    "peak_snr": (33.2, 53.1, 86.3),
    "central_frac": (0.039, 0.0799, 0.194),
    "r50_frac": (0.0643, 0.0891, 0.136),
    "r90_frac": (0.109, 0.153, 0.261),
    "conc": (1.56, 1.71, 2.06),
    "other_sources": (5.0, 13.5, 31.0),
    "sat_frac": (0.0, 0.0, 0.000732),
    "r_over_g": (0.97, 1.06, 1.09),
    "b_over_g": (0.928, 0.963, 1.08),
    "bg_r": (16.0, 17.0, 19.0),
    "bg_g": (15.0, 16.0, 18.0),
    "bg_b": (15.0, 16.0, 18.0),
}
"""(p10, median, p90) of each statistic over 470 real GZ DECaLS DR5 cut-outs (424 px colour PNG,
resized to 128 px): aggregate numbers handed to the project; the images are not part of it.
The target of the synthetic ``decals`` preset."""

DEFAULT_QUANTILES: tuple[float, ...] = (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
DEFAULT_EDGES: tuple[int, ...] = (0, 8, 16, 32, 64, 128, 254, 256)


def resize_image(image: np.ndarray, size: int = 128) -> np.ndarray:
    """An ``(H, W, 3)`` (or grey ``(H, W)``) uint8 image as ``(size, size, 3)`` uint8, PIL bilinear."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0-255), got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"an image must be (H, W, 3) or (H, W), got shape {image.shape}")
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def load_image(path: str | os.PathLike[str], size: int = 128) -> np.ndarray:
    """An image file as ``(size, size, 3)`` uint8 RGB, resized with PIL bilinear."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR))


def _border(grey: np.ndarray) -> np.ndarray:
    b = BORDER
    return np.concatenate([grey[:b].ravel(), grey[-b:].ravel(), grey[:, :b].ravel(), grey[:, -b:].ravel()])


def _light_radii(flux: np.ndarray, size: int) -> tuple[float, float]:
    """Radii (px, about the image centre) enclosing 50 % and 90 % of ``flux``; NaN when it is empty."""
    total = flux.sum()
    if total <= 0:
        return float("nan"), float("nan")
    yy, xx = np.indices(flux.shape)
    r = np.hypot(yy - size / 2, xx - size / 2).ravel()
    order = np.argsort(r, kind="stable")
    enclosed = np.cumsum(flux.ravel()[order]) / total
    at = np.minimum(np.searchsorted(enclosed, [0.5, 0.9]), len(r) - 1)
    return float(r[order][at[0]]), float(r[order][at[1]])


def image_stats(image: np.ndarray, size: int = 128) -> dict[str, float]:
    """The statistics of :data:`STAT_NAMES` for one ``(H, W, 3)`` uint8 image (see the module doc)."""
    rgb = resize_image(image, size).astype(np.float64)
    grey = rgb.mean(axis=2)
    border = _border(grey)
    bg = float(np.median(border))
    noise = float(MAD_TO_SIGMA * np.median(np.abs(border - bg)) + 1e-6)

    labels, n_objects = ndimage.label(grey > bg + DETECT_SIGMA * noise)
    centre = int(labels[size // 2, size // 2])
    areas = np.bincount(labels.ravel(), minlength=n_objects + 1)
    big = areas >= MIN_SOURCE_PIXELS
    big[0] = False  # label 0 is the sky
    if centre:
        big[centre] = False
    central = labels == centre if centre else np.zeros(grey.shape, bool)

    r50, r90 = _light_radii(np.clip(grey - bg, 0, None) * central, size)
    colour = (rgb[central] if central.any() else rgb.reshape(-1, 3)).mean(axis=0) + 1e-6
    sky = np.median(np.concatenate([rgb[:BORDER].reshape(-1, 3), rgb[-BORDER:].reshape(-1, 3)]), axis=0)
    return {
        "bg": bg,
        "noise": noise,
        "peak_snr": float((grey.max() - bg) / noise),
        "central_frac": float(central.mean()),
        "r50_frac": r50 / size,
        "r90_frac": r90 / size,
        "conc": r90 / r50 if r50 else float("nan"),
        "other_sources": int(big.sum()),
        "sat_frac": float((rgb >= SATURATED).any(axis=2).mean()),
        "r_over_g": float(colour[0] / colour[1]),
        "b_over_g": float(colour[2] / colour[1]),
        "bg_r": float(sky[0]),
        "bg_g": float(sky[1]),
        "bg_b": float(sky[2]),
    }


def stats_table(images: Iterable[np.ndarray], size: int = 128) -> pd.DataFrame:
    """One row of :func:`image_stats` per image (an ``(N, H, W, 3)`` array or any iterable of images)."""
    return pd.DataFrame([image_stats(image, size) for image in images], columns=list(STAT_NAMES))


def load_catalog_images(
    catalog: pd.DataFrame | str | os.PathLike[str], n: int | None = 400, seed: int = 0, size: int = 128
) -> tuple[np.ndarray, pd.DataFrame]:
    """A random sample of ``n`` galaxies of a catalog (all when ``n`` is None or larger): their images
    ``(n, size, size, 3)`` uint8 and catalog rows. Paths resolve as in
    :func:`galzoo_tools.catalog.read_catalog` (relative to the catalog file's folder)."""
    from .catalog import read_catalog

    table = read_catalog(catalog, schema=None, require_votes=False)
    if n is not None and n < len(table):
        table = table.sample(n, random_state=seed)
    images = np.stack([load_image(p, size) for p in table["file_loc"]]) if len(table) else np.zeros(
        (0, size, size, 3), np.uint8)
    return images, table.reset_index(drop=True)


def catalog_image_stats(
    catalog: pd.DataFrame | str | os.PathLike[str], n: int | None = 400, seed: int = 0, size: int = 128
) -> pd.DataFrame:
    """:func:`stats_table` of a random sample of ``n`` galaxies of a catalog (one row per galaxy,
    with its ``id_str``). ``seed=0`` picks the same galaxies as the script behind the real-sky numbers."""
    images, table = load_catalog_images(catalog, n, seed, size)
    rows = stats_table(images, size)
    rows.insert(0, "id_str", table["id_str"].to_numpy())
    return rows


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """10th percentile, median and 90th percentile of each statistic (rows) over images (NaN skipped)."""
    stats = [c for c in rows.columns if c in STAT_NAMES]
    table = rows[stats].astype(float).quantile([0.1, 0.5, 0.9]).T
    table.columns = ["p10", "median", "p90"]
    table.index.name = "statistic"
    return table


def _as_targets(targets: Mapping[str, tuple[float, float, float]] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(targets, pd.DataFrame):
        return targets[["p10", "median", "p90"]].astype(float)
    return pd.DataFrame.from_dict(dict(targets), orient="index", columns=["p10", "median", "p90"]).astype(float)


def compare_to_targets(
    summary: pd.DataFrame, targets: Mapping[str, tuple[float, float, float]] | pd.DataFrame = DECALS_TARGETS
) -> pd.DataFrame:
    """Each statistic's median against a real set's (p10, median, p90): a :func:`summarise` table, or
    a dict like :data:`DECALS_TARGETS`.

    Columns ``median``, ``real p10``, ``real median``, ``real p90``, ``inside`` (the median lies in
    the real 10-90 % range, ends included) and ``spread_ratio`` ((p90 − p10) here / the real one;
    NaN when the real spread is 0). Only statistics present in both are compared.
    """
    real = _as_targets(targets)
    names = [s for s in summary.index if s in real.index]
    mine, real = summary.loc[names].astype(float), real.loc[names]
    real_spread = (real["p90"] - real["p10"]).to_numpy()
    spread = (mine["p90"] - mine["p10"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(real_spread > 0, spread / np.where(real_spread > 0, real_spread, 1.0), np.nan)
    table = pd.DataFrame({
        "median": mine["median"].to_numpy(),
        "real p10": real["p10"].to_numpy(),
        "real median": real["median"].to_numpy(),
        "real p90": real["p90"].to_numpy(),
        "inside": ((mine["median"] >= real["p10"]) & (mine["median"] <= real["p90"])).to_numpy(),
        "spread_ratio": ratio,
    }, index=pd.Index(names, name="statistic"))
    return table


@dataclass
class PixelHistograms:
    """Pixel-value distributions of a set of images, one row per channel (``grey``, ``r``, ``g``, ``b``).

    ``quantiles``: pixel value at each quantile (columns ``q01`` …) and the ``mean``;
    ``fractions``: fraction of pixels in each value bin (columns ``[lo,hi)``).
    """

    quantiles: pd.DataFrame
    fractions: pd.DataFrame


def pixel_histograms(
    images: Iterable[np.ndarray],
    size: int = 128,
    quantiles: Iterable[float] = DEFAULT_QUANTILES,
    edges: Iterable[int] = DEFAULT_EDGES,
) -> PixelHistograms:
    """Grey-level and per-channel pixel distributions over all images (each resized to ``size``)."""
    quantiles, edges = list(quantiles), list(edges)
    counts = np.zeros((4, 256), np.int64)
    for image in images:
        rgb = resize_image(image, size).astype(np.float64)
        grey = np.rint(rgb.mean(axis=2)).astype(np.int64)
        counts[0] += np.bincount(grey.ravel(), minlength=256)
        for c in range(3):
            counts[c + 1] += np.bincount(rgb[:, :, c].astype(np.int64).ravel(), minlength=256)
    channels = ["grey", "r", "g", "b"]
    total = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    cdf = np.cumsum(counts, axis=1) / total
    values = np.arange(256)
    q_table = pd.DataFrame(
        {f"q{round(100 * q):02d}": [float(np.searchsorted(row, q)) for row in cdf] for q in quantiles}, index=channels)
    q_table["mean"] = (counts * values).sum(axis=1) / total[:, 0]
    bins = {f"[{lo},{hi})": counts[:, lo:hi].sum(axis=1) / total[:, 0] for lo, hi in zip(edges[:-1], edges[1:])}
    return PixelHistograms(q_table, pd.DataFrame(bins, index=channels))
