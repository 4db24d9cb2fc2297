"""metrics.json is strict JSON: numpy values become plain ones, NaN and infinities become null."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from galzoo_tools.jsonio import json_safe, write_metrics


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"bare {constant}")

    return json.loads(text, parse_constant=refuse)


def test_numpy_values_and_non_finite_floats_are_written_as_json(tmp_path):
    data = {"ap": float("nan"), "nested": {"auc": np.float32("nan"), "top": [1.0, np.inf, -math.inf]},
            "n": np.int64(3), "ok": np.bool_(True), "mean": np.float64(0.25), "array": np.array([[1, 2], [3, 4]]),
            "where": Path("runs/x"), "tuple": (1, 2)}
    with pytest.warns(UserWarning) as record:
        path = write_metrics(tmp_path / "out" / "metrics.json", data)
    assert path == tmp_path / "out" / "metrics.json"
    written = _strict(path.read_text())
    assert written == {"ap": None, "nested": {"auc": None, "top": [1.0, None, None]}, "n": 3, "ok": True,
                       "mean": 0.25, "array": [[1, 2], [3, 4]], "where": "runs/x", "tuple": [1, 2]}
    messages = " ".join(str(w.message) for w in record)
    for key in ("'ap'", "'nested.auc'", "'nested.top[1]'", "'nested.top[2]'"):
        assert key in messages
    assert "metrics.json" in messages
    assert math.isnan(data["ap"])  # the caller's dictionary is left alone


def test_finite_values_pass_without_warning(tmp_path, recwarn):
    write_metrics(tmp_path / "metrics.json", {"a": 1.5, "b": [np.float32(2.0)]})
    assert _strict((tmp_path / "metrics.json").read_text()) == {"a": 1.5, "b": [2.0]} and not recwarn.list
    assert json_safe({"x": float("nan")}, warn=False) == {"x": None} and not recwarn.list
