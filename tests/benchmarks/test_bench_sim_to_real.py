"""The zero-shot part of benchmarks/bench_sim_to_real.py: a model's own answers as scores for a label."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from galzoo_tools.schema import decals_dr5
from galzoo_tools.votes import prob_asked

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_sim_to_real.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_sim_to_real", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fractions(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random per-question fractions: each question's block sums to 1."""
    out = np.zeros((n, decals_dr5.n_answers))
    for q in decals_dr5.questions:
        out[:, q.slice] = rng.dirichlet(np.ones(len(q.answers)), n)
    return out


def test_answer_aucs_find_the_answer_that_carries_the_label_and_its_direction(bench):
    rng = np.random.default_rng(0)
    fractions = _fractions(400, rng)
    y = (rng.random(400) < 0.5).astype(int)
    spiral = decals_dr5.label_cols.index("has-spiral-arms-dr5_yes")
    fractions[:, spiral] = np.where(y == 1, 0.9, 0.1)
    fractions[:, spiral + 1] = 1 - fractions[:, spiral]
    aucs = bench.answer_aucs(fractions, y, decals_dr5)
    assert aucs.loc["has-spiral-arms-dr5_yes", "fraction AUC"] == 1.0
    assert aucs.loc["has-spiral-arms-dr5_no", "fraction AUC"] == 0.0
    unrelated = aucs.drop(["has-spiral-arms-dr5_yes", "has-spiral-arms-dr5_no"])["fraction AUC"]
    assert unrelated.between(0.35, 0.65).all()


def test_shares_weigh_each_answer_by_the_chance_its_question_is_asked(bench):
    rng = np.random.default_rng(1)
    fractions = _fractions(300, rng)
    y = (rng.random(300) < 0.5).astype(int)
    spiral = decals_dr5.label_cols.index("has-spiral-arms-dr5_yes")
    asked = prob_asked(fractions, decals_dr5)[:, decals_dr5.question("has-spiral-arms-dr5").index]
    fractions[:, spiral] = 0.5  # the spiral fraction alone says nothing ...
    fractions[:, spiral + 1] = 0.5
    y = (asked > np.median(asked)).astype(int)  # ... but how often it is asked does
    aucs = bench.answer_aucs(fractions, y, decals_dr5)
    assert aucs.loc["has-spiral-arms-dr5_yes", "fraction AUC"] == 0.5
    assert aucs.loc["has-spiral-arms-dr5_yes", "share AUC"] == 1.0


def test_zero_shot_scores_models_with_a_vote_head_and_skips_bare_encoders(bench, capsys):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (12, 3, 128, 128), dtype=torch.uint8)
    y = np.array([0, 1] * 6)
    result = bench.zero_shot(["reference", "scratch"], images, y, np.arange(12), top=3)
    assert list(result) == ["reference"]
    answers = result["reference"]["answers"]
    assert set(answers) == set(decals_dr5.label_cols)
    assert all(0.0 <= cell["fraction AUC"] <= 1.0 for cell in answers.values())
    assert "reference's own answers" in capsys.readouterr().out


def test_zero_shot_adapts_a_plus_adabn_model_to_the_images(bench):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (12, 3, 128, 128), dtype=torch.uint8)
    y = np.array([0, 1] * 6)
    result = bench.zero_shot(["reference", "reference+adabn"], images, y, np.arange(12), top=3)
    assert list(result) == ["reference", "reference+adabn"]
    plain, adapted = (np.array([cell["fraction AUC"] for cell in result[name]["answers"].values()])
                      for name in result)
    assert not np.allclose(plain, adapted)  # other statistics, other answers


def test_transfer_table_prints_both_paired_gaps(bench):
    import pandas as pd

    rows = []
    for repeat in range(3):
        for model, accuracy in (("reference", 0.80), ("imagenet", 0.75),
                                ("reference+adabn", 0.86), ("imagenet+adabn", 0.76)):
            rows.append({"model": model, "budget": 32, "repeat": repeat, "accuracy": accuracy + 0.01 * repeat,
                         "roc_auc": accuracy})
    table, numbers = bench.transfer_table(pd.DataFrame(rows), ["reference", "imagenet", "reference+adabn",
                                                              "imagenet+adabn"])
    assert numbers["reference_minus_imagenet"]["32"]["accuracy"]["mean"] == pytest.approx(0.05)
    assert numbers["adapted_reference_minus_imagenet"]["32"]["accuracy"]["mean"] == pytest.approx(0.11)
    assert {"ref−imnet acc", "ref+adabn−imnet acc"} <= set(table.columns)
    only_plain, numbers = bench.transfer_table(pd.DataFrame(rows[:2]), ["reference", "imagenet"])
    assert "adapted_reference_minus_imagenet" not in numbers
