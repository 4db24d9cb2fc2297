"""Batch-norm statistics recomputed on a user's own unlabelled images (AdaBN).

Every batch-norm layer of an encoder divides its input by a mean and variance it learned from
the training images (``running_mean``, ``running_var``). When the images it meets later come
from another survey (synthetic galaxies in training, real SDSS or DECaLS cut-outs in use), those
statistics are off, and every layer after the first one that is off sees shifted inputs. Li et
al. (2016, "Revisiting batch normalization for practical domain adaptation", AdaBN) found that
recomputing the statistics on the new images, with no labels and no gradient step, recovers much
of what the shift cost. The learned weights and the head are untouched.

The images are the researcher's own galaxies, unlabelled: nothing here is tuned to a label, so
it can be used on the very images that will then be embedded or classified.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from galzoo_tools.augment import to_float_images

__all__ = ["adapt_batchnorm"]

_MIN_IMAGES = 2


def _batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The encoder's batch-norm layers that keep running statistics."""
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, nn.Module) or not hasattr(model, "embed"):
        raise TypeError(f"model must be a galzoo model with an .encoder and .embed (load_model / build_model), "
                        f"not {type(model).__name__}")
    layers = [m for m in encoder.modules()
              if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not layers:
        raise ValueError("the encoder has no batch-norm layer with running statistics; "
                         "there is nothing to adapt (a backbone with layer or group norm needs no AdaBN)")
    return layers


@torch.no_grad()
def adapt_batchnorm(model: nn.Module, images: torch.Tensor, batch_size: int = 64) -> nn.Module:
    """A copy of ``model`` whose encoder's batch-norm statistics are those of ``images``.

    ``images``: ``(N, C, H, W)``, ``uint8`` or float in [0, 1], at the size the model will be
    used at. Each layer's ``running_mean`` / ``running_var`` become the average over all batches
    of ``images`` (not an exponential moving average, so the order of the images does not
    matter). Dropout and everything else stay in eval mode; weights, the head and ``model``
    itself are unchanged. The copy is in eval mode on ``model``'s device. Raises ``ValueError``
    for too few images or a wrong shape, ``TypeError`` for a bare module.
    """
    _batchnorm_layers(model)
    images = torch.as_tensor(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    if len(images) < _MIN_IMAGES:
        raise ValueError(f"adapt_batchnorm needs at least {_MIN_IMAGES} images to estimate a variance, "
                         f"got {len(images)}; pass a few hundred of your own galaxies")
    if batch_size < _MIN_IMAGES:
        raise ValueError(f"batch_size must be at least {_MIN_IMAGES}, got {batch_size}")
    out = copy.deepcopy(model).eval()
    adapted = _batchnorm_layers(out)
    momenta = [m.momentum for m in adapted]
    for layer in adapted:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over the batches seen
        layer.train()
    device = next(out.parameters()).device
    try:
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size]
            if len(batch) < _MIN_IMAGES:  # a last batch of one image has no variance; skip it
                continue
            out.embed(to_float_images(batch.to(device)))
    finally:
        for layer, momentum in zip(adapted, momenta):
            layer.momentum = momentum
            layer.eval()
    return out.eval()
