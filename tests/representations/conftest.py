"""Shared by the representation tests: a folder of odd galaxy images."""

import pytest

from tests.conftest_data import make_catalog_folder


@pytest.fixture()
def odd_catalog(tmp_path):
    """PNG and JPEG, RGB and grey, square and not: what a user's folder of real galaxies looks like."""
    catalog = make_catalog_folder(tmp_path, n=6)
    path = tmp_path / "catalog.csv"
    catalog.to_csv(path, index=False)
    return path
