"""Machine-size helpers and data paths in galzoo_tools.config."""

from pathlib import Path

import pytest

import galzoo_tools
from galzoo_tools.config import catalog_path, cpu_cores, data_dir, worker_processes

PACKAGE = Path(galzoo_tools.__file__).resolve().parent


@pytest.mark.parametrize("cores, expected", [(1, 1), (2, 1), (4, 4), (16, 16)])
def test_worker_processes_uses_every_core_only_on_bigger_machines(monkeypatch, cores, expected):
    monkeypatch.setattr("os.sched_getaffinity", lambda _: set(range(cores)), raising=False)
    assert cpu_cores() == cores
    assert worker_processes() == expected


def test_data_dir_is_inside_the_package_and_holds_what_runs_need(monkeypatch):
    monkeypatch.delenv("GALZOO_DATA", raising=False)
    monkeypatch.delenv("GALZOO_CATALOG", raising=False)
    assert data_dir() == PACKAGE / "data"  # not the repository root: a wheel carries only the package
    assert (data_dir() / "reference_model" / "model" / "model.safetensors").is_file()
    assert catalog_path() == data_dir() / "synthetic_sample" / "catalog.parquet"
    assert catalog_path().is_file()


def test_environment_variables_move_the_data_and_the_catalog(monkeypatch, tmp_path):
    monkeypatch.setenv("GALZOO_DATA", str(tmp_path))
    monkeypatch.delenv("GALZOO_CATALOG", raising=False)
    assert data_dir() == tmp_path
    assert catalog_path() == tmp_path / "synthetic_sample" / "catalog.parquet"
    monkeypatch.setenv("GALZOO_DATA", "~/galzoo-data")
    assert data_dir() == Path.home() / "galzoo-data"
    monkeypatch.setenv("GALZOO_CATALOG", str(tmp_path / "mine.parquet"))
    assert catalog_path() == tmp_path / "mine.parquet"
