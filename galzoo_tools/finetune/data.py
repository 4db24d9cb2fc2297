"""Labels for fine-tuning: checking a label column, drawing a labelled budget, a balanced ring set.

A *budget* of N labels is drawn stratified (class shares as in the catalog, at least one
galaxy per class), so 8 labels from a balanced ring set are 4 rings and 4 non-rings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .model import Task

__all__ = [
    "infer_task",
    "encode_labels",
    "stratified_sample",
    "split_labelled",
    "labels_needed_per_class",
    "check_class_counts",
    "balanced_ring_set",
]


def infer_task(labels: pd.Series, task: str = "auto") -> Task:
    """``binary`` for two values, ``multiclass`` for a few integer or text values, else ``regression``."""
    if task != "auto":
        if task not in ("binary", "multiclass", "regression"):
            raise ValueError(f"task must be auto, binary, multiclass or regression, not {task!r}")
        return task  # type: ignore[return-value]
    values = labels.dropna().unique()
    if len(values) == 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(labels)
    whole = numeric and np.allclose(values.astype(float), np.round(values.astype(float)))
    if not numeric or (whole and len(values) <= 20):
        return "multiclass"
    return "regression"


def encode_labels(labels: pd.Series, task: Task, classes: list | None = None) -> tuple[np.ndarray, list | None]:
    """Class indices (int64) and the sorted class values; regression: float32 values and None.

    Raises ``ValueError`` naming the rows with a missing label, or a value outside ``classes``.
    """
    name = labels.name or "label"
    missing = labels.isna()
    if missing.any():
        rows = labels.index[missing].tolist()
        raise ValueError(f"label column {name!r} is empty in {missing.sum()} row(s), e.g. {rows[:5]}; "
                         "drop those rows or fill them in")
    if task == "regression":
        return labels.to_numpy(np.float32), None
    if classes is None:
        classes = [v.item() if hasattr(v, "item") else v for v in sorted(labels.unique())]
    if task == "binary" and len(classes) != 2:
        raise ValueError(f"label column {name!r} has {len(classes)} distinct values {classes[:6]}; a binary "
                         "task needs exactly 2 (e.g. 0/1). Use --task multiclass or fix the column.")
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = ~labels.isin(list(lookup))
    if unknown.any():
        raise ValueError(f"label column {name!r} has values {labels[unknown].unique()[:5].tolist()} "
                         f"outside the classes {classes}")
    return labels.map(lookup).to_numpy(np.int64), classes


def stratified_sample(labels: np.ndarray, n: int, seed: int = 0, stratify: bool = True) -> np.ndarray:
    """Positions of ``n`` rows drawn without replacement, class shares as in ``labels``.

    Every class gets at least one row when ``n`` allows it; ``stratify=False`` (regression)
    draws uniformly.
    """
    labels = np.asarray(labels)
    if not 1 <= n <= len(labels):
        raise ValueError(f"cannot draw {n} labelled galaxies from a catalog of {len(labels)}")
    rng = np.random.default_rng(seed)
    if not stratify:
        return np.sort(rng.choice(len(labels), n, replace=False))
    classes, counts = np.unique(labels, return_counts=True)
    share = counts / counts.sum() * n
    take = np.maximum(np.floor(share).astype(int), 1 if n >= len(classes) else 0)
    take = np.minimum(take, counts)
    while take.sum() < n:  # hand out the remainder to the classes furthest below their share
        room = np.where(take < counts, share - take, -np.inf)
        take[int(np.argmax(room))] += 1
    while take.sum() > n:
        take[int(np.argmax(np.where(take > 1, take - share, -np.inf)))] -= 1
    chosen = [rng.choice(np.flatnonzero(labels == c), k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen))


def split_labelled(labels: np.ndarray, val_fraction: float = 0.2, seed: int = 0,
                   stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation positions within a labelled set (validation stratified, ≥ 1 per class
    when every class has at least 2 galaxies, so early stopping sees both)."""
    labels = np.asarray(labels)
    if len(labels) < 2:
        raise ValueError("need at least 2 labelled galaxies to split off a validation set")
    n_val = int(round(len(labels) * val_fraction))
    if stratify:
        n_val = max(n_val, len(np.unique(labels)))
        if np.unique(labels, return_counts=True)[1].min() < 2:
            stratify = False
    n_val = min(max(n_val, 1), len(labels) - 1)
    val = stratified_sample(labels, n_val, seed + 7919, stratify)
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def labels_needed_per_class(mode: str) -> int:
    """Labelled galaxies every class needs: 1 for the linear probe; 2 for ``partial``/``full``
    (one to fit, one in the validation split that early stopping watches)."""
    return 1 if mode == "linear" else 2


