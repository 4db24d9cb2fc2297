"""A pretrained encoder with a small new head: the model that fine-tuning trains.

:class:`FinetuneModel` is ``encoder`` (from any source :func:`galzoo_tools.models.build_encoder`
knows) + the input normalisation those weights expect (as :meth:`ZooModel.prepare`) + a linear
head on scaled features (:func:`scale_features`). Encoder *blocks* (stem, each stage, the final
conv) can be frozen from the input side; frozen blocks stay in eval mode while training, so
their BatchNorm statistics stay the pretrained ones and a handful of labelled galaxies cannot
shift them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Literal

import safetensors.torch
import timm
import torch
import torch.nn.functional as F
from torch import nn

from .. import __version__
from ..config import default_file_mode
from ..models.normalise import InputNormaliser

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

Task = Literal["binary", "multiclass", "regression"]
FeatureScaling = Literal["cosine", "standardise"]
FEATURE_SCALINGS: tuple[str, ...] = ("cosine", "standardise")
"""How the head sees the pooled features: ``cosine`` centres them and gives every galaxy's
feature vector the same length (the geometry of similarity search: only directions count, and
the encoder's strong features stay strong); ``standardise`` scales every feature to unit
variance (each of the ~1,000 features counts equally, noisy ones too). With a few labels,
``cosine`` is much better for an encoder pretrained on galaxies (notebook 06). The default
(``None``) is ``cosine`` for classification and ``standardise`` for regression, whose target is
a linear function of the features (a length normalisation would bend it)."""
FINETUNED_FORMAT = "galzoo-finetuned"
"""The ``format`` field of a fine-tuned model's ``config.json``."""
_HEAD_NAMES = ("global_pool", "head", "head_drop", "fc", "classifier")


def scale_features(features: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                   scaling: FeatureScaling) -> torch.Tensor:
    """What the head sees: ``features - mean``, for ``cosine`` rescaled to length √F per galaxy
    (so each feature is of order 1, as when standardised), then divided by ``std``."""
    centred = features - mean
    if scaling == "cosine":
        centred = F.normalize(centred, dim=1) * math.sqrt(centred.shape[1])
    return centred / std


class FinetuneModel(nn.Module):
    """Images in [0, 1] → logits (classification) or a standardised value (regression).

    ``classes`` are the label values in logit order (binary: ``[negative, positive]``).
    The head sees ``scale_features(features, feature_mean, feature_std, feature_scaling)``;
    the two buffers are set by the linear probe and saved with the weights, as are
    ``target_mean``/``target_std`` for regression.
    """

    def __init__(
        self,
        encoder: nn.Module,
        encoder_info: dict[str, Any],
        task: Task = "binary",
        classes: list | None = None,
        feature_scaling: FeatureScaling | None = None,
    ) -> None:
        super().__init__()
        feature_scaling = feature_scaling or ("standardise" if task == "regression" else "cosine")
        if feature_scaling not in FEATURE_SCALINGS:
            raise ValueError(f"feature_scaling must be one of {FEATURE_SCALINGS}, not {feature_scaling!r}")
        if task not in ("binary", "multiclass", "regression"):
            raise ValueError(f"task must be 'binary', 'multiclass' or 'regression', not {task!r}")
        classes = list(classes) if classes is not None else ([0, 1] if task == "binary" else None)
        if task == "binary" and len(classes) != 2:
            raise ValueError(f"a binary task needs exactly 2 classes, got {classes}")
        if task == "multiclass" and (classes is None or len(classes) < 2):
            raise ValueError("a multiclass task needs classes=[...] with at least 2 values")
        self.encoder = encoder
        self.freeze_batchnorm = True
        self.encoder_info = dict(encoder_info)
        self.task: Task = task
        self.feature_scaling: FeatureScaling = feature_scaling
        self.classes = classes if task != "regression" else None
        n_features = int(getattr(encoder, "num_features", 0) or self.encoder_info["num_features"])
        self.head = nn.Linear(n_features, 1 if task == "regression" else len(classes))
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))
        self.normaliser = InputNormaliser(self.encoder_info.get("mean"), self.encoder_info.get("std"))

    @property
    def num_features(self) -> int:
        return self.head.in_features

    @property
    def normalise(self) -> bool:
        """Whether inputs are normalised (the encoder's weights came with a mean and std)."""
        return self.normaliser.enabled

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] → the normalisation the encoder's weights expect."""
        return self.normaliser(images)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled encoder features ``(batch, num_features)`` of images in [0, 1]."""
        return self.encoder(self.prepare(images))

    def head_forward(self, features: torch.Tensor) -> torch.Tensor:
        """Head output for pooled features (float32 even under autocast)."""
        return self.head(scale_features(features.float(), self.feature_mean, self.feature_std, self.feature_scaling))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head_forward(self.embed(images))

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Head outputs → class probabilities ``(batch, n_classes)`` or values ``(batch,)``."""
        if self.task == "regression":
            return outputs[:, 0] * self.target_std + self.target_mean
        return outputs.softmax(dim=1)

    def train(self, mode: bool = True) -> "FinetuneModel":
        """Like ``nn.Module.train``, but every fully frozen part of the encoder stays in eval mode,
        and so does every BatchNorm while ``freeze_batchnorm`` is set (their scale and shift still
        learn): statistics of batches of a few galaxies are too noisy to replace pretrained ones."""
        super().train(mode)
        if mode:
            for module in self.encoder.modules():
                params = list(module.parameters())
                frozen = params and not any(p.requires_grad for p in params)
                if frozen or (self.freeze_batchnorm and isinstance(module, nn.modules.batchnorm._BatchNorm)):
                    module.eval()
        return self

    def config(self) -> dict[str, Any]:
        """What :func:`load_finetuned` needs to rebuild this model."""
        info = self.encoder_info
        return {
            "format": FINETUNED_FORMAT,
            "backbone": info.get("backbone"),
            "in_chans": info.get("in_chans"),
            "num_features": self.num_features,
            "timm_kwargs": info.get("timm_kwargs", {}),
            "mean": info.get("mean"),
            "std": info.get("std"),
            "encoder_init": info.get("source"),
            "task": self.task,
            "classes": self.classes,
            "feature_scaling": self.feature_scaling,
        }


