"""Shared inputs of the ``galzoo`` command-line tests, good and bad, made once per session.

tests/ is put on ``sys.path`` so the data helpers beside it (``conftest_data``, ``finetune_data``)
import from this subfolder as they do from tests/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest_data import make_catalog_folder  # needs tests/ on the path

from galzoo_tools.models import build_model, save_model
from galzoo_tools.representations import save_embeddings


@pytest.fixture(scope="session")
def cli_files(tmp_path_factory) -> Path:
    """A 4-galaxy catalog (with votes), broken images and catalogs, a tiny model, broken weights, embeddings."""
    root = tmp_path_factory.mktemp("cli_inputs")
    table = make_catalog_folder(root, n=4)
    table.to_csv(root / "catalog.csv", index=False)
    (root / "images" / "empty.png").write_bytes(b"")
    table.assign(file_loc=table["file_loc"].where(table.index != 2, "images/empty.png")).to_csv(
        root / "empty_png.csv", index=False)
    (root / "images" / "text.png").write_text("not an image\n")
    table.assign(file_loc=table["file_loc"].where(table.index != 1, "images/text.png")).to_csv(
        root / "text_png.csv", index=False)
    table[["id_str", "file_loc"]].to_csv(root / "semicolons.csv", sep=";", index=False)
    table[["id_str"]].assign(interest=[0, 1, 5, 2]).to_csv(root / "semicolon_scores.csv", sep=";", index=False)
    table[["id_str"]].assign(interest=[0, 1, 5, 2]).to_csv(root / "scores.csv", index=False)
    (root / "a_file.txt").write_text("not a folder\n")
    (root / "empty_model").mkdir()
    torch.manual_seed(0)
    model = save_model(build_model("scratch"), root / "model", {"image_size": 32})
    broken = root / "broken_model"
    broken.mkdir()
    (broken / "config.json").write_bytes((model / "config.json").read_bytes())
    (broken / "model.safetensors").write_bytes((model / "model.safetensors").read_bytes()[:4000])
    (root / "empty_npz").mkdir()
    (root / "empty_npz" / "embeddings.npz").write_bytes(b"")
    save_embeddings(root / "emb", table["id_str"].to_numpy(), np.eye(4, dtype=np.float32))
    return root


@pytest.fixture
def galzoo():
    """Run ``galzoo ARGS`` in-process and return its exit status, whether ``main`` returns it or
    argparse exits with it (usage errors, ``--help``)."""
    from galzoo_tools.cli import main

    def run(args: list[str]) -> int:
        try:
            return main([str(a) for a in args])
        except SystemExit as stop:
            return int(stop.code or 0)

    return run
