"""Weight-space interpolation between a model and the weights it was trained from (WiSE-FT).

Fine-tuning moves an encoder away from its starting weights towards whatever the training
images reward. When the images it will meet later differ from the training images (synthetic
galaxies in training, real ones in use), part of that move is over-specialisation. Wortsman et
al. (2022, "Robust fine-tuning of zero-shot models", CVPR) found that simply averaging the
starting and the fine-tuned weights, ``(1 - alpha) * start + alpha * trained``, often keeps most
of what training gained and recovers robustness to the shift. Both models must share one
architecture and, for the average to make sense, the trained one must have started from the
other (here: every galzoo reference stage descends from the ImageNet EfficientNet-Lite0).

Only the encoder is mixed; the head (the Dirichlet head or a fine-tuned one) is the trained
model's, unchanged, since the starting model's head answers another question or none.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import nn

__all__ = ["PARTS", "interpolate_weights"]

Part = Literal["all", "weights", "statistics"]
PARTS: tuple[str, ...] = ("all", "weights", "statistics")
"""What :func:`interpolate_weights` mixes: every float tensor, only the learned parameters, or only
the batch-norm running statistics (the other part stays the trained model's)."""

_STATISTICS = ("running_mean", "running_var")


def _encoder_state(model: nn.Module, name: str) -> dict[str, torch.Tensor]:
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"{name} must be a galzoo model with an .encoder (load_model / build_model), "
                        f"not {type(model).__name__}")
    return encoder.state_dict()


def interpolate_weights(start: nn.Module, trained: nn.Module, alpha: float, part: Part = "all") -> nn.Module:
    """A copy of ``trained`` whose encoder weights are ``(1 - alpha) * start + alpha * trained``.

    ``alpha = 1`` gives ``trained`` back, ``alpha = 0`` its encoder with ``start``'s weights.
    By default every floating-point tensor of the encoder is mixed, batch-norm running statistics
    included; ``part="weights"`` mixes only the learned parameters and ``part="statistics"`` only
    the running statistics, to tell which of the two matters. Integer counters
    (``num_batches_tracked``) and the head are ``trained``'s. The copy has
    ``trained``'s dtype and device and is in eval mode. Raises ``ValueError`` naming the first
    tensor the two encoders do not share.
    """
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 (the start's weights) and 1 (the trained ones), got {alpha}")
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    start_state = _encoder_state(start, "start")
    trained_state = _encoder_state(trained, "trained")
    missing = sorted(set(trained_state) ^ set(start_state))
    if missing:
        raise ValueError(f"the two encoders differ: {missing[0]!r} is in only one of them "
                         f"({len(missing)} tensors differ); interpolate between models with the same backbone")
    mixed: dict[str, torch.Tensor] = {}
    for key, value in trained_state.items():
        other = start_state[key]
        if other.shape != value.shape:
            raise ValueError(f"encoder tensor {key!r} has shape {tuple(other.shape)} in start and "
                             f"{tuple(value.shape)} in trained; interpolate between models with the same backbone")
        statistic = key.endswith(_STATISTICS)
        if value.is_floating_point() and (part == "all" or (part == "statistics") == statistic):
            blend = torch.lerp(other.to(value.device, torch.float32), value.float(), alpha)
            mixed[key] = blend.to(value.dtype)
        else:
            mixed[key] = value.clone()
    out = copy.deepcopy(trained)
    out.encoder.load_state_dict(mixed)
    return out.eval()
