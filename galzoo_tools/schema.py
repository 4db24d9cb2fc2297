"""Galaxy Zoo decision trees: questions, answers and which answer leads to which question.

A volunteer classifying a galaxy walks a tree: the first question is always asked, and each
later question is asked only after one particular answer (e.g. "is the disk edge-on?" only
after "featured or disk"). Vote counts are stored as one column per answer, named
``{question}_{answer}`` (the convention of zoobot and galaxy-datasets), so a schema is mostly
bookkeeping: which columns belong to which question, in what order, and what leads to what.

``decals_dr5`` reproduces zoobot's ``decals_dr5_ortho`` schema column for column, so catalogs
and models are interchangeable with zoobot's. ``gz2`` does the same for Galaxy Zoo 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = ["Answer", "Question", "Schema", "decals_dr5", "gz2", "get_schema", "columns_like"]


@dataclass(frozen=True)
class Answer:
    """One answer to one question; ``column`` is its vote-count column in a catalog."""

    name: str
    question: str
    index: int

    @property
    def column(self) -> str:
        return f"{self.question}_{self.name}"


@dataclass(frozen=True)
class Question:
    """One question: its answers (in column order) and the answer column that leads to it."""

    name: str
    answers: tuple[Answer, ...]
    asked_after: str | None
    index: int

    @property
    def columns(self) -> list[str]:
        return [a.column for a in self.answers]

    @property
    def start(self) -> int:
        """Index of this question's first answer column in ``Schema.label_cols``."""
        return self.answers[0].index

    @property
    def stop(self) -> int:
        """One past the index of this question's last answer column."""
        return self.answers[-1].index + 1

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True)
class Schema:
    """A whole decision tree. Build one with :meth:`Schema.from_dict`."""

    name: str
    questions: tuple[Question, ...]
    _by_column: dict[str, Answer] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for q in self.questions:
            for a in q.answers:
                self._by_column[a.column] = a
        self._check()

    @classmethod
    def from_dict(
        cls,
        tree: Mapping[str, object],
        dependencies: Mapping[str, str | None] | None = None,
        name: str = "custom",
    ) -> "Schema":
        """Build a schema from a plain dict.

        Two spellings are accepted:

        * ``{"question": {"answers": ["a", "b"], "asked_after": "other-question_x" or None}}``
        * zoobot's pairs + dependencies: ``{"question": ["_a", "_b"]}`` with
          ``dependencies={"question": "other-question_x" or None}``.

        Question order and answer order are kept: they fix the column order.
        """
        questions: list[Question] = []
        column = 0
        for q_index, (q_name, spec) in enumerate(tree.items()):
            if isinstance(spec, Mapping):
                answer_names = list(spec["answers"])  # type: ignore[index]
                asked_after = spec.get("asked_after")  # type: ignore[union-attr]
            else:
                answer_names = list(spec)  # type: ignore[arg-type]
                if dependencies is None:
                    raise ValueError(
                        f"question {q_name!r} is given as a list of answers; also pass "
                        "dependencies={question: parent answer column or None}"
                    )
                if q_name not in dependencies:
                    raise ValueError(f"dependencies has no entry for question {q_name!r}")
                asked_after = dependencies[q_name]
            if not answer_names:
                raise ValueError(f"question {q_name!r} has no answers")
            answers = []
            for a_name in answer_names:
                a_name = str(a_name).lstrip("_")
                answers.append(Answer(name=a_name, question=q_name, index=column))
                column += 1
            questions.append(
                Question(name=q_name, answers=tuple(answers), asked_after=asked_after, index=q_index)
            )
        return cls(name=name, questions=tuple(questions))

    def to_dict(self) -> dict[str, dict[str, object]]:
        """The plain-dict form accepted by :meth:`from_dict` (round-trips)."""
        return {
            q.name: {"answers": [a.name for a in q.answers], "asked_after": q.asked_after}
            for q in self.questions
        }

    def _check(self) -> None:
        names = [q.name for q in self.questions]
        if len(set(names)) != len(names):
            raise ValueError(f"schema {self.name!r} repeats a question name")
        if len(self._by_column) != self.n_answers:
            raise ValueError(f"schema {self.name!r} repeats an answer column")
        for q in self.questions:
            if q.asked_after is not None and q.asked_after not in self._by_column:
                raise ValueError(
                    f"question {q.name!r} is asked after {q.asked_after!r}, which is not an "
                    f"answer column of schema {self.name!r}"
                )
            seen = {q.name}
            parent = self.parent_question(q)
            while parent is not None:
                if parent.name in seen:
                    raise ValueError(f"schema {self.name!r} has a cycle through {q.name!r}")
                seen.add(parent.name)
                parent = self.parent_question(parent)

    # --- look-ups -----------------------------------------------------------------------
    @property
    def label_cols(self) -> list[str]:
        """Every answer column, in order: the layout of count, fraction and prediction arrays."""
        return [a.column for q in self.questions for a in q.answers]

    @property
    def answers(self) -> list[Answer]:
        return [a for q in self.questions for a in q.answers]

    @property
    def n_answers(self) -> int:
        return sum(len(q.answers) for q in self.questions)

    @property
    def n_questions(self) -> int:
        return len(self.questions)

    @property
    def question_names(self) -> list[str]:
        return [q.name for q in self.questions]

    def question(self, name: str) -> Question:
        for q in self.questions:
            if q.name == name:
                return q
        raise KeyError(f"schema {self.name!r} has no question {name!r}; it has {self.question_names}")

    def answer(self, column: str) -> Answer:
        try:
            return self._by_column[column]
        except KeyError:
            raise KeyError(f"schema {self.name!r} has no answer column {column!r}") from None

    def parent_question(self, question: Question | str) -> Question | None:
        """The question whose answer leads to ``question`` (None for a root question)."""
        q = self.question(question) if isinstance(question, str) else question
        if q.asked_after is None:
            return None
        return self.question(self._by_column[q.asked_after].question)

    def children(self, column: str) -> list[Question]:
        """Questions asked after the answer ``column``."""
        self.answer(column)
        return [q for q in self.questions if q.asked_after == column]

    @property
    def root_questions(self) -> list[Question]:
        return [q for q in self.questions if q.asked_after is None]

    def depth_order(self) -> list[Question]:
        """Questions ordered so that every question comes after the one leading to it."""
        ordered: list[Question] = []
        placed: set[str] = set()
        pending = list(self.questions)
        while pending:
            for q in list(pending):
                parent = self.parent_question(q)
                if parent is None or parent.name in placed:
                    ordered.append(q)
                    placed.add(q.name)
                    pending.remove(q)
        return ordered

    # --- index arrays used by vectorised code ---------------------------------------------
    @property
    def answer_question_index(self) -> np.ndarray:
        """For each answer column, the index of its question (shape ``(n_answers,)``)."""
        return np.array([q.index for q in self.questions for _ in q.answers], dtype=np.int64)

    @property
    def parent_answer_index(self) -> np.ndarray:
        """For each question, the column index of the answer leading to it, or -1."""
        return np.array(
            [-1 if q.asked_after is None else self._by_column[q.asked_after].index for q in self.questions],
            dtype=np.int64,
        )

    @property
    def question_index_groups(self) -> list[tuple[int, int]]:
        """(first, last) answer indices per question, inclusive, as zoobot spells them."""
        return [(q.start, q.stop - 1) for q in self.questions]

    def __repr__(self) -> str:
        return f"Schema({self.name!r}, {self.n_questions} questions, {self.n_answers} answers)"

    def describe(self) -> str:
        """The tree as indented text, one question per line, children under their answer."""
        lines: list[str] = []

        def walk(q: Question, depth: int) -> None:
            lines.append("    " * depth + f"{q.name}: " + ", ".join(a.name for a in q.answers))
            for a in q.answers:
                kids = self.children(a.column)
                if kids:
                    lines.append("    " * (depth + 1) + f"└ after '{a.name}':")
                for child in kids:
                    walk(child, depth + 2)

        for root in self.root_questions:
            walk(root, 0)
        return "\n".join(lines)


