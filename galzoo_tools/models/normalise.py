"""The input normalisation an encoder's weights expect, as a module that travels with the model."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["InputNormaliser"]


class InputNormaliser(nn.Module):
    """Images in [0, 1] → ``(x - mean) / std`` per channel; the identity when mean/std are unknown.

    ImageNet weights expect ImageNet statistics (the packaged EfficientNet-Lite0, TF-Lite's
    ``(x - 127) / 128``); random weights expect nothing in particular. The statistics are
    buffers that are not saved in state dicts: checkpoints carry them in ``config.json``.
    """

    def __init__(self, mean: Sequence[float] | None, std: Sequence[float] | None) -> None:
        super().__init__()
        self.enabled = mean is not None and std is not None
        if self.enabled:
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return images
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)

    def extra_repr(self) -> str:
        return "identity" if not self.enabled else f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"
