"""The DR5 tree must match zoobot's decals_dr5_ortho schema column for column."""

import pytest

from galzoo_tools.schema import Schema, decals_dr5, get_schema, gz2

DR5_ANSWERS = {
    "smooth-or-featured-dr5": ["smooth", "featured-or-disk", "artifact"],
    "disk-edge-on-dr5": ["yes", "no"],
    "has-spiral-arms-dr5": ["yes", "no"],
    "bar-dr5": ["strong", "weak", "no"],
    "bulge-size-dr5": ["dominant", "large", "moderate", "small", "none"],
    "how-rounded-dr5": ["round", "in-between", "cigar-shaped"],
    "edge-on-bulge-dr5": ["boxy", "none", "rounded"],
    "spiral-winding-dr5": ["tight", "medium", "loose"],
    "spiral-arm-count-dr5": ["1", "2", "3", "4", "more-than-4", "cant-tell"],
    "merging-dr5": ["none", "minor-disturbance", "major-disturbance", "merger"],
}
DR5_PARENTS = {
    "smooth-or-featured-dr5": None,
    "disk-edge-on-dr5": "smooth-or-featured-dr5_featured-or-disk",
    "has-spiral-arms-dr5": "disk-edge-on-dr5_no",
    "bar-dr5": "disk-edge-on-dr5_no",
    "bulge-size-dr5": "disk-edge-on-dr5_no",
    "how-rounded-dr5": "smooth-or-featured-dr5_smooth",
    "edge-on-bulge-dr5": "disk-edge-on-dr5_yes",
    "spiral-winding-dr5": "has-spiral-arms-dr5_yes",
    "spiral-arm-count-dr5": "has-spiral-arms-dr5_yes",
    "merging-dr5": None,
}


def test_dr5_counts_and_order():
    assert decals_dr5.n_questions == 10
    assert decals_dr5.n_answers == 34
    expected = [f"{q}_{a}" for q, answers in DR5_ANSWERS.items() for a in answers]
    assert decals_dr5.label_cols == expected
    assert [q.name for q in decals_dr5.questions] == list(DR5_ANSWERS)


def test_dr5_links():
    for q in decals_dr5.questions:
        assert q.asked_after == DR5_PARENTS[q.name], q.name


def test_question_slices_cover_label_cols_in_order():
    cols = decals_dr5.label_cols
    for q in decals_dr5.questions:
        assert cols[q.slice] == q.columns
    assert decals_dr5.question_index_groups[0] == (0, 2)
    assert decals_dr5.question_index_groups[-1] == (30, 33)
    assert list(decals_dr5.answer_question_index[:5]) == [0, 0, 0, 1, 1]


def test_parent_and_children():
    assert decals_dr5.parent_question("spiral-winding-dr5").name == "has-spiral-arms-dr5"
    assert decals_dr5.parent_question("merging-dr5") is None
    kids = {q.name for q in decals_dr5.children("disk-edge-on-dr5_no")}
    assert kids == {"has-spiral-arms-dr5", "bar-dr5", "bulge-size-dr5"}
    order = [q.name for q in decals_dr5.depth_order()]
    for q in decals_dr5.questions:
        parent = decals_dr5.parent_question(q)
        if parent is not None:
            assert order.index(parent.name) < order.index(q.name)


def test_round_trip_and_zoobot_pairs_spelling():
    again = Schema.from_dict(decals_dr5.to_dict(), name="again")
    assert again.label_cols == decals_dr5.label_cols
    pairs = {q: ["_" + a for a in answers] for q, answers in DR5_ANSWERS.items()}
    from_pairs = Schema.from_dict(pairs, dependencies=DR5_PARENTS)
    assert from_pairs.label_cols == decals_dr5.label_cols
    assert [q.asked_after for q in from_pairs.questions] == list(DR5_PARENTS.values())


def test_gz2_tree():
    assert gz2.n_questions == 10
    assert "smooth-or-featured-gz2_smooth" in gz2.label_cols
    assert gz2.parent_question("bulge-shape-gz2").name == "disk-edge-on-gz2"
    assert get_schema("gz2") is gz2 and get_schema(decals_dr5) is decals_dr5


@pytest.mark.parametrize(
    "tree, message",
    [
        ({"q": {"answers": ["a"], "asked_after": "nope_x"}}, "not an answer column"),
        ({"q": {"answers": [], "asked_after": None}}, "no answers"),
        (
            {"q": {"answers": ["a"], "asked_after": "r_b"}, "r": {"answers": ["b"], "asked_after": "q_a"}},
            "cycle",
        ),
    ],
)
def test_bad_trees_are_rejected(tree, message):
    with pytest.raises(ValueError, match=message):
        Schema.from_dict(tree)


def test_unknown_names_raise_helpfully():
    with pytest.raises(KeyError, match="no question"):
        decals_dr5.question("bar")
    with pytest.raises(KeyError, match="unknown schema"):
        get_schema("gz3")
