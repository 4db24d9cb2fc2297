"""Survey presets: Moffat seeing, depth, sky, crowding, artefacts, and volunteers who see what the image shows."""

from dataclasses import replace

import numpy as np
import pytest

from galzoo_tools.synthetic import render, render_flux, sample_morphology, simulate, simulate_catalog
from galzoo_tools.synthetic.morphology import ARTIFACTS, feature_visibility
from galzoo_tools.synthetic.render import moffat_otf
from galzoo_tools.synthetic.surveys import SURVEYS, get_survey
from galzoo_tools.synthetic.volunteers import true_fractions
from galzoo_tools.schema import decals_dr5


def _psf_image(fwhm: float, beta: float, size: int = 129) -> np.ndarray:
    """The PSF itself, from its OTF, centred in a ``size`` grid."""
    k = np.hypot(np.fft.fftfreq(size)[:, None], np.fft.rfftfreq(size)[None, :])
    image = np.fft.irfft2(moffat_otf(k, np.array([fwhm]), beta)[0], s=(size, size))
    return np.fft.fftshift(image)


@pytest.mark.parametrize("beta", [2.8, 3.5])
def test_moffat_otf_makes_a_psf_of_unit_flux_and_the_asked_width(beta):
    image = _psf_image(fwhm=6.0, beta=beta)
    assert image.sum() == pytest.approx(1.0, abs=1e-3)
    profile = image[64, 64:]
    half = np.flatnonzero(profile < profile[0] / 2)[0]
    fwhm = 2 * (half - 1 + (profile[half - 1] - profile[0] / 2) / (profile[half - 1] - profile[half]))
    assert fwhm == pytest.approx(6.0, rel=0.06)


def test_smaller_moffat_beta_has_heavier_wings():
    heavy, light = _psf_image(6.0, 2.5), _psf_image(6.0, 4.5)
    r = np.hypot(*np.mgrid[-64:65, -64:65])
    wings = r > 15
    assert heavy[wings].sum() > 2 * light[wings].sum()


def test_unknown_survey_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown survey preset 'hst'.*decals, sdss"):
        get_survey("hst")
    with pytest.raises(ValueError, match="unknown survey"):
        simulate_catalog(3, seed=0, survey="hst")


def test_galaxy_i_is_the_same_whatever_n():
    m5, cat5 = simulate_catalog(5, seed=3)
    m2000, cat2000 = simulate_catalog(2000, seed=3)
    assert cat5.equals(cat2000.iloc[:5])
    a, _ = simulate(5, size=48, seed=3)
    b, _ = simulate(1100, size=48, seed=3, batch_size=256)
    assert np.array_equal(a, b[:5])


def test_surveys_give_other_ids_and_other_looks():
    decals_images, decals = simulate(60, size=64, seed=1)
    sdss_images, sdss = simulate(60, size=64, seed=1, survey="sdss")
    assert decals["id_str"].iloc[0] == "syn1_000000" and sdss["id_str"].iloc[0] == "syn1-sdss_000000"
    assert set(decals["true_survey"]) == {"decals"} and set(sdss["true_survey"]) == {"sdss"}
    border = lambda im: np.median(np.concatenate([im[:, :6].reshape(-1, 3), im[:, -6:].reshape(-1, 3)]), 0)  # noqa: E731
    assert border(decals_images).mean() > 12 > border(sdss_images).mean()  # DECaLS cut-outs have a grey sky
    # SDSS colours are more saturated: its blue channel falls further below green in the sky and galaxies
    assert border(sdss_images)[2] < border(sdss_images)[1] and border(decals_images)[2] == pytest.approx(
        border(decals_images)[1], abs=1.5)


def test_noise_follows_each_images_depth():
    m = sample_morphology(40, np.random.default_rng(2))
    quiet = replace(m, n_sources=0 * m.n_sources, brightness=0 * m.brightness, star_flux=0 * m.star_flux,
                    artifact=0 * m.artifact)
    images = render(quiet, 64).astype(float).mean(-1)
    measured = images.std((1, 2))
    assert np.corrcoef(measured, m.noise_level / np.sqrt(3))[0, 1] > 0.95


def test_crowded_fields_hold_more_sources():
    m = sample_morphology(30, np.random.default_rng(4))
    plain = replace(m, brightness=0 * m.brightness, star_flux=0 * m.star_flux, artifact=0 * m.artifact)
    empty = render_flux(replace(plain, n_sources=0 * m.n_sources), 64).sum(1)
    crowded = render_flux(replace(plain, n_sources=np.full(30, 60)), 64).sum(1)
    assert np.abs(empty).max() < 1e-3
    threshold = 5.0
    assert ((crowded > threshold).mean((1, 2)) > 0.002).mean() > 0.9


