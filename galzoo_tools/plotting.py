"""Figures the notebooks share: image grids and the synthetic-universe montage."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["image_grid", "pick_examples", "universe_montage", "MONTAGE_KINDS"]


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    ax_size: float = 1.6,
    fontsize: float = 7.0,
) -> Figure:
    """A grid of RGB (or grey) images with optional titles, as a matplotlib Figure.

    Uses ``matplotlib.figure.Figure`` directly (no pyplot state), so it works the same in
    notebooks, scripts and tests; notebooks display the returned figure.
    """
    images = list(images)
    if not images:
        raise ValueError("image_grid needs at least one image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    ncols = max(1, min(ncols, len(images)))
    nrows = -(-len(images) // ncols)
    title_space = 0.25 if titles is not None else 0.0
    fig = Figure(figsize=(ncols * ax_size, nrows * (ax_size + title_space)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < len(images):
            ax.imshow(images[k], interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[k], fontsize=fontsize, pad=2)
    fig.subplots_adjust(left=0.005, right=0.995, bottom=0.005, top=1 - 0.02 / nrows if titles is None else 0.97, wspace=0.03, hspace=0.15 if titles is not None else 0.03)
    return fig


MONTAGE_KINDS: dict[str, str] = {
    "elliptical": "true_kind == 'elliptical' and true_merger == 'none' and true_lens == 0 and true_artifact == 'none'",
    "lenticular": "true_kind == 'lenticular' and true_edge_on == 0 and true_ring_type == 'none'",
    "1-arm spiral": "true_n_arms == 1 and true_bar_strength == 0",
    "2-arm spiral": "true_n_arms == 2 and true_kind == 'spiral' and true_bar_strength == 0 and true_ring_type == 'none'",
    "3-arm spiral": "true_n_arms == 3 and true_bar_strength == 0",
    "many-arm spiral": "true_n_arms >= 5",
    "loose spiral": "true_winding == 'loose' and true_bar_strength == 0",
    "tight spiral": "true_winding == 'tight' and true_bar_strength == 0",
    "strong bar": "true_bar_strength > 0.65 and true_ring_type == 'none'",
    "edge-on": "true_edge_on == 1 and true_dust_lane == 0",
    "edge-on, dust": "true_dust_lane == 1",
    "boxy bulge": "true_edge_on_bulge == 'boxy'",
    "inner ring": "true_ring_type == 'inner'",
    "outer ring": "true_ring_type == 'outer'",
    "merger": "true_merger == 'merger'",
    "tidal": "true_merger == 'major-disturbance'",
    "irregular": "true_kind == 'irregular'",
    "diffuse": "true_kind == 'diffuse'",
    "lens": "true_lens == 1",
    "satellite trail": "true_artifact == 'satellite-trail'",
    "bad pixels": "true_artifact == 'bad-pixels'",
    "saturated star": "true_artifact == 'saturated-star'",
}
"""Label -> ``DataFrame.query`` selecting synthetic galaxies of that kind (``true_*`` columns)."""


def pick_examples(catalog: pd.DataFrame, per_kind: int = 2, kinds: dict[str, str] | None = None) -> tuple[list[int], list[str]]:
    """Row positions and labels of up to ``per_kind`` bright, clear examples of each kind."""
    kinds = MONTAGE_KINDS if kinds is None else kinds
    rows, labels = [], []
    position = pd.Series(np.arange(len(catalog)), index=catalog.index)
    for label, query in kinds.items():
        found = catalog.query(query)
        if "true_visibility" in found:
            clear = found[found["true_visibility"] > 0.6]
            found = clear if len(clear) >= per_kind else found
        for index in found.index[:per_kind]:
            rows.append(int(position[index]))
            labels.append(label)
    return rows, labels


def universe_montage(n: int = 20000, seed: int = 1, size: int = 128, per_kind: int = 2, ncols: int = 8) -> Figure:
    """A labelled montage of the synthetic universe: ``per_kind`` examples of each kind.

    Draws the latent catalog of ``n`` galaxies (cheap) so rare kinds such as lenses turn up,
    then renders only the galaxies shown.
    """
    from .synthetic import render, simulate_catalog

    morphology, catalog = simulate_catalog(n, seed)
    rows, labels = pick_examples(catalog, per_kind)
    images = render(morphology.take(np.asarray(rows)), size)
    return image_grid(images, labels, ncols=ncols, ax_size=1.5)
