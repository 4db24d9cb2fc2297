"""Predictions of a fine-tuned model and the numbers that judge them.

Classification: accuracy, balanced accuracy, ROC AUC (one-vs-rest for several classes) and
the log loss (cross-entropy, the quantity training lowers). Regression: MSE, MAE and R².
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..cpu_memory import keep_freed_memory
from ..representations import embed
from .model import FinetuneModel

__all__ = ["predict_features", "predict_labels", "classification_metrics", "regression_metrics", "score",
           "predict_catalog"]


@torch.no_grad()
def predict_features(model: FinetuneModel, features: np.ndarray | torch.Tensor) -> np.ndarray:
    """Probabilities ``(N, n_classes)`` or values ``(N,)`` from frozen-encoder features
    (:func:`galzoo_tools.representations.embed`)."""
    device = model.feature_mean.device
    x = torch.as_tensor(features, dtype=torch.float32)
    return model.outputs_to_predictions(model.head_forward(x.to(device))).cpu().numpy()


@torch.no_grad()
@keep_freed_memory()
def predict_labels(model: FinetuneModel, catalog: pd.DataFrame | Sequence[str | os.PathLike], image_size: int,
                   batch_size: int = 128, label_col: str | None = None, progress: bool = False) -> pd.DataFrame:
    """A fine-tuned model's labels for every galaxy of a catalog (a DataFrame or a list of image paths).

    One row per galaxy: ``id_str``, ``p_{class}`` per class and ``predicted`` (or the
    ``predicted`` value for regression), plus ``label`` and ``correct`` when ``label_col`` is in
    the catalog. (The pretrained model's vote fractions come from ``predict_vote_fractions``.)
    """
    if not isinstance(catalog, pd.DataFrame):
        catalog = pd.DataFrame({"file_loc": [str(p) for p in catalog]})
    features = embed(model, catalog, image_size=image_size, batch_size=batch_size, progress=progress)
    out = predict_features(model, features)
    ids = catalog["id_str"].astype(str) if "id_str" in catalog else catalog["file_loc"].astype(str)
    frame = pd.DataFrame({"id_str": ids.to_numpy()})
    if model.task == "regression":
        frame["predicted"] = out
    else:
        for k, name in enumerate(model.classes):
            frame[f"p_{name}"] = out[:, k]
        frame["predicted"] = np.asarray(model.classes, dtype=object)[out.argmax(1)]
    if label_col is not None and label_col in catalog:
        frame["label"] = catalog[label_col].to_numpy()
        if model.task != "regression":
            frame["correct"] = frame["predicted"].to_numpy() == frame["label"].to_numpy()
    return frame


def predict_catalog(model: FinetuneModel, catalog: pd.DataFrame | Sequence[str | os.PathLike], image_size: int,
                    batch_size: int = 128, label_col: str | None = None, progress: bool = False) -> pd.DataFrame:
    """Deprecated: use :func:`predict_labels`."""
    warnings.warn("finetune.predict_catalog is deprecated; use finetune.predict_labels", DeprecationWarning,
                  stacklevel=2)
    return predict_labels(model, catalog, image_size, batch_size, label_col, progress)


def classification_metrics(y: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """``accuracy``, ``balanced_accuracy``, ``roc_auc`` (NaN with one class only), ``loss`` and ``n``.

    ``y`` holds class indices, ``probabilities`` is ``(N, n_classes)``.
    """
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    y, p = np.asarray(y), np.asarray(probabilities, dtype=np.float64)
    p = p / p.sum(1, keepdims=True)
    labels = list(range(p.shape[1]))
    predicted = p.argmax(1)
    if len(np.unique(y)) < 2:
        auc = float("nan")
    elif p.shape[1] == 2:
        auc = float(roc_auc_score(y, p[:, 1]))
    else:
        auc = float(roc_auc_score(y, p, multi_class="ovr", labels=labels))
    return {
        "accuracy": float((predicted == y).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y, predicted)) if len(y) else float("nan"),
        "roc_auc": auc,
        "loss": float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1)).mean()) if len(y) else float("nan"),
        "n": int(len(y)),
    }


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """``mse``, ``mae``, ``r2``, ``loss`` (= MSE) and ``n``."""
    y, predicted = np.asarray(y, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    mse = float(np.mean((y - predicted) ** 2))
    variance = float(np.var(y))
    return {"mse": mse, "mae": float(np.mean(np.abs(y - predicted))),
            "r2": 1 - mse / variance if variance > 0 else float("nan"), "loss": mse, "n": int(len(y))}


def score(model: FinetuneModel, y: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """The metrics that fit ``model.task``."""
    if model.task == "regression":
        return regression_metrics(y, predictions)
    return classification_metrics(y, predictions)
