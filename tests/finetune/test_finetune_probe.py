"""The linear probe: an exact, cross-validated head on frozen features."""

import numpy as np
import torch
from torch import nn

from galzoo_tools.finetune import (
    FinetuneModel,
    classification_metrics,
    fit_linear_probe,
    predict_features,
    stratified_sample,
)


def test_linear_probe_separates_separable_features_and_not_noise():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    features = torch.tensor(rng.normal(size=(60, 32)), dtype=torch.float32)
    features[:, 3] += torch.tensor(y * 4.0, dtype=torch.float32)
    model = FinetuneModel(nn.Identity(), {"num_features": 32}, "binary")
    info = fit_linear_probe(model, features[:40], y[:40])
    assert info["l2"] > 0 and np.isfinite(info["cv_loss"])
    assert classification_metrics(y[40:], predict_features(model, features[40:]))["accuracy"] >= 0.95
    fit_linear_probe(model, features[:40], rng.permutation(y[:40]))
    assert classification_metrics(y[40:], predict_features(model, features[40:]))["accuracy"] < 0.8


def test_cosine_scaling_beats_standardising_with_few_labels_when_strong_features_carry_the_class():
    """A representation like a pretrained one: the class lives in a few high-variance features,
    and hundreds of others vary a little at random. Standardising lifts those to the same
    weight as the informative ones, and 8 labels cannot tell them apart; the cosine scaling
    keeps the representation's own geometry."""
    rng = np.random.default_rng(3)
    n, strong, weak = 600, 4, 400
    y = np.arange(n) % 2
    x = np.concatenate([rng.normal(size=(n, strong)) * 3 + 2.0 * y[:, None], rng.normal(size=(n, weak)) * 0.3], 1)
    features = torch.tensor(x, dtype=torch.float32)
    test = np.arange(200, n)
    accuracy = {"cosine": [], "standardise": []}
    for draw in range(8):
        labelled = stratified_sample(y[:200], 8, draw)
        for scaling in accuracy:
            model = FinetuneModel(nn.Identity(), {"num_features": strong + weak}, "binary", feature_scaling=scaling)
            fit_linear_probe(model, features[labelled], y[labelled], seed=draw)
            accuracy[scaling].append(classification_metrics(y[test], predict_features(model, features[test]))["accuracy"])
    assert np.mean(accuracy["cosine"]) > np.mean(accuracy["standardise"]) + 0.05, accuracy


def test_regression_probe_recovers_a_linear_target():
    rng = np.random.default_rng(1)
    features = torch.tensor(rng.normal(size=(80, 16)), dtype=torch.float32)
    target = 3.0 * features[:, 0].numpy() + 10
    model = FinetuneModel(nn.Identity(), {"num_features": 16}, "regression")
    fit_linear_probe(model, features[:60], target[:60])
    predicted = predict_features(model, features[60:])
    assert np.abs(predicted - target[60:]).mean() < 0.3
