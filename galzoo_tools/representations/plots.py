"""Figures of representations: a 2-D map with thumbnails laid on it, and the variance PCA keeps.

Images can be given as a ``uint8`` tensor or array ``(N, C, H, W)``, an array ``(N, H, W, C)``,
or a list of image paths (a catalog's ``file_loc``), in which case only the galaxies drawn
are read from disk, so a map of a million galaxies needs no million images in memory.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

__all__ = ["Images", "thumbnail", "plot_map_with_thumbnails", "plot_explained_variance"]

Images = torch.Tensor | np.ndarray | Sequence[str]


def thumbnail(images: Images, i: int) -> np.ndarray:
    """Image ``i`` as an (H, W, C) uint8 (or float) array ready for ``imshow``."""
    if isinstance(images, (torch.Tensor, np.ndarray)):
        image = images[int(i)]
        image = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
        if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
            image = image.transpose(1, 2, 0)
    else:
        from ..datasets import decode_image

        image = decode_image(images[int(i)]).permute(1, 2, 0).numpy()
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def _grid_picks(coords: np.ndarray, cells: int) -> tuple[list[int], np.ndarray]:
    """One galaxy per occupied cell of a ``cells`` x ``cells`` grid (the one nearest the cell's
    centre), and the centres of those cells."""
    low, high = coords.min(0), coords.max(0)
    span = np.where(high > low, high - low, 1.0)
    unit = (coords - low) / span * cells
    cell = np.minimum(unit.astype(int), cells - 1)
    offset = ((unit - cell - 0.5) ** 2).sum(1)
    frame = pd.DataFrame({"cx": cell[:, 0], "cy": cell[:, 1], "offset": offset})
    picks = frame.sort_values("offset", kind="stable").groupby(["cx", "cy"], sort=True).head(1).index.to_numpy()
    centres = low + (cell[picks] + 0.5) / cells * span
    return picks.tolist(), centres


def plot_map_with_thumbnails(
    coords: np.ndarray,
    images: Images,
    colors: Sequence[str] | np.ndarray | pd.Series | None = None,
    cells: int = 14,
    title: str | None = None,
    size: float = 9.0,
    point_size: float = 4.0,
) -> Figure:
    """A 2-D map of galaxies (``coords`` (N, 2)) with thumbnails laid on it.

    The map is cut into ``cells`` x ``cells`` squares and, in each square with galaxies, the
    one nearest its centre is drawn at the centre, so the thumbnails tile the map without
    overlapping and show what lives in each region. ``colors``: a category per galaxy (e.g. a tag) for
    the points under the thumbnails, with a legend.
    """
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"coords must be (N, 2), got shape {coords.shape}")
    fig = Figure(figsize=(size + (1.6 if colors is not None else 0.0), size))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.01, bottom=0.01, top=0.95 if title else 0.99,
                        right=size / (size + 1.6) - 0.01 if colors is not None else 0.99)
    if colors is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=point_size, c="0.6", lw=0)
    else:
        labels = pd.Series(np.asarray(colors)).astype(str)
        for j, (name, members) in enumerate(labels.groupby(labels, sort=False).groups.items()):
            rows = np.asarray(list(members))
            ax.scatter(coords[rows, 0], coords[rows, 1], s=point_size * 2, lw=0, color=f"C{j % 10}", label=name)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, markerscale=3)
    picks, centres = _grid_picks(coords, cells)
    first = thumbnail(images, picks[0])
    box = ax.get_position()
    axes_points = min(box.width * fig.get_figwidth(), box.height * fig.get_figheight()) * 72
    zoom = axes_points / cells / max(first.shape[:2]) * 0.92  # OffsetImage: one image pixel per point at zoom 1
    for i, centre in zip(picks, centres):
        box = OffsetImage(thumbnail(images, i), zoom=zoom, interpolation="antialiased")
        ax.add_artist(AnnotationBbox(box, centre, frameon=False, pad=0.0))
    pad = (coords.max(0) - coords.min(0)) / cells * 0.05
    ax.set_xlim(coords[:, 0].min() - pad[0], coords[:, 0].max() + pad[0])
    ax.set_ylim(coords[:, 1].min() - pad[1], coords[:, 1].max() + pad[1])
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


def plot_explained_variance(pca: Any, marks: Sequence[float] = (0.8, 0.9, 0.95)) -> Figure:
    """Variance kept by each principal component, and cumulatively, of a fitted (Incremental)PCA."""
    ratio = np.asarray(pca.explained_variance_ratio_)
    total = np.cumsum(ratio)
    fig = Figure(figsize=(9, 3.2))
    left, right = fig.subplots(1, 2)
    left.bar(np.arange(1, len(ratio) + 1), ratio, color="tab:blue")
    left.set_xlabel("component")
    left.set_ylabel("share of variance")
    right.plot(np.arange(1, len(ratio) + 1), total, marker=".", color="tab:blue")
    for mark in marks:
        reached = np.flatnonzero(total >= mark)
        if len(reached):
            right.axhline(mark, color="0.7", lw=0.8)
            right.annotate(f"{mark:.0%}: {reached[0] + 1} components", (reached[0] + 1, mark),
                           textcoords="offset points", xytext=(6, -10), fontsize=8)
    right.set_xlabel("number of components")
    right.set_ylabel("cumulative share")
    right.set_ylim(0, 1.02)
    fig.tight_layout()
    return fig


