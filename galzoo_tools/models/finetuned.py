"""A pretrained encoder with a small new head for a new task: the model fine-tuning trains and saves.

:class:`FinetuneModel` is an :class:`EncoderModel` (encoder from any source
:func:`galzoo_tools.models.build_encoder` knows + the input normalisation its weights expect) and
a linear head on scaled features (:func:`scale_features`). It lives here, beside
:class:`~galzoo_tools.models.ZooModel`, so that :func:`galzoo_tools.models.load_model` can rebuild
a fine-tuned folder; how to train it (freezing blocks, layer decay) is in :mod:`galzoo_tools.finetune`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from .encoder_model import EncoderModel
from .sources import FINETUNED_FORMAT

__all__ = ["FEATURE_SCALINGS", "FINETUNED_FORMAT", "FeatureScaling", "FinetuneModel", "Task", "scale_features"]

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


def scale_features(features: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                   scaling: FeatureScaling) -> torch.Tensor:
    """What the head sees: ``features - mean``, for ``cosine`` rescaled to length √F per galaxy
    (so each feature is of order 1, as when standardised), then divided by ``std``."""
    centred = features - mean
    if scaling == "cosine":
        centred = F.normalize(centred, dim=1) * math.sqrt(centred.shape[1])
    return centred / std


class FinetuneModel(EncoderModel):
    """:class:`EncoderModel` + a linear head: images in [0, 1] → logits (classification) or a
    standardised value (regression).

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
        super().__init__(encoder, encoder_info)
        self.freeze_batchnorm = True
        self.task: Task = task
        self.feature_scaling: FeatureScaling = feature_scaling
        self.classes = classes if task != "regression" else None
        n_features = self.num_features
        self.head = nn.Linear(n_features, 1 if task == "regression" else len(classes))
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))

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
        """What a checkpoint needs to rebuild this model (see :func:`galzoo_tools.models.save_model`)."""
        return {
            **super().config(),
            "task": self.task,
            "classes": self.classes,
            "feature_scaling": self.feature_scaling,
        }
