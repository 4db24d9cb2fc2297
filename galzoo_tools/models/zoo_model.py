"""An encoder with a Dirichlet head: predicts vote fractions, their uncertainty, and embeddings."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from ..cpu_memory import keep_freed_memory
from ..losses import expected_fractions
from ..schema import Schema, get_schema
from .encoder_model import EncoderModel
from .heads import DirichletHead

__all__ = ["FractionPrediction", "ZooModel"]


class FractionPrediction(NamedTuple):
    """Predicted vote fractions, ``(batch, n_answers)`` in ``schema.label_cols`` order.

    ``mean`` averages the expected fractions α/Σα over MC-dropout passes; ``std`` is their
    spread across passes (all zeros for a single pass); ``concentrations`` holds every pass,
    ``(mc_samples, batch, n_answers)``.
    """

    mean: torch.Tensor
    std: torch.Tensor
    concentrations: torch.Tensor


class ZooModel(EncoderModel):
    """:class:`EncoderModel` (encoder + input normalisation) + :class:`DirichletHead` for one decision-tree ``schema``.

    ``encoder_info`` is the dict from :func:`build_encoder`; checkpoints store it so the model can
    be rebuilt. Without it the backbone name is read from a timm encoder's ``pretrained_cfg``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        schema: Schema | str = "decals_dr5",
        dropout: float = 0.2,
        min_concentration: float = 1.0,
        max_concentration: float = 100.0,
        encoder_info: dict[str, Any] | None = None,
        in_features: int | None = None,
    ) -> None:
        super().__init__(encoder, encoder_info, in_features)
        self.schema = get_schema(schema)
        self.head = DirichletHead(self.num_features, self.schema, dropout, min_concentration, max_concentration)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Dirichlet concentrations ``(batch, n_answers)`` for images in [0, 1], float32, within the head's bounds."""
        return self.head(self.embed(images))

    @torch.no_grad()
    @keep_freed_memory()
    def predict_fractions(self, images: torch.Tensor, mc_samples: int = 1) -> FractionPrediction:
        """Expected vote fractions, averaged over ``mc_samples`` MC-dropout passes.

        The encoder runs once in eval mode (batchnorm uses running statistics); the head is
        sampled ``mc_samples`` times with its dropout on when ``mc_samples > 1``. The model's
        train/eval state is restored afterwards.
        """
        if mc_samples < 1:
            raise ValueError(f"mc_samples must be >= 1, got {mc_samples}")
        was_training = self.training
        self.eval()
        try:
            features = self.embed(images)
            self.head.dropout.train(mc_samples > 1)
            concentrations = torch.stack([self.head(features) for _ in range(mc_samples)])
        finally:
            self.train(was_training)
        flat = concentrations.flatten(0, 1)
        fractions = expected_fractions(flat, self.schema).view_as(concentrations)
        std = fractions.std(dim=0, unbiased=False) if mc_samples > 1 else torch.zeros_like(fractions[0])
        return FractionPrediction(fractions.mean(dim=0), std, concentrations)

    def config(self) -> dict[str, Any]:
        """What a checkpoint needs to rebuild this model (see :func:`save_model`)."""
        return {
            **super().config(),
            "schema": self.schema.name,
            "schema_tree": self.schema.to_dict(),
            "head": self.head.settings(),
        }
