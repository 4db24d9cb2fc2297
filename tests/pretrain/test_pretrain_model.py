"""The model pretraining starts from: which heads are kept, and a fresh head set at the mean answers."""

import numpy as np
import pandas as pd
import torch

from galzoo_tools.losses import expected_fractions
from galzoo_tools.models import build_model
from galzoo_tools.pretrain import head_at_mean_fractions, keeps_head, mean_fraction_baseline
from galzoo_tools.schema import decals_dr5


def _counts(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 30, size=(n, decals_dr5.n_answers))
    return pd.DataFrame(counts, columns=decals_dr5.label_cols)


def test_a_fresh_head_starts_at_the_mean_fractions():
    torch.manual_seed(0)
    model = build_model("scratch", schema=decals_dr5, backbone="efficientnet_lite0").eval()
    catalog = _counts()
    images = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        before = expected_fractions(model(images), decals_dr5).numpy()
    head_at_mean_fractions(model, catalog, weight_scale=0.0)
    with torch.no_grad():
        after = expected_fractions(model(images), decals_dr5).numpy()
    mean = mean_fraction_baseline(catalog, decals_dr5)
    assert np.abs(after - mean).max() < 0.02  # every galaxy gets the baseline's answer
    assert np.abs(before - mean).max() > 0.05  # which a random head does not


def test_only_a_galzoo_model_for_the_same_questions_keeps_its_head():
    assert keeps_head("reference")
    assert not keeps_head("scratch") and not keeps_head("imagenet")
    assert not keeps_head("reference", channels=1)
