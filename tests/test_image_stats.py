"""Image statistics on made-up skies whose answers are known: sky, noise, objects, radii, colour."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galzoo_tools import image_stats as st

SIZE = 128
REAL_SDSS = Path(__file__).resolve().parents[2] / "shared" / "real_dev" / "gz2_odd" / "labels.csv"


def gaussian(size: int, y: float, x: float, sigma: float, amplitude: float) -> np.ndarray:
    yy, xx = np.indices((size, size), dtype=float)
    return amplitude * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2))


def make_sky(
    size: int = SIZE,
    sky: tuple[float, float, float] = (20.0, 20.0, 20.0),
    noise: float = 3.0,
    blob_sigma: float | None = 6.0,
    blob_amplitude: float = 150.0,
    blob_colour: tuple[float, float, float] = (1.0, 1.0, 1.0),
    points: tuple[tuple[int, int], ...] = ((20, 100), (100, 25)),
    seed: int = 0,
) -> np.ndarray:
    """Flat sky + Gaussian noise (the same in every channel, so the grey noise is ``noise``), a
    Gaussian galaxy at the image centre and small point sources; uint8 (size, size, 3)."""
    rng = np.random.default_rng(seed)
    flux = np.zeros((size, size))
    if blob_sigma is not None:
        flux += gaussian(size, size / 2, size / 2, blob_sigma, blob_amplitude)
    point_flux = sum((gaussian(size, y, x, 1.0, 100.0) for y, x in points), np.zeros((size, size)))
    image = np.array(sky)[None, None, :] + flux[:, :, None] * np.array(blob_colour) + point_flux[:, :, None]
    image += rng.normal(0.0, noise, (size, size))[:, :, None]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def test_sky_level_and_noise_are_recovered():
    noises = []
    for noise in (1.5, 3.0, 6.0):
        stats = st.image_stats(make_sky(sky=(30, 30, 30), noise=noise))
        assert stats["bg"] == pytest.approx(30, abs=0.5)
        # 1.4826 x the MAD of whole grey levels: exact to within half a level's step (0.74)
        assert abs(stats["noise"] - noise) <= 0.75
        # the peak: the blob's amplitude (plus a noise peak) over the measured noise
        assert stats["peak_snr"] == pytest.approx((150 + 2 * noise) / stats["noise"], rel=0.1)
        noises.append(stats["noise"])
    assert noises == sorted(noises)


def test_other_sources_counts_point_sources_not_the_central_galaxy():
    assert st.image_stats(make_sky(points=()))["other_sources"] == 0
    assert st.image_stats(make_sky())["other_sources"] == 2
    four = ((20, 100), (100, 25), (25, 25), (105, 105))
    assert st.image_stats(make_sky(points=four))["other_sources"] == 4
    # without a central object every source counts
    assert st.image_stats(make_sky(blob_sigma=None, points=four))["other_sources"] == 4


def test_no_central_object():
    stats = st.image_stats(make_sky(blob_sigma=None))
    assert stats["central_frac"] == 0
    assert np.isnan(stats["r50_frac"]) and np.isnan(stats["r90_frac"]) and np.isnan(stats["conc"])


def test_central_object_area_and_radii_follow_the_blob_width():
    radii = []
    for sigma in (3.0, 6.0, 10.0):
        stats = st.image_stats(make_sky(blob_sigma=sigma, noise=1.0))
        # detected out to where 150 exp(-r^2 / 2 sigma^2) = 5 noise, i.e. r_t^2 = 2 sigma^2 ln(150 / 5)
        r_t2 = 2 * sigma**2 * np.log(150 / 5)
        assert stats["central_frac"] == pytest.approx(np.pi * r_t2 / SIZE**2, rel=0.12)
        # a Gaussian truncated there holds half its detected light within r50
        enclosed = 1 - np.exp(-r_t2 / (2 * sigma**2))
        r50 = sigma * np.sqrt(-2 * np.log(1 - 0.5 * enclosed))
        r90 = sigma * np.sqrt(-2 * np.log(1 - 0.9 * enclosed))
        assert stats["r50_frac"] * SIZE == pytest.approx(r50, abs=1.0)
        assert stats["r90_frac"] * SIZE == pytest.approx(r90, abs=1.0)
        assert stats["conc"] == pytest.approx(stats["r90_frac"] / stats["r50_frac"])
        radii.append((stats["r50_frac"], stats["r90_frac"]))
    assert radii == sorted(radii) and len(set(radii)) == 3


def test_radii_are_fractions_of_the_width_whatever_the_input_size():
    """A 256 px image is measured at 128 px: its sigma-12 blob is a sigma-6 blob there."""
    big = st.image_stats(make_sky(size=256, blob_sigma=12.0, noise=4.0, points=()))
    # downsizing averages the noise down (4 -> about 1.5), so the 5-sigma edge lies further out
    assert big["noise"] < 2.5
    r_t2 = 2 * 6.0**2 * np.log(150 / (5 * big["noise"]))
    assert big["central_frac"] == pytest.approx(np.pi * r_t2 / SIZE**2, rel=0.12)
    enclosed = 1 - np.exp(-r_t2 / (2 * 6.0**2))
    assert big["r50_frac"] * SIZE == pytest.approx(6.0 * np.sqrt(-2 * np.log(1 - 0.5 * enclosed)), abs=1.0)


def test_saturated_fraction():
    image = make_sky()
    assert st.image_stats(image)["sat_frac"] == 0
    image[10:20, 40:50, 0] = 255  # 100 pixels saturated in one channel
    image[110:115, 60:64, :] = 254  # 20 more, in all channels
    assert st.image_stats(image)["sat_frac"] == pytest.approx(120 / SIZE**2)


def test_colour_of_the_central_object_and_of_the_sky():
    grey = st.image_stats(make_sky())
    assert grey["r_over_g"] == pytest.approx(1.0, abs=0.02)
    assert grey["b_over_g"] == pytest.approx(1.0, abs=0.02)
    red = st.image_stats(make_sky(sky=(5, 5, 5), noise=1.0, blob_colour=(1.3, 1.0, 0.6)))
    # channel means over the object's pixels, sky included: a little closer to 1 than the blob's colour
    assert 1.2 < red["r_over_g"] < 1.3
    assert 0.6 < red["b_over_g"] < 0.7
    sky = st.image_stats(make_sky(sky=(24, 20, 12)))
    assert (sky["bg_r"], sky["bg_g"], sky["bg_b"]) == pytest.approx((24, 20, 12), abs=1)
    assert sky["bg"] == pytest.approx(np.mean([24, 20, 12]), abs=0.5)


def test_input_checks_and_grey_images():
    with pytest.raises(ValueError, match="uint8"):
        st.image_stats(make_sky().astype(float))
    with pytest.raises(ValueError, match="shape"):
        st.image_stats(np.zeros((SIZE, SIZE, 4), np.uint8))
    grey = make_sky()[:, :, 0]
    assert st.image_stats(grey)["other_sources"] == 2


def test_tables_summary_and_catalog(tmp_path):
    images = np.stack([make_sky(blob_sigma=s, seed=i) for i, s in enumerate(np.linspace(3, 10, 11))])
    rows = st.stats_table(images)
    assert list(rows.columns) == list(st.STAT_NAMES) and len(rows) == 11
    summary = st.summarise(rows)
    assert list(summary.columns) == ["p10", "median", "p90"]
    assert summary.loc["r50_frac", "median"] == pytest.approx(rows["r50_frac"].median())
    assert summary.loc["r50_frac", "p10"] < summary.loc["r50_frac", "median"] < summary.loc["r50_frac", "p90"]

    (tmp_path / "img").mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / "img" / f"g{i}.png")
    pd.DataFrame({"id_str": [f"g{i}" for i in range(11)], "file_loc": [f"img/g{i}.png" for i in range(11)]}).to_csv(
        tmp_path / "cat.csv", index=False)
    from_files = st.catalog_image_stats(tmp_path / "cat.csv", n=None)
    pd.testing.assert_frame_equal(from_files.drop(columns="id_str"), rows)
    sample = st.catalog_image_stats(tmp_path / "cat.csv", n=4, seed=1)
    assert len(sample) == 4 and sample["id_str"].is_unique
    chosen = [int(s[1:]) for s in sample["id_str"]]
    pd.testing.assert_frame_equal(sample.drop(columns="id_str"), rows.iloc[chosen].reset_index(drop=True))


def test_decals_targets_are_ordered_ranges():
    assert set(st.DECALS_TARGETS) == set(st.STAT_NAMES)
    for p10, median, p90 in st.DECALS_TARGETS.values():
        assert p10 <= median <= p90


def test_compare_to_targets_flags_inside_and_spread():
    targets = {"bg": (10.0, 12.0, 14.0), "noise": (2.0, 3.0, 4.0), "sat_frac": (0.0, 0.0, 0.0)}
    summary = pd.DataFrame({"p10": [11.0, 5.0, 0.0, 1.0], "median": [13.0, 6.0, 0.0, 2.0],
                            "p90": [15.0, 9.0, 0.1, 3.0]}, index=["bg", "noise", "sat_frac", "conc"])
    table = st.compare_to_targets(summary, targets)
    assert list(table.index) == ["bg", "noise", "sat_frac"]  # conc has no target
    assert list(table.columns) == ["median", "real p10", "real median", "real p90", "inside", "spread_ratio"]
    assert table["inside"].tolist() == [True, False, True]
    assert table.loc["bg", "spread_ratio"] == pytest.approx(1.0)
    assert table.loc["noise", "spread_ratio"] == pytest.approx(2.0)
    assert np.isnan(table.loc["sat_frac", "spread_ratio"])  # the real spread is 0
    # the range ends count as inside; a summary table works as the target too
    real = pd.DataFrame({"p10": [10.0, 2.0], "median": [12.0, 3.0], "p90": [14.0, 4.0]}, index=["bg", "noise"])
    edge = st.compare_to_targets(summary.assign(median=[10.0, 4.0, 0.0, 2.0]), real)
    assert edge["inside"].tolist() == [True, True]


def test_compare_to_decals_targets():
    inside = pd.DataFrame({name: [lo, mid, hi] for name, (lo, mid, hi) in st.DECALS_TARGETS.items()},
                          index=["p10", "median", "p90"]).T
    table = st.compare_to_targets(inside)
    assert table["inside"].all() and len(table) == len(st.STAT_NAMES)
    assert np.allclose(table["spread_ratio"].dropna(), 1.0)
    too_bright = inside.assign(median=inside["p90"] * 1.5 + 1)
    assert not st.compare_to_targets(too_bright)["inside"].any()


def test_pixel_histograms():
    flat = np.full((2, SIZE, SIZE, 3), 10, np.uint8)
    hist = st.pixel_histograms(flat)
    assert list(hist.quantiles.index) == ["grey", "r", "g", "b"]
    assert (hist.quantiles.drop(columns="mean") == 10).all().all()
    assert hist.quantiles["mean"].tolist() == [10, 10, 10, 10]
    assert hist.fractions["[8,16)"].tolist() == [1, 1, 1, 1]
    assert np.allclose(hist.fractions.sum(axis=1), 1)

    half = np.zeros((SIZE, SIZE, 3), np.uint8)
    half[:, : SIZE // 2] = (200, 100, 0)  # half the pixels bright and red, half black
    hist = st.pixel_histograms([half], quantiles=(0.25, 0.75))
    assert hist.quantiles.loc["r"].tolist() == [0, 200, 100]
    assert hist.quantiles.loc["grey"].tolist() == [0, 100, 50]
    assert hist.fractions.loc["r", "[128,254)"] == pytest.approx(0.5)
    assert hist.fractions.loc["b", "[0,8)"] == 1
    # grey is the channel mean rounded to the nearest level: (2 + 2 + 1) / 3 -> 2
    assert st.pixel_histograms([np.full((8, 8, 3), (2, 2, 1), np.uint8)], size=8).quantiles.loc["grey", "q50"] == 2


@pytest.mark.skipif(not REAL_SDSS.is_file(), reason="the real SDSS dev set is not here")
def test_matches_the_published_real_sdss_numbers():
    """The same 400 galaxies as IMAGE_STATS.md (seed 0) give its medians."""
    summary = st.summarise(st.catalog_image_stats(REAL_SDSS, n=400, seed=0))
    published = {"bg": 3.33, "noise": 2.47, "peak_snr": 69.3, "central_frac": 0.0684, "r50_frac": 0.0797,
                 "r90_frac": 0.143, "conc": 1.81, "other_sources": 15, "r_over_g": 1.15, "b_over_g": 0.86}
    for name, value in published.items():
        assert summary.loc[name, "median"] == pytest.approx(value, rel=0.01), name
