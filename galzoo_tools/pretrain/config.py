"""The settings of a pretraining run: :class:`TrainConfig` for the loop, :class:`PretrainConfig`
for everything :func:`galzoo_tools.pretrain.pretrain` does around it.

A config is the single truth: functions take one, and no keyword argument overrides its fields.
Build one from a scale preset with :meth:`PretrainConfig.for_scale`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..config import SCALES, Scale, get_scale

__all__ = ["TrainConfig", "PretrainConfig", "DEVICE_DATA_FRACTION"]

DEVICE_DATA_FRACTION = 0.4
"""The largest share of free GPU memory the decoded images may take in ``data_on_device=None``."""


@dataclass
class TrainConfig:
    """Everything that shapes a training run of :func:`~galzoo_tools.pretrain.fit` (saved inside each checkpoint)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    min_lr_fraction: float = 0.01
    grad_clip: float = 1.0
    patience: int = 5
    seed: int = 42
    amp: bool | None = None
    channels_last: bool | None = None
    """Channels-last memory for the model and batches; ``None``: on CUDA and CPU (faster on both)."""
    num_workers: int | None = None
    """DataLoader worker processes; ``None`` chooses for the device."""
    data_on_device: bool | None = None
    """Keep the decoded training and validation sets on the device as uint8 tensors and gather
    each batch there, with no DataLoader: ``None`` does so on CUDA when they take under
    :data:`DEVICE_DATA_FRACTION` of the free GPU memory; ``True`` always (the CPU too), ``False`` never."""


_SMALL = SCALES["small"]


@dataclass
class PretrainConfig(TrainConfig):
    """A pretraining run: the loop's :class:`TrainConfig` plus the data, model and output settings.

    The defaults are the ``small`` scale's; :meth:`for_scale` takes another scale's.
    """

    epochs: int = _SMALL.epochs
    batch_size: int = _SMALL.batch_size
    seed: int = 0
    """Seeds the split, the simulated universe, the model's initial weights and the batches."""
    image_size: int = _SMALL.image_size
    n_galaxies: int = _SMALL.n_galaxies
    """Galaxies to simulate when :func:`~galzoo_tools.pretrain.pretrain` is given no catalog."""
    survey: str = "decals"
    """How simulated galaxies look: ``decals``, ``sdss`` or ``mixed`` (no catalog given)."""
    backbone: str = "efficientnet_lite0"
    """Any timm model name."""
    init: str = "scratch"
    """The starting weights: any model source (``scratch``, ``imagenet``, ``reference``,
    ``hf_hub:...``, a galzoo model folder); a galzoo model for the same questions, backbone and
    channels keeps its head, so training continues from it (:func:`~galzoo_tools.pretrain.starting_model`)."""
    channels: int = 3
    """3 for colour, 1 for greyscale."""
    head_at_mean: bool = True
    """A fresh head starts at the training set's mean vote fractions (the baseline's answer), not at
    random answers (:func:`~galzoo_tools.pretrain.head_at_mean_fractions`); a head ``init`` keeps is left alone."""
    half: bool = False
    """Store the best model in float16 (half the file size)."""
    frozen_blocks: int = 0
    """0 trains the whole network on images turned by any angle. ``N > 0`` freezes the stem and the
    first ``N`` blocks, runs them once per galaxy for the eight exact symmetries and trains the rest
    on those stored outputs (:mod:`~galzoo_tools.pretrain.frozen`): several times faster where
    compute is short (a CPU), with quarter turns and flips as the only augmentation."""
    survey_jitter: bool = False
    """Also give every training image its own colour balance, stretch, blur and noise
    (:class:`~galzoo_tools.augment.SurveyJitter`), so the model learns less of how one simulated
    survey renders; whole-network training only (``frozen_blocks`` 0)."""

    @classmethod
    def for_scale(cls, scale: str | Scale | None = None, **overrides: object) -> "PretrainConfig":
        """The config of ``scale`` (a name, a :class:`~galzoo_tools.config.Scale`, or ``None`` for
        ``$GALZOO_SCALE``, else ``small``): its galaxies, image size, epochs and batch size, then ``overrides``."""
        preset = get_scale(scale)
        from_scale = {"n_galaxies": preset.n_galaxies, "image_size": preset.image_size, "epochs": preset.epochs,
                      "batch_size": preset.batch_size}
        return cls(**{**from_scale, **overrides})  # type: ignore[arg-type]

    def train_config(self) -> TrainConfig:
        """The loop's share of this config."""
        return TrainConfig(**{f.name: getattr(self, f.name) for f in fields(TrainConfig)})
