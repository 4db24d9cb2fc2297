"""Is a representation good for new tasks? Similarity precision per tag and a ring linear probe.

For each encoder (``reference``, ``imagenet``, or any model folder), on galaxies no model saw:

* mean precision@10 over tags, one typical query per tag, PCA-40 cosine (notebook 04's measure;
  target: reference >= 0.8 and above ImageNet);
* ring test accuracy of a linear probe with 128 labels, mean of 3 draws (notebook 06's measure;
  target: reference >= 0.85 and above ImageNet and scratch).

    python benchmarks/bench_representation_quality.py [--models reference imagenet scratch runs/other/model]
    python benchmarks/bench_representation_quality.py --n 5000     # a denser catalog

Precision@10 depends on the catalog as well as the encoder: with more galaxies each tag has
more members near any query. With the committed reference model, 1,000 fresh galaxies give
0.79 (ImageNet 0.68) and 5,000 give 0.86 (ImageNet 0.76). ``scratch`` here means random weights.
"""

from __future__ import annotations

import argparse

import numpy as np

from galzoo_tools import representations, similarity
from galzoo_tools.catalog import read_catalog
from galzoo_tools.config import cache_dir
from galzoo_tools.finetune import balanced_ring_set, learning_curves
from galzoo_tools.synthetic import cached_universe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["reference", "imagenet", "scratch"])
    parser.add_argument("--n", type=int, default=1000, help="fresh galaxies for similarity (seed 777)")
    parser.add_argument("--budget", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    universe = cached_universe(cache_dir() / "universes" / f"n{args.n}_size128_seed777", n=args.n, size=128,
                               seed=777, progress=False)
    galaxies = read_catalog(universe, schema=None, require_votes=False)
    features = {}
    for name in args.models:
        raw = representations.embed(name, galaxies, image_size=128, progress=False)
        features[name] = representations.fit_pca(raw, 40).transform(raw)
    table = similarity.compare_encoders(features, galaxies["tags"], k=10, queries="typical")

    rings = balanced_ring_set(cache_dir() / "ring_sets" / "bench_n300_s7", n_per_class=300, size=128, seed=7,
                              progress=False)
    curves = learning_curves(rings, models=args.models, budgets=[args.budget], repeats=args.repeats,
                             n_test=200, mode="linear", progress=False)
    accuracy = curves.runs.groupby("model")["test_accuracy"].agg(["mean", "std"])

    print(f"{'encoder':<40}{'precision@10':>14}{'ring acc @' + str(args.budget):>18}")
    for name in args.models:
        p = float(np.mean(table[name]))
        print(f"{name:<40}{p:>14.3f}{accuracy.loc[name, 'mean']:>12.3f} ± {accuracy.loc[name, 'std']:.3f}")
    print("\nprecision@10 per tag:")
    print(table.round(2).to_string())


if __name__ == "__main__":
    main()
