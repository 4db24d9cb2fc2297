"""Simulated Galaxy Zoo volunteers: who answers what, and how many votes each answer gets.

Two steps, both vectorised over galaxies:

1. :func:`true_fractions` turns latent morphology into, for every question, the probability
   that a volunteer *who is asked that question* picks each answer. Confusion is built in:
   faint or small galaxies (low ``visibility``) look smoother, their arms and bars are
   missed, their arm counts become "can't tell"; and every galaxy gets its own random tilt
   of the answer probabilities (volunteers disagree about borderline cases).
2. :func:`simulate_votes` walks the decision tree: a multinomial with ``N`` volunteers at
   the root, then for each later question a multinomial with ``n`` = the votes for the
   answer that leads to it. Counts therefore obey the tree exactly.
"""

from __future__ import annotations

import numpy as np

from ..schema import Schema, decals_dr5
from .morphology import KINDS, Morphology

__all__ = ["true_fractions", "expected_fractions", "simulate_votes", "draw_n_volunteers", "ASKED_OF"]

ASKED_OF: dict[str, tuple[str, ...]] = {
    "merging-dr5": ("smooth-or-featured-dr5_smooth", "smooth-or-featured-dr5_featured-or-disk"),
}
"""Questions the schema lists as roots but volunteers only see after one of these answers."""

_FLOOR = 0.004  # every answer keeps a small chance: someone always clicks it


