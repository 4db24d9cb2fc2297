"""Fine-tuning's model: a pretrained encoder with a small new head, and how to train its parts.

:class:`FinetuneModel` (``encoder`` + the input normalisation its weights expect + a linear head
on scaled features, :func:`scale_features`) is defined in :mod:`galzoo_tools.models.finetuned`, so
:func:`galzoo_tools.models.load_model` reads fine-tuned folders, and re-exported here.
:func:`build_finetune_model` starts one from any source. Encoder *blocks* (stem, each stage, the
final conv) can be frozen from the input side; frozen blocks stay in eval mode while training, so
their BatchNorm statistics stay the pretrained ones and a handful of labelled galaxies cannot
shift them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models.checkpoints import save_model
from ..models.encoders import encoder_in_chans
from ..models.finetuned import FEATURE_SCALINGS, FINETUNED_FORMAT, FeatureScaling, FinetuneModel, Task, scale_features
from ..models.loader import build_encoder, load_model
from ..models.sources import resolve_model_source

__all__ = [
    "Task",
    "FeatureScaling",
    "FEATURE_SCALINGS",
    "FINETUNED_FORMAT",
    "scale_features",
    "FinetuneModel",
    "build_finetune_model",
    "encoder_blocks",
    "set_trainable_blocks",
    "layer_decay_param_groups",
    "feature_chain",
    "save_finetuned",
    "load_finetuned",
]

_HEAD_NAMES = ("global_pool", "head", "head_drop", "fc", "classifier")


def build_finetune_model(
    model: str | os.PathLike[str] = "reference",
    task: Task = "binary",
    classes: list | None = None,
    backbone: str | None = None,
    in_chans: int | None = None,
    feature_scaling: FeatureScaling | None = None,
    **timm_kwargs: Any,
) -> FinetuneModel:
    """A new :class:`FinetuneModel`: the encoder of ``model`` (``reference``, ``imagenet``, ``scratch``,
    ``hf_hub:…``, a pretrained or fine-tuned folder) with a fresh head for ``task``; see
    :func:`galzoo_tools.models.build_encoder`. To get a saved one back, use :func:`galzoo_tools.models.load_model`."""
    encoder, info = build_encoder(model, backbone, in_chans, **timm_kwargs)
    return FinetuneModel(encoder, info, task, classes, feature_scaling)


def encoder_blocks(encoder: nn.Module) -> list[list[str]]:
    """Parameter names of the encoder's blocks, from the input side to the output side.

    timm models describe their blocks (``group_matcher(coarse=True)``): for EfficientNet the
    stem, each of the 7 stages and the final 1×1 conv. Other encoders: one block per top-level
    child, with ``nn.Sequential`` children split into their items.
    """
    matcher = getattr(encoder, "group_matcher", None)
    if callable(matcher):
        from timm.models import group_parameters

        groups = group_parameters(encoder, matcher(coarse=True))
        return [list(names) for _, names in sorted(groups.items())]
    blocks: list[list[str]] = []
    for name, child in encoder.named_children():
        parts = list(child.named_children()) if isinstance(child, nn.Sequential) else [("", child)]
        for sub, module in parts:
            prefix = f"{name}.{sub}." if sub else f"{name}."
            names = [prefix + p for p, _ in module.named_parameters()]
            if names:
                blocks.append(names)
    return blocks


def set_trainable_blocks(model: FinetuneModel, n_blocks: int | None) -> int:
    """Train the head and the last ``n_blocks`` encoder blocks (``None``: all); returns the number
    of trainable encoder blocks. ``0`` freezes the whole encoder (a linear probe)."""
    blocks = encoder_blocks(model.encoder)
    n = len(blocks) if n_blocks is None else max(0, min(int(n_blocks), len(blocks)))
    trainable = {name for block in blocks[len(blocks) - n:] for name in block}
    for name, param in model.encoder.named_parameters():
        param.requires_grad_(name in trainable)
    for param in model.head.parameters():
        param.requires_grad_(True)
    return n


def layer_decay_param_groups(
    model: FinetuneModel, lr: float, layer_decay: float = 0.75, weight_decay: float = 0.05
) -> list[dict[str, Any]]:
    """AdamW parameter groups with layer-wise learning-rate decay.

    The head trains at ``lr``, the last encoder block at ``lr * layer_decay``, the one before
    at ``lr * layer_decay**2``, …: blocks near the input hold generic features (edges, blobs)
    that should move least. Biases and norm weights get no weight decay. Frozen parameters
    are left out.
    """
    blocks = encoder_blocks(model.encoder)
    depth = {name: len(blocks) - i for i, block in enumerate(blocks) for name in block}
    groups: dict[tuple[int, bool], list[nn.Parameter]] = {}
    named = [("encoder." + n, p, depth.get(n, 1)) for n, p in model.encoder.named_parameters()]
    named += [("head." + n, p, 0) for n, p in model.head.named_parameters()]
    for _, param, d in named:
        if param.requires_grad:
            groups.setdefault((d, param.ndim > 1), []).append(param)
    return [
        {"params": params, "lr": lr * layer_decay**d, "weight_decay": weight_decay if decayed else 0.0}
        for (d, decayed), params in sorted(groups.items())
    ]


def feature_chain(encoder: nn.Module, image_size: int = 32) -> list[nn.Module] | None:
    """The encoder's ``forward_features`` as a list of modules applied one after another, or None.

    True for EfficientNet, ConvNeXt, ResNet, MobileNet…: then the frozen front of the network
    can be run once and cached. Checked numerically on a small random input, so an encoder
    whose forward is not such a chain (e.g. a ViT) returns None instead of wrong features.
    """
    if not callable(getattr(encoder, "forward_head", None)):
        return None
    chain: list[nn.Module] = []
    for name, child in encoder.named_children():
        if name in _HEAD_NAMES:
            continue
        chain.extend(child.children() if isinstance(child, nn.Sequential) else [child])
    was_training = encoder.training
    encoder.eval()
    try:
        x = torch.rand(2, _in_chans(encoder), image_size, image_size, device=_device(encoder))
        with torch.no_grad():
            h = x
            for module in chain:
                h = module(h)
            same = torch.allclose(encoder.forward_head(h), encoder(x), atol=1e-4, rtol=1e-4)
    except Exception:  # any shape or call mismatch means "not a chain"
        same = False
    finally:
        encoder.train(was_training)
    return chain if same else None


def _in_chans(encoder: nn.Module) -> int:
    return encoder_in_chans(encoder)


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def save_finetuned(model: FinetuneModel, folder: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> Path:
    """Deprecated: use :func:`galzoo_tools.models.save_model` (the one atomic save for every galzoo model)."""
    warnings.warn("galzoo_tools.finetune.save_finetuned is deprecated; use galzoo_tools.models.save_model",
                  DeprecationWarning, stacklevel=2)
    return save_model(model, folder, extra)


def load_finetuned(folder: str | os.PathLike[str], device: str | torch.device | None = None) -> FinetuneModel:
    """Deprecated: use :func:`galzoo_tools.models.load_model` (the one loader; a fine-tuned folder gives a FinetuneModel)."""
    warnings.warn("galzoo_tools.finetune.load_finetuned is deprecated; use galzoo_tools.models.load_model",
                  DeprecationWarning, stacklevel=2)
    kind = resolve_model_source(Path(folder)).kind
    if kind != "finetuned":
        raise ValueError(f"{folder} is not a fine-tuned galzoo model (a {kind} source); "
                         "load it with galzoo_tools.models.load_model")
    return load_model(Path(folder), device=device)  # type: ignore[return-value]
