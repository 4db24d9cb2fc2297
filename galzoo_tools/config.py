"""One place for the choices every notebook makes: scale, device, seeds, paths, threads.

``GALZOO_SCALE`` (``tiny`` | ``small`` | ``full``) picks a preset; tests set ``tiny`` so every
notebook runs in well under a minute on two CPU cores.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

__all__ = [
    "Scale",
    "SCALES",
    "get_scale",
    "get_device",
    "seed_everything",
    "cpu_cores",
    "worker_processes",
    "repo_root",
    "data_dir",
    "cache_dir",
    "catalog_path",
    "set_cpu_threads",
    "default_file_mode",
]


@dataclass(frozen=True)
class Scale:
    """How big a run is: number of galaxies, image size, epochs and batch size."""

    name: str
    n_galaxies: int
    image_size: int
    epochs: int
    batch_size: int
    description: str

    def with_(self, **changes: object) -> "Scale":
        """A copy with some fields changed, e.g. ``scale.with_(epochs=3)``."""
        return replace(self, **changes)  # type: ignore[arg-type]


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", n_galaxies=256, image_size=64, epochs=1, batch_size=32,
                  description="CI and tests: seconds on two CPU cores"),
    "small": Scale("small", n_galaxies=2000, image_size=128, epochs=5, batch_size=64,
                   description="a laptop CPU: a real result in minutes"),
    "full": Scale("full", n_galaxies=250_000, image_size=224, epochs=100, batch_size=256,
                  description="a GPU and real GZ DECaLS data, as in the paper"),
}


def get_scale(scale: str | Scale | None = None) -> Scale:
    """The preset named by ``scale``, else by ``$GALZOO_SCALE``, else ``small``."""
    if isinstance(scale, Scale):
        return scale
    name = scale or os.environ.get("GALZOO_SCALE", "small")
    try:
        return SCALES[name.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown scale {name!r} (from the scale argument or $GALZOO_SCALE); "
            f"use one of {sorted(SCALES)}"
        ) from None


def get_device(prefer: str | None = None):
    """CUDA if available, else Apple MPS, else CPU (``prefer`` or ``$GALZOO_DEVICE`` overrides).

    A device asked for that this machine lacks (``cuda`` without a CUDA GPU, ``cuda:3`` with two
    GPUs, ``mps`` off a Mac) is a ``ValueError`` saying so, not a failure deep inside torch.
    """
    import torch

    wanted = prefer or os.environ.get("GALZOO_DEVICE")
    if wanted:
        return _usable_device(wanted, "the device argument" if prefer else "GALZOO_DEVICE")
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _usable_device(wanted: str, where: str):
    import torch

    fix = "unset GALZOO_DEVICE (the best device is then chosen) or set it to cpu" if where == "GALZOO_DEVICE" \
        else "pick one this machine has, e.g. cpu"
    try:
        device = torch.device(wanted)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"{where}={wanted!r} is not a device torch knows (e.g. cpu, cuda, cuda:1, mps); "
                         f"{fix}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "built without CUDA"
            raise ValueError(f"{where}={wanted!r} but this machine has no usable CUDA GPU (torch {torch.__version__}, "
                             f"{build}); {fix}")
        if device.index is not None and device.index >= count:
            raise ValueError(f"{where}={wanted!r} but this machine has {count} CUDA GPU(s) "
                             f"(cuda:0 to cuda:{count - 1}); {fix}")
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"{where}={wanted!r} but Apple's MPS is not available here; {fix}")
    return device


def seed_everything(seed: int = 42) -> np.random.Generator:
    """Seed Python, NumPy and torch; returns a NumPy Generator for code that wants one."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return np.random.default_rng(seed)


def cpu_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def worker_processes() -> int:
    """Processes worth starting for CPU-bound work (rendering, decoding): every core on machines
    with 4 or more, else 1 (on one or two cores, threads are as fast and start nothing)."""
    cores = cpu_cores()
    return cores if cores >= 4 else 1


def set_cpu_threads(n: int | None = None) -> int:
    """Use ``n`` torch threads (default: all cores, at most 8); returns the number set."""
    import torch

    n = n or min(os.cpu_count() or 1, 8)
    torch.set_num_threads(n)
    return n


def default_file_mode() -> int:
    """The mode ``open()`` gives a new file: ``0o666`` less the process's umask (``0o644`` usually).

    For files written by libraries that make them private (``tempfile.mkstemp``, safetensors):
    ``os.chmod(path, default_file_mode())`` makes them as readable as the rest of a run.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def repo_root() -> Path:
    """The folder holding ``galzoo_tools``: the repository root for an editable install, but
    ``site-packages`` for an installed one, so nothing the package needs is looked up here."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The data shipped inside the package, ``galzoo_tools/data`` (``$GALZOO_DATA`` overrides).

    It holds the reference model and the 400-galaxy synthetic sample, so they are there after
    ``pip install .`` or a wheel as well as in a checkout.
    """
    configured = os.environ.get("GALZOO_DATA")
    return Path(configured).expanduser() if configured else Path(__file__).resolve().parent / "data"


def cache_dir() -> Path:
    """Where downloads and generated universes go (``$GALZOO_CACHE``, default ``~/.cache/galzoo``).

    Created if needed; a path that cannot be created or written is a ``ValueError`` saying how to fix it.
    """
    configured = os.environ.get("GALZOO_CACHE")
    path = Path(configured).expanduser() if configured else Path.home() / ".cache" / "galzoo"
    where = f"GALZOO_CACHE={configured}" if configured else f"the cache folder {path} (set GALZOO_CACHE to move it)"
    fix = "point GALZOO_CACHE at a folder you can write to"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{where} cannot be used: {err.strerror or err}; {fix}") from err
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{where} cannot be used: it is not writable; {fix}")
    return path


def catalog_path() -> Path:
    """The catalog notebooks start from: ``$GALZOO_CATALOG``, else the synthetic sample shipped in the package."""
    return Path(os.environ.get("GALZOO_CATALOG", data_dir() / "synthetic_sample" / "catalog.parquet"))