_DECALS_DR5 = {
    "smooth-or-featured-dr5": {"answers": ["smooth", "featured-or-disk", "artifact"], "asked_after": None},
    "disk-edge-on-dr5": {"answers": ["yes", "no"], "asked_after": "smooth-or-featured-dr5_featured-or-disk"},
    "has-spiral-arms-dr5": {"answers": ["yes", "no"], "asked_after": "disk-edge-on-dr5_no"},
    "bar-dr5": {"answers": ["strong", "weak", "no"], "asked_after": "disk-edge-on-dr5_no"},
    "bulge-size-dr5": {
        "answers": ["dominant", "large", "moderate", "small", "none"],
        "asked_after": "disk-edge-on-dr5_no",
    },
    "how-rounded-dr5": {"answers": ["round", "in-between", "cigar-shaped"], "asked_after": "smooth-or-featured-dr5_smooth"},
    "edge-on-bulge-dr5": {"answers": ["boxy", "none", "rounded"], "asked_after": "disk-edge-on-dr5_yes"},
    "spiral-winding-dr5": {"answers": ["tight", "medium", "loose"], "asked_after": "has-spiral-arms-dr5_yes"},
    "spiral-arm-count-dr5": {
        "answers": ["1", "2", "3", "4", "more-than-4", "cant-tell"],
        "asked_after": "has-spiral-arms-dr5_yes",
    },
    # In the volunteers' tree "merging" follows both smooth and featured; like zoobot we treat it
    # as always asked, because one parent column cannot express "either of two answers".
    "merging-dr5": {"answers": ["none", "minor-disturbance", "major-disturbance", "merger"], "asked_after": None},
}

