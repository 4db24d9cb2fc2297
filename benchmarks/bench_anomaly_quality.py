"""Does active learning find one researcher's rare galaxies? Precision after 200 labels, per persona.

For each persona (mergers, rings, lenses) the wanted kind is made ``--fraction`` of a fresh
synthetic catalog (``anomaly.rare_subset``), the reference encoder's features are compressed to
40 standardised PCA components, and a simulated researcher labels ``--labels`` galaxies for each
strategy and seed. Printed per persona: precision in the top 50/100/200 and average precision
(mean ± spread over seeds) for the paper's GP + expected improvement, Astronomaly, random
labelling and the two unsupervised detectors, beside the best precision possible.

Target: with the interesting kind <= 2 % of the catalog and <= 200 labels, the GP's top-50
precision is 1.0 and top-100 >= 0.95 (mean over seeds), well above both baselines.

    python benchmarks/bench_anomaly_quality.py [--n 20000] [--personas mergers rings lenses] [--seeds 0 1 2]

The catalog size matters for top-100: with 5,000 galaxies at 2 % there are only ~100 wanted
galaxies, so a top-100 of 0.95 would need almost all of them found (a recall test); run with
``--n 5000`` to see that case too (notebook 05's small scale).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from galzoo_tools import anomaly, representations
from galzoo_tools.catalog import read_catalog
from galzoo_tools.config import cache_dir
from galzoo_tools.synthetic import cached_universe

COLUMNS = ["labels", "seeds", "precision_at_50", "precision_at_100", "precision_at_200", "average_precision"]


def fresh_features(n: int, seed: int, encoder: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Encoder features of a fresh synthetic universe (simulated once and cached; embedded every run)."""
    folder = cache_dir() / "universes" / f"n{n}_size128_seed{seed}"
    universe = cached_universe(folder, n=n, size=128, seed=seed, progress=False)
    galaxies = read_catalog(universe, schema=None, require_votes=False)
    return representations.embed(encoder, galaxies, image_size=128, progress=False), galaxies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="galaxies simulated before the wanted kind is thinned")
    parser.add_argument("--universe-seed", type=int, default=1, help="simulator seed (the reference model saw seed 0)")
    parser.add_argument("--model", default="reference")
    parser.add_argument("--personas", nargs="+", default=["mergers", "rings", "lenses"])
    parser.add_argument("--fraction", type=float, default=0.02, help="share of the catalog the wanted kind makes up")
    parser.add_argument("--labels", type=int, default=200, help="label budget")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    t0 = time.perf_counter()
    features, galaxies = fresh_features(args.n, args.universe_seed, args.model)
    print(f"{args.model} features of {len(galaxies)} fresh galaxies (seed {args.universe_seed}): "
          f"{time.perf_counter() - t0:.0f} s")
    for persona in args.personas:
        scores_all = anomaly.persona_scores(galaxies, persona)
        keep = anomaly.rare_subset(scores_all, fraction=args.fraction, seed=0)
        scores = scores_all[keep]
        n_hits = int((scores >= anomaly.INTERESTING_AT).sum())
        x = anomaly.compress_features(features[keep])
        t0 = time.perf_counter()
        history = anomaly.compare_methods(x, scores, seeds=args.seeds, budget=args.labels)
        table = anomaly.summarise(history)
        best = {k: min(1.0, n_hits / k) for k in (50, 100, 200)}
        print(f"\n{persona}: {n_hits} interesting of {len(x)} galaxies ({n_hits / len(x):.1%}); "
              f"best possible precision@50/100/200 = {best[50]:.2f}/{best[100]:.2f}/{best[200]:.2f}; "
              f"{time.perf_counter() - t0:.0f} s")
        shown = table[COLUMNS].copy()
        for metric in ("precision_at_50", "precision_at_100", "average_precision"):
            shown[metric] = [f"{m:.2f} ± {s:.2f}" for m, s in zip(table[metric], table[metric + "_std"])]
        print(shown.round(2).to_string())


if __name__ == "__main__":
    main()
