"""A non-editable install works: the wheel carries the reference model and the synthetic sample.

The package is built into a wheel from a copy of the checkout, installed with ``pip --target``
into a temporary folder, and run from another folder with only that folder on ``PYTHONPATH``:
``galzoo predict --model reference`` on a few galaxies of the shipped sample, and the paths the
notebooks start from (``config.data_dir()``, ``config.catalog_path()``) must lie inside the
installed package. An editable install hides a package that forgets its data; this test does not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from galzoo_tools.schema import decals_dr5

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["reference_model/model/model.safetensors", "reference_model/model/config.json",
           "synthetic_sample/catalog.parquet", "synthetic_sample/images/syn0_000000.png"]
"""Files under galzoo_tools/data/ that a run needs, so the wheel must carry them."""
N_GALAXIES = 4

INSPECT = """
import json, galzoo_tools
from galzoo_tools import config
from galzoo_tools.catalog import read_catalog
catalog = read_catalog(config.catalog_path())
print(json.dumps({"package": galzoo_tools.__file__, "data_dir": str(config.data_dir()),
                  "catalog_path": str(config.catalog_path()), "n": len(catalog),
                  "first_image": str(catalog["file_loc"].iloc[0])}))
"""
"""What the notebooks do first: find the data folder and read the default catalog."""


def _can_build_wheels() -> None:
    """Skip unless setuptools can build a wheel here without downloading anything."""
    setuptools = pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools")
    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    if (major, minor) < (64, 0):
        pytest.skip(f"setuptools {setuptools.__version__} is older than pyproject's setuptools>=64")
    if (major, minor) < (70, 1):  # bdist_wheel moved into setuptools in 70.1
        pytest.importorskip("wheel", reason="building a wheel with this setuptools needs the wheel package")
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        pytest.skip("pip is not available to build and install the wheel")


def _source_copy(dest: Path) -> Path:
    """The files the build reads, copied so no stale build/ or egg-info of the checkout is used,
    plus a stray training checkpoint beside the reference model that must stay out of the wheel."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "last_checkpoint.pt")
    shutil.copytree(ROOT / "galzoo_tools", dest / "galzoo_tools", ignore=junk)
    (dest / "galzoo_tools" / "data" / "reference_model" / "last_checkpoint.pt").write_bytes(b"not shipped")
    return dest


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 180) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A wheel of this checkout, installed (not editable) into a fresh folder; returns that folder."""
    _can_build_wheels()
    tmp = tmp_path_factory.mktemp("install")
    source = _source_copy(tmp / "source")
    wheels, target = tmp / "wheels", tmp / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    env = {**os.environ, "PIP_NO_INDEX": "1"}
    _run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], tmp, env)
    [wheel] = wheels.glob("galzoo_tools-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in SHIPPED if f"galzoo_tools/data/{f}" not in names]
    assert not missing, f"the wheel lacks package data: {missing}"
    assert not [n for n in names if n.endswith("last_checkpoint.pt")], "a training checkpoint was shipped"
    _run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], tmp, env)
    return target


def _installed_env(target: Path) -> dict[str, str]:
    """Only the installed copy on the path, and no variable pointing back at the checkout's data."""
    env = {k: v for k, v in os.environ.items() if k not in {"GALZOO_DATA", "GALZOO_CATALOG", "PYTHONPATH"}}
    return {**env, "PYTHONPATH": str(target), "GALZOO_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def test_installed_package_finds_its_own_data(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    seen = json.loads(_run([sys.executable, "-c", INSPECT], elsewhere, _installed_env(installed)).splitlines()[-1])
    package = installed / "galzoo_tools"
    assert Path(seen["package"]).parent == package, f"imported {seen['package']}, not the installed copy"
    assert Path(seen["data_dir"]) == package / "data"
    assert Path(seen["catalog_path"]) == package / "data" / "synthetic_sample" / "catalog.parquet"
    assert seen["n"] == 400 and Path(seen["first_image"]).is_relative_to(package) and Path(seen["first_image"]).is_file()


def test_installed_galzoo_predict_with_the_reference_model(installed, tmp_path):
    sample = installed / "galzoo_tools" / "data" / "synthetic_sample"
    few = pd.read_parquet(sample / "catalog.parquet").head(N_GALAXIES)
    few["file_loc"] = [str(sample / loc) for loc in few["file_loc"]]
    few.to_parquet(tmp_path / "few.parquet")
    galzoo = installed / "bin" / "galzoo"  # the console entry point the wheel declares
    assert galzoo.is_file(), "the wheel installed no galzoo command"
    _run([sys.executable, str(galzoo), "predict", "--catalog", "few.parquet", "--model", "reference",
          "--out", "predicted", "--quiet"], tmp_path, _installed_env(installed))
    predictions = pd.read_parquet(tmp_path / "predicted" / "predictions.parquet")
    assert list(predictions["id_str"]) == list(few["id_str"])
    fractions = predictions[[f"{c}_fraction" for c in decals_dr5.label_cols]].to_numpy()
    assert np.isfinite(fractions).all() and (fractions >= 0).all()
    for question in decals_dr5.questions:
        sums = predictions[[f"{c}_fraction" for c in question.columns]].sum(axis=1)
        np.testing.assert_allclose(sums, 1.0, atol=1e-3, err_msg=question.name)
