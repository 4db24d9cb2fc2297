"""Where an encoder comes from: one function turns a user's ``source`` string into a location.

Every loader in :mod:`galzoo_tools.models` calls :func:`resolve_model_source`, so the same
names mean the same thing in notebooks, the CLI and tests:

============================  ==========================================================
``"scratch"``                 random initialisation
``"imagenet"``                ImageNet weights (see :mod:`.encoders` for the offline rule)
``"imagenet-timm"``           timm's own ImageNet download, always (online)
``"hf_hub:owner/name"``       a timm model on the Hugging Face hub, e.g. zoobot's
                              ``hf_hub:mwalmsley/zoobot-encoder-convnext_nano`` (online)
``"local-dir:/path"``         a timm model folder (``config.json`` + ``model.safetensors``)
``"reference"``               the committed reference model, ``data_dir()/reference_model``
                              (or its ``model/`` subfolder, as ``galzoo pretrain --out`` writes)
a folder path                 a galzoo model folder written by :func:`save_model`: a pretrained
                              model (kind ``checkpoint``) or a fine-tuned one (kind ``finetuned``),
                              or a ``galzoo pretrain``/``galzoo finetune --out`` folder (its ``model/``);
                              a timm folder given as a plain path also works
============================  ==========================================================

A galzoo model folder is one format: ``config.json`` + ``model.safetensors``, with a ``format``
field in ``config.json`` naming its kind (:data:`CHECKPOINT_FORMAT` or :data:`FINETUNED_FORMAT`).

``GALZOO_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``) promises that nothing touches the network:
online-only sources then fail at once with an explanation instead of hanging on a download.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config import data_dir

__all__ = [
    "CHECKPOINT_FORMAT",
    "FINETUNED_FORMAT",
    "MODEL_FORMATS",
    "REFERENCE_MODEL",
    "ModelSource",
    "SourceKind",
    "is_offline",
    "reference_model_dir",
    "resolve_model_source",
]

SourceKind = Literal["scratch", "imagenet", "imagenet-timm", "hf-hub", "local-dir", "checkpoint", "finetuned"]

REFERENCE_MODEL = "reference_model"
"""Folder name of the committed reference model inside :func:`galzoo_tools.config.data_dir`."""

CHECKPOINT_FORMAT = "galzoo-zoomodel"
"""The ``format`` field of a pretrained model (encoder + Dirichlet head for the vote questions)."""

FINETUNED_FORMAT = "galzoo-finetuned"
"""The ``format`` field of a fine-tuned model (encoder + a small head for a new task)."""

MODEL_FORMATS = {CHECKPOINT_FORMAT: "checkpoint", FINETUNED_FORMAT: "finetuned"}
"""Each kind of the galzoo model-folder format, by its ``format`` field, and its :class:`ModelSource` kind."""

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ModelSource:
    """A resolved source: its ``kind``, and ``location`` (hub id or folder) where it has one."""

    kind: SourceKind
    location: str | None = None
    name: str = ""

    def __str__(self) -> str:
        return self.name or (f"{self.kind}:{self.location}" if self.location else self.kind)


def is_offline(offline: bool | None = None) -> bool:
    """True when network access is forbidden: ``offline`` if given, else ``$GALZOO_OFFLINE`` / ``$HF_HUB_OFFLINE``."""
    if offline is not None:
        return offline
    return any(os.environ.get(var, "").strip().lower() in _TRUE for var in ("GALZOO_OFFLINE", "HF_HUB_OFFLINE"))


def reference_model_dir() -> Path:
    """Where the reference model lives: ``data_dir()/reference_model`` (``$GALZOO_DATA`` moves it)."""
    return data_dir() / REFERENCE_MODEL


def _folder_kind(path: Path, name: str) -> ModelSource:
    if path.is_file() and not (path.parent / "config.json").is_file():
        raise FileNotFoundError(
            f"{path} is a file, not a model folder; give the folder that holds config.json and "
            "model.safetensors, e.g. DIR/model for a `galzoo pretrain --out DIR` run"
        )
    folder = path.parent if path.is_file() else path
    config = folder / "config.json"
    if not config.is_file():
        if (folder / "model" / "config.json").is_file():  # a `galzoo pretrain/finetune --out` folder: its model/
            return _folder_kind(folder / "model", name)
        what = "is empty" if folder.is_dir() and not any(folder.iterdir()) else "holds no model"
        raise FileNotFoundError(
            f"{config} not found: {folder} {what}, and a model folder needs config.json next to its weights. "
            "A galzoo checkpoint is written by `galzoo pretrain --out DIR` (into DIR/model) or "
            "galzoo_tools.models.save_model(model, folder, config); a timm "
            "folder by timm.models.save_for_hf(model, folder, safe_serialization=True)."
        )
    try:
        fields = json.loads(config.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{config} is not valid JSON ({err}); re-save the model with save_model") from None
    if isinstance(fields, dict) and fields.get("format") in MODEL_FORMATS:
        return ModelSource(MODEL_FORMATS[fields["format"]], str(path), name)  # type: ignore[arg-type]
    if isinstance(fields, dict) and "architecture" in fields:
        return ModelSource("local-dir", str(folder), name)
    raise ValueError(
        f"{config} is neither a galzoo model (format {' or '.join(map(repr, MODEL_FORMATS))}) nor a timm model "
        "config (with 'architecture'); re-save the model with galzoo_tools.models.save_model"
    )


def resolve_model_source(name: str | os.PathLike[str]) -> ModelSource:
    """Turn a source name or folder path into a :class:`ModelSource` (see the module docstring).

    Raises ``FileNotFoundError`` for a missing folder (and for ``"reference"`` before the
    reference model exists) and ``ValueError`` for a name that is none of the known sources.
    """
    if isinstance(name, os.PathLike):
        path = Path(name)
    else:
        text = str(name).strip()
        lowered = text.lower()
        if lowered in ("scratch", "imagenet", "imagenet-timm"):
            return ModelSource(lowered, None, text)  # type: ignore[arg-type]
        for prefix in ("hf_hub:", "hf-hub:"):
            if lowered.startswith(prefix):
                hub_id = text[len(prefix):].strip()
                if not hub_id:
                    raise ValueError(
                        f"{text!r} has no repository after {prefix!r}, "
                        "e.g. 'hf_hub:mwalmsley/zoobot-encoder-convnext_nano'"
                    )
                return ModelSource("hf-hub", hub_id, text)
        if lowered.startswith("local-dir:"):
            folder = Path(text[len("local-dir:"):]).expanduser()
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"{folder} is not a folder (from source {text!r}); "
                    "give the folder holding config.json and model.safetensors"
                )
            return ModelSource("local-dir", str(folder), text)
        if lowered == "reference":
            folder = reference_model_dir()
            for candidate in (folder, folder / "model"):
                if (candidate / "config.json").is_file():
                    return _folder_kind(candidate, text)
            raise FileNotFoundError(
                f"The reference model is not there yet: neither {folder / 'config.json'} nor "
                f"{folder / 'model' / 'config.json'} exists. Create it by pretraining, e.g. "
                f"`galzoo pretrain --out {folder}` (which writes model/ inside it), or point "
                "$GALZOO_DATA at a data folder that holds reference_model/."
            )
        path = Path(text).expanduser()
        if not path.exists() and os.sep not in text and "/" not in text:
            raise ValueError(
                f"unknown model source {text!r}: use 'scratch', 'imagenet', 'imagenet-timm', "
                "'hf_hub:owner/name', 'local-dir:/path', 'reference' or a checkpoint folder"
            )
    if not path.exists():
        raise FileNotFoundError(
            f"model folder {path} does not exist; give 'reference' or a folder written by "
            "`galzoo pretrain --out DIR` (DIR/model) or save_model"
        )
    return _folder_kind(path, str(name))
