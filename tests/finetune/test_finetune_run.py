"""finetune end to end: the config is the single truth, model= names the starting encoder."""

import json

import pytest

import galzoo_tools.finetune.run as run
from galzoo_tools.finetune import FinetuneConfig, finetune
from tests.finetune_data import write_ring_catalog


def test_the_configs_mode_and_seed_are_honoured(tmp_path, monkeypatch):
    """``finetune(cat, "ring", config=FinetuneConfig(mode="partial"))`` trains in partial mode:
    no keyword default may silently replace a field of the config."""
    used = []
    real_fit = run.fit_finetune

    def spy(model, images, y, config, device, progress):
        used.append(config)
        return real_fit(model, images, y, config, device, progress)

    monkeypatch.setattr(run, "fit_finetune", spy)
    catalog_path = write_ring_catalog(tmp_path / "data", n=16)
    config = FinetuneConfig(mode="partial", blocks=1, epochs=1, batch_size=4, views=1, patience=1, seed=3)
    result = finetune(catalog_path, "ring", model="scratch", train_size=8, image_size=32, config=config,
                      out_dir=tmp_path / "run", progress=False, device="cpu")
    assert used[0].mode == "partial" and used[0].seed == 3
    assert result.metrics["mode"] == "partial" and result.metrics["seed"] == 3
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["model"] == "scratch" and written["config"]["mode"] == "partial"
    shortcut = finetune(catalog_path, "ring", model="scratch", train_size=8, image_size=32, config=config,
                        mode="linear", progress=False, device="cpu")
    assert used[1].mode == "linear" and used[1].seed == 3 and shortcut.metrics["mode"] == "linear"


def test_init_is_a_deprecated_name_for_model(tmp_path):
    catalog_path = write_ring_catalog(tmp_path / "data", n=12)
    with pytest.warns(DeprecationWarning, match="model="):
        result = finetune(catalog_path, "ring", init="scratch", train_size=6, image_size=32, progress=False,
                          device="cpu")
    assert result.metrics["model"] == "scratch"
    with pytest.raises(ValueError, match="once"), pytest.warns(DeprecationWarning):
        finetune(catalog_path, "ring", model="scratch", init="imagenet", train_size=6, progress=False)
