"""Counts, fractions, P(asked) and catalog validation."""

import numpy as np
import pandas as pd
import pytest

from galzoo_tools import votes
from galzoo_tools.schema import decals_dr5


def one_path_counts(n: int = 6) -> np.ndarray:
    """A galaxy where every volunteer said featured → not edge-on → spiral (and so on)."""
    counts = np.zeros(34)
    for col in [
        "smooth-or-featured-dr5_featured-or-disk",
        "disk-edge-on-dr5_no",
        "has-spiral-arms-dr5_yes",
        "bar-dr5_no",
        "bulge-size-dr5_small",
        "spiral-winding-dr5_medium",
        "spiral-arm-count-dr5_2",
        "merging-dr5_none",
    ]:
        counts[decals_dr5.answer(col).index] = n
    return counts


def catalog(rows: list[np.ndarray]) -> pd.DataFrame:
    df = pd.DataFrame(np.array(rows, dtype=np.int64), columns=decals_dr5.label_cols)
    df.insert(0, "id_str", [f"g{i}" for i in range(len(rows))])
    return df


def test_fractions_sum_to_one_per_asked_question_and_zero_when_unasked():
    counts = one_path_counts()
    counts[0] = 2  # two volunteers said smooth, so how-rounded is unasked but smooth-or-featured has 8 votes
    fr = votes.counts_to_fractions(counts)
    totals = votes.question_totals(counts)[0]
    per_q = np.zeros(10)
    np.add.at(per_q, decals_dr5.answer_question_index, fr[0])
    assert np.allclose(per_q[totals > 0], 1.0)
    assert np.all(per_q[totals == 0] == 0)
    assert fr[0, decals_dr5.answer("smooth-or-featured-dr5_smooth").index] == pytest.approx(0.25)
    nan_fr = votes.counts_to_fractions(counts, unasked=np.nan)
    assert np.isnan(nan_fr[0, decals_dr5.question("how-rounded-dr5").slice]).all()


def test_prob_asked_multiplies_along_the_tree():
    fr = np.zeros((1, 34))
    def put(col, v):
        fr[0, decals_dr5.answer(col).index] = v
    put("smooth-or-featured-dr5_smooth", 0.3)
    put("smooth-or-featured-dr5_featured-or-disk", 0.6)
    put("smooth-or-featured-dr5_artifact", 0.1)
    put("disk-edge-on-dr5_no", 0.75)
    put("disk-edge-on-dr5_yes", 0.25)
    put("has-spiral-arms-dr5_yes", 0.5)
    put("has-spiral-arms-dr5_no", 0.5)
    asked = votes.prob_asked(fr)[0]
    idx = {q.name: q.index for q in decals_dr5.questions}
    assert asked[idx["smooth-or-featured-dr5"]] == 1
    assert asked[idx["merging-dr5"]] == 1
    assert asked[idx["how-rounded-dr5"]] == pytest.approx(0.3)
    assert asked[idx["edge-on-bulge-dr5"]] == pytest.approx(0.6 * 0.25)
    assert asked[idx["spiral-winding-dr5"]] == pytest.approx(0.6 * 0.75 * 0.5)
    expected = votes.expected_votes(fr, 40)[0]
    assert expected[decals_dr5.answer("has-spiral-arms-dr5_yes").index] == pytest.approx(40 * 0.6 * 0.75 * 0.5)


def test_expected_votes_recover_counts_of_a_consistent_galaxy():
    counts = one_path_counts(10)
    fr = votes.counts_to_fractions(counts)
    assert np.allclose(votes.expected_votes(fr, 10)[0], counts)


def test_dataframe_input_and_fractions_frame():
    df = catalog([one_path_counts(), one_path_counts(3)])
    fr = votes.counts_to_fractions(df)
    frame = votes.fractions_frame(fr, index=df.index)
    assert frame.columns[0] == "smooth-or-featured-dr5_smooth_fraction"
    assert frame.shape == (2, 34)


def test_a_clean_catalog_passes():
    votes.validate_votes(catalog([one_path_counts(), one_path_counts(40)]), source="ok.csv")


def test_missing_columns_are_named():
    df = catalog([one_path_counts()]).drop(columns=["bar-dr5_weak", "merging-dr5_merger"])
    with pytest.raises(votes.VoteValidationError, match="my.csv") as err:
        votes.validate_votes(df, source="my.csv")
    text = str(err.value)
    assert "bar-dr5_weak" in text and "merging-dr5_merger" in text


@pytest.mark.parametrize(
    "value, problem",
    [(np.nan, "NaN"), (-1, "negative"), (1.5, "non-integer")],
)
def test_bad_values_name_column_row_and_id(value, problem):
    df = catalog([one_path_counts(), one_path_counts(), one_path_counts()]).astype({"bar-dr5_weak": float})
    df.loc[1, "bar-dr5_weak"] = value
    with pytest.raises(votes.VoteValidationError) as err:
        votes.validate_votes(df, source="cat.parquet", check_tree=False)
    text = str(err.value)
    assert problem in text and "bar-dr5_weak" in text and "id_str=g1" in text
    assert err.value.bad_rows == [1]


def test_child_with_more_votes_than_parent_answer_is_reported():
    bad = one_path_counts(5)
    bad[decals_dr5.answer("edge-on-bulge-dr5_boxy").index] = 3  # nobody said edge-on
    df = catalog([one_path_counts(), bad])
    problems = votes.find_vote_problems(df)
    assert len(problems) == 1
    assert problems[0].rows == (1,)
    assert "disk-edge-on-dr5_yes" in problems[0].problem
    with pytest.raises(votes.VoteValidationError, match="edge-on-bulge-dr5"):
        votes.validate_votes(df)


def test_non_numeric_column_is_reported_not_crashing():
    df = catalog([one_path_counts(), one_path_counts()])
    df["bar-dr5_no"] = df["bar-dr5_no"].astype(object)
    df.loc[0, "bar-dr5_no"] = "six"
    with pytest.raises(votes.VoteValidationError, match="non-numeric"):
        votes.validate_votes(df)


def test_wrong_width_array_raises():
    with pytest.raises(ValueError, match="34 answer columns"):
        votes.counts_to_fractions(np.zeros((2, 30)))
