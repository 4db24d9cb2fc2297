"""Fine-tuning a pretrained encoder for a new task with few labels (notebook 06, ``galzoo finetune``).

>>> from galzoo_tools.finetune import FinetuneConfig, finetune
>>> result = finetune("rings/catalog.parquet", "ring", model="reference", train_size=128,
...                   config=FinetuneConfig(mode="partial"), out_dir="runs/rings")
>>> result.metrics["test_accuracy"]

Pieces, for use one at a time: :class:`FinetuneModel` (encoder + input normalisation + head),
:func:`fit_finetune` (modes ``linear`` / ``partial`` / ``full``, set in :class:`FinetuneConfig`),
:func:`fit_linear_probe` on features from :func:`galzoo_tools.representations.embed`,
:func:`predict_labels` (class probabilities or values for a catalog), the learning-curve
experiment (:func:`learning_curves`, figures in :mod:`.plots`) and the balanced synthetic ring
set (:func:`balanced_ring_set`).
"""

from .data import (
    balanced_ring_set, check_class_counts, encode_labels, infer_task, split_labelled, stratified_sample,
)
from .evaluate import (
    classification_metrics, predict_catalog, predict_features, predict_labels, regression_metrics, score,
)
from .experiment import DEFAULT_BUDGETS, DEFAULT_MODELS, LearningCurves, learning_curves, mistakes, summarise_curves
from .model import (
    FEATURE_SCALINGS,
    FinetuneModel,
    build_finetune_model,
    encoder_blocks,
    feature_chain,
    layer_decay_param_groups,
    load_finetuned,
    save_finetuned,
    scale_features,
    set_trainable_blocks,
)
from .plots import plot_learning_curves, plot_mistakes
from .probe import L2_GRID, class_weights, fit_head, fit_linear_probe
from .run import FinetuneResult, finetune, source_image_size, with_shortcuts
from .train import FinetuneConfig, FitReport, fit_finetune

__all__ = [
    "DEFAULT_BUDGETS",
    "DEFAULT_MODELS",
    "FEATURE_SCALINGS",
    "L2_GRID",
    "LearningCurves",
    "FinetuneConfig",
    "FinetuneModel",
    "FinetuneResult",
    "FitReport",
    "balanced_ring_set",
    "build_finetune_model",
    "check_class_counts",
    "class_weights",
    "classification_metrics",
    "encode_labels",
    "encoder_blocks",
    "feature_chain",
    "finetune",
    "fit_finetune",
    "fit_head",
    "fit_linear_probe",
    "infer_task",
    "layer_decay_param_groups",
    "learning_curves",
    "load_finetuned",
    "mistakes",
    "plot_learning_curves",
    "plot_mistakes",
    "predict_features",
    "predict_labels",
    "regression_metrics",
    "save_finetuned",
    "scale_features",
    "score",
    "set_trainable_blocks",
    "source_image_size",
    "split_labelled",
    "stratified_sample",
    "summarise_curves",
    "with_shortcuts",
    "predict_catalog",
]
