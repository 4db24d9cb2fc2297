"""The command block of README's "The `galzoo` command" section runs as written, line after line.

The block is read from README.md, made tiny by a few explicit substitutions (``SMALLER``) and
run in a fresh folder, each line in its own process, the way a new user would paste it: the
lines chain (``simulate`` writes the universe the others read), so a README command that stops
working, or stops finding what the line before it wrote, fails this test. The ``torchrun`` line
needs several GPUs and real data: its ``galzoo`` arguments are parsed, and the comment above it
must say how to make the catalog it names.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from galzoo_tools.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## The `galzoo` command"

SMALLER = [  # (as in README, at a tiny size): every one must be found in the block
    ("--n 2000", "--n 64"),                                  # 64 galaxies (4 rings at seed 0)
    ("--size 128", "--size 32"),                             # 32 px images
    ("--scale small", "--scale tiny --image-size 32"),       # 1 epoch at 32 px
    ("--labels 200", "--labels 20"),
    ("--train-size 256", "--train-size 32"),                 # half the universe; the rest is the test set
]


def readme_block() -> str:
    """The first ```bash block of the README section on the galzoo command."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end != -1 else None]
    found = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert found, f"no ```bash block in README section {SECTION!r}"
    return found.group(1)


def logical_lines(block: str) -> list[str]:
    """The block's lines with ``\\`` continuations joined (comments are left for shlex)."""
    lines, current = [], ""
    for line in block.splitlines():
        stripped = line.rstrip()
        if stripped.endswith("\\") and not stripped.lstrip().startswith("#"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    if current:
        lines.append(current)
    return lines


def commands(block: str) -> list[list[str]]:
    """Each command of the block as its arguments (comments and blank lines dropped)."""
    return [args for args in (shlex.split(line, comments=True) for line in logical_lines(block)) if args]


def comments(block: str) -> list[str]:
    return [line.strip()[1:].strip() for line in block.splitlines() if line.strip().startswith("#")]


def tiny(block: str) -> str:
    for readme, small in SMALLER:
        assert readme in block, f"README's galzoo block no longer has {readme!r}: update SMALLER in {__file__}"
        block = block.replace(readme, small)
    return block


def galzoo_args(args: list[str]) -> list[str]:
    """The arguments after ``galzoo`` (or after ``-m galzoo_tools.cli`` on a torchrun line)."""
    if args[0] == "galzoo":
        return args[1:]
    assert args[0] == "torchrun", f"README's galzoo block runs {args[0]!r}; teach {__file__} about it"
    return args[args.index("galzoo_tools.cli") + 1:]


def test_the_block_reads_as_commands(capsys):
    block = readme_block()
    assert "[" not in block.replace("[[", ""), "an optional argument in [brackets] cannot be pasted into a shell"
    runs = commands(block)
    assert [args[0] for args in runs].count("galzoo") >= 7
    parser = build_parser()
    for args in runs:
        parser.parse_args(galzoo_args(args))  # exits 2 (a failed test) on an unknown or missing option
    deprecated = capsys.readouterr().err
    assert not deprecated, f"README's galzoo block uses an old spelling of an option: {deprecated}"


def test_the_torchrun_line_says_how_to_get_its_catalog():
    block = readme_block()
    [torchrun] = [args for args in commands(block) if args[0] == "torchrun"]
    catalog = torchrun[torchrun.index("--catalog") + 1]
    notes = [note for note in comments(block) if catalog in note]
    assert notes, f"no comment in the README block says how to make {catalog}"
    snippet = shlex.split(notes[0])[-1]  # python -c "..."
    tree = ast.parse(snippet)
    assert catalog in snippet and "fetch_dataset" in snippet
    from galzoo_tools import download

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "galzoo_tools.download":
            assert all(hasattr(download, alias.name) for alias in node.names)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "fetch_dataset":
            download.get_dataset_spec(node.args[0].value)  # a registered dataset
    assert hasattr(download.FetchedDataset, "catalog")


def test_every_command_runs_in_order_at_a_tiny_size(tmp_path):
    env = {**os.environ, "GALZOO_CACHE": str(tmp_path / "cache"), "GALZOO_DEVICE": "cpu"}
    env.pop("GALZOO_CATALOG", None)
    ran = []
    for args in commands(tiny(readme_block())):
        if args[0] == "torchrun":  # several GPUs and real data: parsed in test_the_block_reads_as_commands
            continue
        command = [sys.executable, "-m", "galzoo_tools.cli", *galzoo_args(args)]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                              check=False)
        assert done.returncode == 0, (
            f"README command failed (exit {done.returncode}): {shlex.join(args)}\n"
            f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )
        ran.append(args[1])
        if "--out" in args:
            assert (tmp_path / args[args.index("--out") + 1] / "metrics.json").is_file(), shlex.join(args)
    assert ran == ["simulate", "pretrain", "predict", "embed", "search", "anomaly", "finetune"]


@pytest.mark.parametrize(("text", "expected"), [
    ("galzoo a --x 1 \\\n    --y 2  # note\n", [["galzoo", "a", "--x", "1", "--y", "2"]]),
    ("# only a comment\n\ngalzoo b 'q r'  # c\n", [["galzoo", "b", "q r"]]),
])
def test_the_block_parser(text, expected):
    assert commands(text) == expected
