"""The galzoo model-folder format: ``config.json`` + ``model.safetensors``, one atomic save, one load.

One format, two kinds, told apart by the ``format`` field of ``config.json``:
``"galzoo-zoomodel"`` (a :class:`ZooModel`: encoder + Dirichlet head for the vote questions) and
``"galzoo-finetuned"`` (a :class:`FinetuneModel`: encoder + a head for a new task). Both hold
``format_version``, the encoder's description (backbone, channels, timm options, input
normalisation), the kind's own fields (schema and head; task, classes and feature scaling),
``weights_file``, ``weights_dtype``, library ``versions`` and whatever the caller adds (image
size, training settings, metrics). Folders written before ``format_version``/``weights_file``
existed (the committed reference model, older fine-tuned runs) load as before.

The weights are a plain ``state_dict`` (safetensors, or a ``torch.save`` ``.pt`` file of tensors
only, read with ``weights_only=True``), so loading never runs pickled code. Saving writes each
file to a temporary name in the same folder, fsyncs it and renames it into place, and removes
the old ``config.json`` first: a folder either holds a complete model or no ``config.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Literal

import safetensors.torch
import timm
import torch

from .. import __version__
from ..config import default_file_mode, get_device
from ..schema import Schema, get_schema
from .finetuned import FinetuneModel
from .sources import CHECKPOINT_FORMAT, FINETUNED_FORMAT, MODEL_FORMATS, resolve_model_source
from .zoo_model import ZooModel

__all__ = [
    "FORMAT_VERSION", "WEIGHT_FILES", "load_checkpoint", "read_model_config", "save_model", "trained_image_size",
    "write_atomically",
]

WEIGHT_FILES = ("model.safetensors", "model.pt")
"""Weight file names a model folder may hold, in the order they are looked for."""

FORMAT_VERSION = 1
"""Version of the folder layout, written as ``format_version`` (absent in the oldest fine-tuned folders)."""

_BOOKKEEPING = {"format", "weights_file", "weights_dtype", "versions", "format_version", "encoder_init"}
_REQUIRED = {CHECKPOINT_FORMAT: ("backbone", "in_chans", "schema", "head"),
             FINETUNED_FORMAT: ("backbone", "in_chans", "task")}
SavedModel = ZooModel | FinetuneModel


def _format_of(model: Any) -> str:
    if isinstance(model, ZooModel):
        return CHECKPOINT_FORMAT
    if isinstance(model, FinetuneModel):
        return FINETUNED_FORMAT
    raise TypeError(f"save_model needs a ZooModel or a FinetuneModel, got {type(model).__name__}")


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary_path)``, fsync the file and rename it to ``path``; returns ``path``.

    The temporary file sits in the same folder (so the rename is atomic) and is removed if
    ``write`` fails: ``path`` then still holds its old content, or does not exist, and never a
    partial file. The file gets the usual permissions (:func:`~galzoo_tools.config.default_file_mode`).
    """
    path = Path(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())
        os.chmod(temporary, default_file_mode())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # folders cannot be opened on some systems (Windows); the rename is still atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def save_model(
    model: SavedModel,
    folder: str | os.PathLike[str],
    config: dict[str, Any] | None = None,
    *,
    half: bool = False,
    file_format: Literal["safetensors", "pt"] = "safetensors",
) -> Path:
    """Write a :class:`ZooModel` or :class:`FinetuneModel` to ``folder`` (``model.safetensors`` + ``config.json``).

    ``config`` adds the caller's fields (e.g. ``image_size``) to the model's own description; a
    field that contradicts the model's is an error. ``half=True`` stores floating-point tensors as
    float16, halving the file; loading turns them back into float32. Returns ``folder``.
    """
    kind = _format_of(model)
    if file_format not in ("safetensors", "pt"):
        raise ValueError(f"file_format must be 'safetensors' or 'pt', not {file_format!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights_name = "model.safetensors" if file_format == "safetensors" else "model.pt"
    fields = {
        "format": kind,
        "format_version": FORMAT_VERSION,
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
    (folder / "config.json").unlink(missing_ok=True)  # until the new one is in place the folder is incomplete
    if file_format == "safetensors":
        write_atomically(folder / weights_name,
                         lambda path: safetensors.torch.save_file(state, str(path), metadata={"format": kind}))
    else:
        write_atomically(folder / weights_name, lambda path: torch.save(state, path))
    for other in WEIGHT_FILES:
        if other != weights_name:
            (folder / other).unlink(missing_ok=True)
    text = json.dumps({**described, **extra}, indent=2) + "\n"
    write_atomically(folder / "config.json", lambda path: path.write_text(text))
    return folder


def _model_folder(model: str | os.PathLike[str]) -> Path:
    """The folder (or weights file) of a galzoo model: ``reference``, a model, run or fine-tuned folder, a weights file."""
    path = Path(model).expanduser()
    if path.exists() and not (path.is_dir() and (path / "model" / "config.json").is_file()):
        return path  # read_model_config explains what is wrong with it, if anything
    resolved = resolve_model_source(model)
    if resolved.kind not in MODEL_FORMATS.values():
        raise ValueError(f"{model!r} is a {resolved.kind} source, not a galzoo model folder with a config.json")
    return Path(resolved.location)  # type: ignore[arg-type]


def read_model_config(model: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of a galzoo model: ``"reference"``, a model or run folder, or a weights file.

    Either kind of the format; its ``format`` field says which.
    """
    path = _model_folder(model)
    folder = path.parent if path.is_file() else path
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(
            f"{config_file} not found: a galzoo model folder holds config.json and model.safetensors, "
            "written by galzoo_tools.models.save_model(model, folder, config)"
        )
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{config_file} is not valid JSON ({err}); re-save the model with save_model") from None
    if not isinstance(config, dict) or config.get("format") not in MODEL_FORMATS:
        is_timm = isinstance(config, dict) and "architecture" in config
        hint = f" It looks like a timm model folder: use load_model('local-dir:{folder}')." if is_timm else ""
        kinds = " or ".join(repr(k) for k in MODEL_FORMATS)
        raise ValueError(f"{config_file} is not a galzoo model (no \"format\": {kinds}).{hint}")
    for key in _REQUIRED[config["format"]]:
        if key not in config:
            raise ValueError(f"{config_file} lacks {key!r}; re-save the model with galzoo_tools.models.save_model")
    return config


def trained_image_size(model: str | os.PathLike[str]) -> int | None:
    """The image size a galzoo model (``reference``, a pretrained, fine-tuned or run folder) was trained at.

    None for sources that are not galzoo models (``imagenet``, ``hf_hub:...``) and for folders
    whose ``config.json`` does not say.
    """
    if resolve_model_source(model).kind not in MODEL_FORMATS.values():
        return None
    size = read_model_config(_model_folder(model)).get("image_size")
    return int(size) if size else None


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


def _encoder_info(config: dict[str, Any], path: Path, num_features: int) -> dict[str, Any]:
    init = config.get("encoder_init")
    return {
        "source": str(path),
        "kind": MODEL_FORMATS[config["format"]],
        "backbone": config["backbone"],
        "in_chans": int(config["in_chans"]),
        "num_features": num_features,
        "weights": f"galzoo model {path}" + (f" (initialised from {init})" if init else ""),
        "mean": tuple(config["mean"]) if config.get("mean") else None,
        "std": tuple(config["std"]) if config.get("std") else None,
        "timm_kwargs": dict(config.get("timm_kwargs", {})),
    }


def _empty_model(config: dict[str, Any], path: Path) -> SavedModel:
    """The network ``config.json`` describes, with untrained weights (no download)."""
    backbone = config["backbone"]
    folder = path.parent if path.is_file() else path
    if not timm.is_model(backbone):
        raise ValueError(
            f"{folder / 'config.json'} names backbone {backbone!r}, which timm {timm.__version__} does not know; "
            "upgrade timm (pip install -U timm) or fix the backbone name"
        )
    encoder = timm.create_model(backbone, pretrained=False, num_classes=0, in_chans=int(config["in_chans"]),
                                **config.get("timm_kwargs", {}))
    info = _encoder_info(config, path, int(encoder.num_features))
    if config["format"] == CHECKPOINT_FORMAT:
        return ZooModel(encoder, _schema(config), **config["head"], encoder_info=info)
    # fine-tuned models saved before feature_scaling existed standardised their features
    return FinetuneModel(encoder, info, config["task"], config.get("classes"),
                         config.get("feature_scaling", "standardise"))


def load_checkpoint(path: str | os.PathLike[str], device: str | torch.device | None = None) -> SavedModel:
    """Rebuild the model a galzoo folder (or its weights file) holds, in eval mode on ``device``.

    A ``galzoo-zoomodel`` folder gives a :class:`ZooModel`, a ``galzoo-finetuned`` one a
    :class:`FinetuneModel`. No network access: the architecture comes from ``config.json`` and
    the weights from the folder; float16 weights are converted to float32. ``device`` defaults
    to :func:`galzoo_tools.config.get_device`. Most callers want :func:`galzoo_tools.models.load_model`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model folder {path} does not exist; give a folder written by save_model")
    config = read_model_config(path)
    folder = path.parent if path.is_file() else path
    model = _empty_model(config, path)
    file = _weights_file(path, config)
    state = _read_weights(file)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{file} does not match {folder / 'config.json'} ({config['backbone']}, "
            f"{_what(config)}): missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected "
            f"{unexpected[:5]}{'...' if len(unexpected) > 5 else ''}; the weights and config.json come from "
            "different models"
        )
    for key in expected:
        tensor = state[key]
        if tensor.shape != expected[key].shape:
            raise ValueError(
                f"{file}: tensor {key!r} has shape {tuple(tensor.shape)} but the {config['backbone']} described by "
                f"{folder / 'config.json'} needs {tuple(expected[key].shape)}; the weights and config.json "
                "come from different models"
            )
        if tensor.is_floating_point():
            state[key] = tensor.to(expected[key].dtype)
    model.load_state_dict(state)
    return model.to(get_device(str(device)) if device is not None else get_device()).eval()


def _what(config: dict[str, Any]) -> str:
    if config["format"] == CHECKPOINT_FORMAT:
        return f"schema {config['schema']!r}"
    return f"{config['task']} task"