_GZ2 = {
    "smooth-or-featured-gz2": {"answers": ["smooth", "featured-or-disk", "artifact"], "asked_after": None},
    "disk-edge-on-gz2": {"answers": ["yes", "no"], "asked_after": "smooth-or-featured-gz2_featured-or-disk"},
    "has-spiral-arms-gz2": {"answers": ["yes", "no"], "asked_after": "smooth-or-featured-gz2_featured-or-disk"},
    "bar-gz2": {"answers": ["yes", "no"], "asked_after": "smooth-or-featured-gz2_featured-or-disk"},
    "bulge-size-gz2": {
        "answers": ["dominant", "obvious", "just-noticeable", "no"],
        "asked_after": "smooth-or-featured-gz2_featured-or-disk",
    },
    "something-odd-gz2": {"answers": ["yes", "no"], "asked_after": None},
    "how-rounded-gz2": {"answers": ["round", "in-between", "cigar"], "asked_after": "smooth-or-featured-gz2_smooth"},
    "bulge-shape-gz2": {"answers": ["round", "boxy", "no-bulge"], "asked_after": "disk-edge-on-gz2_yes"},
    "spiral-winding-gz2": {"answers": ["tight", "medium", "loose"], "asked_after": "has-spiral-arms-gz2_yes"},
    "spiral-arm-count-gz2": {
        "answers": ["1", "2", "3", "4", "more-than-4", "cant-tell"],
        "asked_after": "has-spiral-arms-gz2_yes",
    },
}

decals_dr5: Schema = Schema.from_dict(_DECALS_DR5, name="decals_dr5")
"""GZ DECaLS DR5 (Walmsley et al. 2022): 10 questions, 34 answers, zoobot's column names."""

gz2: Schema = Schema.from_dict(_GZ2, name="gz2")
"""Galaxy Zoo 2 (Willett et al. 2013) in zoobot's ``gz2_ortho`` column names."""

_SCHEMAS = {"decals_dr5": decals_dr5, "gz2": gz2}


def get_schema(name: str | Schema) -> Schema:
    """Look a schema up by name (``"decals_dr5"`` or ``"gz2"``); a Schema passes through."""
    if isinstance(name, Schema):
        return name
    try:
        return _SCHEMAS[name]
    except KeyError:
        raise KeyError(f"unknown schema {name!r}; known: {sorted(_SCHEMAS)}") from None


def columns_like(schema: Schema, suffix: str) -> list[str]:
    """Answer columns with a suffix, e.g. ``columns_like(decals_dr5, "_fraction")``."""
    return [c + suffix for c in schema.label_cols]

