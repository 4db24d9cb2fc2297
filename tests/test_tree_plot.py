"""The tree figure draws every question once and every dependency as one arrow."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from galzoo_tools.schema import Schema, decals_dr5, gz2
from galzoo_tools.tree_plot import layout_tree, plot_tree


def _gids(fig: Figure, prefix: str) -> list[str]:
    return [p.get_gid() for ax in fig.axes for p in ax.patches if (p.get_gid() or "").startswith(prefix)]


@pytest.mark.parametrize("schema", [decals_dr5, gz2], ids=lambda s: s.name)
def test_one_box_per_question_and_one_arrow_per_dependency(schema: Schema) -> None:
    fig = plot_tree(schema)
    boxes = _gids(fig, "question:")
    assert sorted(boxes) == sorted(f"question:{q}" for q in schema.question_names)
    arrows = _gids(fig, "arrow:")
    expected = {f"arrow:{q.asked_after}->{q.name}" for q in schema.questions if q.asked_after}
    assert set(arrows) == expected and len(arrows) == len(expected)
    plt.close(fig)


@pytest.mark.parametrize("schema", [decals_dr5, gz2], ids=lambda s: s.name)
def test_layout_children_right_of_parents_and_boxes_do_not_overlap(schema: Schema) -> None:
    layout = layout_tree(schema)
    for q in schema.questions:
        parent = schema.parent_question(q)
        if parent is not None:
            assert layout.boxes[q.name].x > layout.boxes[parent.name].x
    boxes = list(layout.boxes.values())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a.x == b.x:
                assert a.y + a.height <= b.y or b.y + b.height <= a.y, (a.question, b.question)


def test_fractions_and_asked_are_printed() -> None:
    fractions = np.full(decals_dr5.n_answers, 0.25)
    asked = np.linspace(0, 1, decals_dr5.n_questions)
    fig = plot_tree(decals_dr5, fractions=fractions, asked=asked, title="one galaxy")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("25%") == decals_dr5.n_answers
    assert "asked 100%" in texts and "asked 0%" in texts
    plt.close(fig)


def test_wrong_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="one per answer"):
        plot_tree(decals_dr5, fractions=np.zeros(3))
    with pytest.raises(ValueError, match="one per question"):
        plot_tree(decals_dr5, asked=np.zeros(3))


def test_custom_schema_into_existing_axes() -> None:
    schema = Schema.from_dict({
        "shape": {"answers": ["round", "disk"], "asked_after": None},
        "arms": {"answers": ["yes", "no"], "asked_after": "shape_disk"},
    })
    fig, ax = plt.subplots()
    assert plot_tree(schema, ax=ax) is fig
    assert len(_gids(fig, "question:")) == 2
    plt.close(fig)
