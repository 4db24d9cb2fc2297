"""``galzoo pretrain`` from the command line: its starting weights (``--init``), ``--quiet`` and ``--out``.

Training itself is tested in the pretraining tests; here one tiny run checks the command's wiring.
"""

from __future__ import annotations

import json

import pytest

from galzoo_tools.cli import main

pytestmark = pytest.mark.usefixtures("no_network")


def test_pretrain_continues_from_a_model_folder_given_as_init(cli_files, tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.warns(UserWarning):  # 2 training galaxies, fewer than a batch
        code = main(["pretrain", "--catalog", str(cli_files / "catalog.csv"), "--init", str(cli_files / "model"),
                     "--image-size", "32", "--epochs", "1", "--batch-size", "4", "--workers", "0",
                     "--out", str(out), "--quiet"])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    summary = captured.out.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("pretrain: efficientnet_lite0 32px, 1 epochs -> ")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 and (out / "model" / "config.json").is_file()
    assert json.loads((out / "model" / "config.json").read_text())["image_size"] == 32


def test_pretrain_names_its_starting_weights_init_not_model(galzoo, capsys):
    assert galzoo(["pretrain", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--init MODEL" in text and "hf_hub:" in text and "--model" not in text
