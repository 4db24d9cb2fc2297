"""Pretraining one model on every Galaxy Zoo question (notebook 02, ``galzoo pretrain``).

>>> from galzoo_tools.pretrain import PretrainConfig, pretrain
>>> metrics = pretrain(PretrainConfig.for_scale("small", epochs=3), "runs/pretrain")
>>> metrics["vote_mae"]

The stages, for use one at a time: :mod:`.config` (:class:`PretrainConfig`, :class:`TrainConfig`),
:mod:`.data` (:func:`split_catalog`, :func:`read_split`, :func:`split_path`), :mod:`.model` (:func:`starting_model`),
:mod:`.train` (:func:`fit`, which checkpoints every epoch and resumes exactly; DDP under
``torchrun``), :mod:`.frozen` (train only an encoder's top, on cached outputs of its frozen
bottom for the eight exact symmetries), :mod:`.evaluate` (:func:`predict_vote_fractions`, vote MAE against a mean-fraction
baseline and the simulator's truth, :func:`remeasure_run`), :mod:`.run` (:func:`pretrain`, all of
them in turn) and :mod:`.plots` (loss curves, predicted against observed, calibration).
"""

from .config import PretrainConfig, TrainConfig
from .data import DeviceBatches, read_split, split_catalog, split_path
from .distributed import DistributedContext, distributed_context
from .evaluate import (
    VAL_CHECK_SIZE,
    asked_mask,
    mean_fraction_baseline,
    predict_vote_fractions,
    remeasure_run,
    simulated_truth,
    vote_fraction_mae,
    vote_mae_report,
)
from .frozen import N_SYMMETRIES, CachedViews, cache_bottom, cached_views, split_encoder, symmetry_view
from .model import head_at_mean_fractions, keeps_head, starting_model
from .plots import DEFAULT_ANSWERS, plot_calibration, plot_history, plot_predicted_vs_observed
from .run import pretrain
from .train import CHECKPOINT_NAME, TrainResult, check_resume_settings, evaluate_loss, fit, read_checkpoint

__all__ = [
    "CHECKPOINT_NAME",
    "CachedViews",
    "cached_views",
    "N_SYMMETRIES",
    "cache_bottom",
    "split_encoder",
    "symmetry_view",
    "DEFAULT_ANSWERS",
    "DeviceBatches",
    "DistributedContext",
    "PretrainConfig",
    "TrainConfig",
    "TrainResult",
    "VAL_CHECK_SIZE",
    "asked_mask",
    "check_resume_settings",
    "distributed_context",
    "evaluate_loss",
    "fit",
    "mean_fraction_baseline",
    "plot_calibration",
    "plot_history",
    "plot_predicted_vs_observed",
    "predict_vote_fractions",
    "pretrain",
    "read_checkpoint",
    "read_split",
    "split_path",
    "remeasure_run",
    "simulated_truth",
    "split_catalog",
    "starting_model",
    "keeps_head",
    "head_at_mean_fractions",
    "vote_fraction_mae",
    "vote_mae_report",
]
