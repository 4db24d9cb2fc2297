"""How good is the reference model on galaxies it never saw? Vote-fraction MAE vs oracle and baseline.

Simulates fresh galaxies (a seed the model never saw), predicts their vote fractions, and
prints the MAE beside the oracle (the simulator's true fractions: the noise floor) and the
baseline (the training set's mean fractions). Targets: MAE <= 1.3 x oracle, <= 0.6 x baseline.

It also prints the *morphology floor*: the true fractions with each galaxy's random volunteer
tilt averaged out (``synthetic.expected_fractions``). That tilt is part of the oracle's truth
but appears in no image, so even a model that read every morphological parameter off the
pixels would stand at the floor, about 1.12 x the oracle, not at 1.0.

    python benchmarks/bench_reference_model.py [--n 2000] [--seed 12345] [--model reference] [--survey sdss]

``--model`` also takes a folder written by ``galzoo pretrain --out DIR`` (``DIR/model``); the
baseline then comes from that run's ``split.csv`` (or ``split.csv.gz``) and the universe its config names.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from galzoo_tools.models import load_model, read_model_config, resolve_model_source
from galzoo_tools.pretrain import mean_fraction_baseline, read_split, simulated_truth, vote_fraction_mae
from galzoo_tools.schema import decals_dr5
from galzoo_tools.synthetic import expected_fractions, simulate, simulate_catalog, trained_universe


def vote_mae_table(model: str, n: int = 2000, seed: int = 12345, survey: str = "decals") -> pd.DataFrame:
    """Per-question vote MAE of ``model`` on ``n`` fresh ``survey`` galaxies beside oracle, floor and baseline.

    ``model``: ``reference`` or a pretrain run's model folder (its run folder must hold the split)."""
    folder = resolve_model_source(model).location
    run = Path(folder).parent
    config = read_model_config(folder)
    loaded = load_model(folder, device="cpu")
    images, catalog = simulate(n, size=config["image_size"], seed=seed, survey=survey)
    with torch.inference_mode():
        batches = torch.from_numpy(images).permute(0, 3, 1, 2).split(128)
        predicted = torch.cat([loaded.predict_fractions(b.float() / 255).mean for b in batches]).numpy()

    split = read_split(run)
    n_total, _, train_seed, train_survey = trained_universe(config, folder)
    _, training_universe = simulate_catalog(n_total, seed=train_seed, survey=train_survey)
    train = training_universe[training_universe["id_str"].isin(set(split.loc[split["split"] == "train", "id_str"]))]
    baseline = np.broadcast_to(mean_fraction_baseline(train, decals_dr5), predicted.shape)

    morphology, _ = simulate_catalog(n, seed=seed, survey=survey)
    per_question = pd.DataFrame({
        "model": vote_fraction_mae(predicted, catalog),
        "oracle": vote_fraction_mae(simulated_truth(catalog), catalog),
        "floor": vote_fraction_mae(expected_fractions(morphology), catalog),
        "baseline": vote_fraction_mae(baseline, catalog),
    })
    per_question["model/oracle"] = per_question["model"] / per_question["oracle"]
    per_question["floor/oracle"] = per_question["floor"] / per_question["oracle"]
    return per_question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--model", default="reference", help="'reference' or a pretrain run's model folder")
    parser.add_argument("--survey", default="decals", help="the fresh galaxies' sky: decals (default), sdss or mixed")
    args = parser.parse_args()

    per_question = vote_mae_table(args.model, args.n, args.seed, args.survey)
    size = read_model_config(resolve_model_source(args.model).location)["image_size"]
    print(f"{args.model} on {args.n} fresh {args.survey} galaxies (seed {args.seed}, {size} px)")
    print(per_question.round(3).to_string())
    mean = per_question.loc["mean"]
    print(f"vote MAE {mean['model']:.4f}: {mean['model'] / mean['oracle']:.2f} x oracle (target <= 1.3), "
          f"{mean['model'] / mean['baseline']:.2f} x baseline (target <= 0.6)")
    print(f"morphology floor {mean['floor']:.4f} = {mean['floor'] / mean['oracle']:.2f} x oracle: "
          f"the model is {mean['model'] / mean['floor']:.2f} x the best an image model could do")


if __name__ == "__main__":
    main()
