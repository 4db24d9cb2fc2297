"""Plotting helpers used for the universe montage."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from galzoo_tools.plotting import image_grid, pick_examples
from galzoo_tools.synthetic import simulate_catalog


def test_image_grid_lays_out_images_with_titles():
    images = np.zeros((5, 16, 16, 3), np.uint8)
    fig = image_grid(images, [f"g{k}" for k in range(5)], ncols=3)
    assert isinstance(fig, Figure)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 5 and shown[4].get_title() == "g4"
    with pytest.raises(ValueError):
        image_grid(images, ["only one"])


def test_pick_examples_finds_every_kind_in_a_big_catalog():
    _, catalog = simulate_catalog(20000, seed=1)
    rows, labels = pick_examples(catalog, per_kind=1)
    assert len(set(labels)) == len(labels) >= 20
    assert catalog.iloc[rows[labels.index("lens")]]["true_lens"] == 1
