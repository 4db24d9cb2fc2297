"""Latent morphology of synthetic galaxies: what each galaxy *is*, before pixels or votes.

Everything random about a galaxy (its kind, shape, arms, rings, companions, artefacts, and
the nuisance draws a renderer needs, such as clump positions and the noise seed) is drawn
here, for the whole catalog at once, from one NumPy Generator. Rendering and voting are then
pure functions of these arrays, which is what makes a universe reproducible and independent
of the batch size used to render it.

Lengths are in *frame units*: the image spans [-0.5, 0.5] in x and y, so a galaxy looks the
same at 64 and at 256 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from .surveys import Survey, get_survey, survey_names

__all__ = [
    "Morphology",
    "sample_morphology",
    "KINDS",
    "EDGE_ON_BULGES",
    "WINDINGS",
    "RING_TYPES",
    "MERGER_STATES",
    "ARTIFACTS",
    "MAX_CLUMPS",
    "MAX_STARS",
    "MAX_SOURCES",
    "concat_morphology",
    "feature_visibility",
]

KINDS = ("elliptical", "lenticular", "spiral", "irregular", "diffuse")
"""Galaxy kinds; a disk of kind lenticular or spiral seen at high inclination is edge-on."""
EDGE_ON_BULGES = ("none", "rounded", "boxy")
WINDINGS = ("tight", "medium", "loose")
RING_TYPES = ("none", "inner", "outer")
MERGER_STATES = ("none", "minor-disturbance", "major-disturbance", "merger")
ARTIFACTS = ("none", "satellite-trail", "bad-pixels", "saturated-star", "edge-gap")

MAX_CLUMPS = 12
"""Star-forming clumps per galaxy (slots; unused ones have zero flux)."""
MAX_STARS = 3
"""Notable foreground stars per image (slots; unused ones have zero flux)."""
MAX_SOURCES = 96
"""Most faint stars and background galaxies drawn around one galaxy."""

_KIND_RATES = (0.36, 0.12, 0.37, 0.09, 0.06)
_EDGE_ON_INCLINATION = 75.0
_PITCH_EDGES = (14.0, 24.0)  # degrees: tight < 14 <= medium < 24 <= loose


@dataclass(frozen=True)
class Morphology:
    """Per-galaxy latent parameters, one array of length ``n`` per field.

    Categorical fields hold integer codes into the tuples of the same name in this module
    (``kind`` into ``KINDS``, ``ring_type`` into ``RING_TYPES``, ...). Use :meth:`take` to
    select galaxies and :func:`dataclasses.replace` to change a field (e.g. switch rings off).
    """

    kind: np.ndarray  # int, KINDS
    radius: np.ndarray  # half-light radius, frame units
    brightness: np.ndarray  # total flux in units of sky noise x frame area
    center_x: np.ndarray
    center_y: np.ndarray
    position_angle: np.ndarray  # radians
    axis_ratio: np.ndarray  # apparent b/a of the main body
    inclination: np.ndarray  # degrees (0 face-on); 0 for non-disks
    edge_on: np.ndarray  # bool
    edge_on_bulge: np.ndarray  # int, EDGE_ON_BULGES
    bulge_fraction: np.ndarray  # share of light in the bulge
    bulge_sersic: np.ndarray  # Sersic index of the bulge / elliptical
    bar_strength: np.ndarray  # 0 none, ~0.4 weak, ~0.8 strong
    bar_length: np.ndarray  # bar half-length, frame units
    bar_angle: np.ndarray  # radians, in the disk plane
    n_arms: np.ndarray  # 0..6
    pitch_angle: np.ndarray  # degrees
    winding: np.ndarray  # int, WINDINGS (meaningful when n_arms > 0)
    arm_strength: np.ndarray  # 0..1 share of disk light in the arms
    arm_phase: np.ndarray  # radians
    arm_asymmetry: np.ndarray  # 0..1: one side's arms brighter than the other's
    flocculence: np.ndarray  # 0..1: arms broken into patches rather than smooth waves
    ring_type: np.ndarray  # int, RING_TYPES
    ring_radius: np.ndarray  # frame units
    ring_strength: np.ndarray  # share of disk light in the ring
    ring_asymmetry: np.ndarray  # 0..1: 1 fades the ring out on one side (a partial ring)
    merger: np.ndarray  # int, MERGER_STATES
    companion: np.ndarray  # bool: a second galaxy in the frame
    companion_dx: np.ndarray
    companion_dy: np.ndarray
    companion_flux: np.ndarray  # relative to the main galaxy
    companion_radius: np.ndarray
    tidal: np.ndarray  # bool: streams / tails
    tidal_strength: np.ndarray
    tidal_angle: np.ndarray  # radians: orientation of the tails
    tidal_curvature: np.ndarray  # signed: which way the tails bend
    disturbance: np.ndarray  # 0..1 lopsided distortion of the main body
    shells: np.ndarray  # bool: faint concentric shells, the remains of a merger
    shell_strength: np.ndarray  # share of the galaxy's flux in its shells
    irregular: np.ndarray  # bool
    clumpy: np.ndarray  # bool
    clump_r: np.ndarray  # (n, MAX_CLUMPS) radius of each clump in units of radius
    clump_theta: np.ndarray  # (n, MAX_CLUMPS) radians
    clump_flux: np.ndarray  # (n, MAX_CLUMPS) share of total flux (0 = unused slot)
    diffuse: np.ndarray  # bool: low surface brightness
    dust_lane: np.ndarray  # bool
    dust_strength: np.ndarray  # optical depth in g at the lane centre
    lens: np.ndarray  # bool: a strongly lensed blue arc
    lens_radius: np.ndarray  # Einstein radius, frame units
    lens_angle: np.ndarray  # radians, centre of the main arc
    artifact: np.ndarray  # int, ARTIFACTS
    artifact_angle: np.ndarray  # radians (trail direction)
    artifact_offset: np.ndarray  # frame units (trail offset / star or column position)
    artifact_channel: np.ndarray  # which colour channel a trail or bad column hits
    star_x: np.ndarray  # (n, MAX_STARS) frame units
    star_y: np.ndarray  # (n, MAX_STARS)
    star_flux: np.ndarray  # (n, MAX_STARS) (0 = no star)
    star_color: np.ndarray  # (n, MAX_STARS) 0 blue .. 1 red
    psf_sigma: np.ndarray  # PSF FWHM / 2.355 (Gaussian-equivalent width), frame units
    survey: np.ndarray  # int, index into surveys.SURVEYS: whose look the image has
    noise_level: np.ndarray  # sky noise after the colour stretch, 0-255 (depth)
    sky_level: np.ndarray  # (n, 3) sky left by the colour stretch, 0-255 per channel
    colour_tint: np.ndarray  # (n, 3) per-galaxy multiplicative colour scatter
    n_sources: np.ndarray  # faint stars + background galaxies in the field
    noise_seed: np.ndarray  # uint32 per galaxy, for the pixel noise
    field_seed: np.ndarray  # uint32 per galaxy, for the faint sources around it
    visibility: np.ndarray  # 0..1 how easily a volunteer sees faint features

    def __len__(self) -> int:
        return len(self.kind)

    def take(self, index: np.ndarray | slice) -> "Morphology":
        """The galaxies at ``index`` (an index array, boolean mask or slice)."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def is_disk(self) -> np.ndarray:
        return np.isin(self.kind, (KINDS.index("lenticular"), KINDS.index("spiral")))

    @property
    def ring(self) -> np.ndarray:
        return self.ring_type > 0


