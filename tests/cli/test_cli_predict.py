"""``galzoo predict``: vote fractions from a model with the vote head, and what it says about a wrong model."""

from __future__ import annotations

import pandas as pd
import pytest

from galzoo_tools.cli import main

pytestmark = pytest.mark.usefixtures("no_network")


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("galzoo predict: error: ")
    return lines[0]


@pytest.mark.parametrize(("model", "named"), [
    ("{root}/nowhere", ["nowhere", "does not exist", "galzoo pretrain --out"]),
    ("{root}/empty_model", ["empty_model", "is empty", "config.json"]),
    ("{root}/a_file.txt", ["a_file.txt", "is a file, not a model folder"]),
    ("{root}/broken_model", ["broken_model/model.safetensors", "truncated", "again"]),
    ("imagenet", ["predict needs a galzoo model with a Dirichlet head", "'reference'", "galzoo pretrain",
                  "galzoo embed --model"]),
    ("hf_hub:someone/some-encoder", ["hf_hub:someone/some-encoder", "needs the internet", "'reference'"]),
])
def test_predict_names_what_is_wrong_with_the_model(cli_files, tmp_path, capsys, model, named):
    code = main(["predict", "--catalog", str(cli_files / "catalog.csv"), "--model", model.format(root=cli_files),
                 "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 1
    line = _error_line(capsys)
    for text in named:
        assert text in line
    assert "does not exist" not in line or "nowhere" in model


def test_predict_takes_a_pretrain_output_folder_for_its_model(cli_files, tmp_path, capsys):
    run = tmp_path / "pretrain_run"
    (run / "model").mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (run / "model" / name).write_bytes((cli_files / "model" / name).read_bytes())
    assert main(["predict", "--catalog", str(cli_files / "catalog.csv"), "--model", str(run), "--image-size", "32",
                 "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert len(pd.read_parquet(tmp_path / "out" / "predictions.parquet")) == 4
    assert capsys.readouterr().out.startswith(f"predict: 4 galaxies with {run / 'model'} at 32px")


def test_predict_says_what_it_does_before_the_progress_bar_unless_quiet(cli_files, tmp_path, capsys):
    catalog = cli_files / "catalog.csv"
    assert main(["predict", "--catalog", str(catalog), "--model", str(cli_files / "model"),
                 "--out", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("predict: ")]
    assert notes == [f"predict: reading the catalog {catalog}",
                     f"predict: 4 galaxies; loading the model {cli_files / 'model'}",
                     "predict: reading 4 images at 32px and predicting"], captured.err
    assert captured.out.startswith("predict: 4 galaxies with")
    predictions = pd.read_parquet(tmp_path / "a" / "predictions.parquet")
    assert predictions["id_str"].tolist() == [f"gal{i:03d}" for i in range(4)]
    assert main(["predict", "--catalog", str(catalog), "--model", str(cli_files / "model"),
                 "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
