"""The ``galzoo`` command line: one subcommand per notebook, for scripted and batch runs.

Each subcommand is a module of this package with ``register(subparsers)``, which adds its
parser and sets ``run``, and ``run(args)``, which calls the one function of the package that
does the work and prints a one-line summary; add a new one by writing such a module and
listing its ``register`` in :data:`SUBCOMMANDS`. What they share lives beside them:

- :mod:`.args`: argument types (``positive_int``, ``image_size``, ...) and flags: ``--out`` with
  ``--overwrite``, ``--quiet``, and ``--model`` for every command that uses a trained model or
  encoder (old spellings stay one release as hidden, deprecated aliases);
- :mod:`.outdir`: ``--out`` is checked first, created, writable, and refused if it holds another
  run, unless ``--overwrite`` (or, for pretrain, ``--resume``);
- :mod:`.errors`: one error policy: usage errors exit 2 with the usage; bad data, files,
  models, devices or output folders print one line, ``galzoo COMMAND: error: ...``, and exit 1
  (``GALZOO_DEBUG=1`` shows the traceback); Ctrl-C exits 130;
- :mod:`.console`: step notes on stderr (silenced by ``--quiet``), from rank 0 only under torchrun.
"""

from __future__ import annotations

import argparse
from typing import Callable, Sequence

from . import anomaly, embed, finetune, predict, pretrain, search, simulate
from .errors import run_with_error_policy

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], argparse.ArgumentParser]] = [
    simulate.register, pretrain.register, predict.register, embed.register, search.register, anomaly.register,
    finetune.register,
]
"""Functions that each register one subcommand, in the order ``galzoo --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The ``galzoo`` argument parser with every subcommand in :data:`SUBCOMMANDS`."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="galzoo",
        description="Galaxy morphology tools of Walmsley et al. 2022, from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"galzoo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def _subcommand_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return subparsers.choices[command]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``galzoo`` console script; returns the exit status.

    Parses ``argv`` (default: the command line) and runs the subcommand under the error policy
    of :mod:`galzoo_tools.cli.errors`.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_with_error_policy(args.run, args, _subcommand_parser(parser, args.command))
