"""Latent morphology: realistic rates of rare kinds, tags, and argument checks."""

import numpy as np
import pytest

from galzoo_tools.synthetic import TAGS, sample_morphology, simulate, simulate_catalog


@pytest.fixture(scope="module")
def catalog():
    return simulate_catalog(4000, seed=5)[1]


def test_rare_kinds_at_realistic_rates(catalog):
    assert 0.01 <= catalog["ring"].mean() <= 0.30
    assert 0.04 <= catalog["ring"].mean() <= 0.10  # enough rings to fine-tune on
    assert 0 < catalog["true_lens"].sum() and catalog["true_lens"].mean() < 0.01
    assert set(catalog["true_ring_type"]) == {"none", "inner", "outer"}
    assert (catalog["ring"] == (catalog["true_ring_type"] != "none")).all()
    assert set(catalog["true_n_arms"]) == {0, 1, 2, 3, 4, 5, 6}


def test_many_distinct_tags(catalog):
    tags = {t for row in catalog["tags"] for t in row.split(";") if t}
    assert len(tags) >= 10
    assert tags <= set(TAGS)
    assert not catalog["tags"].str.contains(";;|^;|;$").any()
    assert catalog.loc[catalog["ring"] == 1, "tags"].str.contains("ring").all()


def test_galaxy_sizes_and_brightness_vary(catalog):
    for col in ("true_radius", "true_brightness", "true_visibility"):
        lo, hi = np.percentile(catalog[col], [5, 95])
        assert hi > 1.5 * lo, col


def test_same_seed_same_morphology_other_seed_different():
    a = sample_morphology(50, np.random.default_rng(1))
    b = sample_morphology(50, np.random.default_rng(1))
    c = sample_morphology(50, np.random.default_rng(2))
    assert np.array_equal(a.radius, b.radius) and not np.array_equal(a.radius, c.radius)


@pytest.mark.parametrize("kwargs", [dict(n=0), dict(n=-3), dict(n=4, size=16), dict(n=4, size=600)])
def test_bad_arguments_raise_clear_errors(kwargs):
    with pytest.raises(ValueError, match="n |size"):
        simulate(**kwargs)
