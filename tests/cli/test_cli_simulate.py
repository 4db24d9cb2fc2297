"""``galzoo simulate``, run in-process: the universe it writes, and the same universe for a seed."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galzoo_tools.cli import main
from galzoo_tools.schema import decals_dr5


def test_simulate_writes_galaxy_datasets_layout(tmp_path, capsys):
    out = tmp_path / "universe"
    assert main(["simulate", "--n", "12", "--size", "48", "--seed", "2", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress bar
    summary = captured.out.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("simulate: 12 decals galaxies at 48 px")
    catalog = pd.read_parquet(out / "catalog.parquet")
    assert len(catalog) == 12 and catalog["id_str"].iloc[3] == "syn2_000003"
    assert set(decals_dr5.label_cols) <= set(catalog.columns)
    assert all(catalog[c].dtype.kind == "i" for c in decals_dr5.label_cols)
    assert {"ring", "tags", "total_votes", "true_n_arms", "true_ring_type"} <= set(catalog.columns)
    for loc in catalog["file_loc"]:
        assert loc.startswith("images/") and loc.endswith(".png")
        image = np.asarray(Image.open(out / loc))
        assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"n", "size", "seed", "ring_fraction", "seconds", "galaxies_per_second"} <= set(metrics)
    assert metrics["n"] == 12 and metrics["size"] == 48 and metrics["seed"] == 2


def test_simulate_is_byte_identical_for_a_seed(tmp_path):
    for name, batch in (("a", "5"), ("b", "64")):
        main(["simulate", "--n", "9", "--size", "40", "--seed", "7", "--out", str(tmp_path / name), "--quiet", "--batch-size", batch])
    assert (tmp_path / "a/catalog.parquet").read_bytes() == (tmp_path / "b/catalog.parquet").read_bytes()
    for png in sorted((tmp_path / "a/images").glob("*.png")):
        assert png.read_bytes() == (tmp_path / "b/images" / png.name).read_bytes()


@pytest.mark.parametrize("args", [["--n", "0"], ["--size", "8"], []])
def test_simulate_rejects_bad_arguments(tmp_path, args):
    out = [] if args == [] else ["--out", str(tmp_path)]
    with pytest.raises(SystemExit) as err:
        main(["simulate", *args, *out])
    assert err.value.code == 2


def test_simulate_refuses_a_folder_holding_a_universe_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "universe"
    assert main(["simulate", "--n", "6", "--size", "32", "--seed", "1", "--out", str(out), "--quiet"]) == 0
    first = (out / "catalog.parquet").read_bytes()
    capsys.readouterr()
    # a second universe into the same folder: refused, and the first is left as it was
    assert main(["simulate", "--n", "4", "--size", "40", "--seed", "2", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"galzoo simulate: error: --out {out} already holds another run") and "--overwrite" in err
    assert (out / "catalog.parquet").read_bytes() == first and len(list((out / "images").iterdir())) == 6
    # --overwrite replaces it whole: no orphan images of the first universe's size are left
    assert main(["simulate", "--n", "4", "--size", "40", "--seed", "2", "--out", str(out), "--quiet", "--overwrite"]) == 0
    catalog = pd.read_parquet(out / "catalog.parquet")
    images = sorted((out / "images").iterdir())
    assert len(catalog) == 4 and [p.name for p in images] == sorted(f"{i}.png" for i in catalog["id_str"])
    assert all(Image.open(p).size == (40, 40) for p in images)
    assert json.loads((out / "metrics.json").read_text())["size"] == 40
