"""The fine-tuning model: normalisation, freezing, layer-wise learning rates, feature scaling."""

import numpy as np
import pytest
import torch
from torch import nn

from galzoo_tools.finetune import (
    FinetuneModel,
    encoder_blocks,
    feature_chain,
    layer_decay_param_groups,
    scale_features,
    set_trainable_blocks,
)
from galzoo_tools.models import ZooModel, build_encoder
from tests.finetune_data import scratch_model


def test_embed_matches_zoo_model_normalisation():
    encoder, info = build_encoder("imagenet")
    model = FinetuneModel(encoder, info).eval()
    zoo = ZooModel(encoder, encoder_info=info).eval()
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.embed(images), zoo.embed(images))
        assert not torch.allclose(model.embed(images), model.encoder(images))  # normalisation is applied


def test_freezing_blocks_and_frozen_batchnorm():
    model = scratch_model()
    blocks = encoder_blocks(model.encoder)
    assert len(blocks) == 8 and blocks[0][0].startswith("conv_stem") and "conv_head.weight" in blocks[-1]
    assert set_trainable_blocks(model, 2) == 2
    trainable = {n for n, p in model.encoder.named_parameters() if p.requires_grad}
    assert trainable == set(blocks[-2]) | set(blocks[-1])
    model.freeze_batchnorm = False
    model.train()
    assert not model.encoder.bn1.training and not model.encoder.blocks[0].training  # frozen: eval
    assert model.encoder.blocks[6].training and model.encoder.bn2.training  # trainable: train
    before = model.encoder.bn1.running_mean.clone()
    model(torch.rand(4, 3, 32, 32))
    assert torch.equal(model.encoder.bn1.running_mean, before)
    model.freeze_batchnorm = True
    model.train()
    assert not model.encoder.bn2.training and model.head.training
    assert set_trainable_blocks(model, 0) == 0
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.head.parameters())


def test_layer_decay_gives_smaller_rates_towards_the_input():
    model = scratch_model()
    set_trainable_blocks(model, None)
    groups = layer_decay_param_groups(model, lr=1e-3, layer_decay=0.5, weight_decay=0.1)
    head = [g for g in groups if any(p is model.head.weight for p in g["params"])][0]
    stem = [g for g in groups if any(p is model.encoder.conv_stem.weight for p in g["params"])][0]
    last = [g for g in groups if any(p is model.encoder.conv_head.weight for p in g["params"])][0]
    assert head["lr"] == 1e-3 and last["lr"] == 5e-4 and stem["lr"] == pytest.approx(1e-3 * 0.5**8)
    bias = [g for g in groups if any(p is model.head.bias for p in g["params"])][0]
    assert bias["weight_decay"] == 0 and head["weight_decay"] == 0.1
    assert sum(len(g["params"]) for g in groups) == sum(1 for p in model.parameters() if p.requires_grad)


def test_feature_chain_only_for_chains():
    model = scratch_model()
    assert feature_chain(model.encoder) is not None

    class Skip(nn.Module):  # forward is not the chain of its children
        num_features = 4

        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3, padding=1)

        def forward_head(self, x):
            return x.mean((2, 3))

        def forward(self, x):
            return self.forward_head(self.a(x) + 1)

    assert feature_chain(Skip()) is None


def test_cosine_scaling_keeps_directions_and_ignores_lengths():
    rng = np.random.default_rng(2)
    features = torch.tensor(rng.normal(size=(6, 20)), dtype=torch.float64)
    mean, std = features.mean(0), torch.ones(20, dtype=torch.float64)
    scaled = scale_features(features, mean, std, "cosine")
    np.testing.assert_allclose(scaled.norm(dim=1).numpy(), np.sqrt(20), rtol=1e-12)
    stretched = mean + (features - mean) * torch.tensor([[0.5], [1], [2], [3], [4], [10]], dtype=torch.float64)
    np.testing.assert_allclose(scale_features(stretched, mean, std, "cosine").numpy(), scaled.numpy(), rtol=1e-10)
    standardised = scale_features(features, mean, features.std(0), "standardise")
    np.testing.assert_allclose(standardised.std(0).numpy(), 1.0, rtol=1e-10)
    with pytest.raises(ValueError, match="feature_scaling must be one of"):
        FinetuneModel(nn.Identity(), {"num_features": 4}, "binary", feature_scaling="whiten")
    assert FinetuneModel(nn.Identity(), {"num_features": 4}, "binary").feature_scaling == "cosine"
    assert FinetuneModel(nn.Identity(), {"num_features": 4}, "regression").feature_scaling == "standardise"
