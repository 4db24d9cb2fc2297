"""The ``galzoo`` entry point (:mod:`galzoo_tools.cli`): its parser, its subcommands, ``python -m``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import galzoo_tools
from galzoo_tools import cli
from galzoo_tools.cli import SUBCOMMANDS, build_parser, main

CLI_PACKAGE = Path(cli.__file__).parent
SUBCOMMAND_MODULES = ["simulate", "pretrain", "predict", "embed", "search", "anomaly", "finetune"]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def test_every_subcommand_is_a_module_with_register_and_run():
    assert list(_subparsers(build_parser())) == SUBCOMMAND_MODULES
    assert [f.__module__ for f in SUBCOMMANDS] == [f"galzoo_tools.cli.{name}" for name in SUBCOMMAND_MODULES]
    for name in SUBCOMMAND_MODULES:
        assert (CLI_PACKAGE / f"{name}.py").is_file()
        assert _subparsers(build_parser())[name].get_default("run").__module__ == f"galzoo_tools.cli.{name}"


def test_no_import_comes_after_the_code():
    for path in CLI_PACKAGE.glob("*.py"):
        lines = path.read_text().splitlines()
        first_def = next((i for i, line in enumerate(lines) if line.startswith(("def ", "class "))), len(lines))
        late = [line for line in lines[first_def:] if line.startswith(("import ", "from "))]
        assert not late, f"{path.name} imports at module level after its code: {late}"


def test_no_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2 and "usage: galzoo" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"galzoo {galzoo_tools.__version__}"


def test_python_dash_m_runs_the_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "galzoo_tools.cli", "search", "--embeddings", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "usage: galzoo search" in done.stderr and "give --query" in done.stderr


def test_the_console_script_points_at_main():
    text = (Path(galzoo_tools.__file__).parents[1] / "pyproject.toml").read_text()
    assert 'galzoo = "galzoo_tools.cli:main"' in text
