"""Augmentation of a whole batch at once, on whatever device the batch is on.

A galaxy has no preferred orientation, handedness or exact framing, so every training image
can be rotated by any angle, flipped and mildly zoomed for free. Doing that per image in a
DataLoader costs a Python call and a small interpolation per galaxy; here one affine grid
and one ``grid_sample`` transform the whole batch (on the GPU when training on one), so data
loading stays off the critical path.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BatchAugment", "to_float_images"]


def to_float_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 images → float32 in [0, 1]; float images pass through unchanged."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images


class BatchAugment(nn.Module):
    """Random rotation (any angle), flips and zoom (crop) for a ``(B, C, H, W)`` batch.

    ``crop_scale`` is the range of the fraction of the image *area* kept, as in
    torchvision's RandomResizedCrop (zoobot crops a similar range); the crop centre moves at
    most as far as keeps it inside the image. Output: float32 in [0, 1] at ``size`` pixels.
    Uses the global torch RNG, so seeded runs repeat exactly.
    """

    def __init__(
        self,
        size: int | None = None,
        crop_scale: tuple[float, float] = (0.7, 1.0),
        rotate: bool = True,
        flip: bool = True,
    ) -> None:
        super().__init__()
        if not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {crop_scale}")
        self.size = size
        self.crop_scale = crop_scale
        self.rotate = rotate
        self.flip = flip

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = to_float_images(images)
        b, c, h, w = images.shape
        size = self.size or h
        gen_device = images.device
        zoom = torch.empty(b, device=gen_device).uniform_(*self.crop_scale).sqrt()
        angle = (torch.rand(b, device=gen_device) * 2 * math.pi) if self.rotate else torch.zeros(b, device=gen_device)
        if self.flip:
            flip = torch.where(torch.rand(b, device=gen_device) < 0.5, -1.0, 1.0)
        else:
            flip = torch.ones(b, device=gen_device)
        room = 1 - zoom
        shift = (torch.rand(b, 2, device=gen_device) * 2 - 1) * room[:, None]
        cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
        theta = torch.stack(
            [
                torch.stack([cos * flip, -sin, shift[:, 0]], dim=1),
                torch.stack([sin * flip, cos, shift[:, 1]], dim=1),
            ],
            dim=1,
        ).to(images.dtype)
        grid = F.affine_grid(theta, [b, c, size, size], align_corners=False)
        out = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        return out.clamp_(0, 1)

    def extra_repr(self) -> str:
        return f"size={self.size}, crop_scale={self.crop_scale}, rotate={self.rotate}, flip={self.flip}"
