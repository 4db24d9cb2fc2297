"""Argument types and flags shared by every subcommand (:mod:`galzoo_tools.cli.args`)."""

from __future__ import annotations

import argparse

import pytest

from galzoo_tools.cli import build_parser
from galzoo_tools.cli.args import DeprecatedAlias, add_model_argument, image_size, non_negative_int, positive_int

COMMANDS = build_parser()._subparsers._group_actions[0].choices
MODEL_COMMANDS = {"predict", "embed", "finetune"}
OLD_MODEL_FLAGS = {"embed": "--encoder", "finetune": "--init"}


def _options(command: str) -> dict[str, argparse.Action]:
    return {o: action for action in COMMANDS[command]._actions for o in action.option_strings}


@pytest.mark.parametrize(("convert", "good", "bad"), [
    (positive_int, {"1": 1, "40": 40}, ["0", "-3", "x", "1.5"]),
    (non_negative_int, {"0": 0, "7": 7}, ["-1", "x"]),
    (image_size, {"32": 32, "128": 128, "512": 512}, ["31", "513", "0", "big"]),
])
def test_argument_types(convert, good, bad):
    for text, value in good.items():
        assert convert(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=f"got '?{text}'?"):
            convert(text)


def test_one_definition_of_each_type():
    for name, action in ((n, a) for c in COMMANDS for n, a in _options(c).items()):
        if action.type is not None and getattr(action.type, "__module__", "").startswith("galzoo_tools"):
            assert action.type.__module__ == "galzoo_tools.cli.args" or action.type.__name__ == "methods_list", name
    for command in COMMANDS:
        if "--image-size" in _options(command):
            assert _options(command)["--image-size"].type is image_size, command


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_subcommand_has_quiet_and_model_where_it_uses_one(command):
    options = _options(command)
    assert "--quiet" in options
    assert ("--model" in options) == (command in MODEL_COMMANDS)
    visible_model_flags = {o for o in ("--model", "--init", "--encoder") if o in options
                           and options[o].help != argparse.SUPPRESS}
    expected = {"pretrain": {"--init"}}.get(command, {"--model"} if command in MODEL_COMMANDS else set())
    assert visible_model_flags == expected


@pytest.mark.parametrize("command", sorted(MODEL_COMMANDS))
def test_model_is_accepted_and_old_spellings_land_in_the_same_place(command, capsys):
    base = {"predict": ["--catalog", "c.csv", "--out", "o"], "embed": ["--catalog", "c.csv", "--out", "o"],
            "finetune": ["--catalog", "c.csv", "--label-col", "ring", "--train-size", "8", "--out", "o"]}[command]
    parser = build_parser()
    assert parser.parse_args([command, *base]).model == "reference"
    assert parser.parse_args([command, *base, "--model", "imagenet"]).model == "imagenet"
    assert capsys.readouterr().err == ""
    if command in OLD_MODEL_FLAGS:
        old = OLD_MODEL_FLAGS[command]
        assert parser.parse_args([command, *base, old, "runs/x/model"]).model == "runs/x/model"
        assert capsys.readouterr().err == (f"galzoo {command}: {old} is deprecated and will be removed in the next "
                                           "release; use --model\n")
        assert old not in COMMANDS[command].format_help()


def test_a_deprecated_alias_is_quiet_outside_rank_0(monkeypatch, capsys):
    parser = argparse.ArgumentParser(prog="galzoo x")
    add_model_argument(parser, help="m", deprecated=["--encoder"])
    monkeypatch.setenv("RANK", "2")
    assert parser.parse_args(["--encoder", "scratch"]).model == "scratch"
    assert capsys.readouterr().err == ""
    assert isinstance({a.dest: a for a in parser._actions if a.option_strings == ["--encoder"]}["model"],
                      DeprecatedAlias)
