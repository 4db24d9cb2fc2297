"""``galzoo finetune`` on a user's catalog of JPEG/PNG galaxies of odd sizes, run in-process."""

import json

import pandas as pd
import pytest
import torch
from finetune_data import write_ring_catalog

from galzoo_tools.cli import main
from galzoo_tools.models import build_model, load_model, save_model

pytestmark = pytest.mark.usefixtures("no_network", "one_thread")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return write_ring_catalog(tmp_path_factory.mktemp("user_rings"), n=24)


def test_finetune_writes_model_metrics_and_split(catalog, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["finetune", "--catalog", str(catalog), "--label-col", "ring", "--model", "scratch", "--train-size", "10",
            "--seed", "1", "--image-size", "32", "--out", str(out), "--quiet"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress bars, no notes
    summary = captured.out.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("finetune: scratch (linear) on 10 labels of 'ring' at 32px")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 10 and metrics["n_test"] == 14
    assert metrics["mode"] == "linear" and metrics["model"] == "scratch" and metrics["seconds"] > 0
    assert metrics["feature_scaling"] == "cosine"
    assert 0 <= metrics["test_accuracy"] <= 1 and 0 <= metrics["test_roc_auc"] <= 1
    split = pd.read_csv(out / "split.csv")
    assert split["split"].value_counts().to_dict() == {"test": 14, "train": 10}
    labelled = split.merge(pd.read_csv(catalog), on="id_str").query("split == 'train'")
    assert labelled["ring"].sum() == 5  # stratified: half rings, as in the catalog
    predictions = pd.read_parquet(out / "predictions.parquet")
    assert len(predictions) == 14 and set(predictions["id_str"]) == set(split.query("split == 'test'")["id_str"])
    assert predictions[["p_0", "p_1"]].sum(axis=1).round(5).eq(1).all()
    model = load_model(out / "model", device="cpu")
    assert model.classes == [0, 1]


def test_partial_mode_from_a_galzoo_checkpoint(catalog, tmp_path):
    torch.manual_seed(0)
    checkpoint = save_model(build_model("scratch"), tmp_path / "pretrained", {"image_size": 40})
    out = tmp_path / "run"
    args = ["finetune", "--catalog", str(catalog), "--label-col", "ring", "--model", str(checkpoint),
            "--train-size", "12", "--mode", "partial", "--epochs", "2", "--batch-size", "8", "--out", str(out), "--quiet"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["image_size"] == 40  # the size the checkpoint was pretrained at
    assert metrics["mode"] == "partial" and metrics["n_val"] >= 2 and metrics["n_fit"] + metrics["n_val"] == 12
    assert metrics["epochs_run"] <= 2 and len(json.loads((out / "history.json").read_text())) == metrics["epochs_run"] + 1
    assert set(pd.read_csv(out / "split.csv")["split"]) == {"train", "val", "test"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--label-col", "bar"], "no column 'bar'"), (["--label-col", "ring", "--train-size", "24"], "leaves no test")],
)
def test_bad_arguments_are_explained(catalog, tmp_path, capsys, extra, message):
    args = ["finetune", "--catalog", str(catalog), "--model", "scratch", "--out", str(tmp_path), "--quiet"]
    if "--train-size" not in extra:
        args += ["--train-size", "8"]
    assert main(args + extra) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "message"), [
    (["--train-size", "1"], "linear fine-tuning needs at least 1 label per class"),
    (["--train-size", "3", "--mode", "partial"], "partial fine-tuning needs at least 2 labels per class"),
])
def test_a_draw_with_one_class_is_refused_with_what_it_needs(catalog, tmp_path, capsys, extra, message):
    args = ["finetune", "--catalog", str(catalog), "--label-col", "ring", "--model", "scratch", "--image-size", "32",
            "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet", *extra]
    assert main(args) == 1
    printed = capsys.readouterr().err
    assert message in printed and "--train-size" in printed
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_metrics_are_strict_json_when_roc_auc_is_undefined(tmp_path):
    folder = tmp_path / "one_ring"
    path = write_ring_catalog(folder, n=12)
    table = pd.read_csv(path)
    table["ring"] = (table["id_str"] == "gal001").astype(int)  # one positive: it must go to training
    table.to_csv(path, index=False)
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match=r"test_roc_auc.*null"):
        assert main(["finetune", "--catalog", str(path), "--label-col", "ring", "--model", "scratch", "--train-size",
                     "4", "--image-size", "32", "--out", str(out), "--quiet"]) == 0

    def refuse(constant):
        raise ValueError(f"bare {constant} in metrics.json")

    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=refuse)
    assert metrics["test_roc_auc"] is None and metrics["n_test"] == 8


def test_the_old_init_flag_still_works_and_says_it_is_deprecated(catalog, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["finetune", "--catalog", str(catalog), "--label-col", "ring", "--init", "scratch", "--train-size", "6",
            "--image-size", "32", "--out", str(out), "--quiet"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err == "galzoo finetune: --init is deprecated and will be removed in the next release; use --model\n"
    assert captured.out.startswith("finetune: scratch (linear) on 6 labels")
    assert json.loads((out / "metrics.json").read_text())["n_train"] == 6
