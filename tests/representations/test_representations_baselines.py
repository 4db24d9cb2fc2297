"""The baselines a representation must beat: pixels and noise."""

import numpy as np
import torch

from galzoo_tools import representations as rep


def test_baseline_features():
    images = torch.zeros(5, 3, 40, 40, dtype=torch.uint8)
    assert rep.pixel_features(images, 8).shape == (5, 192)
    random = rep.random_features(5, 7, seed=3)
    assert random.shape == (5, 7) and random.dtype == np.float32
    np.testing.assert_array_equal(random, rep.random_features(5, 7, seed=3))
