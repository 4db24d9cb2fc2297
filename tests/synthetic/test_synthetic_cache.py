"""The universe cache: simulated once, reused after, simulated again when the settings change."""

import pytest

from galzoo_tools.synthetic import cached_universe, trained_universe, universe_description, universe_folder


def test_a_cached_universe_is_reused_and_remade_for_other_settings(tmp_path):
    catalog = cached_universe(tmp_path, n=6, size=32, seed=1, progress=False)
    written = catalog.stat().st_mtime_ns
    assert cached_universe(tmp_path, n=6, size=32, seed=1, progress=False) == catalog
    assert catalog.stat().st_mtime_ns == written  # reused, not simulated again
    cached_universe(tmp_path, n=6, size=32, seed=2, progress=False)
    assert catalog.stat().st_mtime_ns != written  # another seed: simulated again


def test_the_default_folder_names_every_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("GALZOO_CACHE", str(tmp_path))
    assert universe_folder(80, 32, 3, "sdss") == tmp_path / "universes" / "n80_size32_seed3_sdss"


def test_a_models_universe_is_read_back_from_its_description():
    described = universe_description(80, 32, seed=3, survey="sdss")
    assert trained_universe({"trained_on": described}) == (80, 32, 3, "sdss")
    older = {"trained_on": "synthetic universe: galzoo simulate --n 80 --size 32 --seed 3"}
    assert trained_universe(older) == (80, 32, 3, "decals")  # before surveys, every universe was decals
    with pytest.raises(ValueError, match="names no simulated universe"):
        trained_universe({"trained_on": "my_catalog.parquet"}, "config.json")
