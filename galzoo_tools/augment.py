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

__all__ = ["BatchAugment", "SurveyJitter", "to_float_images"]


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


class SurveyJitter(nn.Module):
    """Random changes of how a survey renders a galaxy, per image of a ``(B, C, H, W)`` batch.

    Domain randomisation (Tobin et al. 2017): a model trained on simulated images meets real ones
    whose colour balance, stretch, seeing and noise differ from every simulated survey, so each
    training image gets its own, in this order: a gamma stretch ``x ** g`` with ``log g`` uniform in
    ``±gamma``; a brightness gain and one gain per band, log-normal with widths ``gain`` and
    ``band_gain``; a saturation ``s`` uniform in ``saturation`` (0: grey, 1: unchanged); with
    probability ``blur_p`` a Gaussian blur of width uniform in ``(0, blur_sigma)`` pixels; Gaussian
    noise of width uniform in ``(0, noise)``. Input and output: float in [0, 1] (uint8 is converted).
    Uses the global torch RNG, so seeded runs repeat exactly.
    """

    def __init__(
        self,
        gamma: float = 0.35,
        gain: float = 0.2,
        band_gain: float = 0.12,
        saturation: tuple[float, float] = (0.0, 1.2),
        blur_p: float = 0.5,
        blur_sigma: float = 1.5,
        noise: float = 0.03,
    ) -> None:
        super().__init__()
        if min(gamma, gain, band_gain, blur_sigma, noise) < 0 or not 0 <= blur_p <= 1:
            raise ValueError("SurveyJitter widths must be >= 0 and blur_p in [0, 1]")
        if not 0 <= saturation[0] <= saturation[1]:
            raise ValueError(f"saturation must satisfy 0 <= low <= high, got {saturation}")
        self.gamma, self.gain, self.band_gain = gamma, gain, band_gain
        self.saturation, self.blur_p, self.blur_sigma, self.noise = saturation, blur_p, blur_sigma, noise

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = to_float_images(images)
        b, c = x.shape[:2]
        dev, dt = x.device, x.dtype

        def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
            return torch.empty(b, *shape, device=dev, dtype=dt).uniform_(low, high)

        x = x.clamp(min=1e-6) ** uniform(-self.gamma, self.gamma, 1, 1, 1).exp()
        gains = (torch.randn(b, 1, 1, 1, device=dev, dtype=dt) * self.gain
                 + torch.randn(b, c, 1, 1, device=dev, dtype=dt) * self.band_gain).exp()
        x = x * gains
        if c > 1:
            grey = x.mean(dim=1, keepdim=True)
            x = grey + uniform(*self.saturation, 1, 1, 1) * (x - grey)
        if self.blur_p > 0 and self.blur_sigma > 0:
            x = self._blur(x)
        if self.noise > 0:
            x = x + torch.randn_like(x) * uniform(0, self.noise, 1, 1, 1)
        return x.clamp_(0, 1)

    def _blur(self, x: torch.Tensor) -> torch.Tensor:
        """Each image blurred by its own separable Gaussian (width 0 for the images left sharp)."""
        b, c, h, w = x.shape
        radius = max(1, math.ceil(2.5 * self.blur_sigma))
        sigma = torch.rand(b, device=x.device, dtype=x.dtype) * self.blur_sigma
        sigma = torch.where(torch.rand(b, device=x.device) < self.blur_p, sigma, torch.zeros_like(sigma))
        offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
        kernel = torch.exp(-0.5 * (offsets[None] / sigma.clamp(min=1e-3)[:, None]) ** 2)
        kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)  # (B*C, K)
        flat = F.pad(x.reshape(1, b * c, h, w), (radius, radius, radius, radius), mode="reflect")
        flat = F.conv2d(flat, kernel[:, None, None, :], groups=b * c)
        flat = F.conv2d(flat, kernel[:, None, :, None], groups=b * c)
        return flat.reshape(b, c, h, w)

    def extra_repr(self) -> str:
        return (f"gamma={self.gamma}, gain={self.gain}, band_gain={self.band_gain}, saturation={self.saturation}, "
                f"blur_p={self.blur_p}, blur_sigma={self.blur_sigma}, noise={self.noise}")
