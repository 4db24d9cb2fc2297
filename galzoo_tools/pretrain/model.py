"""The model a pretraining run starts from."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import torch

from ..schema import Schema, decals_dr5

__all__ = ["starting_model", "keeps_head", "head_at_mean_fractions"]


def starting_model(init: str | os.PathLike, backbone: str = "efficientnet_lite0", channels: int = 3) -> torch.nn.Module:
    """The model pretraining starts from, given its starting weights ``init`` (any model source).

    A galzoo checkpoint (or ``"reference"``) trained on the same questions with the same
    backbone and channels keeps its Dirichlet head too, so training *continues* from it: this
    is how to train an existing model further on new galaxies. Every other source (``scratch``,
    ``imagenet``, ``hf_hub:...``, a checkpoint for other questions) gets a fresh head.
    """
    from ..models import build_model, load_model

    if keeps_head(init, backbone, channels):
        return load_model(init, device="cpu").train()
    return build_model(init, schema=decals_dr5, backbone=backbone, in_chans=channels)


def keeps_head(init: str | os.PathLike, backbone: str = "efficientnet_lite0", channels: int = 3) -> bool:
    """Whether :func:`starting_model` continues ``init``'s own Dirichlet head (else it builds a fresh one)."""
    from ..models import read_model_config, resolve_model_source

    resolved = resolve_model_source(init)
    if resolved.kind != "checkpoint":
        return False
    config = read_model_config(resolved.location)
    return (config.get("schema") == decals_dr5.name and config.get("backbone") == backbone
            and int(config.get("in_chans", 3)) == channels)


def head_at_mean_fractions(model: torch.nn.Module, catalog: pd.DataFrame, schema: Schema = decals_dr5,
                           total: float = 10.0, weight_scale: float = 0.1) -> torch.nn.Module:
    """Set a fresh Dirichlet head so the untrained model already predicts ``catalog``'s mean vote fractions.

    A random head starts from arbitrary answers, and the first epochs are spent unlearning them;
    starting at the baseline (the mean fractions) lets every step go into telling galaxies apart.
    Concentrations are ``1 + 99 * sigmoid(logit)``, so each answer's bias is the logit that gives
    ``alpha = total * mean_fraction``; the weights are scaled by ``weight_scale`` so the image
    only nudges that at first. Returns ``model`` (changed in place).
    """
    from .evaluate import mean_fraction_baseline

    head = model.head
    low, high = head.min_concentration, head.max_concentration
    alpha = np.clip(total * mean_fraction_baseline(catalog, schema), low + 0.01, high - 0.1)
    share = (alpha - low) / (high - low)
    with torch.no_grad():
        head.linear.bias.copy_(torch.as_tensor(np.log(share / (1 - share)), dtype=torch.float32))
        head.linear.weight.mul_(weight_scale)
    return model
