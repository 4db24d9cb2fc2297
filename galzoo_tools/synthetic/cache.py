"""The universe cache: simulate a synthetic universe once, reuse it in every later run.

Pretraining, the notebooks and the benchmarks ask for "``n`` galaxies at ``size`` px, seed
``seed``, as ``survey`` sees them"; :func:`cached_universe` writes them the first time (with
:func:`~galzoo_tools.synthetic.write_universe`) and returns the same folder's catalog after.
A pretrained model records its universe as :func:`universe_description`, which
:func:`trained_universe` reads back, so its galaxies can be simulated again.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

__all__ = ["cached_universe", "universe_folder", "universe_description", "trained_universe"]


def universe_folder(n: int, size: int, seed: int = 0, survey: str = "decals") -> Path:
    """Where pretraining caches this universe: ``cache_dir()/universes/n{n}_size{size}_seed{seed}_{survey}``."""
    from ..config import cache_dir

    return cache_dir() / "universes" / f"n{n}_size{size}_seed{seed}_{survey}"


def cached_universe(folder: str | os.PathLike, n: int, size: int, seed: int = 0, progress: bool = True,
                    survey: str = "decals") -> Path:
    """The catalog of ``n`` galaxies as ``survey`` sees them, simulated into ``folder`` once; later calls reuse them.

    A folder made with other settings, or by an older simulator, is simulated again.
    """
    from ..config import worker_processes
    from .universe import SIMULATOR_VERSION, write_universe

    folder = Path(folder)
    catalog = folder / "catalog.parquet"
    metrics = folder / "metrics.json"
    if catalog.exists() and metrics.exists():
        made = json.loads(metrics.read_text())
        wanted = (n, size, seed, survey, SIMULATOR_VERSION)
        if tuple(made.get(k) for k in ("n", "size", "seed", "survey", "simulator_version")) == wanted:
            return catalog
    return write_universe(folder, n=n, size=size, seed=seed, progress=progress, processes=worker_processes(),
                          survey=survey)


def universe_description(n: int, size: int, seed: int = 0, survey: str = "decals") -> str:
    """How a model's ``trained_on`` names a universe: the command that simulates it again."""
    return f"synthetic universe: galzoo simulate --n {n} --size {size} --seed {seed} --survey {survey}"


def trained_universe(config: dict[str, Any], where: str | os.PathLike = "the model's config") -> tuple[int, int, int, str]:
    """``(n, size, seed, survey)`` of the synthetic universe a model was trained on, from its ``trained_on``."""
    made = re.search(r"--n (\d+) --size (\d+) --seed (\d+)(?: --survey ([\w-]+))?", config.get("trained_on", ""))
    if made is None:
        raise ValueError(f"{where}: 'trained_on' names no simulated universe, so its galaxies cannot be simulated again")
    n, size, seed = (int(g) for g in made.groups()[:3])
    return n, size, seed, made.group(4) or "decals"