def _choice(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> np.ndarray:
    return rng.choice(len(p), size=n, p=np.asarray(p) / np.sum(p))


def feature_visibility(
    brightness: np.ndarray, radius: np.ndarray, psf_sigma: np.ndarray, artifact: np.ndarray
) -> np.ndarray:
    """How easily a volunteer sees a galaxy's faint features in its image, 0..1.

    Big galaxies of high surface brightness (signal-to-noise), well resolved by the seeing,
    are easy; small, faint ones blurred by the PSF hide their bars and arms, and a saturated
    star beside the galaxy distracts. Volunteers' answers (:mod:`.volunteers`) depend on it,
    so a faint bar in a noisy or blurred image gets fewer "bar" votes.
    """
    surface_brightness = brightness / (2 * np.pi * radius**2)
    visibility = 1 / (1 + np.exp(-np.log(surface_brightness / 30.0) / 0.7))
    visibility *= np.clip((radius - 0.015) / 0.055, 0.0, 1.0) ** 0.7
    visibility *= np.clip((radius / psf_sigma - 1.5) / 5.0, 0.0, 1.0) ** 0.5
    return visibility * np.where(artifact == ARTIFACTS.index("saturated-star"), 0.5, 1.0)


def concat_morphology(parts: list[Morphology]) -> Morphology:
    """One :class:`Morphology` holding the galaxies of ``parts`` in order."""
    return Morphology(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Morphology)})


