"""The Dirichlet head: pooled features → one positive concentration per answer.

As in zoobot, the head is dropout → linear → ``min + (max - min) * sigmoid(x)``, with
concentrations in [1, 100] by default. The lower bound 1 keeps every Dirichlet unimodal-or-flat
(never piling mass onto the corners); the upper bound stops the network from claiming
near-certainty, which the Dirichlet–multinomial loss would otherwise reward on confident votes.
"""

from __future__ import annotations

import torch
from torch import nn

from ..schema import Schema, get_schema

__all__ = ["DirichletHead"]


class DirichletHead(nn.Module):
    """Dropout → linear → bounded concentrations, shape ``(batch, schema.n_answers)``.

    The sigmoid map is computed in float32 even under ``torch.autocast`` so the bounds hold
    exactly and the loss sees full-precision concentrations.
    """

    def __init__(
        self,
        in_features: int,
        schema: Schema | str = "decals_dr5",
        dropout: float = 0.2,
        min_concentration: float = 1.0,
        max_concentration: float = 100.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not 0.0 < min_concentration < max_concentration:
            raise ValueError(
                f"need 0 < min_concentration < max_concentration, got {min_concentration} and {max_concentration}"
            )
        self.schema = get_schema(schema)
        self.in_features = int(in_features)
        self.min_concentration = float(min_concentration)
        self.max_concentration = float(max_concentration)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(self.in_features, self.schema.n_answers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits = self.linear(self.dropout(features)).float()
        span = self.max_concentration - self.min_concentration
        return self.min_concentration + span * torch.sigmoid(logits)

    def settings(self) -> dict[str, float]:
        """The constructor arguments a checkpoint needs to rebuild this head."""
        return {
            "dropout": float(self.dropout.p),
            "min_concentration": self.min_concentration,
            "max_concentration": self.max_concentration,
        }

    def extra_repr(self) -> str:
        bounds = f"[{self.min_concentration:g}, {self.max_concentration:g}]"
        return f"schema={self.schema.name!r}, concentrations in {bounds}"
