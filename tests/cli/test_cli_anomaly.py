"""``galzoo anomaly`` end to end on saved embeddings and a simulated researcher's column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from galzoo_tools.cli import main
from galzoo_tools.representations import save_embeddings


@pytest.fixture()
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    features = rng.normal(size=(n, 64)).astype(np.float32)
    interest = np.zeros(n)
    wanted = rng.choice(n, 15, replace=False)
    features[wanted, :4] += 4.0
    interest[wanted] = 5
    ids = np.array([f"g{i:04d}" for i in range(n)])
    save_embeddings(tmp_path / "emb", ids, features)
    catalog = pd.DataFrame({"id_str": ids[::-1], "interest": interest[::-1]})  # another order: matched on id_str
    catalog.to_csv(tmp_path / "catalog.csv", index=False)
    return tmp_path, set(ids[wanted])


def test_anomaly_writes_ranking_and_metrics(inputs, capsys) -> None:
    folder, wanted = inputs
    out = folder / "out"
    code = main(["anomaly", "--embeddings", str(folder / "emb"), "--catalog", str(folder / "catalog.csv"),
                 "--interest-col", "interest", "--labels", "40", "--seed", "1", "--out", str(out),
                 "--components", "10", "--methods", "gp,random,isolation_forest"])
    assert code == 0
    captured = capsys.readouterr()
    line = captured.out.strip().splitlines()
    assert len(line) == 1 and line[0].startswith("anomaly: 600 galaxies, 15 interesting")
    assert captured.err.splitlines() == [
        f"anomaly: reading the embeddings {folder / 'emb'} and the catalog {folder / 'catalog.csv'}",
        "anomaly: 600 galaxies, 15 interesting; compressing 64 features to 10 components",
        "anomaly: gp: asking for 40 labels in batches of 10",
        "anomaly: random: asking for 40 labels in batches of 10",
        "anomaly: isolation_forest: ranking by oddity, no labels",
    ]
    ranking = pd.read_csv(out / "ranking.csv")
    assert len(ranking) == 600 and ranking["id_str"].is_unique and ranking["rank"].tolist() == list(range(1, 601))
    assert ranking["labelled"].sum() == 40
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ranking_method"] == "gp" and metrics["n_interesting"] == 15
    assert set(metrics["methods"]) == {"gp", "random", "isolation_forest"}
    gp = metrics["methods"]["gp"]
    assert gp["labels_used"] == 40 and metrics["methods"]["isolation_forest"]["labels_used"] == 0
    assert {"precision_at_50", "precision_at_100", "precision_at_200", "average_precision"} <= set(gp)
    assert gp["average_precision"] > 0.8 > metrics["methods"]["random"]["average_precision"]
    assert len(wanted & set(ranking["id_str"][:15])) >= 12


def test_interesting_at_moves_the_threshold_and_quiet_silences_the_notes(inputs, capsys) -> None:
    folder, _ = inputs
    out = folder / "out3"
    assert main(["anomaly", "--embeddings", str(folder / "emb" / "embeddings.npz"), "--catalog",
                 str(folder / "catalog.csv"), "--interest-col", "interest", "--labels", "10", "--out", str(out),
                 "--methods", "random", "--interesting-at", "0", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert json.loads((out / "metrics.json").read_text())["n_interesting"] == 600


@pytest.mark.parametrize("change, message, code", [
    (["--interest-col", "nope"], "no column", 1),  # the catalog lacks it: a data error
    (["--methods", "magic"], "unknown method", 2),  # not a method at all: a usage error
    (["--methods", "isolation_forest,lof"], "no labelling strategy", 2),  # nothing to rank with
])
def test_bad_arguments_name_the_problem(inputs, capsys, galzoo, change, message, code) -> None:
    folder, _ = inputs
    args = ["anomaly", "--embeddings", str(folder / "emb"), "--catalog", str(folder / "catalog.csv"),
            "--interest-col", "interest", "--labels", "10", "--out", str(folder / "bad")]
    flag, value = change
    args = args[: args.index(flag) + 1] + [value] + args[args.index(flag) + 2:] if flag in args else args + change
    assert galzoo(args) == code and message in capsys.readouterr().err


def _anomaly_args(folder, catalog, embeddings=None):
    return ["anomaly", "--embeddings", str(embeddings or folder / "emb"), "--catalog", str(catalog),
            "--interest-col", "interest", "--labels", "10", "--methods", "random", "--out", str(folder / "dup")]


def test_a_repeated_catalog_id_is_an_error_not_a_shifted_ranking(inputs, capsys) -> None:
    folder, _ = inputs
    catalog = pd.read_csv(folder / "catalog.csv")
    extra = catalog.iloc[[7]].assign(interest=5)  # one extra row repeating an id_str
    pd.concat([catalog.iloc[:20], extra, catalog.iloc[20:]]).to_csv(folder / "repeated.csv", index=False)
    assert main(_anomaly_args(folder, folder / "repeated.csv")) == 1
    message = capsys.readouterr().err
    assert "repeated.csv" in message and "id_str" in message
    assert catalog["id_str"][7] in message and "duplicate" in message
    assert not (folder / "dup" / "ranking.csv").exists()


def test_a_repeated_embedding_id_is_an_error(inputs, capsys) -> None:
    folder, _ = inputs
    ids = np.array(["g0000", "g0001", "g0001", "g0003"])
    save_embeddings(folder / "dup_emb", ids, np.eye(4, dtype=np.float32))
    assert main(_anomaly_args(folder, folder / "catalog.csv", folder / "dup_emb")) == 1
    message = capsys.readouterr().err
    assert "embeddings.npz" in message and "g0001" in message and "duplicate" in message


def test_embedded_galaxies_missing_from_the_catalog_are_a_message(inputs, capsys) -> None:
    folder, _ = inputs
    pd.read_csv(folder / "catalog.csv").iloc[5:].to_csv(folder / "short.csv", index=False)
    assert main(_anomaly_args(folder, folder / "short.csv")) == 1
    message = capsys.readouterr().err
    assert "not in the catalog" in message and "short.csv" in message


def _strict_json(path):
    def refuse(constant):
        raise ValueError(f"{path} holds a bare {constant}: not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_metrics_are_strict_json_when_average_precision_is_undefined(inputs) -> None:
    folder, _ = inputs
    pd.read_csv(folder / "catalog.csv").assign(interest=0).to_csv(folder / "flat.csv", index=False)  # all equal
    out = folder / "flat"
    with pytest.warns(UserWarning, match=r"methods\.gp\.average_precision.*null"):
        code = main(["anomaly", "--embeddings", str(folder / "emb"), "--catalog", str(folder / "flat.csv"),
                     "--interest-col", "interest", "--labels", "20", "--components", "5", "--out", str(out),
                     "--methods", "gp,isolation_forest"])
    assert code == 0
    metrics = _strict_json(out / "metrics.json")
    assert metrics["n_interesting"] == 0 and metrics["methods"]["gp"]["average_precision"] is None
