"""Fine-tuning data: stratified label budgets, validation splits, tasks and label encoding."""

import numpy as np
import pandas as pd
import pytest

from galzoo_tools.finetune import encode_labels, infer_task, split_labelled, stratified_sample


def test_stratified_sample_keeps_class_shares_and_every_class():
    labels = np.array([0] * 90 + [1] * 10)
    picked = stratified_sample(labels, 20, seed=3)
    assert len(picked) == len(set(picked)) == 20
    assert np.bincount(labels[picked]).tolist() == [18, 2]
    assert np.array_equal(picked, stratified_sample(labels, 20, seed=3))
    assert not np.array_equal(picked, stratified_sample(labels, 20, seed=4))
    assert np.bincount(labels[stratified_sample(labels, 3, seed=0)]).tolist() == [2, 1]  # 0.3 rings -> still one
    with pytest.raises(ValueError, match="cannot draw 101"):
        stratified_sample(labels, 101)


def test_validation_split_has_both_classes():
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    train, val = split_labelled(y, val_fraction=0.2, seed=0)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(8))
    assert set(y[val]) == {0, 1} and set(y[train]) == {0, 1}


def test_tasks_and_label_encoding():
    assert infer_task(pd.Series([0, 1, 1])) == "binary"
    assert infer_task(pd.Series(["bar", "ring", "none", "bar"])) == "multiclass"
    assert infer_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    codes, classes = encode_labels(pd.Series(["ring", "none", "ring"]), "binary")
    assert classes == ["none", "ring"] and codes.tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match=r"empty in 1 row.*\[2\]"):
        encode_labels(pd.Series([0, 1, None], name="ring"), "binary")
    with pytest.raises(ValueError, match="needs exactly 2"):
        encode_labels(pd.Series([0, 1, 2], name="ring"), "binary")
