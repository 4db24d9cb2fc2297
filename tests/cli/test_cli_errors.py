"""One error policy for every ``galzoo`` subcommand (:mod:`galzoo_tools.cli.errors`), run in-process.

Bad data, files, models, devices or output folders: one line on stderr
(``galzoo COMMAND: error: ...``) naming the file and what to do, exit 1, no traceback;
``GALZOO_DEBUG=1`` shows the traceback; Ctrl-C exits 130; usage errors exit 2 with the usage.
"""

from __future__ import annotations

import pytest
import torch

import galzoo_tools.cli.simulate
from galzoo_tools.cli import build_parser, main
from galzoo_tools.cli.errors import one_line

pytestmark = pytest.mark.usefixtures("no_network")

COMMANDS = set(build_parser()._subparsers._group_actions[0].choices)


def one_error_line(capsys, command: str) -> str:
    """The single line a failed command printed on stderr (and nothing else, no traceback)."""
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
    "embed": (["embed", "--catalog", "{root}/text_png.csv", "--model", "scratch", "--image-size", "32",
               "--workers", "0", "--out", "{tmp}/run", "--quiet"], ["text.png", "gal001", "cannot read image"]),
    "search": (["search", "--embeddings", "{root}/empty_npz", "--query", "gal000", "--quiet"],
               ["empty_npz/embeddings.npz", "empty (0 bytes)"]),
    "anomaly": (["anomaly", "--embeddings", "{root}/emb", "--catalog", "{root}/semicolon_scores.csv",
                 "--interest-col", "interest", "--labels", "2", "--methods", "random", "--out", "{tmp}/run",
                 "--quiet"], ["semicolon_scores.csv", "semicolon-separated", "save it with commas"]),
    "finetune": (["finetune", "--catalog", "{root}", "--label-col", "ring", "--train-size", "2", "--model", "scratch",
                  "--out", "{tmp}/run", "--quiet"], ["is a folder", "catalog.csv"]),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_subcommand_reports_bad_input_in_one_line(cli_files, tmp_path, capsys, command):
    args, named = BAD_INPUTS[command]
    assert main([a.format(root=cli_files, tmp=tmp_path) for a in args]) == 1
    line = one_error_line(capsys, command)
    for text in named:
        assert text in line


# one usage error per subcommand: arguments that are wrong before any file is read
USAGE_ERRORS = {
    "simulate": (["simulate", "--n", "0", "--out", "{tmp}/run"], "--n: must be a positive integer"),
    "pretrain": (["pretrain", "--catalog", "{root}/catalog.csv", "--simulate", "20", "--out", "{tmp}/run"],
                 "not allowed with argument"),
    "predict": (["predict", "--out", "{tmp}/run"], "the following arguments are required: --catalog"),
    "embed": (["embed", "--catalog", "{root}/catalog.csv", "--tta", "-1", "--out", "{tmp}/run"],
              "--tta: must be 0 or more"),
    "search": (["search", "--embeddings", "{root}/emb"], "give --query ID"),
    "anomaly": (["anomaly", "--embeddings", "{root}/emb", "--catalog", "{root}/scores.csv", "--interest-col",
                 "interest", "--methods", "gp,magic", "--out", "{tmp}/run"], "unknown method 'magic'"),
    "finetune": (["finetune", "--catalog", "{root}/catalog.csv", "--label-col", "ring", "--train-size", "2",
                  "--image-size", "8", "--out", "{tmp}/run"], "--image-size: must be a number of pixels from 32"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_subcommand_exits_2_with_its_usage_on_a_usage_error(cli_files, tmp_path, capsys, galzoo, command):
    args, message = USAGE_ERRORS[command]
    assert galzoo([a.format(root=cli_files, tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert f"usage: galzoo {command}" in err and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_every_subcommand_has_a_bad_input_and_a_usage_error_case():
    assert set(BAD_INPUTS) == set(USAGE_ERRORS) == COMMANDS


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_cuda_device_without_cuda_is_one_line(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GALZOO_DEVICE", "cuda")
    assert main(["predict", "--catalog", str(cli_files / "catalog.csv"), "--model", str(cli_files / "model"),
                 "--out", str(tmp_path / "run"), "--quiet"]) == 1
    line = one_error_line(capsys, "predict")
    assert "GALZOO_DEVICE='cuda'" in line and "no usable CUDA GPU" in line and "unset GALZOO_DEVICE" in line


def test_an_unusable_cache_folder_is_one_line(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GALZOO_CACHE", str(cli_files / "a_file.txt"))
    assert main(["pretrain", "--simulate", "20", "--image-size", "32", "--epochs", "1",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 1
    line = one_error_line(capsys, "pretrain")
    assert f"GALZOO_CACHE={cli_files / 'a_file.txt'} cannot be used" in line and "point GALZOO_CACHE" in line


def test_a_semicolon_catalog_gets_a_delimiter_hint(cli_files, tmp_path, capsys):
    assert main(["predict", "--catalog", str(cli_files / "semicolons.csv"), "--model", str(cli_files / "model"),
                 "--out", str(tmp_path / "run"), "--quiet"]) == 1
    line = one_error_line(capsys, "predict")
    assert "semicolons.csv" in line and "it looks semicolon-separated; save it with commas" in line


def test_galzoo_debug_shows_the_traceback(cli_files, tmp_path, monkeypatch):
    monkeypatch.setenv("GALZOO_DEBUG", "1")
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        main(["predict", "--catalog", str(cli_files / "missing.csv"), "--out", str(tmp_path / "run")])


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(galzoo_tools.cli.simulate, "run", interrupted)
    assert main(["simulate", "--n", "2", "--out", str(tmp_path / "run")]) == 130
    assert capsys.readouterr().err.strip() == "galzoo simulate: interrupted"


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    def bug(args):
        raise TypeError("a bug in galzoo")

    monkeypatch.setattr(galzoo_tools.cli.simulate, "run", bug)
    with pytest.raises(TypeError, match="a bug in galzoo"):
        main(["simulate", "--n", "2", "--out", str(tmp_path / "run")])


def test_out_of_memory_suggests_a_smaller_batch(tmp_path, capsys, monkeypatch):
    def oom(args):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(galzoo_tools.cli.simulate, "run", oom)
    assert main(["simulate", "--n", "2", "--out", str(tmp_path / "run")]) == 1
    assert one_error_line(capsys, "simulate").endswith("; try a smaller --batch-size")


def test_only_rank_0_reports_under_torchrun(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    args = ["pretrain", "--catalog", str(cli_files / "missing.csv"), "--out", str(tmp_path / "run"), "--quiet"]
    assert main(args) == 1
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("RANK", "0")
    assert main(args) == 1
    assert "missing.csv" in one_error_line(capsys, "pretrain")


def test_a_worker_traceback_becomes_its_last_line():
    err = OSError("Caught OSError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
                  '  File "x.py", line 1, in f\nOSError: cannot read image /a/b.png (id_str \'g1\'): truncated.')
    assert one_line(err) == "cannot read image /a/b.png (id_str 'g1'): truncated."
    assert one_line(ValueError("catalog x: 1 row(s):\n  column 'a': bad\n  -> fix it")) == \
        "catalog x: 1 row(s): column 'a': bad -> fix it"
    assert one_line(KeyError("no galaxy with id_str 'z'")) == "no galaxy with id_str 'z'"  # not its repr
