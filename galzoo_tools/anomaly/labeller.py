"""A labelling widget: show a galaxy, click 0-5, and an active learner chooses what comes next.

The :class:`Labeller` drives any :class:`~galzoo_tools.anomaly.ActiveLearner`: it asks for a
batch, shows its galaxies one by one with six score buttons, a progress bar and an undo
button, and hands the batch's scores to the learner when the batch is complete (which refits
it and picks the next batch). Undo steps back one galaxy, reopening the previous batch if need
be. Everything a click does is also a method (:meth:`Labeller.score`, :meth:`Labeller.undo`),
so a simulated researcher can press the same buttons (:meth:`Labeller.answer_with`) where no
person is there: in tests, under nbval, or to try a persona.

>>> labeller = Labeller(GPActiveLearner(x), catalog, budget=100)
>>> labeller.widget          # last line of a notebook cell: shows it
"""

from __future__ import annotations

import io
import os
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..plotting import image_grid
from .base import ActiveLearner

__all__ = ["Labeller", "SCORE_MEANINGS"]

SCORE_MEANINGS = {0: "boring", 1: "meh", 2: "a bit odd", 3: "curious", 4: "interesting", 5: "exactly what I want"}
"""What each button means (shown as its tooltip)."""

ImageSource = pd.DataFrame | Sequence[str | os.PathLike[str]] | np.ndarray


