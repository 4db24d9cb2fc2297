"""Rendering: DECaLS-like pixels, and kinds that differ in the expected way."""

from dataclasses import replace

import numpy as np
import pytest

from galzoo_tools.synthetic import render, render_flux, sample_morphology, simulate


@pytest.fixture(scope="module")
def morph():
    return sample_morphology(600, np.random.default_rng(11))


def _isolated(m):
    """The same galaxies without the faint stars and background galaxies around them."""
    return replace(m, n_sources=0 * m.n_sources)


@pytest.mark.parametrize("size", [64, 128])
def test_images_are_uint8_with_black_sky_and_bright_centre(morph, size):
    images = render(morph.take(slice(0, 40)), size)
    assert images.dtype == np.uint8 and images.shape == (40, size, size, 3)
    grey = images.mean(-1)
    edge = np.concatenate([grey[:, :4].ravel(), grey[:, -4:].ravel(), grey[:, :, :4].ravel(), grey[:, :, -4:].ravel()])
    c = size // 2
    centre = grey[:, c - 2 : c + 2, c - 2 : c + 2].mean((1, 2))
    assert np.median(edge) < 25
    assert np.median(centre) > 120 and (centre > np.median(edge) + 40).mean() > 0.9


def _second_moment_elongation(flux: np.ndarray) -> np.ndarray:
    """Axis ratio (minor/major) from the flux-weighted second moments of each image."""
    img = np.clip(flux.sum(1), 0, None)
    s = img.shape[-1]
    y, x = np.mgrid[:s, :s].astype(float)
    w = img / img.sum((1, 2), keepdims=True)
    mx, my = (w * x).sum((1, 2)), (w * y).sum((1, 2))
    dx, dy = x - mx[:, None, None], y - my[:, None, None]
    cxx, cyy, cxy = (w * dx * dx).sum((1, 2)), (w * dy * dy).sum((1, 2)), (w * dx * dy).sum((1, 2))
    tr, det = cxx + cyy, cxx * cyy - cxy**2
    root = np.sqrt(np.maximum(tr**2 / 4 - det, 0))
    return np.sqrt((tr / 2 - root) / (tr / 2 + root))


def test_edge_on_disks_are_more_elongated_than_face_on(morph):
    plain = (morph.artifact == 0) & ~morph.companion & ~morph.tidal & (morph.star_flux.sum(1) == 0)
    edge = np.flatnonzero(morph.edge_on & plain)[:15]
    face = np.flatnonzero(morph.is_disk & (morph.inclination < 40) & plain)[:15]
    assert len(edge) >= 8 and len(face) >= 8
    q_edge = _second_moment_elongation(render_flux(_isolated(morph.take(edge)), 64))
    q_face = _second_moment_elongation(render_flux(_isolated(morph.take(face)), 64))
    assert np.median(q_edge) < 0.45 < np.median(q_face)


def test_rings_make_a_brightness_bump_at_the_ring_radius(morph):
    resolved = (morph.ring_type > 0) & (morph.ring_radius > 8 * morph.psf_sigma)  # not blurred away by the seeing
    ringed = morph.take(np.flatnonzero(resolved)[:10])
    ringed = replace(ringed, ring_asymmetry=0 * ringed.ring_asymmetry)  # whole rings (partial ones: test_synthetic_surveys)
    without = replace(ringed, ring_type=np.zeros(len(ringed), int))
    size = 128
    diff = (render_flux(ringed, size) - render_flux(without, size)).sum(1)
    s = size
    y, x = (np.mgrid[:s, :s] + 0.5) / s - 0.5
    for k in range(len(ringed)):
        # deproject into the disk plane, then compare flux at the ring radius with elsewhere
        xr = (x - ringed.center_x[k]) * np.cos(ringed.position_angle[k]) + (y - ringed.center_y[k]) * np.sin(ringed.position_angle[k])
        yr = (y - ringed.center_y[k]) * np.cos(ringed.position_angle[k]) - (x - ringed.center_x[k]) * np.sin(ringed.position_angle[k])
        r = np.hypot(xr, yr / ringed.axis_ratio[k])
        R = ringed.ring_radius[k]
        at_ring = diff[k][np.abs(r - R) < 0.05 * R].mean()
        inside = diff[k][r < 0.4 * R].mean()
        outside = diff[k][(r > 1.6 * R) & (r < 2.2 * R)].mean()
        assert at_ring > 3 * max(inside, outside, 1e-6), k


def _azimuthal_scatter(m, size: int = 96) -> np.ndarray:
    """Relative scatter of the flux around a disk-plane annulus at 1-1.25 half-light radii."""
    f = render_flux(m, size).sum(1)
    y, x = (np.mgrid[:size, :size] + 0.5) / size - 0.5
    out = []
    for k in range(len(m)):
        c, sn = np.cos(m.position_angle[k]), np.sin(m.position_angle[k])
        dx, dy = x - m.center_x[k], y - m.center_y[k]
        r = np.hypot(dx * c + dy * sn, (dy * c - dx * sn) / m.axis_ratio[k])
        annulus = (r > 1.0 * m.radius[k]) & (r < 1.25 * m.radius[k])
        out.append(f[k][annulus].std() / f[k][annulus].mean())
    return np.array(out)


def test_arms_modulate_the_disk_in_azimuth(morph):
    idx = np.flatnonzero((morph.n_arms >= 2) & (morph.inclination < 45) & (morph.bar_strength == 0))[:8]
    quiet = _isolated(morph.take(idx))
    spirals = replace(
        quiet, clump_flux=0 * quiet.clump_flux, star_flux=0 * quiet.star_flux, artifact=0 * quiet.artifact,
        companion=np.zeros(len(idx), bool), tidal=np.zeros(len(idx), bool), disturbance=0 * quiet.disturbance,
    )
    smooth = replace(spirals, n_arms=np.zeros(len(idx), int))
    with_arms, without = _azimuthal_scatter(spirals), _azimuthal_scatter(smooth)
    assert (with_arms > without).mean() >= 0.75 and np.median(with_arms / without) > 1.3


def test_disks_are_bluer_than_ellipticals(morph):
    plain = (morph.artifact == 0) & ~morph.companion & (morph.star_flux.sum(1) == 0)
    ell = _isolated(morph.take(np.flatnonzero((morph.kind == 0) & plain)[:10]))
    spi = _isolated(morph.take(np.flatnonzero((morph.n_arms > 0) & plain)[:10]))
    colour = lambda m: (render_flux(m, 64)[:, 2].sum((1, 2)) / render_flux(m, 64)[:, 0].sum((1, 2)))  # noqa: E731
    # colours overlap a little (galaxies scatter redder or bluer), but disks are bluer on the whole
    blue_spi, blue_ell = colour(spi), colour(ell)
    assert np.median(blue_spi) > np.median(blue_ell) + 0.08
    assert (blue_spi > np.median(blue_ell)).mean() >= 0.8


def test_same_seed_same_pixels_whatever_the_batch_size():
    a, cat_a = simulate(20, size=64, seed=4, batch_size=20)
    b, cat_b = simulate(20, size=64, seed=4, batch_size=7)
    c, _ = simulate(20, size=64, seed=5)
    assert np.array_equal(a, b) and cat_a.equals(cat_b)
    assert not np.array_equal(a, c)
