"""Argument types and flags shared by every ``galzoo`` subcommand, so each means one thing everywhere.

Types: :func:`positive_int`, :func:`non_negative_int`, :func:`image_size`. Flags:
``--out DIR`` with ``--overwrite`` (and pretrain's ``--resume``), ``--quiet``, and ``--model``
for every command that uses a trained model or encoder. An old spelling of a flag stays for
one release as a hidden alias that still works and says, in one line on stderr, what to use.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from .console import is_main_process

__all__ = [
    "MODEL_SOURCES", "positive_int", "non_negative_int", "image_size", "add_out_arguments", "add_quiet_argument",
    "add_model_argument", "add_deprecated_alias", "DeprecatedAlias",
]

MODEL_SOURCES = ("reference | imagenet | scratch | hf_hub:owner/name | local-dir:/path | a model folder "
                 "(e.g. OUT/model of `galzoo pretrain --out OUT`)")
"""What ``--model`` (and pretrain's ``--init``) accept, for the help texts."""

IMAGE_SIZES = (32, 512)
"""Smallest and largest image size in pixels any subcommand accepts."""


def _integer(text: str, wanted: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer of at least 1 (a count of galaxies, labels, epochs, ...)."""
    value = _integer(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0 (e.g. extra augmented views)."""
    value = _integer(text, "0 or more")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def image_size(text: str) -> int:
    """An image size in pixels, from 32 (the encoders' total stride) to 512."""
    low, high = IMAGE_SIZES
    value = _integer(text, f"a number of pixels from {low} to {high}")
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be a number of pixels from {low} to {high}, got {text}")
    return value


def add_out_arguments(
    parser: argparse.ArgumentParser, *, required: bool = True, resume: bool = False, what: str = "output folder"
) -> None:
    """``--out DIR`` and ``--overwrite`` (with ``resume``, also ``--resume``, exclusive with ``--overwrite``).

    Every subcommand checks them the same way, with :func:`galzoo_tools.cli.outdir.prepare_out`.
    """
    unless = "--overwrite or --resume" if resume else "--overwrite"
    parser.add_argument("--out", type=Path, required=required, metavar="DIR",
                        help=f"{what} (created if needed; refused if it holds another run, unless {unless})")
    again: argparse._ActionsContainer = parser.add_mutually_exclusive_group() if resume else parser
    if resume:
        again.add_argument("--resume", action="store_true",
                           help="continue the run in OUT from OUT/last_checkpoint.pt (refused if it had other settings)")
    again.add_argument("--overwrite", action="store_true",
                       help="clear OUT first if it holds another run (default: refuse such a folder)")


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bars and no step notes on stderr (errors and warnings still show)."""
    parser.add_argument("--quiet", action="store_true", help="no progress bars and no notes on stderr")


class DeprecatedAlias(argparse.Action):
    """An old spelling of an option: still works for one release, hidden from ``--help``, and says
    in one line on stderr which option to use instead."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str, **kwargs: Any) -> None:
        kwargs.update(help=argparse.SUPPRESS, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if is_main_process():
            print(f"{parser.prog}: {option_string} is deprecated and will be removed in the next release; "
                  f"use {self.new}", file=sys.stderr, flush=True)
        setattr(namespace, self.dest, values)


def add_deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str, dest: str) -> None:
    """Accept ``old`` as a hidden, deprecated spelling of the option ``new`` (which must be added first)."""
    parser.add_argument(old, dest=dest, action=DeprecatedAlias, new=new, metavar=new.lstrip("-").upper())


def add_model_argument(
    parser: argparse.ArgumentParser, *, help: str, default: str = "reference", deprecated: Sequence[str] = ()
) -> None:
    """``--model``: the trained model or encoder a command uses; ``deprecated`` are its old spellings."""
    parser.add_argument("--model", default=default, metavar="MODEL", help=help)
    for old in deprecated:
        add_deprecated_alias(parser, old, "--model", dest="model")