class Labeller:
    """Score galaxies 0-5 by clicking; ``learner`` picks batches of ``batch_size`` until ``budget`` labels."""

    def __init__(
        self,
        learner: ActiveLearner,
        images: ImageSource,
        budget: int = 200,
        batch_size: int = 10,
        ids: Sequence[str] | None = None,
        display_px: int = 256,
        on_batch: Callable[[ActiveLearner], None] | None = None,
    ):
        if budget < 1 or batch_size < 1:
            raise ValueError(f"budget and batch_size must be positive, got {budget} and {batch_size}")
        if isinstance(images, pd.DataFrame):
            if "file_loc" not in images.columns:
                raise ValueError("an image catalog needs a file_loc column (see galzoo_tools.catalog.read_catalog)")
            ids = ids if ids is not None else images["id_str"].astype(str).tolist() if "id_str" in images else None
            images = images["file_loc"].astype(str).tolist()
        if len(images) != learner.n_galaxies:
            raise ValueError(f"{len(images)} images for {learner.n_galaxies} galaxies in the learner; they must match")
        self.learner = learner
        self.images = images
        self.ids = list(ids) if ids is not None else [str(i) for i in range(learner.n_galaxies)]
        self.budget = min(budget, learner.n_galaxies)
        self.batch_size = batch_size
        self.display_px = display_px
        self.on_batch = on_batch
        self.batch = np.zeros(0, dtype=np.int64)
        self.pending: list[float] = []
        self._done_batches: list[tuple[np.ndarray, list[float]]] = []
        self._widget: Any = None
        self._new_batch()

    # --- state -----------------------------------------------------------------------------
    @property
    def n_labelled(self) -> int:
        """Labels given so far, the current unfinished batch included."""
        return self.learner.n_labelled + len(self.pending)

    @property
    def done(self) -> bool:
        return self.n_labelled >= self.budget or (self.current is None)

    @property
    def current(self) -> int | None:
        """Index of the galaxy on screen (None when the budget is spent)."""
        pos = len(self.pending)
        return int(self.batch[pos]) if pos < len(self.batch) else None

    def _new_batch(self) -> None:
        left = self.budget - self.learner.n_labelled
        self.batch = self.learner.next_batch(min(self.batch_size, left)) if left > 0 else np.zeros(0, dtype=np.int64)
        self.pending = []

    # --- actions (what the buttons do) -----------------------------------------------------
    def score(self, value: float) -> None:
        """Give the galaxy on screen the score ``value`` (0-5) and move on."""
        if not 0 <= value <= 5:
            raise ValueError(f"a score is from 0 to 5, got {value}")
        if self.current is None:
            return
        self.pending.append(float(value))
        if len(self.pending) == len(self.batch):
            self.learner.add_labels(self.batch, np.asarray(self.pending))
            self._done_batches.append((self.batch, list(self.pending)))
            if self.on_batch is not None:
                self.on_batch(self.learner)
            self._new_batch()
        self._refresh()

    def undo(self) -> None:
        """Take back the last score (reopening the previous batch if this one is untouched)."""
        if self.pending:
            self.pending.pop()
        elif self._done_batches:
            batch, scores = self._done_batches.pop()
            self.learner.forget(len(batch))
            self.batch, self.pending = batch, scores[:-1]
        self._refresh()

    def answer_with(self, researcher: Callable[[np.ndarray], np.ndarray], n: int | None = None) -> None:
        """Let ``researcher(indices) -> scores`` press the buttons for ``n`` galaxies (default: to the budget)."""
        n = self.budget - self.n_labelled if n is None else n
        for _ in range(n):
            if self.current is None:
                break
            self.score(float(researcher(np.array([self.current]))[0]))

    # --- pictures ----------------------------------------------------------------------------
    def image(self, index: int) -> np.ndarray:
        """Galaxy ``index`` as an H x W (x 3) uint8 array."""
        source = self.images[index]
        if isinstance(source, (str, os.PathLike)):
            from PIL import Image

            with Image.open(source) as img:
                return np.asarray(img.convert("RGB"))
        arr = np.asarray(source)
        if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
            arr = np.moveaxis(arr, 0, -1)
        if arr.dtype != np.uint8:
            arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
        return arr[..., 0] if arr.ndim == 3 and arr.shape[-1] == 1 else arr

    def _png(self, index: int) -> bytes:
        from PIL import Image

        picture = Image.fromarray(self.image(index)).resize((self.display_px, self.display_px), Image.NEAREST)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return buffer.getvalue()

    def figure(self, n: int = 8, ncols: int = 8, ax_size: float = 0.9) -> Figure:
        """Static view for places without widgets: the last ``n`` galaxies labelled, titled with their scores."""
        labelled = list(self.learner.labelled) + [int(i) for i in self.batch[: len(self.pending)]]
        scores = list(self.learner.labels) + self.pending
        if not labelled:
            raise ValueError("nothing labelled yet")
        pairs = list(zip(labelled, scores))[-n:]
        return image_grid([self.image(i) for i, _ in pairs], [f"{self.ids[i][-10:]}: {s:.0f}" for i, s in pairs],
                          ncols=ncols, ax_size=ax_size)

    # --- the widget --------------------------------------------------------------------------
    @property
    def widget(self) -> Any:
        """The ipywidgets box (built on first use)."""
        if self._widget is None:
            self._widget = self._build()
            self._refresh()
        return self._widget

    def _build(self) -> Any:
        import ipywidgets as w

        self._picture = w.Image(format="png", layout=w.Layout(width=f"{self.display_px}px", height=f"{self.display_px}px"))
        self._caption = w.HTML()
        self._progress = w.IntProgress(min=0, max=self.budget, description="labelled")
        self.buttons = [w.Button(description=str(s), tooltip=SCORE_MEANINGS[s], layout=w.Layout(width="48px"),
                                 button_style="success" if s >= 4 else "") for s in range(6)]
        for s, button in enumerate(self.buttons):
            button.on_click(lambda _b, s=s: self.score(s))
        self.undo_button = w.Button(description="undo", icon="undo", layout=w.Layout(width="80px"))
        self.undo_button.on_click(lambda _b: self.undo())
        row = w.HBox([*self.buttons, self.undo_button])
        return w.VBox([self._caption, self._picture, row, self._progress])

    def _refresh(self) -> None:
        if self._widget is None:
            return
        self._progress.value = self.n_labelled
        i = self.current
        for button in self.buttons:
            button.disabled = i is None
        self.undo_button.disabled = self.n_labelled == 0
        if i is None:
            self._caption.value = f"<b>Done</b>: {self.n_labelled} galaxies scored. Use <code>learner.ranking()</code>."
            return
        self._picture.value = self._png(i)
        self._caption.value = (f"<b>{self.ids[i]}</b> — galaxy {len(self.pending) + 1} of {len(self.batch)} in this "
                               f"batch ({self.learner.name}); how interesting is it to you, 0-5?")
