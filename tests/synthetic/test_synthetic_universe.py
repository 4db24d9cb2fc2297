"""write_universe: rendering in several processes writes exactly what one process writes."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galzoo_tools.synthetic import write_universe


def _pixels(folder, catalog: pd.DataFrame) -> np.ndarray:
    return np.stack([np.asarray(Image.open(folder / f)) for f in catalog["file_loc"]])


def test_processes_write_the_same_universe_as_threads(tmp_path):
    # 600 galaxies with batch 64: the process path splits them into two chunks of 512 and 88
    serial = write_universe(tmp_path / "serial", n=600, size=32, seed=3, progress=False)
    parallel = write_universe(tmp_path / "parallel", n=600, size=32, seed=3, progress=False, processes=2)
    a, b = pd.read_parquet(serial), pd.read_parquet(parallel)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(_pixels(serial.parent, a), _pixels(parallel.parent, b))
    assert json.loads((parallel.parent / "metrics.json").read_text())["processes"] == 2


def test_processes_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="processes"):
        write_universe(tmp_path, n=4, size=32, processes=0, progress=False)
