"""galzoo pretrain / predict end to end on a handful of simulated galaxies."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from galzoo_tools.cli import main
from galzoo_tools.models import load_model
from galzoo_tools.pretrain import PretrainConfig, pretrain, read_split, remeasure_run, split_catalog, starting_model
from galzoo_tools.schema import decals_dr5

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for its shared data helpers
from conftest_data import make_catalog_folder  # noqa: E402

METRIC_KEYS = {"val_loss", "vote_mae", "baseline_vote_mae", "oracle_vote_mae", "images_per_second", "backbone",
               "image_size", "batch_size", "channels", "epochs"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("pretrain")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALZOO_CACHE", str(cache))
        mp.setenv("GALZOO_OFFLINE", "1")
        code = main(["pretrain", "--simulate", "80", "--image-size", "32", "--epochs", "2", "--batch-size", "16",
                     "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_pretrain_writes_the_contracted_artefacts(trained, capsys):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert METRIC_KEYS <= set(metrics)
    assert metrics["image_size"] == 32 and metrics["epochs"] == 2 and metrics["channels"] == 3
    assert 0 < metrics["oracle_vote_mae"] < metrics["baseline_vote_mae"]
    assert metrics["images_per_second"] > 0
    state = torch.load(trained / "last_checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1
    config = json.loads((trained / "model" / "config.json").read_text())
    assert config["image_size"] == 32 and config["backbone"] == "efficientnet_lite0"
    split = pd.read_csv(trained / "split.csv")
    assert set(split["split"]) == {"train", "val", "test"} and split["id_str"].is_unique


TRAINED_ARGS = ["pretrain", "--simulate", "80", "--image-size", "32", "--epochs", "2", "--batch-size", "16", "--quiet"]


def _written(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_the_checkpoint_records_the_settings_a_resume_must_share(trained):
    settings = torch.load(trained / "last_checkpoint.pt", weights_only=True)["settings"]
    assert {"catalog", "seed", "split", "lr", "epochs", "backbone", "image_size"} <= set(settings)
    assert settings["lr"] == 1e-3 and settings["epochs"] == 2 and settings["image_size"] == 32
    assert settings["catalog"].startswith("synthetic universe: galzoo simulate --n 80 --size 32")


def test_pretrain_refuses_an_out_holding_a_finished_run(trained, capsys):
    before = _written(trained)
    assert main([*TRAINED_ARGS, "--out", str(trained)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"galzoo pretrain: error: --out {trained} already holds another run")
    assert "--overwrite" in err and "--resume" in err and "Traceback" not in err
    assert _written(trained) == before


def test_resume_with_other_settings_is_refused_naming_them(trained, cache, capsys, monkeypatch):
    monkeypatch.setenv("GALZOO_CACHE", str(cache))  # the same universe: only lr and epochs differ
    monkeypatch.setenv("GALZOO_OFFLINE", "1")
    before = _written(trained)
    args = [*TRAINED_ARGS, "--lr", "0.01", "--epochs", "3", "--resume", "--out", str(trained)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "cannot resume" in err and "last_checkpoint.pt" in err
    assert "lr: 0.001 then, 0.01 now" in err and "epochs: 2 then, 3 now" in err
    assert "seed" not in err.split("settings (")[1].split(")")[0]  # only the keys that differ
    assert _written(trained) == before  # refused before anything was written: split.csv too


def test_pretrain_with_fewer_galaxies_than_a_batch_trains_every_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("GALZOO_OFFLINE", "1")
    make_catalog_folder(tmp_path, n=12).to_csv(tmp_path / "catalog.csv", index=False)  # 10 train, 1 val, 1 test
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match=r"10 training galaxies.*batch size 16"):
        code = main(["pretrain", "--catalog", str(tmp_path / "catalog.csv"), "--image-size", "32", "--epochs", "2",
                     "--batch-size", "16", "--workers", "0", "--out", str(out), "--quiet"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 10 and metrics["batch_size"] == 10 and metrics["epochs_run"] == 2
    history = json.loads((out / "history.json").read_text())
    assert [epoch["steps"] for epoch in history] == [1, 1]


def test_the_validation_check_repeats_the_best_epochs_loss(trained):
    # fewer than VAL_CHECK_SIZE validation galaxies, so the check covers all of them and must
    # give the best epoch's validation loss again, from the saved (float32) model
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["val_check"]["n"] == metrics["n_val"] == 8
    assert metrics["val_check"]["loss"] == pytest.approx(metrics["val_loss"], rel=1e-4)


def test_predict_resizes_any_image_and_writes_fractions(trained, tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i, (size, mode) in enumerate([((50, 70), "RGB"), ((90, 90), "L"), ((33, 33), "RGB")]):
        path = tmp_path / f"g{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (*size, 3) if mode == "RGB" else size, dtype=np.uint8)).save(path)
        rows.append({"id_str": f"g{i}", "file_loc": path.name})
    pd.DataFrame(rows).to_csv(tmp_path / "mine.csv", index=False)
    out = tmp_path / "pred"
    assert main(["predict", "--catalog", str(tmp_path / "mine.csv"), "--model", str(trained / "model"),
                 "--out", str(out), "--mc-samples", "3", "--quiet"]) == 0
    predictions = pd.read_parquet(out / "predictions.parquet")
    assert predictions["id_str"].tolist() == ["g0", "g1", "g2"]
    fractions = predictions[[c + "_fraction" for c in decals_dr5.label_cols]].to_numpy()
    for q in decals_dr5.questions:
        np.testing.assert_allclose(fractions[:, q.slice].sum(axis=1), 1.0, rtol=1e-5)
    assert (predictions[[c + "_fraction_std" for c in decals_dr5.label_cols]].to_numpy() >= 0).all()


def test_split_is_disjoint_and_seeded():
    df = pd.DataFrame({"id_str": [f"g{i}" for i in range(100)]})
    train, val, test = split_catalog(df, seed=1)
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    assert set(train.id_str).isdisjoint(val.id_str) and set(val.id_str).isdisjoint(test.id_str)
    assert split_catalog(df, seed=1)[1].id_str.tolist() == val.id_str.tolist()
    with pytest.raises(ValueError):
        split_catalog(df, val_fraction=0.6, test_fraction=0.5)


def test_a_galzoo_model_for_the_same_questions_keeps_its_head(trained):
    saved = load_model(trained / "model", device="cpu").state_dict()
    start = starting_model(str(trained / "model"), "efficientnet_lite0", 3)
    assert start.training
    for name, tensor in start.state_dict().items():
        assert torch.equal(tensor, saved[name]), name


def test_a_model_for_other_questions_gives_only_its_encoder(trained, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(trained / "model", other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "schema": "another_survey"}))
    saved = load_model(trained / "model", device="cpu").state_dict()
    start = starting_model(str(other), "efficientnet_lite0", 3).state_dict()
    assert torch.equal(start["encoder.conv_stem.weight"], saved["encoder.conv_stem.weight"])
    assert not torch.equal(start["head.linear.weight"], saved["head.linear.weight"])


def test_read_split_takes_plain_or_gzipped_csv_and_names_a_folder_without_one(trained, tmp_path):
    plain = read_split(trained)
    read_split(trained).to_csv(tmp_path / "split.csv.gz", index=False)
    pd.testing.assert_frame_equal(read_split(tmp_path), plain)
    with pytest.raises(FileNotFoundError, match="empty"):
        read_split(tmp_path / "empty")


def test_remeasuring_a_run_repeats_its_own_figures(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    again = remeasure_run(trained)
    assert again["val_check"]["n"] == metrics["val_check"]["n"]
    assert again["val_check"]["loss"] == pytest.approx(metrics["val_check"]["loss"], rel=1e-4)
    assert again["val_loss_float32"] == pytest.approx(metrics["val_loss"], rel=1e-4)
    for key in ("vote_mae", "baseline_vote_mae", "oracle_vote_mae"):
        assert again[key] == pytest.approx(metrics[key], rel=1e-4)


def test_remeasuring_needs_a_simulated_run(trained, tmp_path):
    shutil.copytree(trained / "model", tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    config["trained_on"] = "my_catalog.parquet"
    (tmp_path / "model" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="names no simulated universe"):
        remeasure_run(tmp_path)


def test_a_config_for_a_scale_takes_its_sizes_and_the_overrides():
    tiny = PretrainConfig.for_scale("tiny", epochs=3, lr=5e-4, num_workers=0)
    assert (tiny.n_galaxies, tiny.image_size, tiny.batch_size) == (256, 64, 32)
    assert tiny.epochs == 3 and tiny.lr == 5e-4
    loop = tiny.train_config()
    assert type(loop).__name__ == "TrainConfig" and (loop.epochs, loop.lr, loop.seed, loop.num_workers) == (3, 5e-4, 0, 0)
    assert PretrainConfig() == PretrainConfig.for_scale("small")
    with pytest.raises(TypeError):
        PretrainConfig.for_scale("tiny", source="imagenet")  # the starting weights are `init`


def test_pretrain_takes_its_settings_only_from_a_config(tmp_path):
    with pytest.raises(TypeError, match="PretrainConfig"):
        pretrain(tmp_path / "run", tmp_path / "catalog.csv")  # type: ignore[arg-type]  # the old order
    with pytest.raises(TypeError):
        pretrain(PretrainConfig(), tmp_path / "run", epochs=3)  # type: ignore[call-arg]


def test_the_metrics_record_the_starting_weights(trained):
    assert json.loads((trained / "metrics.json").read_text())["init"] == "scratch"


def test_frozen_blocks_train_only_the_top_and_save_the_whole_model(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("GALZOO_CACHE", str(cache))  # the same universe as `trained`
    monkeypatch.setenv("GALZOO_OFFLINE", "1")
    out = tmp_path / "frozen"
    assert main([*TRAINED_ARGS, "--frozen-blocks", "5", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["frozen_blocks"] == 5 and metrics["frozen_cache_seconds"] > 0 and metrics["epochs_run"] == 2
    # the saved whole model, on images, repeats the best validation loss the top scored on stored
    # (bfloat16) outputs of the frozen blocks
    assert metrics["val_check"]["n"] == metrics["n_val"] == 8
    assert metrics["val_check"]["loss"] == pytest.approx(metrics["val_loss"], rel=2e-2)
    settings = torch.load(out / "last_checkpoint.pt", weights_only=True)["settings"]
    assert settings["frozen_blocks"] == 5
    torch.manual_seed(0)  # --seed 0: the starting weights of the run
    start, trained_model = starting_model("scratch", "efficientnet_lite0", 3), load_model(out / "model", device="cpu")
    before, after = start.encoder, trained_model.encoder
    assert torch.equal(before.conv_stem.weight, after.conv_stem.weight)
    for k in range(5):
        for p, q in zip(before.blocks[k].parameters(), after.blocks[k].parameters()):
            assert torch.equal(p, q)
    assert not torch.equal(before.blocks[6][0].conv_pw.weight, after.blocks[6][0].conv_pw.weight)
    assert not torch.equal(before.conv_head.weight, after.conv_head.weight)


def test_frozen_blocks_must_leave_a_block_to_train(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GALZOO_OFFLINE", "1")
    render_cache = tmp_path / "render_cache"
    monkeypatch.setenv("GALZOO_CACHE", str(render_cache))  # an empty cache: nothing may be rendered into it
    assert main([*TRAINED_ARGS, "--frozen-blocks", "7", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "frozen_blocks must be between 0 and 6" in err and "Traceback" not in err
    run = tmp_path / "run"
    assert not run.exists() or not any(run.iterdir())  # refused before the split (or anything else) was written
    assert not render_cache.exists() or not any(render_cache.rglob("catalog.parquet"))


def test_survey_jitter_is_recorded_and_refused_with_frozen_blocks(cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GALZOO_CACHE", str(cache))  # the same universe as `trained`
    monkeypatch.setenv("GALZOO_OFFLINE", "1")
    assert main([*TRAINED_ARGS, "--frozen-blocks", "5", "--survey-jitter", "--out", str(tmp_path / "both")]) == 1
    assert "frozen_blocks" in capsys.readouterr().err
    out = tmp_path / "jitter"
    assert main([*TRAINED_ARGS, "--epochs", "1", "--survey-jitter", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["survey_jitter"] is True
    assert torch.load(out / "last_checkpoint.pt", weights_only=True)["settings"]["survey_jitter"] is True
