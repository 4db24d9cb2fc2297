"""``galzoo search`` over what ``galzoo embed`` wrote, run in-process on a tiny checkpoint and odd-sized images."""

import json

import numpy as np
import pytest
import torch
from conftest_data import make_catalog_folder

from galzoo_tools.cli import main
from galzoo_tools.models import build_model, save_model
from galzoo_tools.representations import load_embeddings


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("model")
    save_model(build_model("scratch", backbone="efficientnet_lite0"), folder, {"image_size": 32})
    return folder


@pytest.fixture()
def catalog(tmp_path):
    table = make_catalog_folder(tmp_path, n=12)
    table["tags"] = ["ring;bar" if i % 2 else "smooth" for i in range(12)]
    path = tmp_path / "catalog.parquet"
    table.to_parquet(path)
    return path


def test_embed_then_search_and_evaluate(tmp_path, catalog, checkpoint, capsys):
    out = tmp_path / "embed"
    assert main(["embed", "--catalog", str(catalog), "--model", str(checkpoint), "--out", str(out), "--quiet"]) == 0
    summary = capsys.readouterr().out.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("embed: 12 galaxies x 1280 features") and "32px" in summary[0]
    emb = load_embeddings(out)
    assert emb.features.shape == (12, 1280) and emb.id_str[0] == "gal000"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 12 and metrics["dims"] == 1280 and metrics["images_per_second"] > 0

    assert main(["search", "--embeddings", str(out), "--query", "gal003", "--k", "4", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith("search: 4 nearest of gal003") and "only" not in lines[0] and len(lines) == 6
    assert lines[1].split()[:3] == ["rank", "id_str", "cosine"] and "1 - cosine similarity" in lines[1]
    found = [line.split()[1] for line in lines[2:]]
    assert "gal003" not in found and len(set(found)) == 4
    distances = [float(line.split()[2]) for line in lines[2:]]
    assert distances == sorted(distances)

    result = tmp_path / "search"
    assert main(["search", "--embeddings", str(out / "embeddings.npz"), "--catalog", str(catalog), "--evaluate",
                 "--min-galaxies", "3", "--k", "5", "--out", str(result)]) == 0
    printed = capsys.readouterr().out
    assert "ring" in printed and "mean precision@5 over 3 tags" in printed and "asks for more" not in printed
    assert main(["search", "--embeddings", str(out), "--catalog", str(catalog), "--evaluate", "--min-galaxies", "3",
                 "--k", "40"]) == 0
    assert "--k 40 asks for more neighbours than the 11 other galaxies" in capsys.readouterr().out
    written = json.loads((result / "metrics.json").read_text())
    assert set(written["tags"]) == {"ring", "bar", "smooth"} and 0 <= written["mean_precision@5"] <= 1


def test_search_errors_exit_with_a_message(tmp_path, capsys):
    out = tmp_path / "emb"
    out.mkdir()
    np.savez(out / "embeddings.npz", id_str=np.array(["a", "b"]), features=np.eye(2, dtype=np.float32))
    assert main(["search", "--embeddings", str(out), "--query", "zzz"]) == 1  # a data error
    assert "no galaxy with id_str 'zzz'" in capsys.readouterr().err
    for args, message in [([], "give --query"), (["--evaluate"], "needs --catalog")]:  # usage errors
        with pytest.raises(SystemExit) as err:
            main(["search", "--embeddings", str(out), *args])
        assert err.value.code == 2 and message in capsys.readouterr().err
    assert main(["search", "--embeddings", str(tmp_path / "nowhere"), "--query", "a"]) == 1
    assert "not found" in capsys.readouterr().err


def test_evaluate_refuses_repeated_embedding_ids(tmp_path, catalog, capsys):
    ids = np.array([f"gal{i:03d}" for i in range(12)])
    ids[5] = ids[4]  # gal004 twice: its tags would count double, gal005's never
    emb = tmp_path / "emb"
    emb.mkdir()
    np.savez(emb / "embeddings.npz", id_str=ids, features=np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32))
    assert main(["search", "--embeddings", str(emb), "--catalog", str(catalog), "--evaluate", "--min-galaxies", "3"]) == 1
    message = capsys.readouterr().err
    assert "duplicate id_str" in message and "gal004" in message and "embeddings.npz" in message


def test_search_says_when_fewer_than_k_exist_and_labels_the_distance(tmp_path, capsys):
    out = tmp_path / "emb"
    out.mkdir()
    features = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    np.savez(out / "embeddings.npz", id_str=np.array([f"g{i}" for i in range(6)]), features=features)
    assert main(["search", "--embeddings", str(out), "--query", "g0", "--k", "500", "--out", str(tmp_path / "s")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("search: 5 nearest of g0 among 6 galaxies (cosine); --k 500 asks for more")
    assert "only 5 other galaxies exist: all are listed" in lines[0]
    assert lines[1].split() == ["rank", "id_str", "cosine", "distance", "(1", "-", "cosine", "similarity)"]
    assert len(lines) == 2 + 5
    metrics = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert metrics["k"] == 500 and metrics["found"] == 5 and len(metrics["neighbours"]) == 5

    assert main(["search", "--embeddings", str(out), "--query", "g0", "--k", "2", "--metric", "euclidean"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "only" not in lines[0] and lines[1].split() == ["rank", "id_str", "distance"] and len(lines) == 4
    rows = [line.split() for line in lines[2:]]
    nearest = np.linalg.norm(features[1:] - features[0], axis=1).min()
    assert rows[0][0] == "1" and float(rows[0][2]) == pytest.approx(nearest, abs=1e-4)


def test_search_says_what_it_does_on_stderr_unless_quiet(tmp_path, catalog, capsys):
    emb = tmp_path / "emb"
    emb.mkdir()
    features = np.random.default_rng(2).normal(size=(12, 5)).astype(np.float32)
    np.savez(emb / "embeddings.npz", id_str=np.array([f"gal{i:03d}" for i in range(12)]), features=features)
    args = ["search", "--embeddings", str(emb), "--query", "gal001", "--catalog", str(catalog), "--evaluate",
            "--min-galaxies", "3", "--k", "3"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"search: reading the embeddings {emb}",
        "search: 12 galaxies x 5 features; indexing them (cosine)",
        f"search: reading the catalog {catalog} and measuring precision@k per tag",
    ]
    assert main([*args, "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out == captured.out  # the results are the same, only the notes go


def test_search_out_behaves_like_every_other_out(tmp_path, capsys):
    emb = tmp_path / "emb"
    emb.mkdir()
    np.savez(emb / "embeddings.npz", id_str=np.array(["a", "b", "c"]), features=np.eye(3, dtype=np.float32))
    (emb / "metrics.json").write_text('{"from": "embed"}')
    args = ["search", "--embeddings", str(emb), "--query", "a", "--k", "1", "--quiet", "--out", str(emb)]
    assert main(args) == 1  # it would replace embed's metrics.json
    assert "already holds another run" in capsys.readouterr().err
    assert json.loads((emb / "metrics.json").read_text()) == {"from": "embed"}