def test_edge_gaps_leave_a_black_strip():
    m = sample_morphology(400, np.random.default_rng(5))
    gaps = m.take(np.flatnonzero(m.artifact == ARTIFACTS.index("edge-gap"))[:4])
    assert len(gaps) >= 2
    images = render(gaps, 64)
    black = (images.max(-1) == 0).mean((1, 2))
    assert (black >= 0.09).all()
    ordinary = render(replace(gaps, artifact=0 * gaps.artifact), 64)
    assert ((ordinary.max(-1) == 0).mean((1, 2)) < 0.01).all()


def test_partial_rings_are_brighter_on_one_side():
    m = sample_morphology(800, np.random.default_rng(6))
    idx = np.flatnonzero((m.ring_type > 0) & (m.inclination < 30))[:6]
    ringed = replace(m.take(idx), n_sources=np.zeros(len(idx), int))
    full = replace(ringed, ring_asymmetry=np.zeros(len(idx)))
    partial = replace(ringed, ring_asymmetry=np.ones(len(idx)))
    no_ring = replace(ringed, ring_type=np.zeros(len(idx), int))
    lopsided = []
    for version in (full, partial):
        ring = (render_flux(version, 96) - render_flux(no_ring, 96)).sum(1)
        y, x = (np.mgrid[:96, :96] + 0.5) / 96 - 0.5
        halves = []
        for k in range(len(idx)):
            phase = version.clump_theta[k, 4] + version.position_angle[k]
            side = (x - version.center_x[k]) * np.cos(phase) + (y - version.center_y[k]) * np.sin(phase)
            halves.append(ring[k][side > 0].sum() / max(ring[k][side < 0].sum(), 1e-6))
        lopsided.append(np.median(halves))
    assert lopsided[0] == pytest.approx(1.0, abs=0.25) and lopsided[1] > 3


def test_shells_add_light_far_outside_the_galaxy():
    m = sample_morphology(3000, np.random.default_rng(7))
    idx = np.flatnonzero(m.shells)[:5]
    shelled = replace(m.take(idx), n_sources=np.zeros(len(idx), int), star_flux=0 * m.star_flux[idx],
                      tidal=np.zeros(len(idx), bool), companion=np.zeros(len(idx), bool))
    plain = replace(shelled, shells=np.zeros(len(idx), bool))
    extra = (render_flux(shelled, 96) - render_flux(plain, 96)).sum(1)
    y, x = (np.mgrid[:96, :96] + 0.5) / 96 - 0.5
    for k in range(len(idx)):
        r = np.hypot(x - shelled.center_x[k], y - shelled.center_y[k]) / shelled.radius[k]
        assert extra[k][(r > 1.3) & (r < 3.6)].sum() > 0.8 * extra[k].sum()


def test_blurred_or_faint_galaxies_hide_their_features():
    bright, radius = np.full(3, 5.0), np.full(3, 0.07)
    sharp = feature_visibility(bright, radius, np.full(3, 0.006), np.zeros(3, int))
    blurred = feature_visibility(bright, radius, np.full(3, 0.03), np.zeros(3, int))
    faint = feature_visibility(bright / 20, radius, np.full(3, 0.006), np.zeros(3, int))
    assert (blurred < 0.6 * sharp).all() and (faint < 0.6 * sharp).all()


def test_volunteers_see_fewer_bars_in_worse_images():
    m = sample_morphology(4000, np.random.default_rng(8))
    barred = m.take(np.flatnonzero(m.bar_strength > 0.6))
    worse = replace(barred, visibility=0.3 * barred.visibility)
    no_bar = decals_dr5.answer("bar-dr5_no").index
    clear = true_fractions(barred, np.random.default_rng(0))[:, no_bar]
    hidden = true_fractions(worse, np.random.default_rng(0))[:, no_bar]
    assert hidden.mean() > clear.mean() + 0.1


@pytest.mark.parametrize("name", list(SURVEYS))
def test_every_preset_renders(name):
    images, catalog = simulate(8, size=48, seed=0, survey=name)
    assert images.shape == (8, 48, 48, 3) and len(catalog) == 8


def test_the_decals_preset_looks_like_real_decals_cutouts_in_aggregate():
    """Every median of the real-DECaLS image statistics (470 GZ DECaLS cut-outs at 128 px) is met,
    and the image-to-image spread of depth, brightness and crowding is at least half the real one."""
    from galzoo_tools.image_stats import compare_to_targets, stats_table, summarise

    images, _ = simulate(300, size=128, seed=21)
    compared = compare_to_targets(summarise(stats_table(images)))
    outside = compared.index[~compared["inside"]].tolist()
    assert not outside, compared.loc[outside]
    assert (compared.loc[["noise", "peak_snr", "other_sources"], "spread_ratio"] >= 0.5).all()
