"""Figures of representations: a map tiled with thumbnails, explained variance."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from galzoo_tools import representations as rep
from galzoo_tools.representations import plot_explained_variance, plot_map_with_thumbnails


def test_map_with_thumbnails_tiles_without_overlap(odd_catalog):
    coords = np.random.default_rng(1).uniform(size=(6, 2))
    paths = pd.read_csv(odd_catalog)["file_loc"].map(lambda p: str(odd_catalog.parent / p)).tolist()
    fig = plot_map_with_thumbnails(coords, paths, colors=["a", "b"] * 3, cells=3)
    assert isinstance(fig, Figure)
    boxes = [a for a in fig.axes[0].artists if type(a).__name__ == "AnnotationBbox"]
    assert 1 <= len(boxes) <= 6
    cells = {tuple(np.minimum((b.xy - coords.min(0)) / np.ptp(coords, 0) * 3, 2.999).astype(int)) for b in boxes}
    assert len(cells) == len(boxes)  # at most one thumbnail per cell


def test_explained_variance_figure():
    pca = rep.fit_pca(np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32), 5)
    assert isinstance(plot_explained_variance(pca), Figure)
