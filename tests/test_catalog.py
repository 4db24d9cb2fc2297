"""Reading, checking and writing catalogs: every problem named, paths resolved, opt-in dropping."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest_data import make_catalog_folder

from galzoo_tools.catalog import CatalogError, read_catalog, write_catalog
from galzoo_tools.schema import decals_dr5


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    df = make_catalog_folder(tmp_path / "cat", n=8)
    df.to_csv(tmp_path / "cat" / "catalog.csv", index=False)
    df.to_parquet(tmp_path / "cat" / "catalog.parquet", index=False)
    return tmp_path / "cat"


@pytest.mark.parametrize("name", ["catalog.csv", "catalog.parquet"])
def test_reads_csv_and_parquet_with_absolute_paths(folder: Path, name: str) -> None:
    df = read_catalog(folder / name)
    assert len(df) == 8
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in df["file_loc"])
    assert df["file_loc"].iloc[0] == str(folder / "images" / "gal000.png")
    assert df[decals_dr5.label_cols].dtypes.eq(np.int64).all()
    assert df["id_str"].tolist() == [f"gal{i:03d}" for i in range(8)]


def test_absolute_file_loc_and_dataframe_input(folder: Path) -> None:
    df = pd.read_csv(folder / "catalog.csv")
    df["file_loc"] = [str(folder / p) for p in df["file_loc"]]
    out = read_catalog(df)
    assert out["file_loc"].tolist() == df["file_loc"].tolist()


def test_unknown_suffix_is_a_clear_error(folder: Path) -> None:
    (folder / "catalog.xlsx").write_text("x")
    with pytest.raises(CatalogError, match=r"\.csv or \.parquet"):
        read_catalog(folder / "catalog.xlsx")


def test_every_problem_reported_at_once(folder: Path) -> None:
    df = pd.read_csv(folder / "catalog.csv")
    os.remove(folder / df.loc[2, "file_loc"])
    df.loc[4, "smooth-or-featured-dr5_smooth"] = np.nan
    df.loc[5, "id_str"] = df.loc[6, "id_str"]
    df.to_csv(folder / "bad.csv", index=False)
    with pytest.raises(CatalogError) as info:
        read_catalog(folder / "bad.csv")
    message = str(info.value)
    assert str(folder / "bad.csv") in message
    assert "image file missing" in message and "id_str=gal002" in message and "gal002.jpg" in message
    assert "smooth-or-featured-dr5_smooth" in message and "NaN" in message and "id_str=gal004" in message
    assert "duplicate id_str" in message
    assert "drop_bad_rows=True" in message
    assert info.value.bad_rows == [2, 4, 6]
    assert isinstance(info.value, ValueError)


def test_drop_bad_rows_warns_with_count(folder: Path) -> None:
    df = pd.read_csv(folder / "catalog.csv")
    os.remove(folder / df.loc[1, "file_loc"])
    df.loc[3, "disk-edge-on-dr5_yes"] = 99  # more votes than "featured" got: breaks the tree
    with pytest.warns(UserWarning, match=r"dropped 2 of 8 row\(s\)"):
        out = read_catalog(df.assign(file_loc=[str(folder / p) for p in df["file_loc"]]), drop_bad_rows=True)
    assert len(out) == 6 and {"gal001", "gal003"}.isdisjoint(out["id_str"])


def test_missing_vote_columns_need_opt_out(folder: Path) -> None:
    df = pd.read_csv(folder / "catalog.csv")[["id_str", "file_loc", "ring"]]
    df.to_csv(folder / "rings.csv", index=False)
    with pytest.raises(CatalogError, match="missing 34 of the 34 vote columns"):
        read_catalog(folder / "rings.csv")
    assert read_catalog(folder / "rings.csv", require_votes=False)["ring"].sum() == 3
    assert len(read_catalog(folder / "rings.csv", schema=None)) == 8
    partial = pd.read_csv(folder / "catalog.csv").drop(columns=["bar-dr5_weak"])
    with pytest.raises(CatalogError, match="bar-dr5_weak"):
        read_catalog(partial.assign(file_loc=[str(folder / p) for p in partial["file_loc"]]), require_votes=False)


def test_id_str_from_file_names_when_absent(folder: Path) -> None:
    df = pd.read_csv(folder / "catalog.csv")[["file_loc"]]
    df.to_csv(folder / "only_files.csv", index=False)
    out = read_catalog(folder / "only_files.csv", schema=None)
    assert out["id_str"].tolist() == [f"gal{i:03d}" for i in range(8)]


def test_galaxy_datasets_layout_with_subfolder_and_filename(tmp_path: Path) -> None:
    df = make_catalog_folder(tmp_path, n=4, subfolders=True)
    df.to_parquet(tmp_path / "train.parquet", index=False)
    out = read_catalog(tmp_path / "train.parquet")  # images/ next to the catalog is found
    assert out["file_loc"].iloc[1] == str(tmp_path / "images" / "101" / "gal001.png")
    moved = tmp_path / "elsewhere"
    (tmp_path / "images").rename(moved)
    with pytest.raises(CatalogError, match="image file missing"):
        read_catalog(tmp_path / "train.parquet")
    assert read_catalog(tmp_path / "train.parquet", image_root=moved)["file_loc"].map(os.path.isfile).all()


def test_image_decode_check_is_opt_in(folder: Path) -> None:
    df = pd.read_csv(folder / "catalog.csv")
    (folder / df.loc[0, "file_loc"]).write_bytes(b"not an image at all")
    assert len(read_catalog(folder / "catalog.csv")) == 8  # existence only: cheap
    for mode in ("header", "full"):
        with pytest.raises(CatalogError, match=r"image file unreadable in 1 row\(s\): 0 \(id_str=gal000\)"):
            read_catalog(folder / "catalog.csv", check_images=mode)


def test_truncated_image_caught_only_by_full_check(folder: Path) -> None:
    df = pd.read_csv(folder / "catalog.csv")
    target = folder / df.loc[2, "file_loc"]  # a JPEG
    data = target.read_bytes()
    target.write_bytes(data[: len(data) * 2 // 3])
    assert len(read_catalog(folder / "catalog.csv", check_images="header")) == 8
    with pytest.raises(CatalogError, match="id_str=gal002"):
        read_catalog(folder / "catalog.csv", check_images="full")


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_write_catalog_round_trips_with_relative_paths(folder: Path, tmp_path: Path, name: str) -> None:
    df = read_catalog(folder / "catalog.csv")
    outside = tmp_path / "outside.png"
    outside.write_bytes((folder / "images" / "gal000.png").read_bytes())
    df.loc[0, "file_loc"] = str(outside)
    path = write_catalog(df, folder / name)
    stored = pd.read_csv(path) if name.endswith(".csv") else pd.read_parquet(path)
    assert stored.loc[1, "file_loc"] == "images/gal001.png"
    assert stored.loc[0, "file_loc"] == str(outside)
    pd.testing.assert_frame_equal(read_catalog(path), df)


@pytest.mark.parametrize("blank", [np.nan, "", "  "])
def test_blank_id_str_is_an_error_naming_the_rows(folder: Path, blank) -> None:
    df = pd.read_csv(folder / "catalog.csv")
    df["id_str"] = df["id_str"].astype(object)
    df.loc[[2, 5], "id_str"] = blank
    df.to_csv(folder / "blank.csv", index=False)
    df.to_parquet(folder / "blank.parquet", index=False)
    for name in ("blank.csv", "blank.parquet"):
        with pytest.raises(CatalogError) as info:
            read_catalog(folder / name, schema=None)
        message = str(info.value)
        assert str(folder / name) in message and "blank id_str" in message and "2, 5" in message
        assert info.value.bad_rows == [2, 5]
    with pytest.warns(UserWarning, match="dropped 2 of 8"):
        kept = read_catalog(folder / "blank.parquet", schema=None, drop_bad_rows=True)
    assert len(kept) == 6 and "nan" not in set(kept["id_str"])
