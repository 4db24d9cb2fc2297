"""Figures of similarity search: a query and its neighbours, precision per tag, and a query picker."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..plotting import image_grid
from ..representations.plots import Images, thumbnail

__all__ = ["plot_neighbours", "plot_precision_per_tag", "explore_neighbours"]


def plot_neighbours(
    images: Images,
    query: int,
    neighbours: Sequence[int] | np.ndarray,
    distances: Sequence[float] | np.ndarray | None = None,
    ids: Sequence[str] | np.ndarray | None = None,
    ncols: int = 6,
    ax_size: float = 1.6,
) -> Figure:
    """The query galaxy (first) and its neighbours, nearest first, titled with their distances."""
    rows = [int(query), *[int(r) for r in neighbours]]
    titles = [f"query {ids[query]}" if ids is not None else "query"]
    for j, row in enumerate(rows[1:]):
        text = f"#{j + 1}"
        if distances is not None:
            text += f"  d={float(distances[j]):.3f}"
        titles.append(text)
    return image_grid([thumbnail(images, r) for r in rows], titles, ncols=ncols, ax_size=ax_size)


def plot_precision_per_tag(table: pd.DataFrame, columns: Sequence[str] | None = None, k: int = 10) -> Figure:
    """Horizontal bars of precision per tag for each representation, with the chance level marked.

    ``table`` is :func:`galzoo_tools.similarity.compare_encoders` output; ``columns`` picks the
    representations (default: every column but ``galaxies``, ``chance`` and ``query``).
    """
    columns = list(columns or [c for c in table.columns if c not in ("galaxies", "chance", "query")])
    tags = list(table.index)[::-1]
    fig = Figure(figsize=(8, 0.42 * len(tags) + 1.2))
    ax = fig.subplots()
    height = 0.8 / max(len(columns), 1)
    y = np.arange(len(tags))
    for j, column in enumerate(columns):
        ax.barh(y - (j - (len(columns) - 1) / 2) * height, table.loc[tags, column], height=height,
                label=column, color=f"C{j}")
    if "chance" in table:
        ax.scatter(table.loc[tags, "chance"], y, marker="|", s=200, color="k", label="chance", zorder=3)
    labels = [f"{t} ({int(table.loc[t, 'galaxies'])})" if "galaxies" in table else str(t) for t in tags]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"precision@{k}: share of the {k} nearest neighbours with the query's tag")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def explore_neighbours(
    index: Any,
    images: Images,
    ids: Sequence[str] | np.ndarray,
    k: int = 11,
    static: bool | None = None,
    examples: Sequence[int] = (0,),
) -> Any:
    """Pick a query galaxy by id and see its ``k`` neighbours (ipywidgets), or a static figure.

    ``index`` is a :class:`galzoo_tools.similarity.SimilarityIndex` over the same galaxies as
    ``images`` and ``ids``. Without a live kernel (``static=None`` decides) it returns a figure
    of the ``examples`` rows' neighbours instead.
    """
    from ..widgets import interactive_available

    ids = np.asarray(ids).astype(str)
    if static is None:
        static = not interactive_available()
    if static:
        found, distances = index.neighbours(list(examples), k)
        figs = [plot_neighbours(images, q, f, d, ids) for q, f, d in zip(examples, found, distances)]
        return figs[0] if len(figs) == 1 else figs
    import ipywidgets as w
    from IPython.display import display

    picker = w.Combobox(value=str(ids[examples[0]]), options=ids[:5000].tolist(), description="galaxy",
                        ensure_option=False, placeholder="type an id_str")
    count = w.IntSlider(value=k, min=1, max=min(47, len(ids) - 1), description="neighbours")
    out = w.Output()

    def draw(*_: Any) -> None:
        hits = np.flatnonzero(ids == picker.value)
        with out:
            out.clear_output(wait=True)
            if not len(hits):
                print(f"no galaxy called {picker.value!r}")
                return
            found, distances = index.neighbours(int(hits[0]), count.value)
            display(plot_neighbours(images, int(hits[0]), found[0], distances[0], ids))

    picker.observe(draw, names="value")
    count.observe(draw, names="value")
    draw()
    return w.VBox([w.HBox([picker, count]), out])
