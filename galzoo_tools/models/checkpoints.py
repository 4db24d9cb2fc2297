"""Save and load a :class:`ZooModel` as a folder: ``model.safetensors`` + ``config.json``.

The weights are a plain ``state_dict`` (safetensors, or a ``torch.save`` ``.pt`` file of tensors
only, read with ``weights_only=True``), so loading never runs pickled code. ``config.json``
holds everything needed to rebuild the network without any download: backbone, channels,
timm options, the schema (name and full tree), head settings, the input normalisation and
whatever the caller adds (image size, scale, training settings, metrics).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import safetensors.torch
import timm
import torch

from .. import __version__
from ..config import default_file_mode, get_device
from ..schema import Schema, get_schema
from .sources import CHECKPOINT_FORMAT
from .zoo_model import ZooModel

__all__ = ["WEIGHT_FILES", "load_model", "read_model_config", "save_model"]

WEIGHT_FILES = ("model.safetensors", "model.pt")
"""Weight file names a checkpoint folder may hold, in the order they are looked for."""

_BOOKKEEPING = {"weights_file", "weights_dtype", "versions", "format_version", "encoder_init"}


def save_model(
    model: ZooModel,
    folder: str | os.PathLike[str],
    config: dict[str, Any] | None = None,
    *,
    half: bool = False,
    file_format: Literal["safetensors", "pt"] = "safetensors",
) -> Path:
    """Write ``folder/model.safetensors`` (or ``model.pt``) and ``folder/config.json``; returns ``folder``.

    ``config`` adds the caller's fields (e.g. ``image_size``) to the model's own description.
    ``half=True`` stores floating-point tensors as float16, halving the file; :func:`load_model`
    turns them back into float32.
    """
    if not isinstance(model, ZooModel):
        raise TypeError(f"save_model needs a ZooModel, got {type(model).__name__}")
    if file_format not in ("safetensors", "pt"):
        raise ValueError(f"file_format must be 'safetensors' or 'pt', not {file_format!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights_name = "model.safetensors" if file_format == "safetensors" else "model.pt"
    fields = {
        "format": CHECKPOINT_FORMAT,
        "format_version": 1,
        **model.config(),
        "weights_file": weights_name,
        "weights_dtype": "float16" if half else "float32",
        "versions": {"galzoo_tools": __version__, "torch": torch.__version__, "timm": timm.__version__},
    }
    if not fields.get("backbone"):
        raise ValueError(
            "the model's encoder_info has no 'backbone'; build it with build_model/build_encoder or set encoder_info"
        )
    described = json.loads(json.dumps(fields))
    extra = {k: v for k, v in json.loads(json.dumps(config or {})).items() if k not in _BOOKKEEPING}
    for key, value in extra.items():
        if key in described and described[key] != value:
            raise ValueError(f"config[{key!r}]={value!r} contradicts the model's own {key}={described[key]!r}; drop it")
    state = {}
    for key, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu()
        if half and tensor.is_floating_point():
            tensor = tensor.half()
        state[key] = tensor.contiguous().clone()
    if file_format == "safetensors":
        safetensors.torch.save_file(state, str(folder / weights_name), metadata={"format": CHECKPOINT_FORMAT})
        os.chmod(folder / weights_name, default_file_mode())  # safetensors writes it private (0600)
    else:
        torch.save(state, folder / weights_name)
    for other in WEIGHT_FILES:
        if other != weights_name and (folder / other).exists():
            (folder / other).unlink()
    (folder / "config.json").write_text(json.dumps({**described, **extra}, indent=2) + "\n")
    return folder


def read_model_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of a checkpoint folder (or of the folder holding a weights file)."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(
            f"{config_file} not found: a galzoo checkpoint folder holds config.json and model.safetensors, "
            "written by galzoo_tools.models.save_model(model, folder, config)"
        )
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{config_file} is not valid JSON ({err}); re-save the model with save_model") from None
    if not isinstance(config, dict) or config.get("format") != CHECKPOINT_FORMAT:
        is_timm = isinstance(config, dict) and "architecture" in config
        hint = f" It looks like a timm model folder: use load_encoder('local-dir:{folder}')." if is_timm else ""
        raise ValueError(f"{config_file} is not a galzoo checkpoint (no \"format\": \"{CHECKPOINT_FORMAT}\").{hint}")
    for key in ("backbone", "in_chans", "schema", "head"):
        if key not in config:
            raise ValueError(f"{config_file} lacks {key!r}; re-save the model with galzoo_tools.models.save_model")
    return config


def _weights_file(path: Path, config: dict[str, Any]) -> Path:
    if path.is_file():
        return path
    names = [config["weights_file"]] if config.get("weights_file") else []
    for name in [*names, *WEIGHT_FILES]:
        if (path / name).is_file():
            return path / name
    raise FileNotFoundError(
        f"{path} has config.json but no weights ({' or '.join(WEIGHT_FILES)}); re-save the model with save_model"
    )


def _read_weights(file: Path) -> dict[str, torch.Tensor]:
    if file.suffix == ".safetensors":
        try:
            return safetensors.torch.load_file(str(file), device="cpu")
        except (safetensors.SafetensorError, OSError) as err:
            size = file.stat().st_size if file.exists() else 0
            raise ValueError(
                f"cannot read the weights {file} ({size} bytes): {err}; the file is damaged or truncated "
                "(an interrupted copy, download or save): copy or save the model again"
            ) from err
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, ... for bad files
        raise ValueError(
            f"{file} is not a tensors-only torch.save file ({err}); save a state_dict, not a whole model"
        ) from err
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{file} does not hold a state_dict (a dict of tensors)")
    return state


def _schema(config: dict[str, Any]) -> Schema:
    name, tree = config["schema"], config.get("schema_tree")
    try:
        known = get_schema(name)
    except KeyError:
        known = None
    if known is not None and (tree is None or known.to_dict() == tree):
        return known
    if tree is None:
        raise ValueError(f"checkpoint schema {name!r} is not built in and config.json has no schema_tree")
    return Schema.from_dict(tree, name=name)


def load_model(path: str | os.PathLike[str], device: str | torch.device | None = None) -> ZooModel:
    """Rebuild a :class:`ZooModel` from a checkpoint folder (or its weights file), in eval mode.

    ``device`` defaults to :func:`galzoo_tools.config.get_device` (CUDA, else MPS, else CPU).

    No network access: the architecture comes from ``config.json`` and the weights from the
    folder. float16 weights are converted to the model's float32.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist; give a folder written by save_model")
    config = read_model_config(path)
    folder = path.parent if path.is_file() else path
    backbone = config["backbone"]
    if not timm.is_model(backbone):
        raise ValueError(
            f"{folder / 'config.json'} names backbone {backbone!r}, which timm {timm.__version__} does not know; "
            "upgrade timm (pip install -U timm) or fix the backbone name"
        )
    encoder = timm.create_model(backbone, pretrained=False, num_classes=0, in_chans=int(config["in_chans"]),
                                **config.get("timm_kwargs", {}))
    init = config.get("encoder_init")
    info = {
        "source": str(path),
        "kind": "checkpoint",
        "backbone": backbone,
        "in_chans": int(config["in_chans"]),
        "num_features": int(encoder.num_features),
        "weights": f"galzoo checkpoint {path}" + (f" (initialised from {init})" if init else ""),
        "mean": tuple(config["mean"]) if config.get("mean") else None,
        "std": tuple(config["std"]) if config.get("std") else None,
        "timm_kwargs": dict(config.get("timm_kwargs", {})),
    }
    model = ZooModel(encoder, _schema(config), **config["head"], encoder_info=info)
    file = _weights_file(path, config)
    state = _read_weights(file)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{file} does not match {folder / 'config.json'} ({backbone}, schema {config['schema']!r}): "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
            f"{'...' if len(unexpected) > 5 else ''}; the weights and config.json come from different models"
        )
    for key in expected:
        tensor = state[key]
        if tensor.shape != expected[key].shape:
            raise ValueError(
                f"{file}: tensor {key!r} has shape {tuple(tensor.shape)} but the {backbone} described by "
                f"{folder / 'config.json'} needs {tuple(expected[key].shape)}; the weights and config.json "
                "come from different models"
            )
        if tensor.is_floating_point():
            state[key] = tensor.to(expected[key].dtype)
    model.load_state_dict(state)
    return model.to(get_device(str(device)) if device is not None else get_device()).eval()
