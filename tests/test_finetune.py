"""Fine-tuning: label budgets, freezing, layer-wise learning rates, the linear probe, the loop, saving."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from galzoo_tools.finetune import (
    FinetuneConfig,
    FinetuneModel,
    build_finetune_model,
    classification_metrics,
    embed_images,
    encode_labels,
    encoder_blocks,
    feature_chain,
    fit_finetune,
    fit_linear_probe,
    infer_task,
    layer_decay_param_groups,
    learning_curves,
    mistakes,
    plot_learning_curves,
    predict_catalog,
    predict_features,
    scale_features,
    set_trainable_blocks,
    split_labelled,
    stratified_sample,
    summarise_curves,
)
from galzoo_tools.models import ZooModel, build_encoder, load_model, save_model
from finetune_data import ring_image, write_ring_catalog


pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These models are tiny: one thread is faster than several fighting over a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def scratch_model(task="binary", classes=None) -> FinetuneModel:
    torch.manual_seed(0)
    return build_finetune_model("scratch", task, classes)


def ring_images(n: int, size: int = 32) -> tuple[torch.Tensor, np.ndarray]:
    y = np.arange(n) % 2
    images = np.stack([ring_image((size, size), bool(label), i) for i, label in enumerate(y)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), y


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


def test_classification_metrics_match_sklearn():
    from sklearn.metrics import log_loss, roc_auc_score

    y = np.array([0, 1, 1, 0, 1])
    p1 = np.array([0.2, 0.7, 0.4, 0.1, 0.9])
    metrics = classification_metrics(y, np.stack([1 - p1, p1], 1))
    assert metrics["accuracy"] == pytest.approx(0.8)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, p1))
    assert metrics["loss"] == pytest.approx(log_loss(y, p1))


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
    accuracy = classification_metrics(test_y, predict_features(model, embed_images(model, test_images)))["accuracy"]
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


def test_save_and_load_give_the_same_predictions(tmp_path):
    catalog_path = write_ring_catalog(tmp_path / "data", n=8)
    catalog = pd.read_csv(catalog_path).assign(file_loc=lambda d: str(tmp_path / "data") + "/" + d["file_loc"])
    model = scratch_model(classes=["no", "yes"])
    images, y = ring_images(12)
    fit_finetune(model, images, y, FinetuneConfig(mode="linear"), device="cpu")
    save_model(model, tmp_path / "model", {"image_size": 32})
    from galzoo_tools.config import default_file_mode  # readable like the rest of a run, not 0600

    assert (tmp_path / "model" / "model.safetensors").stat().st_mode & 0o777 == default_file_mode()
    loaded = load_model(tmp_path / "model", device="cpu")
    assert loaded.classes == ["no", "yes"] and loaded.task == "binary" and loaded.feature_scaling == "cosine"
    first = predict_catalog(model, catalog, 32, label_col="ring")
    again = predict_catalog(loaded, catalog, 32, label_col="ring")
    assert list(first.columns) == ["id_str", "p_no", "p_yes", "predicted", "label", "correct"]
    np.testing.assert_allclose(first[["p_no", "p_yes"]], again[["p_no", "p_yes"]], atol=1e-5)
    # a model saved before feature_scaling existed had standardised features
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    del config["feature_scaling"]
    (tmp_path / "model" / "config.json").write_text(json.dumps(config))
    assert load_model(tmp_path / "model", device="cpu").feature_scaling == "standardise"
    with pytest.raises(ValueError, match="lacks 'backbone'"):
        (tmp_path / "model" / "config.json").write_text('{"format": "galzoo-zoomodel"}')
        load_model(tmp_path / "model")


def test_learning_curves_table_plot_and_mistakes(tmp_path):
    catalog_path = write_ring_catalog(tmp_path / "data", n=24, suffix=".parquet")
    curves = learning_curves(catalog_path, "ring", inits=["scratch", "imagenet"], budgets=[4, 8, 64], repeats=2,
                             n_test=10, image_size=32, progress=False, device="cpu")
    runs = curves.runs
    assert len(runs) == 2 * 2 * 2 and set(runs["budget"]) == {4, 8}  # 64 > the 14 galaxies left
    assert runs[["test_accuracy", "test_roc_auc", "test_loss"]].notna().all().all()
    assert (runs["n_test"] == 10).all()
    table = summarise_curves(runs)
    assert table.shape == (2, 6) and "±" in table.iloc[0, 0]
    fig = plot_learning_curves(runs)
    assert len(fig.axes) == 3
    wrong = mistakes(curves, budget=4)
    assert {"id_str", "label", "p_scratch", "p_imagenet", "wrong_by"} <= set(wrong.columns)
    assert all(w for w in wrong["wrong_by"])
