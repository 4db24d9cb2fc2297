"""The committed reference model loads and reproduces the validation loss recorded when it was trained.

Its validation galaxies are re-simulated from the recorded seed (the simulator is deterministic
per galaxy), so this also guards the simulator against silent changes.
"""

import json

import numpy as np
import pytest
import torch

from galzoo_tools.config import data_dir
from galzoo_tools.losses import dirichlet_multinomial_loss
from galzoo_tools.models import load_model, read_model_config, resolve_model_source
from galzoo_tools.pretrain import read_split
from galzoo_tools.schema import decals_dr5
from galzoo_tools.synthetic import render, simulate_catalog, trained_universe

REFERENCE = data_dir() / "reference_model"


def test_reference_resolves_and_loads_weights_only():
    folder = resolve_model_source("reference").location
    model = load_model(folder, device="cpu")
    config = read_model_config(folder)
    assert config["backbone"] == "efficientnet_lite0" and config["image_size"] == 128
    images = torch.rand(2, 3, 128, 128)
    fractions = model.predict_fractions(images).mean
    np.testing.assert_allclose(fractions[:, decals_dr5.question("bar-dr5").slice].sum(1).numpy(), 1.0, rtol=1e-5)


def test_reference_reproduces_its_recorded_validation_loss():
    metrics = json.loads((REFERENCE / "metrics.json").read_text())
    config = read_model_config(resolve_model_source("reference").location)
    n_total = metrics["n_train"] + metrics["n_val"] + metrics["n_test"]
    split = read_split(REFERENCE)
    # metrics["val_check"]: the loss of the first validation galaxies, recorded by the training
    # run from the saved model (runs before it recorded only the whole validation set's)
    check = metrics.get("val_check", {"n": metrics["n_val"], "loss": metrics["val_loss"]})
    val_ids = split.loc[split["split"] == "val", "id_str"].iloc[: check["n"]]
    n, size, seed, survey = trained_universe(config)
    assert n == n_total and size == config["image_size"]
    morphology, catalog = simulate_catalog(n, seed=seed, survey=survey)
    rows = np.flatnonzero(catalog["id_str"].isin(set(val_ids)).to_numpy())
    assert len(rows) == check["n"]
    images = render(morphology.take(rows), size=config["image_size"])
    counts = torch.tensor(catalog.iloc[rows][decals_dr5.label_cols].to_numpy(), dtype=torch.float32)
    model = load_model(resolve_model_source("reference").location, device="cpu")
    with torch.no_grad():
        batches = torch.from_numpy(images).permute(0, 3, 1, 2).split(128)
        concentrations = torch.cat([model(b.float() / 255) for b in batches])
    val_loss = float(dirichlet_multinomial_loss(counts, concentrations, decals_dr5).sum(1).mean())
    # the model is stored in float16, so allow a small difference from the float32 run
    assert val_loss == pytest.approx(check["loss"], rel=5e-3)
