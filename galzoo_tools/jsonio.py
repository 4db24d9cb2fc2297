"""Writing ``metrics.json`` (and other run records) as strict JSON.

Python's ``json`` writes NaN and infinities as bare ``NaN`` / ``Infinity``, which is not JSON:
``jq``, JavaScript and many other readers refuse the whole file. A metric can be undefined
(average precision with no interesting galaxy, ROC AUC with one class in the test set), so
:func:`write_metrics` writes such values as ``null`` and says which key it changed::

    write_metrics(out / "metrics.json", metrics)

NumPy scalars and arrays become plain numbers and lists, paths become strings.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["json_safe", "write_metrics"]


def _convert(value: Any, key: str, changed: list[str]) -> Any:
    if isinstance(value, dict):
        return {str(k): _convert(v, f"{key}.{k}" if key else str(k), changed) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_convert(v, f"{key}[{i}]", changed) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _convert(value.tolist(), key, changed)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        changed.append(f"{key or 'value'!r} ({value})")
        return None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _warn(changed: list[str], where: str) -> None:
    shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
    prefix = f"{where}: " if where else ""
    warnings.warn(f"{prefix}{shown} written as null (JSON has no NaN or infinity)", UserWarning, stacklevel=3)


def json_safe(value: Any, warn: bool = True, where: str = "") -> Any:
    """A copy of ``value`` that ``json.dumps(..., allow_nan=False)`` accepts.

    Dicts (keys made strings), lists and tuples are walked; NumPy scalars and arrays become
    Python numbers and lists; NaN and ±infinity become ``None``, with one warning naming their
    keys (e.g. ``methods.gp.average_precision``) unless ``warn=False``; paths and other objects
    JSON cannot hold become their ``str``. ``where`` (e.g. the file) starts the warning.
    """
    changed: list[str] = []
    out = _convert(value, "", changed)
    if changed and warn:
        _warn(changed, where)
    return out


def write_metrics(path: str | os.PathLike[str], data: Any, indent: int | None = 1, warn: bool = True) -> Path:
    """Write ``data`` to ``path`` as strict JSON (see :func:`json_safe`); returns the path.

    The caller's ``data`` is left as it is. ``warn=False`` turns NaN into ``null`` silently
    (for records where a NaN is expected, such as the training loss before the first epoch).
    """
    path = Path(path)
    changed: list[str] = []
    text = json.dumps(_convert(data, "", changed), indent=indent, allow_nan=False) + "\n"
    if changed and warn:
        _warn(changed, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
