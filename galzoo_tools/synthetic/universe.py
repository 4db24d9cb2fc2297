"""A whole synthetic universe: latent morphology -> images + volunteer votes -> catalog on disk.

The catalog follows the galaxy-datasets layout (``id_str``, ``file_loc``, one integer count
column per ``decals_dr5`` answer) plus the truth only a simulation knows: the answer
probabilities (``*_true_fraction``), ``ring``, Talk-style ``tags`` and the latent
parameters (``true_*``).
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from ..jsonio import write_metrics
from ..schema import decals_dr5
from .morphology import (
    ARTIFACTS,
    EDGE_ON_BULGES,
    KINDS,
    MERGER_STATES,
    RING_TYPES,
    WINDINGS,
    Morphology,
    concat_morphology,
    sample_morphology,
)
from .surveys import get_survey, survey_names
from .render import render, use_one_thread
from .volunteers import draw_n_volunteers, simulate_votes, true_fractions

__all__ = ["simulate", "simulate_catalog", "write_universe", "make_tags", "id_prefix", "TAGS", "PNG_COMPRESS_LEVEL",
           "SIMULATOR_VERSION"]

TAGS = (
    "elliptical", "lenticular", "spiral", "bar", "ring", "edge-on", "boxy-bulge", "dust-lane",
    "merger", "tidal", "disturbed", "companion", "irregular", "clumpy", "diffuse", "lens",
    "overlapping-star", "artifact",
)  # fmt: skip
"""Every tag :func:`make_tags` can give, in the order they appear in a ``tags`` string."""

PNG_COMPRESS_LEVEL = 1
"""zlib level for written PNGs: sky noise barely compresses, so level 1 is ~2x faster than 6
and only ~10% larger (the committed sample uses 9)."""

_DEFAULT_BATCH = 64


def _check_args(n: int, size: int) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"n (number of galaxies) must be a positive integer, got {n!r}")
    if int(size) != size or not 32 <= size <= 512:
        raise ValueError(f"size must be an integer number of pixels between 32 and 512, got {size!r}")


def make_tags(m: Morphology) -> list[str]:
    """``;``-joined Talk-style tags per galaxy (empty string when none apply)."""
    star_r = np.hypot(m.star_x - m.center_x[:, None], m.star_y - m.center_y[:, None])
    overlapping = ((star_r < 2.0 * m.radius[:, None]) & (m.star_flux > 0.03)).any(1)
    flags = {
        "elliptical": m.kind == KINDS.index("elliptical"),
        "lenticular": m.kind == KINDS.index("lenticular"),
        "spiral": m.n_arms > 0,
        "bar": m.bar_strength > 0,
        "ring": m.ring_type > 0,
        "edge-on": m.edge_on,
        "boxy-bulge": m.edge_on & (m.edge_on_bulge == EDGE_ON_BULGES.index("boxy")),
        "dust-lane": m.dust_lane,
        "merger": m.merger == MERGER_STATES.index("merger"),
        "tidal": m.tidal | m.shells,
        "disturbed": m.disturbance > 0.2,
        "companion": m.companion,
        "irregular": m.irregular,
        "clumpy": m.clumpy,
        "diffuse": m.diffuse,
        "lens": m.lens,
        "overlapping-star": overlapping,
        "artifact": m.artifact > 0,
    }
    matrix = np.stack([flags[t] for t in TAGS], 1)
    names = np.array(TAGS, dtype=object)
    return [";".join(names[row]) for row in matrix]


def _truth_frame(m: Morphology) -> pd.DataFrame:
    """Latent parameters as ``true_*`` columns (categoricals as readable strings)."""
    label = lambda names, codes: np.asarray(names, dtype=object)[codes]  # noqa: E731
    return pd.DataFrame(
        {
            "true_kind": label(KINDS, m.kind),
            "true_radius": m.radius,
            "true_brightness": m.brightness,
            "true_axis_ratio": m.axis_ratio,
            "true_inclination": m.inclination,
            "true_position_angle": m.position_angle,
            "true_edge_on": m.edge_on.astype(np.int64),
            "true_edge_on_bulge": np.where(m.edge_on, label(EDGE_ON_BULGES, m.edge_on_bulge), "none"),
            "true_bulge_fraction": m.bulge_fraction,
            "true_bulge_sersic": m.bulge_sersic,
            "true_bar_strength": m.bar_strength,
            "true_n_arms": m.n_arms.astype(np.int64),
            "true_pitch_angle": m.pitch_angle,
            "true_winding": np.where(m.n_arms > 0, label(WINDINGS, m.winding), "none"),
            "true_arm_strength": m.arm_strength,
            "true_ring_type": label(RING_TYPES, m.ring_type),
            "true_ring_radius": m.ring_radius,
            "true_merger": label(MERGER_STATES, m.merger),
            "true_companion": m.companion.astype(np.int64),
            "true_tidal": (m.tidal | m.shells).astype(np.int64),
            "true_disturbance": m.disturbance,
            "true_irregular": m.irregular.astype(np.int64),
            "true_clumpy": m.clumpy.astype(np.int64),
            "true_diffuse": m.diffuse.astype(np.int64),
            "true_dust_lane": m.dust_lane.astype(np.int64),
            "true_lens": m.lens.astype(np.int64),
            "true_artifact": label(ARTIFACTS, m.artifact),
            "true_n_stars": (m.star_flux > 0).sum(1).astype(np.int64),
            "true_psf_sigma": m.psf_sigma,
            "true_survey": label(survey_names(), m.survey),
            "true_noise_level": m.noise_level,
            "true_n_sources": m.n_sources.astype(np.int64),
            "true_shells": m.shells.astype(np.int64),
            "true_ring_asymmetry": m.ring_asymmetry,
            "true_flocculence": m.flocculence,
            "true_visibility": m.visibility,
        }
    )


BLOCK = 1024
"""Galaxies are drawn in blocks of this many, each from its own seed, so galaxy i of a seed is
the same galaxy whatever the number asked for."""

SIMULATOR_VERSION = 2
"""Bumped whenever the same seed would give other galaxies (cached universes are then remade)."""


def id_prefix(seed: int, survey: str = "decals") -> str:
    """The start of every ``id_str`` of a universe: ``syn{seed}_`` (decals) or ``syn{seed}-{survey}_``."""
    return f"syn{seed}_" if survey == "decals" else f"syn{seed}-{survey}_"


MIXED = "mixed"
"""A universe of every survey preset in turn: galaxy i is seen by preset ``i % len(SURVEYS)``."""


def _block(seed: int, block: int, survey: str) -> tuple[Morphology, np.ndarray, np.ndarray, np.ndarray]:
    """Morphology, true fractions, volunteer numbers and vote counts of one block of galaxies."""
    if survey == MIXED:
        parts = [_block(seed, block, name) for name in survey_names()]
        rows = _interleave(len(parts))
        m = concat_morphology([p[0] for p in parts]).take(rows)
        return (m, *(np.concatenate([p[k] for p in parts])[rows] for k in (1, 2, 3)))  # type: ignore[return-value]
    code = survey_names().index(survey)
    morph_seq, vote_seq = np.random.SeedSequence([seed, block, code]).spawn(2)
    m = sample_morphology(BLOCK, np.random.default_rng(morph_seq), survey)
    vote_rng = np.random.default_rng(vote_seq)
    fractions = true_fractions(m, vote_rng)
    n_volunteers = draw_n_volunteers(BLOCK, vote_rng)
    counts = simulate_votes(fractions, n_volunteers, vote_rng)
    return m, fractions, n_volunteers, counts


def _interleave(k: int) -> np.ndarray:
    """Rows of ``k`` stacked blocks in the order block0[0], block1[0], ..., block0[1], ... (BLOCK of them)."""
    return (np.arange(BLOCK)[:, None] + BLOCK * np.arange(k)[None, :]).reshape(-1)[:BLOCK]


def simulate_catalog(n: int, seed: int = 0, survey: str = "decals") -> tuple[Morphology, pd.DataFrame]:
    """Latent morphology and the catalog (votes + truth) for ``n`` galaxies; no pixels yet.

    ``survey`` (``decals`` or ``sdss``, see :mod:`.surveys`, or ``mixed``: each in turn) sets
    how the sky looks. Galaxy
    ``i`` depends only on ``seed``, ``survey`` and ``i``: asking for more galaxies appends.
    """
    _check_args(n, 128)
    survey = survey if survey == MIXED else get_survey(survey).name
    blocks = [_block(seed, b, survey) for b in range(-(-n // BLOCK))]
    m = concat_morphology([b[0] for b in blocks]).take(slice(0, n))
    fractions, n_volunteers, counts = (np.concatenate([b[k] for b in blocks])[:n] for k in (1, 2, 3))
    cols = decals_dr5.label_cols
    prefix = id_prefix(seed, survey)
    parts = [
        pd.DataFrame({"id_str": [f"{prefix}{i:06d}" for i in range(n)]}),
        pd.DataFrame(counts, columns=cols),
        pd.DataFrame({"total_votes": n_volunteers.astype(np.int64)}),
        pd.DataFrame(fractions, columns=[c + "_true_fraction" for c in cols]),
        pd.DataFrame({"ring": m.ring.astype(np.int64), "tags": make_tags(m)}),
        _truth_frame(m),
    ]
    return m, pd.concat(parts, axis=1)


def _image_batches(m: Morphology, size: int, batch_size: int, progress: bool) -> Iterator[tuple[int, np.ndarray]]:
    with tqdm(total=len(m), desc="rendering galaxies", unit="gal", disable=not progress) as bar:
        for start in range(0, len(m), batch_size):
            images = render(m.take(slice(start, start + batch_size)), size)
            bar.update(len(images))
            yield start, images


def simulate(
    n: int, size: int = 128, seed: int = 0, batch_size: int = _DEFAULT_BATCH, progress: bool = False,
    survey: str = "decals",
) -> tuple[np.ndarray, pd.DataFrame]:
    """Simulate ``n`` galaxies as ``survey`` sees them: uint8 images ``(n, size, size, 3)`` and their catalog.

    The same ``seed`` gives identical images and catalog whatever ``batch_size`` is, and
    galaxy ``i`` is the same whatever ``n`` is.
    """
    _check_args(n, size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    m, catalog = simulate_catalog(n, seed, survey)
    images = np.empty((n, size, size, 3), np.uint8)
    for start, batch in _image_batches(m, size, batch_size, progress):
        images[start : start + len(batch)] = batch
    return images, catalog


def _save_png(args: tuple[Path, np.ndarray, int]) -> None:
    path, image, level = args
    Image.fromarray(image).save(path, compress_level=level)


def _render_and_save(m: Morphology, size: int, batch_size: int, paths: list[Path], level: int) -> int:
    """Render galaxies ``m`` and write them to ``paths`` (runs in a rendering process)."""
    for start in range(0, len(m), batch_size):
        for k, image in enumerate(render(m.take(slice(start, start + batch_size)), size)):
            _save_png((paths[start + k], image, level))
    return len(m)


def _write_in_processes(
    m: Morphology, paths: list[Path], size: int, batch_size: int, level: int, processes: int, progress: bool
) -> None:
    chunk = max(batch_size, 512)
    with ProcessPoolExecutor(max_workers=processes, initializer=use_one_thread) as pool, \
            tqdm(total=len(m), desc="rendering galaxies", unit="gal", disable=not progress) as bar:
        futures = [pool.submit(_render_and_save, m.take(slice(s, s + chunk)), size, batch_size, paths[s : s + chunk], level)
                   for s in range(0, len(m), chunk)]
        for future in as_completed(futures):
            bar.update(future.result())


def _write_in_threads(
    m: Morphology, paths: list[Path], size: int, batch_size: int, level: int, workers: int, progress: bool
) -> None:
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending = []
        for start, batch in _image_batches(m, size, batch_size, progress):
            jobs = [(paths[start + k], batch[k], level) for k in range(len(batch))]
            pending.append(pool.map(_save_png, jobs))
        for done in pending:
            list(done)


def write_universe(
    out_dir: str | Path,
    n: int,
    size: int = 128,
    seed: int = 0,
    progress: bool = True,
    batch_size: int = _DEFAULT_BATCH,
    compress_level: int = PNG_COMPRESS_LEVEL,
    workers: int = 2,
    processes: int = 1,
    survey: str = "decals",
) -> Path:
    """Write ``out_dir/images/{id_str}.png``, ``catalog.parquet`` and ``metrics.json``.

    Returns the catalog path. With ``processes=1`` PNGs are encoded on ``workers`` threads
    (PIL releases the GIL while compressing) while the next batch renders; with more,
    ``processes`` processes each render and write their share (for many-core machines; see
    :func:`galzoo_tools.config.worker_processes`). The images are the same either way.
    """
    _check_args(n, size)
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    t0 = time.perf_counter()
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    m, catalog = simulate_catalog(n, seed, survey)
    catalog.insert(1, "file_loc", ["images/" + i + ".png" for i in catalog["id_str"]])
    paths = [out / f for f in catalog["file_loc"]]
    if processes > 1:
        _write_in_processes(m, paths, size, batch_size, compress_level, processes, progress)
    else:
        _write_in_threads(m, paths, size, batch_size, compress_level, workers, progress)
    catalog_path = out / "catalog.parquet"
    catalog.to_parquet(catalog_path, index=False)
    seconds = time.perf_counter() - t0
    metrics = {
        "n": int(n),
        "size": int(size),
        "seed": int(seed),
        "survey": survey if survey == MIXED else get_survey(survey).name,
        "simulator_version": SIMULATOR_VERSION,
        "ring_fraction": float(catalog["ring"].mean()),
        "seconds": round(seconds, 3),
        "galaxies_per_second": round(n / seconds, 1),
        "processes": int(processes),
    }
    write_metrics(out / "metrics.json", metrics, indent=2)
    return catalog_path
