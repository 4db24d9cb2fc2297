"""Models: encoders from several sources, the Dirichlet head, fine-tuned heads, and one folder format.

>>> from galzoo_tools.models import load_model, build_model, save_model, interpolate_weights, adapt_batchnorm
>>> model = load_model("reference")                             # trained ZooModel, eval mode
>>> prediction = model.predict_fractions(images, mc_samples=5)  # mean vote fractions and spread
>>> fresh = build_model("imagenet", schema="decals_dr5")        # EfficientNet-Lite0 + a new Dirichlet head
>>> save_model(fresh, "runs/mine/model", {"image_size": 128})
>>> robust = interpolate_weights(fresh, model, alpha=0.8)       # WiSE-FT: 0.2 ImageNet + 0.8 trained encoder
>>> mine = adapt_batchnorm(model, my_unlabelled_images)        # AdaBN: batch-norm statistics of your own galaxies

:func:`load_model` is the one loader: ``model=`` is ``"reference"``, ``"imagenet"``,
``"imagenet-timm"``, ``"scratch"``, ``"hf_hub:mwalmsley/zoobot-encoder-…"``, ``"local-dir:/path"``, a
pretrained, fine-tuned or run folder, or a module (see :mod:`.loader` for what each returns and
:mod:`.sources` for how names resolve). :mod:`.checkpoints` is the folder format.

Module layers, bottom up (no cycles): ``sources``, ``normalise``, ``heads``, ``imagenet_lite0``, ``interpolate``,
``batchnorm_adapt`` → ``encoders`` (timm encoders) → ``encoder_model`` → ``zoo_model``, ``finetuned`` → ``checkpoints`` → ``loader``.
"""

from .batchnorm_adapt import adapt_batchnorm
from .checkpoints import WEIGHT_FILES, read_model_config, save_model, trained_image_size
from .encoder_model import EncoderModel
from .encoders import DEFAULT_BACKBONE, encoder_in_chans
from .finetuned import FEATURE_SCALINGS, FinetuneModel, scale_features
from .heads import DirichletHead
from .imagenet_lite0 import LITE0_MEAN, LITE0_STD, create_lite0_imagenet, lite0_imagenet_state_dict
from .interpolate import interpolate_weights
from .loader import build_encoder, build_model, load_encoder, load_model
from .normalise import InputNormaliser
from .sources import (
    CHECKPOINT_FORMAT, FINETUNED_FORMAT, ModelSource, is_offline, reference_model_dir, resolve_model_source,
)
from .zoo_model import FractionPrediction, ZooModel

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_BACKBONE",
    "FEATURE_SCALINGS",
    "FINETUNED_FORMAT",
    "InputNormaliser",
    "LITE0_MEAN",
    "LITE0_STD",
    "WEIGHT_FILES",
    "DirichletHead",
    "EncoderModel",
    "FinetuneModel",
    "FractionPrediction",
    "ModelSource",
    "ZooModel",
    "adapt_batchnorm",
    "build_encoder",
    "build_model",
    "create_lite0_imagenet",
    "encoder_in_chans",
    "interpolate_weights",
    "is_offline",
    "lite0_imagenet_state_dict",
    "load_encoder",
    "load_model",
    "read_model_config",
    "reference_model_dir",
    "resolve_model_source",
    "save_model",
    "scale_features",
    "trained_image_size",
]
