"""Interactive explorers for the notebooks, each with a static fallback that draws a figure.

Sliders need ipywidgets *and* a live Jupyter kernel. On GitHub, in a PDF, or in a plain Python
session there is neither, so every explorer can instead draw a grid of the plots the sliders
would have shown; ``static=None`` picks automatically.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .dirichlet import plot_vote_pmf
from .schema import Schema, decals_dr5, get_schema

__all__ = ["interactive_available", "dirichlet_settings", "plot_dirichlet_grid", "explore_dirichlet"]


def interactive_available() -> bool:
    """True when ipywidgets imports and we run inside a Jupyter kernel that can show widgets."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def dirichlet_settings(n_answers: int) -> dict[str, tuple[float, ...]]:
    """A few named concentration settings worth comparing, for a question with ``n_answers`` answers.

    The last two share one mean but differ tenfold in total: the total concentration is the
    model's confidence, so the same "most likely fractions" can be held loosely or firmly.
    """
    if n_answers < 2:
        raise ValueError(f"a question needs at least 2 answers, got {n_answers}")
    lean = np.array([8.0, 2.0] + [0.5] * (n_answers - 2))
    return {
        "flat: no idea": tuple([1.0] * n_answers),
        "all < 1: volunteers agree, on what?": tuple([0.3] * n_answers),
        "leans to first answer, unsure": tuple(float(x) for x in lean),
        "same mean, 10x more confident": tuple(float(x) for x in 10 * lean),
    }


def _title(alpha: Sequence[float]) -> str:
    values = ", ".join(f"{a:.3g}" for a in alpha)
    return f"α = ({values}), Σα = {sum(alpha):.3g}"


def plot_dirichlet_grid(
    question: str = "smooth-or-featured-dr5",
    schema: Schema | str = decals_dr5,
    settings: dict[str, Sequence[float]] | Sequence[Sequence[float]] | None = None,
    n_votes: Sequence[int] = (5, 40),
) -> Figure:
    """The static explorer: one row per concentration setting, one column per number of votes."""
    schema = get_schema(schema)
    q = schema.question(question)
    names = [a.name for a in q.answers]
    if settings is None:
        settings = dirichlet_settings(len(names))
    if not isinstance(settings, dict):
        settings = {f"setting {i + 1}": a for i, a in enumerate(settings)}
    rows = list(settings.items())
    for label, alpha in rows:
        if len(alpha) != len(names):
            raise ValueError(
                f"setting {label!r} has {len(alpha)} concentrations; {question!r} has {len(names)} answers"
            )
    fig, axes = plt.subplots(len(rows), len(n_votes), figsize=(3.3 * len(n_votes), 2.8 * len(rows) + 0.3),
                             squeeze=False, layout="constrained")
    for r, (label, alpha) in enumerate(rows):
        for c, n in enumerate(n_votes):
            ax = axes[r, c]
            plot_vote_pmf(n, alpha, answer_names=names, ax=ax)
            ax.set_title(f"{label}\n{_title(alpha)}, {n} votes", fontsize=8)
    fig.suptitle(f"Dirichlet–multinomial votes for '{question}'", fontsize=11)
    return fig


def _build_widget(question: str, schema: Schema, n_votes: Sequence[int], initial: Sequence[float]) -> Any:
    import ipywidgets as w
    from IPython.display import display

    q = schema.question(question)
    sliders = {
        f"a{i}": w.FloatLogSlider(value=float(v), base=10, min=-1, max=2, step=0.05,
                                  description=f"α {a.name}", readout_format=".2f",
                                  style={"description_width": "120px"},
                                  layout=w.Layout(width="420px"), continuous_update=False)
        for i, (a, v) in enumerate(zip(q.answers, initial))
    }
    names = [a.name for a in q.answers]
    output = w.Output()

    def draw(**alphas: float) -> None:
        alpha = [alphas[f"a{i}"] for i in range(len(names))]
        output.clear_output(wait=True)
        with output:
            fig, axes = plt.subplots(1, len(n_votes), figsize=(3.4 * len(n_votes), 3.0), squeeze=False,
                                     layout="constrained")
            for ax, n in zip(axes[0], n_votes):
                plot_vote_pmf(n, alpha, answer_names=names, ax=ax)
                ax.set_title(f"{n} volunteers", fontsize=9)
            fig.suptitle(_title(alpha) + "   mean = (" + ", ".join(f"{a / sum(alpha):.2f}" for a in alpha) + ")",
                         fontsize=9)
            display(fig)
            plt.close(fig)

    w.interactive_output(draw, sliders)
    header = w.HTML(f"<b>{question}</b>: drag the concentrations; each panel shows how likely every vote split is.")
    return w.VBox([header, *sliders.values(), output])


def explore_dirichlet(
    question: str = "smooth-or-featured-dr5",
    schema: Schema | str = decals_dr5,
    n_votes: Sequence[int] = (5, 40),
    initial: Sequence[float] | None = None,
    static: bool | None = None,
) -> Any:
    """Slide the concentrations of one question and watch the distribution of 5 and 40 votes.

    Returns an ipywidgets ``VBox`` (display it by leaving it last in a cell) or, with
    ``static=True`` or when no live kernel/ipywidgets is available, the Figure of
    :func:`plot_dirichlet_grid`.
    """
    schema = get_schema(schema)
    q = schema.question(question)
    start = list(initial) if initial is not None else list(dirichlet_settings(len(q.answers)).values())[2]
    if len(start) != len(q.answers):
        raise ValueError(f"initial has {len(start)} values; {question!r} has {len(q.answers)} answers")
    use_static = (not interactive_available()) if static is None else static
    if use_static:
        return plot_dirichlet_grid(question, schema, n_votes=n_votes)
    return _build_widget(question, schema, n_votes, start)
