"""An encoder with the input normalisation its weights expect: the part every galzoo model shares.

:class:`EncoderModel` maps images in [0, 1] to pooled features (``embed``). It is what
:func:`galzoo_tools.models.load_model` returns for a source that has no trained head
(``imagenet``, ``scratch``, ``hf_hub:...``, ``local-dir:...``), and the base of
:class:`~galzoo_tools.models.ZooModel` (+ Dirichlet head) and
:class:`~galzoo_tools.models.FinetuneModel` (+ a head for a new task).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .encoders import encoder_in_chans
from .normalise import InputNormaliser

__all__ = ["EncoderModel", "describe_encoder"]


class EncoderModel(nn.Module):
    """``encoder`` (a module returning pooled features) + :class:`InputNormaliser` from ``encoder_info``.

    ``encoder_info`` is the dict :func:`galzoo_tools.models.build_encoder` returns (backbone,
    channels, weights, ``mean``/``std``...); without it the encoder is described as well as it
    can be (:func:`describe_encoder`) and inputs are not normalised. ``forward`` is ``embed``.
    """

    def __init__(self, encoder: nn.Module, encoder_info: dict[str, Any] | None = None,
                 in_features: int | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        features = in_features or getattr(encoder, "num_features", None) or (encoder_info or {}).get("num_features")
        if not features:
            raise ValueError("the encoder has no num_features attribute; pass in_features=<feature size>")
        self.encoder_info = dict(encoder_info) if encoder_info else describe_encoder(encoder, int(features))
        self.encoder_info["num_features"] = int(features)
        self.normaliser = InputNormaliser(self.encoder_info.get("mean"), self.encoder_info.get("std"))

    @property
    def num_features(self) -> int:
        """Length of the feature vector ``embed`` returns."""
        return int(self.encoder_info["num_features"])

    @property
    def normalise(self) -> bool:
        """Whether inputs are normalised (the encoder's weights came with a mean and std)."""
        return self.normaliser.enabled

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] → the normalisation the encoder's weights expect (its ``mean``/``std``)."""
        return self.normaliser(images)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled encoder features ``(batch, num_features)`` of images in [0, 1]: the paper's representation."""
        return self.encoder(self.prepare(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embed(images)

    def config(self) -> dict[str, Any]:
        """The encoder's part of a checkpoint's ``config.json``; subclasses add their head's."""
        info = self.encoder_info
        return {
            "backbone": info.get("backbone"),
            "in_chans": info.get("in_chans"),
            "num_features": self.num_features,
            "timm_kwargs": info.get("timm_kwargs", {}),
            "mean": info.get("mean"),
            "std": info.get("std"),
            "encoder_init": info.get("weights"),
        }


def describe_encoder(encoder: nn.Module, features: int) -> dict[str, Any]:
    """An ``encoder_info`` for an encoder passed in directly: its timm architecture if it has one, no normalisation."""
    cfg = getattr(encoder, "pretrained_cfg", None) or {}
    return {
        "source": "custom",
        "kind": "custom",
        "backbone": cfg.get("architecture"),
        "in_chans": encoder_in_chans(encoder),
        "num_features": features,
        "weights": "unknown (encoder passed in directly)",
        "mean": None,
        "std": None,
        "timm_kwargs": {},
    }