def _soft_category(value: np.ndarray, centres: tuple[float, ...], width: np.ndarray) -> np.ndarray:
    """Probabilities (n, k) of k ordered categories, given a true value and a blur width."""
    c = np.asarray(centres)[None, :]
    logit = -0.5 * ((value[:, None] - c) / width[:, None]) ** 2
    p = np.exp(logit - logit.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _finish(p: np.ndarray, rng: np.random.Generator, tilt: float) -> np.ndarray:
    """Per-galaxy noise on the log-probabilities, a floor, and normalisation."""
    p = p * np.exp(rng.normal(0.0, tilt, p.shape))
    p = p / p.sum(1, keepdims=True)
    p = (p + _FLOOR) / (1.0 + _FLOOR * p.shape[1])
    return p


def true_fractions(m: Morphology, rng: np.random.Generator, schema: Schema = decals_dr5) -> np.ndarray:
    """Answer probabilities (n, 34) per question; each question's block sums to 1."""
    if schema.name != decals_dr5.name:
        raise ValueError(f"synthetic volunteers answer the decals_dr5 tree, not {schema.name!r}")
    n = len(m)
    v = m.visibility
    kind = m.kind
    ell, len_, spi, irr, dif = (kind == k for k in range(len(KINDS)))
    out = np.zeros((n, schema.n_answers))

    def put(question: str, p: np.ndarray) -> None:
        out[:, schema.question(question).slice] = p

    # smooth / featured / artifact
    structure = np.select(
        [ell, len_, spi, irr, dif],
        [np.full(n, 0.05), 0.25 + 0.3 * m.bar_strength, 0.45 + 0.6 * m.arm_strength, np.full(n, 0.85), np.full(n, 0.35)],
    )
    structure = np.where(m.edge_on, 0.9, structure)
    structure = structure + 0.4 * (m.ring_type > 0) + 0.3 * m.tidal + 0.3 * m.lens
    seen = np.clip(structure, 0.0, 1.2) * (0.25 + 0.75 * v)
    p_feat = _sigmoid(7.0 * (seen - 0.42))
    severity = np.select([m.artifact == 3, m.artifact == 2, m.artifact == 1], [0.55, 0.3, 0.15], 0.01)
    severity = np.where(dif & (v < 0.15), np.maximum(severity, 0.25), severity)
    root = np.stack([(1 - p_feat) * (1 - severity), p_feat * (1 - severity), severity], 1)
    put("smooth-or-featured-dr5", _finish(root, rng, 0.35))

    # edge-on: disks by inclination, thin ellipticals sometimes mistaken
    p_edge = np.where(m.is_disk, _sigmoid((m.inclination - 73.0) / 3.5), _sigmoid((0.3 - m.axis_ratio) / 0.06))
    put("disk-edge-on-dr5", _finish(np.stack([p_edge, 1 - p_edge], 1), rng, 0.3))

    # spiral arms: strength as seen
    arm_seen = (m.n_arms > 0) * m.arm_strength * (0.2 + 0.8 * v) + 0.15 * irr
    p_arms = _sigmoid(9.0 * (arm_seen - 0.2))
    put("has-spiral-arms-dr5", _finish(np.stack([p_arms, 1 - p_arms], 1), rng, 0.3))

    # bar: no / weak / strong as seen (schema order: strong, weak, no)
    bar_seen = m.bar_strength * (0.3 + 0.7 * v)
    p_bar = _soft_category(bar_seen, (0.85, 0.45, 0.0), 0.13 + 0.1 * (1 - v))
    put("bar-dr5", _finish(p_bar, rng, 0.3))

    # bulge size (dominant, large, moderate, small, none)
    p_bulge = _soft_category(m.bulge_fraction, (0.85, 0.6, 0.38, 0.18, 0.02), 0.09 + 0.08 * (1 - v))
    put("bulge-size-dr5", _finish(p_bulge, rng, 0.3))

    # roundness of smooth galaxies (round, in-between, cigar-shaped)
    p_round = _soft_category(m.axis_ratio, (0.92, 0.65, 0.3), np.full(n, 0.1))
    put("how-rounded-dr5", _finish(p_round, rng, 0.25))

    # edge-on bulge (boxy, none, rounded); codes in EDGE_ON_BULGES are none=0, rounded=1, boxy=2
    target = np.eye(3)[np.array([1, 2, 0])[m.edge_on_bulge]]
    blur = (0.35 + 0.4 * (1 - v))[:, None]
    put("edge-on-bulge-dr5", _finish((1 - blur) * target + blur / 3, rng, 0.3))

    # winding (tight, medium, loose) from the pitch angle
    p_wind = _soft_category(m.pitch_angle, (9.0, 19.0, 30.0), 4.5 + 4.0 * (1 - v))
    put("spiral-winding-dr5", _finish(p_wind, rng, 0.3))

    # arm count (1, 2, 3, 4, more-than-4, cant-tell)
    count = np.clip(m.n_arms, 1, 5).astype(float)
    p_count = _soft_category(count, (1, 2, 3, 4, 5), 0.3 + 0.4 * (1 - v) + 0.06 * count)
    cant = np.clip(0.06 + 0.5 * (1 - v) + 0.05 * count, 0, 0.8)[:, None]
    put("spiral-arm-count-dr5", _finish(np.concatenate([(1 - cant) * p_count, cant], 1), rng, 0.3))

    # merging (none, minor-disturbance, major-disturbance, merger)
    state = m.merger.astype(float) + 0.6 * (m.companion & (m.merger == 0)) + 0.3 * irr
    p_merge = _soft_category(state * (0.4 + 0.6 * v), (0.0, 1.0, 2.0, 3.0), np.full(n, 0.4))
    put("merging-dr5", _finish(p_merge, rng, 0.3))
    return out


def expected_fractions(m: Morphology, draws: int = 200, seed: int = 0, schema: Schema = decals_dr5) -> np.ndarray:
    """:func:`true_fractions` averaged over the per-galaxy tilt: what the morphology alone decides.

    Each galaxy's true fractions carry a random tilt of their own (borderline disagreement)
    that nothing in its image shows. Averaging ``draws`` tilts away gives the fractions that a
    model recovering every morphological parameter from the pixels would predict: a floor a
    model could reach, which the oracle (the tilted truth) is not.
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    rng = np.random.default_rng(seed)
    total = np.zeros((len(m), schema.n_answers))
    for _ in range(draws):
        total += true_fractions(m, rng, schema)
    return total / draws


def draw_n_volunteers(n: int, rng: np.random.Generator) -> np.ndarray:
    """Volunteers per galaxy as in GZ DECaLS: ~60% near 5, ~40% near 40."""
    few = rng.choice([3, 4, 5, 6, 7, 8], size=n, p=[0.05, 0.15, 0.5, 0.15, 0.1, 0.05])
    many = np.clip(np.round(rng.normal(40.0, 5.0, n)), 25, 60).astype(np.int64)
    return np.where(rng.random(n) < 0.6, few, many)


def simulate_votes(
    fractions: np.ndarray,
    n_volunteers: np.ndarray,
    rng: np.random.Generator,
    schema: Schema = decals_dr5,
) -> np.ndarray:
    """Integer vote counts (n, n_answers): volunteers walk the tree answering by ``fractions``."""
    counts = np.zeros(fractions.shape, dtype=np.int64)
    order = schema.depth_order()
    order = [q for q in order if q.name not in ASKED_OF] + [q for q in order if q.name in ASKED_OF]
    for q in order:
        if q.name in ASKED_OF:
            asked = sum(counts[:, schema.answer(c).index] for c in ASKED_OF[q.name])
        elif q.asked_after is None:
            asked = np.asarray(n_volunteers, dtype=np.int64)
        else:
            asked = counts[:, schema.answer(q.asked_after).index]
        p = fractions[:, q.slice]
        counts[:, q.slice] = rng.multinomial(asked, p / p.sum(1, keepdims=True))
    return counts
