"""The model a pretraining run starts from."""

from __future__ import annotations

import os

import torch

from ..schema import decals_dr5

__all__ = ["starting_model"]


def starting_model(init: str | os.PathLike, backbone: str = "efficientnet_lite0", channels: int = 3) -> torch.nn.Module:
    """The model pretraining starts from, given its starting weights ``init`` (any model source).

    A galzoo checkpoint (or ``"reference"``) trained on the same questions with the same
    backbone and channels keeps its Dirichlet head too, so training *continues* from it: this
    is how to train an existing model further on new galaxies. Every other source (``scratch``,
    ``imagenet``, ``hf_hub:...``, a checkpoint for other questions) gets a fresh head.
    """
    from ..models import build_model, load_model, read_model_config, resolve_model_source

    resolved = resolve_model_source(init)
    if resolved.kind == "checkpoint":
        config = read_model_config(resolved.location)
        if (config.get("schema") == decals_dr5.name and config.get("backbone") == backbone
                and int(config.get("in_chans", 3)) == channels):
            return load_model(resolved.location, device="cpu").train()
    return build_model(init, schema=decals_dr5, backbone=backbone, in_chans=channels)
