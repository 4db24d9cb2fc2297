"""``galzoo embed``: features of every galaxy from any encoder named by ``--model``."""

from __future__ import annotations

import json

import pytest

from galzoo_tools.cli import main
from galzoo_tools.representations import load_embeddings

pytestmark = pytest.mark.usefixtures("no_network")


def test_embed_writes_embeddings_and_says_what_it_does_unless_quiet(cli_files, tmp_path, capsys):
    catalog, model = cli_files / "catalog.csv", cli_files / "model"
    out = tmp_path / "embed"
    assert main(["embed", "--catalog", str(catalog), "--model", str(model), "--workers", "0", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("embed: ")]
    assert notes[:2] == [f"embed: reading the catalog {catalog}", f"embed: 4 galaxies; loading the encoder {model}"]
    assert notes[2].startswith("embed: reading 4 images at 32px and embedding them on "), captured.err
    summary = captured.out.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith(f"embed: 4 galaxies x 1280 features with {model} at 32px")
    emb = load_embeddings(out)
    assert emb.features.shape == (4, 1280) and list(emb.id_str) == [f"gal{i:03d}" for i in range(4)]
    assert json.loads((out / "metrics.json").read_text())["n"] == 4

    assert main(["embed", "--catalog", str(catalog), "--model", str(model), "--workers", "0",
                 "--out", str(tmp_path / "quiet"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_the_old_encoder_flag_still_works_and_says_it_is_deprecated(cli_files, tmp_path, capsys):
    assert main(["embed", "--catalog", str(cli_files / "catalog.csv"), "--encoder", "scratch", "--image-size", "32",
                 "--workers", "0", "--out", str(tmp_path / "old"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ("galzoo embed: --encoder is deprecated and will be removed in the next release; "
                            "use --model\n")
    assert "with scratch at 32px" in captured.out
    assert load_embeddings(tmp_path / "old").features.shape == (4, 1280)
