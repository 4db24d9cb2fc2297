"""Figures of similarity search: neighbour grids, precision per tag and the static query picker."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from galzoo_tools.similarity import SimilarityIndex, explore_neighbours, plot_neighbours, plot_precision_per_tag


def test_neighbour_and_precision_figures():
    features = np.random.default_rng(0).standard_normal((90, 8)).astype(np.float32)
    table = pd.DataFrame({"galaxies": [30, 20], "chance": [0.3, 0.2], "learned": [0.9, 0.5], "random": [0.3, 0.2]},
                         index=pd.Index(["ring", "bar"], name="tag"))
    assert isinstance(plot_precision_per_tag(table), Figure)
    images = np.random.default_rng(0).integers(0, 255, (len(features), 16, 16, 3), dtype=np.uint8)
    index = SimilarityIndex(features, device="cpu")
    rows, distances = index.neighbours(3, 5)
    assert isinstance(plot_neighbours(images, 3, rows[0], distances[0], ids=[f"g{i}" for i in range(90)]), Figure)
    assert isinstance(explore_neighbours(index, images, [f"g{i}" for i in range(90)], k=4, static=True), Figure)
