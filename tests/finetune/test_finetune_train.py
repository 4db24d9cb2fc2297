"""The fine-tuning loop: gradient modes, frozen blocks, and draws too small to learn from."""

import numpy as np
import pytest
import torch

from galzoo_tools.finetune import FinetuneConfig, classification_metrics, fit_finetune, predict_features
from galzoo_tools.representations import embed
from tests.finetune_data import ring_images, scratch_model


@pytest.mark.parametrize("mode", ["partial", "full"])
def test_gradient_modes_learn_rings_and_respect_frozen_blocks(mode):
    images, y = ring_images(20)
    model = scratch_model()
    stem_before = model.encoder.conv_stem.weight.clone()
    head_before = model.encoder.conv_head.weight.clone()
    stats_before = model.encoder.bn1.running_mean.clone()
    assert model.training  # a fresh model: its BatchNorm layers would update their statistics
    config = FinetuneConfig(mode=mode, blocks=2, epochs=3, batch_size=8, lr=1e-3, views=2, patience=10)
    report = fit_finetune(model, images, y, config, device="cpu")
    assert report.n_train + report.n_val == 20 and report.n_val >= 2
    assert report.cached_trunk == (mode == "partial") and len(report.history) == 4
    assert report.trainable_blocks == (2 if mode == "partial" else 8)
    assert all(p.requires_grad for p in model.encoder.blocks[6].parameters())
    assert model.encoder.conv_stem.weight.requires_grad == (mode == "full")
    assert not model.training
    moved = not torch.equal(model.encoder.conv_head.weight, head_before)
    assert moved == (report.best_epoch > 0)  # the best epoch's weights are kept, epoch 0 = the probe
    assert torch.equal(model.encoder.bn1.running_mean, stats_before)  # pretrained statistics kept
    if mode == "partial":
        assert torch.equal(model.encoder.conv_stem.weight, stem_before)
    test_images, test_y = ring_images(16)
    test_images = test_images.roll(1, 0)
    test_y = np.roll(test_y, 1)
    features = embed(model, test_images, progress=False)
    accuracy = classification_metrics(test_y, predict_features(model, features))["accuracy"]
    assert accuracy >= 0.8


@pytest.mark.parametrize(("mode", "y", "need"), [
    ("linear", [1, 1, 1], "1 label per class"),  # one class: nothing to tell apart
    ("partial", [0, 0, 0, 1], "2 labels per class"),  # the validation split may take the only 1
    ("full", [0, 1, 1, 1], "2 labels per class"),
])
def test_a_draw_without_enough_labels_of_every_class_is_refused(mode, y, need):
    images, _ = ring_images(len(y))
    config = FinetuneConfig(mode=mode, epochs=1, batch_size=4)
    with pytest.raises(ValueError, match=rf"needs at least {need}.*0: {y.count(0)}, 1: {y.count(1)}"):
        fit_finetune(scratch_model(), images, np.array(y), config, device="cpu")
