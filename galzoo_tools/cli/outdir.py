"""The ``--out`` folder of every ``galzoo`` subcommand: checked first, and never two runs mixed in it.

:func:`prepare_out` runs first in every subcommand with ``--out``: it creates the folder and
checks that it can be written **before** the work starts, and refuses a folder that already
holds another run unless ``--overwrite`` (which clears it) or, for ``pretrain``, ``--resume``.
Runs never mix: a new model beside stale metrics, a new catalog beside images of another size.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["RUN_ENTRIES", "prepare_out_dir", "prepare_out"]

RUN_ENTRIES = (
    "images", "model", "catalog.parquet", "metrics.json", "history.json", "history_*.json", "split.csv",
    "split.csv.gz", "last_checkpoint.pt", "predictions.parquet", "embeddings.npz", "ranking.csv",
    "*.tmp", ".embeddings-*", ".DS_Store",
)
"""Names (glob patterns) of what galzoo subcommands write into ``--out``: ``--overwrite`` clears a
folder only when everything in it is one of these, so it never deletes a user's own files."""


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
    path: str | os.PathLike[str], *, overwrite: bool = False, resume: bool = False, can_resume: bool = False
) -> Path:
    """Create the output folder ``path`` and check it can be written; returns it as a ``Path``.

    A folder that exists and is not empty holds another run: it is refused (``ValueError``
    naming ``--overwrite``) unless ``overwrite`` (everything in it is deleted first, provided
    it is all galzoo output, see :data:`RUN_ENTRIES`) or ``resume`` (kept as it is, to be
    continued). ``can_resume`` adds ``--resume`` to the advice. Raises ``ValueError`` for a
    path that is a file and for a folder that cannot be created or written, naming the path
    and what to do.
    """
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} is a file, not a folder; give the path of a folder (it is created if needed)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the output folder --out {folder}: {err.strerror or err}; "
                         "choose a folder you can write to") from err
    if any(folder.iterdir()):
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


def prepare_out(args: argparse.Namespace) -> Path | None:
    """:func:`prepare_out_dir` for the ``--out``, ``--overwrite`` and ``--resume`` that
    :func:`galzoo_tools.cli.args.add_out_arguments` added; ``None`` when an optional ``--out`` is not given."""
    if args.out is None:
        return None
    resume = getattr(args, "resume", None)  # only pretrain can continue a run
    return prepare_out_dir(args.out, overwrite=args.overwrite, resume=bool(resume), can_resume=resume is not None)