def check_class_counts(y: np.ndarray, classes: list, mode: str, population: np.ndarray | None = None,
                       label: str = "label") -> None:
    """Refuse a labelled draw (class indices ``y``) a classifier cannot be fine-tuned on.

    Every one of ``classes`` needs :func:`labels_needed_per_class` labels: a draw of one class
    would give a model that has never seen the other (and with a validation split, the fitting
    part may lose a class's only galaxy). Raises ``ValueError`` with the counts and, given the
    catalog's classes ``population``, a ``--train-size`` that would give every class enough.
    """
    need = labels_needed_per_class(mode)
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(classes))
    if len(classes) >= 2 and counts.min() >= need:
        return
    have = ", ".join(f"{c}: {k}" for c, k in zip(classes, counts))
    why = " (one to fit, one to validate for early stopping)" if need > 1 else ""
    message = (f"{mode} fine-tuning needs at least {need} label{'s' if need > 1 else ''} per class{why}, but the "
               f"{len(y)} drawn labels of {label!r} have {have}")
    if population is not None and len(classes) >= 2:
        shares = np.bincount(np.asarray(population, dtype=np.int64), minlength=len(classes)) / len(population)
        if shares.min() > 0:
            enough = max(need * len(classes), int(np.ceil(need / shares.min())))
            message += (f"; draw more labels: with these class shares --train-size {enough} or more gives every "
                        f"class {need}")
    else:
        message += "; draw more labels (a larger --train-size)"
    raise ValueError(message)


def balanced_ring_set(out_dir: str | os.PathLike, n_per_class: int = 300, size: int = 128,
                      seed: int = 7, progress: bool = True) -> Path:
    """A balanced synthetic ring set on disk: ``n_per_class`` rings and as many non-rings.

    Draws the latent catalog of a universe big enough to hold that many rings (rings are ~8 %
    of galaxies; cheap), keeps all the rings it needs plus a random equal number of non-rings,
    and renders only those. Writes ``images/*.png`` and ``catalog.parquet`` (the universe's
    columns, ``ring`` = 0/1) once; later calls with the same arguments reuse them. Use a seed
    other than the pretraining universe's (0) so no test galaxy was seen in pretraining.
    """
    from PIL import Image
    from tqdm.auto import tqdm

    from ..synthetic import render, simulate_catalog

    out = Path(out_dir)
    catalog_path, stamp = out / "catalog.parquet", out / "metrics.json"
    wanted = {"n_per_class": int(n_per_class), "size": int(size), "seed": int(seed)}
    if catalog_path.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return catalog_path
    n_universe = int(n_per_class / 0.06) + 200
    morphology, catalog = simulate_catalog(n_universe, seed)
    rng = np.random.default_rng(seed)
    rings, others = np.flatnonzero(catalog["ring"] == 1), np.flatnonzero(catalog["ring"] == 0)
    if len(rings) < n_per_class:
        raise RuntimeError(f"only {len(rings)} rings among {n_universe} galaxies; ask for fewer")
    rows = np.sort(np.concatenate([rng.choice(rings, n_per_class, replace=False),
                                   rng.choice(others, n_per_class, replace=False)]))
    chosen = catalog.iloc[rows].reset_index(drop=True)
    chosen.insert(1, "file_loc", ["images/" + i + ".png" for i in chosen["id_str"]])
    (out / "images").mkdir(parents=True, exist_ok=True)
    with tqdm(total=len(rows), desc="rendering ring set", unit="gal", disable=not progress) as bar:
        for start in range(0, len(rows), 128):
            batch = rows[start:start + 128]
            for k, image in enumerate(render(morphology.take(batch), size)):
                Image.fromarray(image).save(out / chosen["file_loc"].iloc[start + k], compress_level=1)
            bar.update(len(batch))
    chosen.to_parquet(catalog_path, index=False)
    stamp.write_text(json.dumps(wanted))
    return catalog_path
