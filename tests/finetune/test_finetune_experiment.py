"""Learning curves: paired draws per budget, shared features, the config as the single truth."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from galzoo_tools.finetune import FinetuneConfig, learning_curves, mistakes, plot_learning_curves, summarise_curves
from tests.finetune_data import write_ring_catalog


def test_learning_curves_table_plot_and_mistakes(tmp_path):
    catalog_path = write_ring_catalog(tmp_path / "data", n=24, suffix=".parquet")
    curves = learning_curves(catalog_path, "ring", models=["scratch", "imagenet"], budgets=[4, 8, 64], repeats=2,
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


def test_learning_curves_take_the_mode_from_the_config(tmp_path):
    """The config is the single truth: a ``mode`` it sets is not replaced by a keyword default."""
    catalog_path = write_ring_catalog(tmp_path / "data", n=20)
    config = FinetuneConfig(mode="partial", blocks=1, epochs=1, batch_size=4, views=1, patience=1)
    curves = learning_curves(catalog_path, "ring", models=["scratch"], budgets=[8], repeats=1, n_test=8,
                             image_size=32, config=config, progress=False, device="cpu")
    assert curves.runs["mode"].tolist() == ["partial"]
    shortcut = learning_curves(catalog_path, "ring", models=["scratch"], budgets=[8], repeats=1, n_test=8,
                               image_size=32, config=config, mode="linear", progress=False, device="cpu")
    assert shortcut.runs["mode"].tolist() == ["linear"]  # a shortcut that is given still counts


def test_linear_curves_fit_fresh_heads_on_shared_features_without_copying_models(tmp_path, monkeypatch):
    import galzoo_tools.finetune.experiment as experiment
    from galzoo_tools.catalog import read_catalog
    from galzoo_tools.datasets import load_images
    from galzoo_tools.finetune import build_finetune_model, encode_labels
    from galzoo_tools.representations import embed

    def refuse(*args, **kwargs):
        raise AssertionError("a linear probe must not copy the model")

    monkeypatch.setattr(experiment, "copy", SimpleNamespace(deepcopy=refuse))
    catalog_path = write_ring_catalog(tmp_path / "data", n=24)
    options = dict(budgets=[4, 8], repeats=2, n_test=10, image_size=32, progress=False, device="cpu")
    computed = learning_curves(catalog_path, "ring", models=["scratch"], **options)

    table = read_catalog(catalog_path, schema=None, require_votes=False)
    _, classes = encode_labels(table["ring"], "binary")
    torch.manual_seed(0)  # as learning_curves seeds it before building each model
    model = build_finetune_model("scratch", "binary", classes)
    features = embed(model, load_images(table, 32), progress=False)
    monkeypatch.setattr(experiment, "embed", refuse)  # given features are not computed again
    monkeypatch.setattr(experiment, "build_finetune_model", refuse)  # nor is an encoder built for them
    given = learning_curves(catalog_path, "ring", features={"scratch": features}, **options)
    columns = ["model", "budget", "repeat", "test_accuracy", "test_roc_auc", "test_loss"]
    assert given.runs[columns].equals(computed.runs[columns])
    with pytest.raises(ValueError, match="rows for 24 catalog rows"):
        learning_curves(catalog_path, "ring", features={"scratch": features[:5]}, **options)


def test_inits_is_a_deprecated_name_for_models(tmp_path):
    catalog_path = write_ring_catalog(tmp_path / "data", n=16)
    rng = np.random.default_rng(0)
    with pytest.warns(DeprecationWarning, match="models="):
        curves = learning_curves(catalog_path, "ring", inits=["noise"], budgets=[4], repeats=1, n_test=6,
                                 features={"noise": rng.normal(size=(16, 8))}, progress=False, device="cpu")
    assert curves.runs["model"].tolist() == ["noise"]
