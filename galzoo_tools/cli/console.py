"""What ``galzoo`` prints besides its results: step notes on stderr, from one process only.

Under ``torchrun`` every rank runs the same command; only rank 0 speaks, so a note or an
error is printed once, not once per GPU.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

__all__ = ["is_main_process", "step_notes"]


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
