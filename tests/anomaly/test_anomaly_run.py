"""``rank_by_interest``: the whole anomaly workflow on embeddings and a researcher's scores (``galzoo anomaly``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from galzoo_tools.anomaly import METHODS, interest_scores, parse_methods, rank_by_interest
from galzoo_tools.representations import Embeddings


@pytest.fixture(scope="module")
def sky():
    """300 galaxies, 12 of them interesting (score 5) and set apart in feature space; the catalog in another order."""
    rng = np.random.default_rng(3)
    n = 300
    features = rng.normal(size=(n, 16)).astype(np.float32)
    wanted = rng.choice(n, 12, replace=False)
    features[wanted, :3] += 5.0
    interest = np.zeros(n)
    interest[wanted] = 5
    ids = np.array([f"g{i:03d}" for i in range(n)])
    catalog = pd.DataFrame({"id_str": ids[::-1], "interest": interest[::-1]})
    return Embeddings(ids, features), catalog, set(ids[wanted])


def test_parse_methods():
    assert parse_methods("gp, random,,gp") == ["gp", "random"]
    assert parse_methods(["astronomaly", "lof"]) == ["astronomaly", "lof"]
    assert set(METHODS) == {"gp", "astronomaly", "random", "isolation_forest", "lof"}
    with pytest.raises(ValueError, match="unknown method 'magic'; choose from gp, astronomaly"):
        parse_methods("gp,magic")
    with pytest.raises(ValueError, match="name no labelling strategy"):
        parse_methods("isolation_forest,lof")


def test_interest_scores_from_a_column_or_a_persona():
    catalog = pd.DataFrame({"interest": [0, 5, 2], "true_ring_type": ["none", "outer", "inner"],
                            "true_lens": [0, 0, 0]})
    scores, source = interest_scores(catalog, column="interest")
    assert scores.tolist() == [0, 5, 2] and source == "interest"
    scores, source = interest_scores(catalog, persona="rings")
    assert scores.tolist() == [0, 5, 4] and source == "persona:rings"
    for column, persona in ((None, None), ("interest", "rings")):
        with pytest.raises(ValueError, match="exactly one"):
            interest_scores(catalog, column, persona)


def test_rank_by_interest_finds_the_wanted_galaxies_and_ranks_by_gp(sky):
    emb, catalog, wanted = sky
    result = rank_by_interest(emb, catalog, interest_col="interest", methods="random,gp,isolation_forest",
                              labels=30, components=8, seed=1)
    assert list(result.ranking.columns) == ["id_str", "rank", "predicted_score", "labelled", "label"]
    assert result.ranking["id_str"].is_unique and len(result.ranking) == 300
    assert result.ranking["labelled"].sum() == 30
    assert len(wanted & set(result.ranking["id_str"][:12])) >= 10
    metrics = result.metrics
    assert metrics["ranking_method"] == "gp"  # the paper's method ranks, whatever the order asked
    assert list(metrics["methods"]) == ["random", "gp", "isolation_forest"]
    assert metrics["methods"]["isolation_forest"]["labels_used"] == 0
    assert metrics["methods"]["gp"]["average_precision"] > metrics["methods"]["random"]["average_precision"]
    assert metrics["interest"] == "interest" and metrics["n_interesting"] == 12 and metrics["components"] == 8


def test_rank_by_interest_writes_its_files_and_takes_the_first_learner_without_gp(sky, tmp_path):
    emb, catalog, _ = sky
    path = tmp_path / "catalog.csv"
    catalog.to_csv(path, index=False)
    steps = []
    result = rank_by_interest(emb, path, interest_col="interest", methods=["random"], labels=10, components=4,
                              out_dir=tmp_path, notes=steps.append)
    assert result.metrics["ranking_method"] == "random"
    written = pd.read_csv(tmp_path / "ranking.csv")
    assert written["id_str"].tolist() == result.ranking["id_str"].tolist()
    assert json.loads((tmp_path / "metrics.json").read_text())["label_budget"] == 10
    assert steps == ["300 galaxies, 12 interesting; compressing 16 features to 4 components",
                     "random: asking for 10 labels in batches of 10"]


def test_rank_by_interest_refuses_a_catalog_that_does_not_match(sky):
    emb, catalog, _ = sky
    with pytest.raises(ValueError, match="duplicate"):
        rank_by_interest(emb, pd.concat([catalog, catalog.iloc[[4]]]), interest_col="interest", methods="random")
    with pytest.raises(ValueError, match="not in the catalog"):
        rank_by_interest(emb, catalog.iloc[3:], interest_col="interest", methods="random")
