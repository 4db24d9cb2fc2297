"""One error policy for every ``galzoo`` subcommand, run in-process on tiny inputs.

Bad data, files, models, devices or output folders: one line on stderr
(``galzoo COMMAND: error: ...``) naming the file and what to do, exit 1, no traceback;
``GALZOO_DEBUG=1`` shows the traceback; Ctrl-C exits 130; usage errors still exit 2.
"""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest
import torch
from conftest_data import make_catalog_folder

import galzoo_tools.cli as cli
from galzoo_tools.cli import main
from galzoo_tools.cli_common import one_line, prepare_out_dir
from galzoo_tools.config import default_file_mode
from galzoo_tools.models import build_model, save_model
from galzoo_tools.representations import save_embeddings

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good and bad inputs, made once: a 4-galaxy catalog, broken images, a tiny model, broken weights."""
    root = tmp_path_factory.mktemp("bad_inputs")
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


def _one_error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"galzoo {command}: error: ")
    return lines[0]


# one bad input per subcommand: (arguments, what the one line must name)
BAD_INPUTS = {
    "simulate": (["simulate", "--n", "2", "--size", "32", "--out", "{root}/a_file.txt", "--quiet"],
                 ["a_file.txt", "not a folder"]),
    "pretrain": (["pretrain", "--catalog", "{root}/missing.csv", "--image-size", "32", "--epochs", "1",
                  "--out", "{tmp}/run", "--quiet"], ["missing.csv", "does not exist"]),
    "predict": (["predict", "--catalog", "{root}/empty_png.csv", "--model", "{root}/model", "--out", "{tmp}/run",
                 "--quiet"], ["empty.png", "image file empty", "in 1 row(s): 2", "gal002"]),
    "embed": (["embed", "--catalog", "{root}/text_png.csv", "--encoder", "scratch", "--image-size", "32",
               "--workers", "0", "--out", "{tmp}/run", "--quiet"], ["text.png", "gal001", "cannot read image"]),
    "search": (["search", "--embeddings", "{root}/empty_npz", "--query", "gal000"],
               ["empty_npz/embeddings.npz", "empty (0 bytes)"]),
    "anomaly": (["anomaly", "--embeddings", "{root}/emb", "--catalog", "{root}/semicolon_scores.csv",
                 "--interest-col", "interest", "--labels", "2", "--methods", "random", "--out", "{tmp}/run"],
                ["semicolon_scores.csv", "semicolon-separated", "save it with commas"]),
    "finetune": (["finetune", "--catalog", "{root}", "--label-col", "ring", "--train-size", "2", "--init", "scratch",
                  "--out", "{tmp}/run", "--quiet"], ["is a folder", "catalog.csv"]),
}


@pytest.mark.parametrize("command", list(BAD_INPUTS))
def test_each_subcommand_reports_bad_input_in_one_line(files, tmp_path, capsys, command):
    args, named = BAD_INPUTS[command]
    assert set(BAD_INPUTS) == {c for c in cli.build_parser()._subparsers._group_actions[0].choices}
    assert main([a.format(root=files, tmp=tmp_path) for a in args]) == 1
    line = _one_error_line(capsys, command)
    for text in named:
        assert text in line


@pytest.mark.parametrize(("model", "named"), [
    ("{root}/nowhere", ["nowhere", "does not exist", "galzoo pretrain --out"]),
    ("{root}/empty_model", ["empty_model", "is empty", "config.json"]),
    ("{root}/a_file.txt", ["a_file.txt", "is a file, not a model folder"]),
    ("{root}/broken_model", ["broken_model/model.safetensors", "truncated", "again"]),
    ("imagenet", ["predict needs a galzoo model with a Dirichlet head", "'reference'", "galzoo pretrain"]),
    ("hf_hub:someone/some-encoder", ["hf_hub:someone/some-encoder", "needs the internet", "'reference'"]),
])
def test_predict_names_what_is_wrong_with_the_model(files, tmp_path, capsys, model, named):
    code = main(["predict", "--catalog", str(files / "catalog.csv"), "--model", model.format(root=files),
                 "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 1
    line = _one_error_line(capsys, "predict")
    for text in named:
        assert text in line
    assert "does not exist" not in line or "nowhere" in model


def test_predict_takes_a_pretrain_output_folder_for_its_model(files, tmp_path, capsys):
    run = tmp_path / "pretrain_run"
    (run / "model").mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (run / "model" / name).write_bytes((files / "model" / name).read_bytes())
    assert main(["predict", "--catalog", str(files / "catalog.csv"), "--model", str(run), "--image-size", "32",
                 "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert len(pd.read_parquet(tmp_path / "out" / "predictions.parquet")) == 4


def test_predict_says_what_it_does_before_the_progress_bar(files, tmp_path, capsys):
    catalog = files / "catalog.csv"
    assert main(["predict", "--catalog", str(catalog), "--model", str(files / "model"), "--out", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("predict: ")]
    assert notes == [f"predict: reading the catalog {catalog}",
                     f"predict: 4 galaxies; loading the model {files / 'model'}",
                     "predict: reading 4 images at 32px and predicting"], captured.err
    assert captured.out.startswith("predict: 4 galaxies with")
    assert main(["predict", "--catalog", str(catalog), "--model", str(files / "model"), "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_cuda_device_without_cuda_is_one_line(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GALZOO_DEVICE", "cuda")
    assert main(["predict", "--catalog", str(files / "catalog.csv"), "--model", str(files / "model"),
                 "--out", str(tmp_path / "run"), "--quiet"]) == 1
    line = _one_error_line(capsys, "predict")
    assert "GALZOO_DEVICE='cuda'" in line and "no usable CUDA GPU" in line and "unset GALZOO_DEVICE" in line


def test_an_unusable_cache_folder_is_one_line(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GALZOO_CACHE", str(files / "a_file.txt"))
    assert main(["pretrain", "--simulate", "20", "--image-size", "32", "--epochs", "1",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 1
    line = _one_error_line(capsys, "pretrain")
    assert f"GALZOO_CACHE={files / 'a_file.txt'} cannot be used" in line and "point GALZOO_CACHE" in line


def test_a_semicolon_catalog_gets_a_delimiter_hint(files, tmp_path, capsys):
    assert main(["predict", "--catalog", str(files / "semicolons.csv"), "--model", str(files / "model"),
                 "--out", str(tmp_path / "run"), "--quiet"]) == 1
    line = _one_error_line(capsys, "predict")
    assert "semicolons.csv" in line and "it looks semicolon-separated; save it with commas" in line


def test_output_folder_is_checked_before_the_work(files, tmp_path, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the output folder was checked")

    monkeypatch.setattr("galzoo_tools.representations.catalog_embeddings", no_work)
    assert main(["embed", "--catalog", str(files / "catalog.csv"), "--encoder", "scratch",
                 "--out", str(files / "a_file.txt" / "run"), "--quiet"]) == 1
    line = _one_error_line(capsys, "embed")
    assert "a_file.txt" in line and "choose a folder you can write to" in line


def test_galzoo_debug_shows_the_traceback(files, tmp_path, monkeypatch):
    monkeypatch.setenv("GALZOO_DEBUG", "1")
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        main(["predict", "--catalog", str(files / "missing.csv"), "--out", str(tmp_path / "run")])


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run_simulate", interrupted)
    assert main(["simulate", "--n", "2", "--out", str(tmp_path / "run")]) == 130
    assert capsys.readouterr().err.strip() == "galzoo simulate: interrupted"


def test_a_usage_error_still_exits_2_with_the_usage(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict", "--out", str(tmp_path / "run")])  # no --catalog
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "usage: galzoo predict" in err and "--catalog" in err and "Traceback" not in err


def test_only_rank_0_reports_under_torchrun(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    args = ["pretrain", "--catalog", str(files / "missing.csv"), "--out", str(tmp_path / "run"), "--quiet"]
    assert main(args) == 1
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("RANK", "0")
    assert main(args) == 1
    assert "missing.csv" in _one_error_line(capsys, "pretrain")


def test_a_worker_traceback_becomes_its_last_line():
    err = OSError("Caught OSError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
                  '  File "x.py", line 1, in f\nOSError: cannot read image /a/b.png (id_str \'g1\'): truncated.')
    assert one_line(err) == "cannot read image /a/b.png (id_str 'g1'): truncated."
    assert one_line(ValueError("catalog x: 1 row(s):\n  column 'a': bad\n  -> fix it")) == \
        "catalog x: 1 row(s): column 'a': bad -> fix it"


# --- output folders: refused when they hold another run, cleared only with --overwrite ---

OUT_COMMANDS = {
    "simulate": ["simulate", "--n", "2", "--size", "32", "--quiet"],
    "pretrain": ["pretrain", "--catalog", "{root}/catalog.csv", "--image-size", "32", "--epochs", "1", "--quiet"],
    "predict": ["predict", "--catalog", "{root}/catalog.csv", "--model", "{root}/model", "--quiet"],
    "embed": ["embed", "--catalog", "{root}/catalog.csv", "--encoder", "scratch", "--quiet"],
    "anomaly": ["anomaly", "--embeddings", "{root}/emb", "--catalog", "{root}/catalog.csv", "--persona", "rings"],
    "finetune": ["finetune", "--catalog", "{root}/catalog.csv", "--label-col", "ring", "--train-size", "2", "--quiet"],
}


@pytest.mark.parametrize("command", list(OUT_COMMANDS))
def test_an_out_folder_holding_another_run_is_refused(files, tmp_path, capsys, command):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"n": 3}\n')
    args = [a.format(root=files) for a in OUT_COMMANDS[command]] + ["--out", str(out)]
    assert main(args) == 1
    line = _one_error_line(capsys, command)
    assert str(out) in line and "already holds another run" in line and "--overwrite" in line
    assert ("--resume" in line) == (command == "pretrain")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]  # untouched
    assert (out / "metrics.json").read_text() == '{"n": 3}\n'


def test_overwrite_clears_only_what_galzoo_wrote(tmp_path):
    out = tmp_path / "run"
    (out / "images").mkdir(parents=True)
    (out / "images" / "old.png").write_bytes(b"x")
    (out / "metrics.json").write_text("{}")
    assert prepare_out_dir(out, overwrite=True) == out and list(out.iterdir()) == []
    (out / "my_notes.txt").write_text("precious")
    (out / "metrics.json").write_text("{}")
    with pytest.raises(ValueError, match=r"holds files galzoo did not write \(my_notes.txt\)"):
        prepare_out_dir(out, overwrite=True)
    assert (out / "my_notes.txt").read_text() == "precious" and (out / "metrics.json").exists()
    assert prepare_out_dir(out, resume=True) == out and len(list(out.iterdir())) == 2
    assert prepare_out_dir(out, refuse_existing=False) == out


def test_model_folders_and_embeddings_are_written_readable_like_the_rest(files, tmp_path):
    mode = default_file_mode()
    for path in [files / "model" / "model.safetensors", files / "model" / "config.json",
                 files / "emb" / "embeddings.npz"]:
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, path
