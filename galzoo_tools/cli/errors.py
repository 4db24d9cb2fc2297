"""The error policy of every ``galzoo`` subcommand: :func:`run_with_error_policy`.

- a usage error (bad or missing arguments, arguments that do not go together) prints the
  subcommand's usage and exits 2: argparse's own errors, and :class:`UsageError` raised by a
  subcommand;
- a data, file, model, device, network or output error prints one line,
  ``galzoo COMMAND: error: MESSAGE``, and exits 1, with no traceback (``GALZOO_DEBUG=1`` shows it);
- Ctrl-C prints ``galzoo COMMAND: interrupted`` and exits 130;
- anything else is a bug in galzoo and keeps its traceback.

Under ``torchrun`` only rank 0 prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from .console import is_main_process

__all__ = ["UsageError", "one_line", "reported_errors", "debug_enabled", "run_with_error_policy"]


class UsageError(ValueError):
    """Arguments that do not go together: ``galzoo`` prints the subcommand's usage and exits 2."""


def reported_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input or a bad environment: one line on stderr and exit 1."""
    from PIL import UnidentifiedImageError  # an OSError; named for the reader
    from safetensors import SafetensorError

    return (ValueError, OSError, RuntimeError, EOFError, SafetensorError, UnidentifiedImageError)


def debug_enabled() -> bool:
    """True when ``GALZOO_DEBUG`` asks for tracebacks instead of one-line errors."""
    return os.environ.get("GALZOO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


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


def run_with_error_policy(
    run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace, parser: argparse.ArgumentParser
) -> int:
    """``run(args)`` under the policy of this module; returns the exit status.

    ``parser`` is the subcommand's own parser: a :class:`UsageError` is reported with its usage.
    """
    prefix = parser.prog  # "galzoo COMMAND"
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        if debug_enabled():
            raise
        if is_main_process():
            print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except UsageError as err:
        if debug_enabled():
            raise
        parser.error(one_line(err))  # exits 2 with the usage
    except reported_errors() as err:
        if debug_enabled():
            raise
        if is_main_process():
            message = one_line(err)
            if "out of memory" in message.lower() and "--batch-size" not in message:
                message += "; try a smaller --batch-size"
            print(f"{prefix}: error: {message}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - parser.error exits
