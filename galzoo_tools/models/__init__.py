"""Models: timm encoders from several sources, the Dirichlet head, and checkpoints.

>>> from galzoo_tools.models import build_model, save_model, load_model
>>> model = build_model("imagenet", schema="decals_dr5")      # EfficientNet-Lite0 + Dirichlet head
>>> prediction = model.predict_fractions(images, mc_samples=5)  # mean vote fractions and spread

Sources (see :mod:`.sources`): ``"scratch"``, ``"imagenet"``, ``"imagenet-timm"``,
``"hf_hub:mwalmsley/zoobot-encoder-…"``, ``"local-dir:/path"``, ``"reference"``, or a checkpoint folder.
"""

from .checkpoints import WEIGHT_FILES, load_model, read_model_config, save_model
from .encoders import DEFAULT_BACKBONE, build_encoder, encoder_in_chans, load_encoder
from .heads import DirichletHead
from .normalise import InputNormaliser
from .imagenet_lite0 import LITE0_MEAN, LITE0_STD, create_lite0_imagenet, lite0_imagenet_state_dict
from .sources import ModelSource, is_offline, reference_model_dir, resolve_model_source
from .zoo_model import FractionPrediction, ZooModel, build_model

__all__ = [
    "InputNormaliser",
    "DEFAULT_BACKBONE",
    "LITE0_MEAN",
    "LITE0_STD",
    "WEIGHT_FILES",
    "DirichletHead",
    "FractionPrediction",
    "ModelSource",
    "ZooModel",
    "build_encoder",
    "build_model",
    "create_lite0_imagenet",
    "encoder_in_chans",
    "is_offline",
    "lite0_imagenet_state_dict",
    "load_encoder",
    "load_model",
    "read_model_config",
    "reference_model_dir",
    "resolve_model_source",
    "save_model",
]
