"""Draw a Galaxy Zoo decision tree as a flowchart, with matplotlib alone.

Each question is a box listing its answers; an arrow leaves the answer that leads to a later
question and points at that question's box. Questions are laid out left to right by depth in
the tree, so the picture reads the way a volunteer walks it. Optional per-answer fractions and
per-question "probability asked" turn the same picture into a view of one galaxy's votes.

Every question box carries ``gid="question:{name}"`` and every arrow
``gid="arrow:{answer column}->{question}"``, so code (and tests) can find them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .schema import Question, Schema, decals_dr5, get_schema

__all__ = ["TreeLayout", "BoxPosition", "layout_tree", "plot_tree"]

# Layout units are inches when plot_tree sizes the figure itself.
_BOX_WIDTH = 2.15
_COLUMN_GAP = 0.85
_TITLE_HEIGHT = 0.30
_ROW_HEIGHT = 0.21
_BOX_PAD = 0.06
_VERTICAL_GAP = 0.22


@dataclass(frozen=True)
class BoxPosition:
    """Where one question's box sits: left edge ``x``, top edge ``y`` (y grows downwards)."""

    question: str
    x: float
    y: float
    width: float
    height: float

    def answer_y(self, answer_index: int) -> float:
        """The y of the middle of an answer's row inside the box."""
        return self.y + _TITLE_HEIGHT + (answer_index + 0.5) * _ROW_HEIGHT

    @property
    def title_y(self) -> float:
        return self.y + _TITLE_HEIGHT / 2


@dataclass(frozen=True)
class TreeLayout:
    """Positions of every question box, and the extent of the whole drawing."""

    boxes: dict[str, BoxPosition]
    width: float
    height: float


def _depths(schema: Schema) -> dict[str, int]:
    depth: dict[str, int] = {}
    for q in schema.depth_order():
        parent = schema.parent_question(q)
        depth[q.name] = 0 if parent is None else depth[parent.name] + 1
    return depth


def _walk_order(schema: Schema) -> list[Question]:
    """Depth-first order (roots in schema order, children in answer order): fewest crossings."""
    order: list[Question] = []

    def walk(q: Question) -> None:
        order.append(q)
        for a in q.answers:
            for child in schema.children(a.column):
                walk(child)

    for root in schema.root_questions:
        walk(root)
    return order


def layout_tree(schema: Schema | str = decals_dr5) -> TreeLayout:
    """Place every question: one column per depth, each child as close as possible to its parent answer."""
    schema = get_schema(schema)
    depth = _depths(schema)
    order = _walk_order(schema)
    boxes: dict[str, BoxPosition] = {}
    for level in range(max(depth.values()) + 1):
        x = level * (_BOX_WIDTH + _COLUMN_GAP)
        bottom = -_VERTICAL_GAP
        for q in (q for q in order if depth[q.name] == level):
            height = _TITLE_HEIGHT + len(q.answers) * _ROW_HEIGHT + _BOX_PAD
            parent = schema.parent_question(q)
            if parent is None:
                wanted = bottom + _VERTICAL_GAP
            else:
                answer_index = schema.answer(q.asked_after).index - parent.start  # type: ignore[arg-type]
                wanted = boxes[parent.name].answer_y(answer_index) - _TITLE_HEIGHT / 2
            y = max(wanted, bottom + _VERTICAL_GAP)
            boxes[q.name] = BoxPosition(q.name, x, y, _BOX_WIDTH, height)
            bottom = y + height
    width = max(b.x + b.width for b in boxes.values())
    height = max(b.y + b.height for b in boxes.values())
    return TreeLayout(boxes=boxes, width=width, height=height)


def plot_tree(
    schema: Schema | str = decals_dr5,
    fractions: Sequence[float] | np.ndarray | None = None,
    asked: Sequence[float] | np.ndarray | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    fontsize: float = 7.0,
    cmap: str = "Blues",
) -> Figure:
    """Draw ``schema`` as a flowchart and return the Figure.

    ``fractions`` (one value per answer column, e.g. one galaxy's vote fractions) are printed
    next to each answer. ``asked`` (one value per question, e.g. from
    :func:`galzoo_tools.votes.prob_asked`) shades each box and is printed under its name, so
    questions that were hardly asked fade out. Without ``ax`` the figure is sized so text fits.
    """
    schema = get_schema(schema)
    fr = None if fractions is None else np.asarray(fractions, dtype=float).reshape(-1)
    if fr is not None and fr.size != schema.n_answers:
        raise ValueError(f"fractions needs {schema.n_answers} values (one per answer), got {fr.size}")
    p_asked = None if asked is None else np.asarray(asked, dtype=float).reshape(-1)
    if p_asked is not None and p_asked.size != schema.n_questions:
        raise ValueError(f"asked needs {schema.n_questions} values (one per question), got {p_asked.size}")

    layout = layout_tree(schema)
    margin = 0.15
    if ax is None:
        extra_title = 0.35 if title else 0.0
        fig = plt.figure(figsize=(layout.width + 2 * margin, layout.height + 2 * margin + extra_title))
        ax = fig.add_axes((0, 0, 1, 1 - extra_title / (layout.height + 2 * margin + extra_title)))
    else:
        fig = ax.figure  # type: ignore[assignment]
    colormap = plt.get_cmap(cmap)
    leads_somewhere = {q.asked_after for q in schema.questions if q.asked_after is not None}

    for q in schema.questions:
        box = layout.boxes[q.name]
        face = "#f4f6fb" if p_asked is None else colormap(0.08 + 0.55 * float(p_asked[q.index]))
        ax.add_patch(
            FancyBboxPatch(
                (box.x, box.y), box.width, box.height,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=face, edgecolor="#34495e", linewidth=1.0, gid=f"question:{q.name}",
            )
        )
        ax.plot([box.x, box.x + box.width], [box.y + _TITLE_HEIGHT] * 2, color="#34495e", lw=0.5)
        ax.text(box.x + 0.07, box.title_y, q.name, fontsize=fontsize + 0.5, fontweight="bold",
                va="center", ha="left")
        if p_asked is not None:
            ax.text(box.x + box.width - 0.07, box.title_y, f"asked {p_asked[q.index]:.0%}",
                    fontsize=fontsize - 0.5, va="center", ha="right", style="italic")
        for i, a in enumerate(q.answers):
            y = box.answer_y(i)
            marker = "▸ " if a.column in leads_somewhere else "· "
            ax.text(box.x + 0.1, y, marker + a.name, fontsize=fontsize, va="center", ha="left")
            if fr is not None:
                ax.text(box.x + box.width - 0.08, y, f"{fr[a.index]:.0%}", fontsize=fontsize,
                        va="center", ha="right", family="monospace")

    for q in schema.questions:
        if q.asked_after is None:
            continue
        parent = schema.parent_question(q)
        assert parent is not None
        start_box, end_box = layout.boxes[parent.name], layout.boxes[q.name]
        y0 = start_box.answer_y(schema.answer(q.asked_after).index - parent.start)
        ax.add_patch(
            FancyArrowPatch(
                (start_box.x + start_box.width, y0), (end_box.x, end_box.title_y),
                arrowstyle="-|>", mutation_scale=9, color="#c0392b", lw=1.0,
                connectionstyle="arc3,rad=0.0", shrinkA=1, shrinkB=1,
                gid=f"arrow:{q.asked_after}->{q.name}",
            )
        )

    ax.set_xlim(-margin, layout.width + margin)
    ax.set_ylim(layout.height + margin, -margin)
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=fontsize + 3, y=0.995, va="top")
    return fig
