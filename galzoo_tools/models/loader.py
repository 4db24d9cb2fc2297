"""The one way in: :func:`load_model` turns any model source into a ready model.

================================================  ===========================================
``model=``                                        :func:`load_model` returns
================================================  ===========================================
``"reference"``, a pretrained model folder, or a  :class:`ZooModel` with its trained Dirichlet
``galzoo pretrain --out`` run folder              head (``predict_fractions``, ``embed``)
a fine-tuned folder (``galzoo finetune --out``)   :class:`FinetuneModel` (``embed`` and its
                                                  task head, ``outputs_to_predictions``)
``"imagenet"``, ``"imagenet-timm"``,              :class:`EncoderModel`: encoder + the input
``"scratch"``, ``"hf_hub:..."``,                  normalisation its weights expect (``embed``
``"local-dir:..."``                               only: there is no trained head to predict with)
an ``nn.Module``                                  the same module, untouched (moved to
                                                  ``device`` when one is given)
================================================  ===========================================

Every loaded model is in eval mode. The builders start something new from a source:
:func:`build_encoder` (a bare encoder + its description, for a model of your own),
:func:`build_model` (encoder + a fresh Dirichlet head, to pretrain) and
:func:`galzoo_tools.finetune.build_finetune_model` (encoder + a fresh task head, to fine-tune).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch
from torch import nn

from ..config import get_device
from ..schema import Schema
from .checkpoints import load_checkpoint
from .encoder_model import EncoderModel
from .encoders import TIMM_KINDS, check_kwargs, check_same_backbone, check_same_chans, timm_encoder
from .sources import resolve_model_source
from .zoo_model import ZooModel

__all__ = ["build_encoder", "build_model", "load_encoder", "load_model"]

ModelLike = str | os.PathLike[str] | nn.Module


def _device(device: str | torch.device | None) -> torch.device:
    return get_device(str(device)) if device is not None else get_device()


def load_model(
    model: ModelLike,
    *,
    device: str | torch.device | None = None,
    offline: bool | None = None,
) -> nn.Module:
    """The model a source names, in eval mode on ``device`` (default :func:`~galzoo_tools.config.get_device`).

    What comes back for each source is in the module docstring: a :class:`ZooModel` for trained
    galzoo models, a :class:`FinetuneModel` for fine-tuned ones, an :class:`EncoderModel` for
    encoder-only sources; a module passed in is returned as is. Every result has ``embed``.
    ``offline`` overrides ``$GALZOO_OFFLINE`` for sources that download.
    """
    if isinstance(model, nn.Module):
        return model.to(_device(device)) if device is not None else model
    resolved = resolve_model_source(model)
    if resolved.kind in TIMM_KINDS:
        encoder, info = timm_encoder(resolved, offline=offline)
        return EncoderModel(encoder, info).to(_device(device)).eval()
    return load_checkpoint(resolved.location, device=device)  # type: ignore[arg-type]


def build_encoder(
    model: str | os.PathLike[str] = "imagenet",
    backbone: str | None = None,
    in_chans: int | None = None,
    *,
    offline: bool | None = None,
    **timm_kwargs: Any,
) -> tuple[nn.Module, dict[str, Any]]:
    """A bare pooled-feature encoder (``num_classes=0``) from any source, and an ``info`` dict describing it.

    ``backbone`` (default ``efficientnet_lite0``) and ``in_chans`` (default 3) choose the
    architecture for ``scratch``/``imagenet``; other sources fix their own, and a conflicting
    explicit value is an error. For a galzoo model folder (pretrained or fine-tuned) this is its
    trained encoder. ``timm_kwargs`` (e.g. ``drop_path_rate``) go to ``timm.create_model``.
    ``info`` holds ``source``, ``kind``, ``backbone``, ``in_chans``, ``num_features``,
    ``weights``, ``mean``/``std`` (the normalisation the weights expect) and ``timm_kwargs``.
    """
    resolved = resolve_model_source(model)
    if resolved.kind in TIMM_KINDS:
        return timm_encoder(resolved, backbone, in_chans, offline=offline, **timm_kwargs)
    check_kwargs(timm_kwargs)
    if timm_kwargs:
        raise ValueError(f"{resolved} fixes its own timm options in config.json; drop {sorted(timm_kwargs)}")
    saved = load_checkpoint(resolved.location, device="cpu")  # type: ignore[arg-type]
    check_same_backbone(backbone, saved.encoder_info["backbone"], resolved)
    check_same_chans(in_chans, saved.encoder_info["in_chans"], resolved)
    return saved.encoder, dict(saved.encoder_info, source=str(resolved))


def build_model(
    model: str | os.PathLike[str] = "imagenet",
    schema: Schema | str = "decals_dr5",
    backbone: str | None = None,
    in_chans: int | None = None,
    *,
    dropout: float = 0.2,
    min_concentration: float = 1.0,
    max_concentration: float = 100.0,
    offline: bool | None = None,
    **timm_kwargs: Any,
) -> ZooModel:
    """A new :class:`ZooModel`: the encoder of ``model`` (see :func:`build_encoder`) with a fresh Dirichlet head.

    To get a saved model back with its trained head, use :func:`load_model` instead.
    """
    encoder, info = build_encoder(model, backbone, in_chans, offline=offline, **timm_kwargs)
    return ZooModel(encoder, schema, dropout, min_concentration, max_concentration, encoder_info=info)


def load_encoder(
    source: str | os.PathLike[str],
    backbone: str | None = None,
    in_chans: int | None = None,
    *,
    device: str | torch.device | None = None,
    offline: bool | None = None,
    **timm_kwargs: Any,
) -> nn.Module:
    """Deprecated: use ``load_model(model).encoder``, or :func:`build_encoder` for the bare encoder and its info."""
    warnings.warn("galzoo_tools.models.load_encoder is deprecated; use load_model(model) (its .encoder) "
                  "or build_encoder(model)", DeprecationWarning, stacklevel=2)
    encoder, _ = build_encoder(source, backbone, in_chans, offline=offline, **timm_kwargs)
    return encoder.to(_device(device)).eval()