def build_finetune_model(
    source: str | os.PathLike[str] = "reference",
    task: Task = "binary",
    classes: list | None = None,
    backbone: str | None = None,
    in_chans: int | None = None,
    feature_scaling: FeatureScaling | None = None,
    **timm_kwargs: Any,
) -> FinetuneModel:
    """An encoder from ``source`` (``reference``, ``imagenet``, ``scratch``, ``hf_hub:…``, a folder)
    with a fresh head for ``task``; see :func:`galzoo_tools.models.build_encoder`."""
    from ..models import build_encoder

    encoder, info = build_encoder(source, backbone, in_chans, **timm_kwargs)
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
    from ..models import encoder_in_chans

    return encoder_in_chans(encoder)


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def save_finetuned(model: FinetuneModel, folder: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> Path:
    """Write ``folder/model.safetensors`` and ``folder/config.json`` (the model's config + ``extra``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    safetensors.torch.save_file(state, str(folder / "model.safetensors"), metadata={"format": FINETUNED_FORMAT})
    os.chmod(folder / "model.safetensors", default_file_mode())  # safetensors writes it private (0600)
    versions = {"galzoo_tools": __version__, "torch": torch.__version__, "timm": timm.__version__}
    config = {**json.loads(json.dumps(extra or {})), **model.config(), "versions": versions}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return folder


def load_finetuned(folder: str | os.PathLike[str], device: str | torch.device | None = None) -> FinetuneModel:
    """Rebuild a :class:`FinetuneModel` saved by :func:`save_finetuned` (no network), in eval mode."""
    from ..config import get_device

    folder = Path(folder)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file} not found; give a folder written by save_finetuned (galzoo finetune --out)")
    config = json.loads(config_file.read_text())
    if config.get("format") != FINETUNED_FORMAT:
        raise ValueError(f"{config_file} is not a fine-tuned galzoo model (format {config.get('format')!r}); "
                         "for a pretrained model use galzoo_tools.models.load_model")
    encoder = timm.create_model(config["backbone"], pretrained=False, num_classes=0,
                                in_chans=int(config["in_chans"]), **config.get("timm_kwargs", {}))
    info = {key: config.get(key) for key in ("backbone", "in_chans", "num_features", "mean", "std", "timm_kwargs")}
    info["source"] = config.get("encoder_init")
    # models saved before feature_scaling existed standardised their features
    model = FinetuneModel(encoder, info, config["task"], config.get("classes"),
                          config.get("feature_scaling", "standardise"))
    model.load_state_dict(safetensors.torch.load_file(str(folder / "model.safetensors"), device="cpu"))
    return model.to(get_device(str(device)) if device is not None else get_device()).eval()
