"""Small on-disk galaxy catalogs for the catalog, dataset and download tests.

Plain helpers (not fixtures) so each test file can build exactly the folder it needs:
a few PNG/JPEG images of mixed sizes and modes, and a catalog whose 34 DR5 vote columns
obey the decision tree (every volunteer follows one path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from galzoo_tools.schema import decals_dr5

SMOOTH_PATH = ["smooth-or-featured-dr5_smooth", "how-rounded-dr5_round", "merging-dr5_none"]
SPIRAL_PATH = [
    "smooth-or-featured-dr5_featured-or-disk",
    "disk-edge-on-dr5_no",
    "has-spiral-arms-dr5_yes",
    "bar-dr5_weak",
    "bulge-size-dr5_small",
    "spiral-winding-dr5_medium",
    "spiral-arm-count-dr5_2",
    "merging-dr5_none",
]
EDGE_ON_PATH = [
    "smooth-or-featured-dr5_featured-or-disk",
    "disk-edge-on-dr5_yes",
    "edge-on-bulge-dr5_rounded",
    "merging-dr5_minor-disturbance",
]
PATHS = [SMOOTH_PATH, SPIRAL_PATH, EDGE_ON_PATH]
# (size, PIL mode, suffix): square and not, RGB and greyscale, PNG and JPEG
IMAGE_KINDS = [((48, 48), "RGB", ".png"), ((40, 56), "L", ".png"), ((64, 64), "RGB", ".jpg"), ((33, 33), "L", ".jpg")]


def vote_row(path: list[str], n: int) -> dict[str, int]:
    row = {c: 0 for c in decals_dr5.label_cols}
    for col in path:
        row[col] = n
    return row


def write_image(path: Path, size: tuple[int, int], mode: str, seed: int) -> Path:
    """A blob-like galaxy (bright centre, noisy sky) so decoders see realistic content."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx - w / 2) / (w / 5)) ** 2 + ((yy - h / 2) / (h / 6)) ** 2
    base = 230 * np.exp(-r2) + rng.normal(12, 4, (h, w))
    if mode == "RGB":
        arr = np.stack([base, base * 0.8, base * 0.6], axis=-1)
    else:
        arr = base
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode).save(path)
    return path


def make_catalog_folder(folder: Path, n: int = 8, subfolders: bool = False, ring: bool = True) -> pd.DataFrame:
    """Write ``n`` images under ``folder/images`` and return their catalog (relative file_loc).

    With ``subfolders`` the layout is galaxy-datasets' ``images/<subfolder>/<filename>`` and
    the catalog has ``subfolder`` + ``filename`` columns instead of ``file_loc``.
    """
    rows = []
    for i in range(n):
        size, mode, suffix = IMAGE_KINDS[i % len(IMAGE_KINDS)]
        sub = f"{100 + i % 2}"
        name = f"gal{i:03d}{suffix}"
        rel = Path("images") / sub / name if subfolders else Path("images") / name
        write_image(folder / rel, size, mode, seed=i)
        row = {"id_str": f"gal{i:03d}"}
        if subfolders:
            row.update(subfolder=sub, filename=name)
        else:
            row["file_loc"] = rel.as_posix()
        row.update(vote_row(PATHS[i % len(PATHS)], n=5 + i))
        if ring:
            row["ring"] = int(i % 3 == 0)
        rows.append(row)
    return pd.DataFrame(rows)