def _apparent_size(n: int, rng: np.random.Generator, survey: Survey) -> tuple[np.ndarray, np.ndarray]:
    """Half-light radius (frame units) and cut-out width (arcsec) of galaxies cut out as ``survey`` does."""
    r50 = np.exp(rng.normal(np.log(survey.r50_median), survey.r50_scatter, n))  # arcsec
    field = np.maximum(survey.cutout_per_r50 * r50, survey.cutout_floor)
    # the cut-out is scaled on the Petrosian radius, which misses part of the light: the model's
    # half-light radius scatters around it
    radius = 1.45 * r50 / field * np.exp(rng.normal(0.0, 0.15, n))
    return radius, field


def sample_morphology(n: int, rng: np.random.Generator, survey: str | Survey = "decals") -> Morphology:
    """Draw ``n`` galaxies' latent morphology at realistic rates, as seen by ``survey``.

    Rates (approximate): 36% ellipticals, 12% lenticulars, 37% spirals, 9% irregular, 6%
    diffuse; about a quarter of disks are edge-on (isotropic inclinations); rings ~6%
    overall (some partial or faint), bars ~35% of face-on disks, mergers/disturbances ~10%
    (some with shells), lenses ~0.4%, artefacts ~6%. The survey sets the apparent size,
    seeing, depth, sky, colours and crowding (:mod:`.surveys`).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    sv = get_survey(survey)
    u = lambda lo, hi, size=n: rng.uniform(lo, hi, size)  # noqa: E731
    kind = _choice(rng, n, _KIND_RATES)
    ell, len_, spi, irr, dif = (kind == k for k in range(len(KINDS)))
    disk = len_ | spi

    radius, field = _apparent_size(n, rng, sv)
    radius = radius * np.where(ell, 0.95, 1.0) * np.where(dif, 1.45, 1.0)
    radius = np.clip(radius, 0.025, 0.17)
    seeing = np.exp(rng.normal(np.log(sv.seeing_median), sv.seeing_scatter, n))
    psf_sigma = seeing / field / 2.3548
    noise_level = sv.noise_median * np.exp(rng.normal(0.0, sv.noise_scatter, n))
    # the same galaxy has a lower signal-to-noise in a shallower (noisier) image
    depth = np.sqrt(sv.noise_median / noise_level)
    brightness = np.exp(rng.normal(np.log(3.0), sv.brightness_scatter, n)) * (radius / 0.075) ** 1.2 * depth
    brightness = np.where(dif, brightness * 0.18, brightness)
    brightness = np.where(irr, brightness * 0.6, brightness)
    sky_level = np.asarray(sv.sky_level)[None, :] + rng.normal(0.0, sv.sky_scatter, (n, 1)) \
        + rng.normal(0.0, 0.25 * sv.sky_scatter, (n, 3))
    # galaxies scatter redder or bluer, never greener: one number moves R up and B down together
    colour_tint = np.exp(rng.normal(0.0, sv.colour_jitter, n)[:, None] * np.array([1.0, 0.0, -1.0]))
    density = sv.sources_per_field * (field / 60.0) ** 2 * np.exp(rng.normal(0.0, sv.sources_scatter, n))
    n_sources = np.minimum(rng.poisson(density), MAX_SOURCES)

    cos_i = u(0.0, 1.0)
    inclination = np.where(disk, np.degrees(np.arccos(cos_i)), 0.0)
    edge_on = disk & (inclination > _EDGE_ON_INCLINATION)
    disk_q = np.clip(np.cos(np.radians(inclination)), 0.09 + 0.05 * rng.random(n), 1.0)
    ell_q = np.clip(rng.beta(5.0, 2.0, n), 0.3, 1.0)
    axis_ratio = np.select([disk, irr], [disk_q, u(0.4, 0.9)], ell_q)

    bulge_fraction = np.select(
        [ell, len_, spi, irr, dif],
        [np.ones(n), u(0.45, 0.85), rng.beta(2.0, 4.0, n) * 0.8, u(0.0, 0.08), u(0.0, 0.1)],
    )
    bulge_sersic = np.where(ell, u(2.5, 5.0), u(1.5, 3.5))
    edge_on_bulge = np.where(edge_on, _choice(rng, n, (0.3, 0.5, 0.2)), 0)
    bulge_fraction = np.where(edge_on & (edge_on_bulge == 0), 0.03, bulge_fraction)

    face_disk = disk & ~edge_on
    barred = face_disk & (rng.random(n) < 0.38)
    bar_strength = np.where(barred, np.where(rng.random(n) < 0.4, u(0.65, 1.0), u(0.25, 0.6)), 0.0)
    bar_length = radius * u(0.6, 1.1)
    n_arms = np.where(
        spi & ~edge_on, 1 + _choice(rng, n, (0.07, 0.45, 0.2, 0.14, 0.08, 0.06)), 0
    )
    n_arms = np.where(len_ & ~edge_on & (rng.random(n) < 0.12), 2, n_arms)
    pitch_angle = np.where(n_arms > 0, u(7.0, 36.0), 0.0)
    winding = np.digitize(pitch_angle, _PITCH_EDGES)
    arm_strength = np.where(n_arms > 0, np.where(spi, u(0.35, 0.85), u(0.1, 0.25)), 0.0)
    # many real spirals are flocculent (patchy arms) and lopsided rather than grand-design
    flocculence = np.where(n_arms > 0, rng.beta(1.2, 1.8, n), 0.0)
    arm_asymmetry = np.where(n_arms > 0, u(0.0, 0.6), 0.0)

    ringed = face_disk & (rng.random(n) < 0.21)
    ring_type = np.where(ringed, np.where(rng.random(n) < 0.55, 1, 2), 0)
    ring_radius = np.where(
        ring_type == 1, bar_length * u(1.0, 1.3), np.where(ring_type == 2, radius * u(1.7, 2.3), 0.0)
    )
    ring_strength = np.where(ringed, u(0.12, 0.5), 0.0)
    ring_asymmetry = np.where(ringed, np.where(rng.random(n) < 0.3, u(0.6, 1.0), u(0.0, 0.4)), 0.0)
    arm_strength = np.where(ringed, 0.5 * arm_strength, arm_strength)

    merger = _choice(rng, n, (0.895, 0.05, 0.025, 0.03))
    companion = (merger == 3) | ((merger == 0) & (rng.random(n) < 0.04))
    close = merger == 3
    comp_dist = np.where(close, u(0.09, 0.17), u(0.2, 0.35))
    comp_pa = u(0.0, 2 * np.pi)
    tidal = merger >= 1
    tidal_strength = np.select([merger == 1, merger == 2, merger == 3], [u(0.08, 0.15), u(0.15, 0.3), u(0.15, 0.3)], 0.0)
    disturbance = np.select([merger == 1, merger == 2, merger == 3], [u(0.05, 0.15), u(0.25, 0.5), u(0.15, 0.35)], 0.0)
    # shells: old ellipticals that swallowed a companion show faint arcs instead of tails
    shells = ell & (merger >= 1) & (rng.random(n) < 0.6)
    tidal = tidal & ~(shells & (merger == 1))

    clumpy = (irr & (rng.random(n) < 0.8)) | (spi & (rng.random(n) < 0.12))
    k = np.arange(MAX_CLUMPS)
    n_clumps = np.select([irr, spi], [rng.integers(4, MAX_CLUMPS + 1, n), rng.integers(3, MAX_CLUMPS + 1, n)], 0)
    n_clumps = np.where(clumpy | spi, n_clumps, 0)
    slot_used = k[None, :] < n_clumps[:, None]
    clump_share = np.where(clumpy, np.where(irr, 0.55, 0.25), 0.08)
    w = rng.exponential(1.0, (n, MAX_CLUMPS)) * slot_used
    clump_flux = clump_share[:, None] * w / np.maximum(w.sum(1, keepdims=True), 1e-9)
    clump_r = rng.uniform(0.15, 1.8, (n, MAX_CLUMPS))
    clump_theta = rng.uniform(0.0, 2 * np.pi, (n, MAX_CLUMPS))

    dust_lane = edge_on & (rng.random(n) < 0.55)
    lens = ell & (rng.random(n) < 0.011)

    artifact = _choice(rng, n, (0.94, 0.025, 0.012, 0.013, 0.01))
    n_stars = _choice(rng, n, (0.45, 0.33, 0.15, 0.07))
    s = np.arange(MAX_STARS)
    star_flux = np.exp(rng.normal(np.log(0.03), 1.3, (n, MAX_STARS))) * (s[None, :] < n_stars[:, None])

    visibility = feature_visibility(brightness, radius, psf_sigma, artifact)

    return Morphology(
        kind=kind,
        radius=radius,
        brightness=brightness,
        center_x=rng.normal(0.0, 0.006, n),
        center_y=rng.normal(0.0, 0.006, n),
        position_angle=u(0.0, np.pi),
        axis_ratio=axis_ratio,
        inclination=inclination,
        edge_on=edge_on,
        edge_on_bulge=edge_on_bulge,
        bulge_fraction=bulge_fraction,
        bulge_sersic=bulge_sersic,
        bar_strength=bar_strength,
        bar_length=bar_length,
        bar_angle=u(0.0, np.pi),
        n_arms=n_arms,
        pitch_angle=pitch_angle,
        winding=winding,
        arm_strength=arm_strength,
        arm_phase=u(0.0, 2 * np.pi),
        arm_asymmetry=arm_asymmetry,
        flocculence=flocculence,
        ring_type=ring_type,
        ring_radius=ring_radius,
        ring_strength=ring_strength,
        ring_asymmetry=ring_asymmetry,
        merger=merger,
        companion=companion,
        companion_dx=comp_dist * np.cos(comp_pa),
        companion_dy=comp_dist * np.sin(comp_pa),
        companion_flux=np.where(close, u(0.3, 1.0), u(0.05, 0.4)),
        companion_radius=radius * u(0.4, 0.9),
        tidal=tidal,
        tidal_strength=tidal_strength,
        tidal_angle=np.where(close, comp_pa, u(0.0, 2 * np.pi)),
        tidal_curvature=rng.choice([-1.0, 1.0], n) * u(0.6, 1.2),
        disturbance=disturbance,
        shells=shells,
        shell_strength=np.where(shells, u(0.04, 0.1), 0.0),
        irregular=irr,
        clumpy=clumpy,
        clump_r=clump_r,
        clump_theta=clump_theta,
        clump_flux=clump_flux,
        diffuse=dif,
        dust_lane=dust_lane,
        dust_strength=np.where(dust_lane, u(0.8, 2.0), 0.0),
        lens=lens,
        lens_radius=radius * u(1.2, 1.8),
        lens_angle=u(0.0, 2 * np.pi),
        artifact=artifact,
        artifact_angle=u(0.0, np.pi),
        artifact_offset=u(-0.3, 0.3),
        artifact_channel=rng.integers(0, 3, n),
        star_x=rng.uniform(-0.45, 0.45, (n, MAX_STARS)),
        star_y=rng.uniform(-0.45, 0.45, (n, MAX_STARS)),
        star_flux=star_flux,
        star_color=rng.random((n, MAX_STARS)),
        psf_sigma=psf_sigma,
        survey=np.full(n, survey_names().index(sv.name)),
        noise_level=noise_level,
        sky_level=sky_level,
        colour_tint=colour_tint,
        n_sources=n_sources,
        noise_seed=rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32),
        field_seed=rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32),
        visibility=visibility,
    )
