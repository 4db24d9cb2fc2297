"""What every ``galzoo`` subcommand shares: its output folder check and the error policy of ``main``.

:func:`prepare_out_dir` runs first in every subcommand with ``--out``: it creates the folder and
checks that it can be written **before** the work starts, and refuses a folder that already
holds another run unless ``--overwrite`` (which clears it) or, for ``pretrain``, ``--resume``.
Runs never mix: a new model beside stale metrics, a new catalog beside images of another size.

:func:`report_error` is how :func:`galzoo_tools.cli.main` turns an exception into one line on
stderr (``galzoo COMMAND: error: ...``); :class:`UsageError` marks arguments that do not go
together, which ``main`` reports with the subcommand's usage and exit status 2.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

__all__ = [
    "UsageError", "RUN_ENTRIES", "prepare_out_dir", "add_overwrite_argument", "is_main_process", "one_line",
    "step_notes",
]


class UsageError(ValueError):
    """Arguments that do not go together: ``galzoo`` prints the subcommand's usage and exits 2."""


RUN_ENTRIES = (
    "images", "model", "catalog.parquet", "metrics.json", "history.json", "history_*.json", "split.csv",
    "split.csv.gz", "last_checkpoint.pt", "predictions.parquet", "embeddings.npz", "ranking.csv",
    "*.tmp", ".embeddings-*", ".DS_Store",
)
"""Names (glob patterns) of what galzoo subcommands write into ``--out``: ``--overwrite`` clears a
folder only when everything in it is one of these, so it never deletes a user's own files."""


def is_main_process() -> bool:
    """False in the processes of rank 1, 2, ... that ``torchrun`` starts (they report nothing)."""
    try:
        return int(os.environ.get("RANK", "0")) == 0
    except ValueError:
        return True


def step_notes(command: str, quiet: bool = False) -> Callable[[str], None]:
    """A function that prints ``COMMAND: message`` on stderr at once: the steps before a progress bar.

    Loading a model and opening thousands of images take 10-40 s before the first batch; one line
    per step says what is happening. Prints nothing when ``quiet`` or in a ``torchrun`` process
    other than rank 0.
    """
    if quiet or not is_main_process():
        return lambda message: None

    def note(message: str) -> None:
        print(f"{command}: {message}", file=sys.stderr, flush=True)

    return note


def add_overwrite_argument(parser: argparse.ArgumentParser | argparse._ActionsContainer) -> argparse.Action:
    """``--overwrite``: clear an ``--out`` that holds another run, instead of refusing it."""
    return parser.add_argument("--overwrite", action="store_true",
                               help="clear OUT first if it holds another run (default: refuse such a folder)")


def _is_run_entry(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in RUN_ENTRIES)


def _clear(folder: Path) -> None:
    entries = sorted(folder.iterdir())
    foreign = [e.name for e in entries if not _is_run_entry(e.name)]
    if foreign:
        raise ValueError(
            f"--out {folder} holds files galzoo did not write ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}), so --overwrite will not delete it; move those files "
            "away or choose another --out"
        )
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def prepare_out_dir(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    resume: bool = False,
    can_resume: bool = False,
    refuse_existing: bool = True,
) -> Path:
    """Create the output folder ``path`` and check it can be written; returns it as a ``Path``.

    A folder that exists and is not empty holds another run: it is refused (``ValueError``
    naming ``--overwrite``) unless ``overwrite`` (everything in it is deleted first, provided
    it is all galzoo output, see :data:`RUN_ENTRIES`) or ``resume`` (kept as it is, to be
    continued). ``can_resume`` adds ``--resume`` to the advice; ``refuse_existing=False`` only
    checks that the folder can be written (``galzoo search --out``, which adds a metrics.json).
    Raises ``ValueError`` for a path that is a file and for a folder that cannot be created or
    written, naming the path and what to do.
    """
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} is a file, not a folder; give the path of a folder (it is created if needed)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the output folder --out {folder}: {err.strerror or err}; "
                         "choose a folder you can write to") from err
    if refuse_existing and any(folder.iterdir()):
        if overwrite:
            _clear(folder)
        elif not resume:
            held = sorted(e.name for e in folder.iterdir())
            resume_hint = ", --resume to continue it" if can_resume else ""
            raise ValueError(
                f"--out {folder} already holds another run ({', '.join(held[:4])}{', ...' if len(held) > 4 else ''}); "
                f"pass --overwrite to replace it{resume_hint}, or choose another --out"
            )
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".galzoo-write-check-"):
            pass
    except OSError as err:
        raise ValueError(f"cannot write to the output folder --out {folder}: {err.strerror or err}; "
                         "choose a folder you can write to") from err
    return folder


def one_line(err: BaseException) -> str:
    """An exception's message as one line: lines joined, a worker's traceback cut to its last line."""
    text = str(err)
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str):
        text = err.args[0]
    if "Original Traceback" in text:  # re-raised from a DataLoader worker: keep the worker's own message
        last = [line for line in text.splitlines() if line.strip()][-1].strip()
        name, sep, rest = last.partition(": ")
        text = rest if sep and name.replace(".", "").replace("_", "").isalnum() else last
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    out = lines[0]
    for line in lines[1:]:
        out += (" " if out.endswith((":", ";", ",")) or line.startswith("->") else "; ") + line
    return out
