"""Vote counts, vote fractions and the decision tree that links them.

Volunteers answer a question only if an earlier answer led to it, so a question's vote total
varies from galaxy to galaxy (and is often zero). These helpers turn counts into per-question
fractions, compute how likely each question is to be asked, predict expected counts, and check
that a catalog's counts make sense before anything trains on them.

Arrays are ``(n_galaxies, n_answers)`` in ``schema.label_cols`` order; DataFrames are
accepted wherever an array is, and their answer columns are picked out by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import Schema, decals_dr5

__all__ = [
    "counts_array",
    "question_totals",
    "counts_to_fractions",
    "prob_asked",
    "expected_votes",
    "fractions_frame",
    "VoteProblem",
    "VoteValidationError",
    "find_vote_problems",
    "validate_votes",
]


def counts_array(counts: np.ndarray | pd.DataFrame, schema: Schema = decals_dr5) -> np.ndarray:
    """Counts as a float array ``(n, n_answers)``; a DataFrame gives its answer columns in order."""
    if isinstance(counts, pd.DataFrame):
        missing = [c for c in schema.label_cols if c not in counts.columns]
        if missing:
            raise KeyError(f"catalog lacks answer columns {missing[:5]}{'…' if len(missing) > 5 else ''}")
        return counts[schema.label_cols].to_numpy(dtype=np.float64)
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.shape[-1] != schema.n_answers:
        raise ValueError(
            f"expected {schema.n_answers} answer columns for schema {schema.name!r}, got {arr.shape[-1]}"
        )
    return arr


def question_totals(counts: np.ndarray | pd.DataFrame, schema: Schema = decals_dr5) -> np.ndarray:
    """Votes per question, ``(n, n_questions)``: how many volunteers were asked each question."""
    arr = counts_array(counts, schema)
    totals = np.zeros((arr.shape[0], schema.n_questions))
    np.add.at(totals.T, schema.answer_question_index, arr.T)
    return totals


def counts_to_fractions(
    counts: np.ndarray | pd.DataFrame, schema: Schema = decals_dr5, unasked: float = 0.0
) -> np.ndarray:
    """Per-question vote fractions, ``(n, n_answers)``.

    Each answer's count is divided by its question's total. A question nobody was asked has no
    fraction; it gets ``unasked`` (0 by default, ``np.nan`` to mark it as missing).
    """
    arr = counts_array(counts, schema)
    per_answer_total = question_totals(arr, schema)[:, schema.answer_question_index]
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = arr / per_answer_total
    fractions[per_answer_total == 0] = unasked
    return fractions


def prob_asked(fractions: np.ndarray, schema: Schema = decals_dr5) -> np.ndarray:
    """Probability that each question is asked, ``(n, n_questions)``.

    A root question is always asked; any other question is asked with the probability of its
    parent question times the fraction choosing the answer that leads to it. ``fractions`` are
    per-question answer probabilities (e.g. a model's predicted vote fractions).
    """
    fr = counts_array(fractions, schema)
    asked = np.ones((fr.shape[0], schema.n_questions))
    parent_answer = schema.parent_answer_index
    answer_question = schema.answer_question_index
    for q in schema.depth_order():
        a = parent_answer[q.index]
        if a >= 0:
            asked[:, q.index] = asked[:, answer_question[a]] * fr[:, a]
    return asked


def expected_votes(
    fractions: np.ndarray, n_volunteers: np.ndarray | float, schema: Schema = decals_dr5
) -> np.ndarray:
    """Expected count for every answer when ``n_volunteers`` classify each galaxy.

    Expected count = volunteers × P(question asked) × fraction choosing the answer.
    """
    fr = counts_array(fractions, schema)
    n = np.asarray(n_volunteers, dtype=np.float64).reshape(-1, 1)
    asked = prob_asked(fr, schema)[:, schema.answer_question_index]
    return n * asked * fr


def fractions_frame(
    fractions: np.ndarray, schema: Schema = decals_dr5, index: pd.Index | None = None, suffix: str = "_fraction"
) -> pd.DataFrame:
    """Fractions as a DataFrame with one ``{column}_fraction`` column per answer."""
    return pd.DataFrame(np.asarray(fractions), columns=[c + suffix for c in schema.label_cols], index=index)


# --- validation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class VoteProblem:
    """One kind of problem in one column, with the rows (index labels) where it happens."""

    column: str
    problem: str
    rows: tuple

    def describe(self, ids: pd.Series | None = None, max_rows: int = 5) -> str:
        shown = list(self.rows[:max_rows])
        if ids is not None:
            shown = [f"{r} (id_str={ids.loc[r]})" for r in shown]
        more = f" and {len(self.rows) - max_rows} more" if len(self.rows) > max_rows else ""
        return f"column {self.column!r}: {self.problem} in {len(self.rows)} row(s): {', '.join(map(str, shown))}{more}"


class VoteValidationError(ValueError):
    """A catalog's vote columns cannot be used; ``.problems`` lists what and where."""

    def __init__(self, message: str, problems: list[VoteProblem]):
        super().__init__(message)
        self.problems = problems

    @property
    def bad_rows(self) -> list:
        rows: set = set()
        for p in self.problems:
            rows.update(p.rows)
        return sorted(rows, key=str)


def find_vote_problems(
    catalog: pd.DataFrame, schema: Schema = decals_dr5, check_tree: bool = True
) -> list[VoteProblem]:
    """Every problem with a catalog's vote columns, row by row (empty list when all is well).

    Checks: missing columns (rows=()), NaN, negative and non-integer counts, and - when
    ``check_tree`` - a question with more votes than the answer that leads to it.
    """
    problems: list[VoteProblem] = []
    missing = [c for c in schema.label_cols if c not in catalog.columns]
    for c in missing:
        problems.append(VoteProblem(c, "missing column", ()))
    present = [c for c in schema.label_cols if c in catalog.columns]
    for c in present:
        col = catalog[c]
        if not (pd.api.types.is_numeric_dtype(col) or col.isna().all()):
            numeric = pd.to_numeric(col, errors="coerce")
            bad = col.index[numeric.isna() & col.notna()]
            problems.append(VoteProblem(c, "non-numeric value", tuple(bad)))
            col = numeric
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        for mask, what in (
            (np.isnan(values), "NaN (unasked questions must have 0 votes, not NaN)"),
            (values < 0, "negative count"),
            (np.isfinite(values) & (values != np.round(values)), "non-integer count"),
        ):
            if mask.any():
                problems.append(VoteProblem(c, what, tuple(catalog.index[mask])))
    if check_tree and not missing and not any(p.problem == "non-numeric value" for p in problems):
        counts = np.nan_to_num(catalog[schema.label_cols].to_numpy(dtype=np.float64, na_value=np.nan))
        totals = question_totals(counts, schema)
        for q in schema.questions:
            if q.asked_after is None:
                continue
            parent_votes = counts[:, schema.answer(q.asked_after).index]
            too_many = totals[:, q.index] > parent_votes
            if too_many.any():
                problems.append(
                    VoteProblem(
                        f"{q.name}_*",
                        f"more votes than its parent answer {q.asked_after!r}",
                        tuple(catalog.index[too_many]),
                    )
                )
    return problems


def validate_votes(
    catalog: pd.DataFrame,
    schema: Schema = decals_dr5,
    source: str = "catalog",
    check_tree: bool = True,
) -> None:
    """Raise :class:`VoteValidationError` naming the file, columns and rows if any vote is bad."""
    problems = find_vote_problems(catalog, schema, check_tree=check_tree)
    if not problems:
        return
    ids = catalog["id_str"] if "id_str" in catalog.columns else None
    missing = [p.column for p in problems if p.problem == "missing column"]
    lines = [f"{source}: the vote columns do not fit schema {schema.name!r}:"]
    if missing:
        lines.append(
            f"  missing {len(missing)} answer column(s): {missing[:8]}{' …' if len(missing) > 8 else ''}"
        )
        lines.append(
            "  -> rename your columns to '{question}_{answer}' as in schema.label_cols, or pass the schema "
            "that matches your data (e.g. galzoo_tools.schema.gz2)."
        )
    others = [p for p in problems if p.problem != "missing column"]
    for p in others:
        lines.append("  " + p.describe(ids))
    if others:
        lines.append(
            "  -> fix those rows (counts must be whole numbers >= 0, 0 for unasked questions), or drop "
            "them (catalog.drop(index=err.bad_rows) / the loader's drop_bad_rows=True)."
        )
    raise VoteValidationError("\n".join(lines), problems)
