"""``--out`` behaves the same in every subcommand (:mod:`galzoo_tools.cli.outdir`): checked first,
refused when it holds another run, cleared only with ``--overwrite`` and only of what galzoo wrote."""

from __future__ import annotations

import os
import stat

import pytest

from galzoo_tools.cli import build_parser, main
from galzoo_tools.cli.outdir import prepare_out_dir
from galzoo_tools.config import default_file_mode

pytestmark = pytest.mark.usefixtures("no_network")

OUT_COMMANDS = {
    "simulate": ["simulate", "--n", "2", "--size", "32", "--quiet"],
    "pretrain": ["pretrain", "--catalog", "{root}/catalog.csv", "--image-size", "32", "--epochs", "1", "--quiet"],
    "predict": ["predict", "--catalog", "{root}/catalog.csv", "--model", "{root}/model", "--quiet"],
    "embed": ["embed", "--catalog", "{root}/catalog.csv", "--model", "scratch", "--quiet"],
    "search": ["search", "--embeddings", "{root}/emb", "--query", "gal000", "--quiet"],
    "anomaly": ["anomaly", "--embeddings", "{root}/emb", "--catalog", "{root}/scores.csv", "--interest-col",
                "interest", "--labels", "2", "--methods", "random", "--quiet"],
    "finetune": ["finetune", "--catalog", "{root}/catalog.csv", "--label-col", "ring", "--train-size", "2", "--quiet"],
}


def _options(command: str) -> set[str]:
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    return {o for action in parser._actions for o in action.option_strings}


def test_every_subcommand_has_out_and_overwrite():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert set(OUT_COMMANDS) == set(commands)
    for name in commands:
        assert {"--out", "--overwrite"} <= _options(name), name
    assert [name for name in commands if "--resume" in _options(name)] == ["pretrain"]


@pytest.mark.parametrize("command", list(OUT_COMMANDS))
def test_an_out_folder_holding_another_run_is_refused(cli_files, tmp_path, capsys, command):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"n": 3}\n')
    args = [a.format(root=cli_files) for a in OUT_COMMANDS[command]] + ["--out", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"galzoo {command}: error: --out {out} already holds another run")
    assert "--overwrite" in err and ("--resume" in err) == (command == "pretrain")
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]  # untouched
    assert (out / "metrics.json").read_text() == '{"n": 3}\n'


@pytest.mark.parametrize("command", ["search", "anomaly", "predict"])
def test_overwrite_replaces_the_run_in_out(cli_files, tmp_path, command):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"n": 3}\n')
    (out / "ranking.csv").write_text("stale\n")
    args = [a.format(root=cli_files) for a in OUT_COMMANDS[command]] + ["--out", str(out), "--overwrite"]
    assert main(args) == 0
    assert (out / "metrics.json").read_text() != '{"n": 3}\n'
    assert (command == "anomaly") == (out / "ranking.csv").exists()  # the stale one was cleared


def test_output_folder_is_checked_before_the_work(cli_files, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the output folder was checked")

    monkeypatch.setattr("galzoo_tools.representations.catalog_embeddings", no_work)
    assert main(["embed", "--catalog", str(cli_files / "catalog.csv"), "--model", "scratch",
                 "--out", str(cli_files / "a_file.txt" / "run"), "--quiet"]) == 1
    line = capsys.readouterr().err.strip()
    assert line.startswith("galzoo embed: error: ") and "a_file.txt" in line and "choose a folder you can write to" in line


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


def test_a_file_as_out_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        prepare_out_dir(tmp_path / "f")


def test_model_folders_and_embeddings_are_written_readable_like_the_rest(cli_files):
    mode = default_file_mode()
    for path in [cli_files / "model" / "model.safetensors", cli_files / "model" / "config.json",
                 cli_files / "emb" / "embeddings.npz"]:
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, path
