"""Baselines a representation must beat: raw pixels ("no model") and noise ("no information")."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["pixel_features", "random_features"]


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
