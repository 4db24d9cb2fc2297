"""Judging a fine-tuned model: metrics, and predict_labels before and after saving."""

import json

import numpy as np
import pandas as pd
import pytest

from galzoo_tools.finetune import (
    FinetuneConfig,
    classification_metrics,
    fit_finetune,
    predict_labels,
)
from galzoo_tools.models import load_model, save_model
from tests.finetune_data import ring_images, scratch_model, write_ring_catalog


def test_classification_metrics_match_sklearn():
    from sklearn.metrics import log_loss, roc_auc_score

    y = np.array([0, 1, 1, 0, 1])
    p1 = np.array([0.2, 0.7, 0.4, 0.1, 0.9])
    metrics = classification_metrics(y, np.stack([1 - p1, p1], 1))
    assert metrics["accuracy"] == pytest.approx(0.8)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, p1))
    assert metrics["loss"] == pytest.approx(log_loss(y, p1))


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
    first = predict_labels(model, catalog, 32, label_col="ring")
    again = predict_labels(loaded, catalog, 32, label_col="ring")
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
