"""Tiny labelled galaxy folders for the fine-tuning tests: blobs, half of them with a ring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

SIZES = [(48, 48), (40, 56), (64, 64), (33, 37)]


def ring_image(size: tuple[int, int], ring: bool, seed: int) -> np.ndarray:
    """An RGB blob on a noisy sky, with a bright ring around it when ``ring``."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    base = 200 * np.exp(-(r / 0.25) ** 2) + rng.normal(15, 5, (h, w))
    if ring:
        base += 150 * np.exp(-((r - 0.6) / 0.08) ** 2)
    return np.clip(np.stack([base, 0.85 * base, 0.7 * base], -1), 0, 255).astype(np.uint8)


def write_ring_catalog(folder: Path, n: int = 24, suffix: str = ".csv") -> Path:
    """``n`` galaxies (PNG and JPEG, four odd sizes), ``ring`` = 0/1 alternating; returns the catalog path."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        ring = i % 2
        kind = ".png" if i % 3 else ".jpg"
        name = f"images/gal{i:03d}{kind}"
        (folder / "images").mkdir(exist_ok=True)
        Image.fromarray(ring_image(SIZES[i % len(SIZES)], bool(ring), i)).save(folder / name)
        rows.append({"id_str": f"gal{i:03d}", "file_loc": name, "ring": ring, "size_label": float(i)})
    path = folder / f"catalog{suffix}"
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    return path


def ring_images(n: int, size: int = 32) -> tuple[torch.Tensor, np.ndarray]:
    """``n`` square ring/no-ring images (N, 3, size, size) uint8, alternating labels 0, 1, 0, …"""
    y = np.arange(n) % 2
    images = np.stack([ring_image((size, size), bool(label), i) for i, label in enumerate(y)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), y


def scratch_model(task: str = "binary", classes: list | None = None):
    """A seeded, randomly initialised EfficientNet-Lite0 with a fresh head."""
    from galzoo_tools.finetune import build_finetune_model

    torch.manual_seed(0)
    return build_finetune_model("scratch", task, classes)
