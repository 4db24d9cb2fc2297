"""How long one labelling step takes: refit the GP on the labels, predict every galaxy, pick the next 10.

Run: ``python benchmarks/bench_anomaly.py [--n 100000] [--labels 200] [--repeats 5]``. Features
are random 40-d vectors (timing does not depend on what they mean). The target: one step
<= 2 s over 100 000 galaxies with 200 labels on a 2-core CPU. The baseline, measured in
the same run, is scikit-learn's own ``predict(return_std=True)`` in place of the chunked
:func:`~galzoo_tools.anomaly.gp_predict`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from galzoo_tools.anomaly import AstronomalyLearner, GPActiveLearner, expected_improvement, fit_gp


def one_step(learner: GPActiveLearner, scores: np.ndarray, batch: int) -> float:
    """Seconds for add 10 labels -> refit -> predict all -> next batch (the widget's wait after a batch)."""
    pick = learner.next_batch(batch)
    t0 = time.perf_counter()
    learner.add_labels(pick, scores[pick])
    learner.next_batch(batch)
    return time.perf_counter() - t0


def sklearn_step(x: np.ndarray, labelled: np.ndarray, y: np.ndarray, batch: int) -> float:
    """The same step with scikit-learn's predict(return_std=True) over every galaxy."""
    t0 = time.perf_counter()
    fit = fit_gp(x[labelled], y)
    mean, std = fit.regressor.predict(x, return_std=True)
    ei = expected_improvement(mean, std, fit.y_best)
    ei[labelled] = -np.inf
    np.argpartition(-ei, batch)[:batch]
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="galaxies")
    parser.add_argument("--dims", type=int, default=40, help="feature dimensions (PCA components)")
    parser.add_argument("--labels", type=int, default=200, help="labels already given before the timed step")
    parser.add_argument("--batch", type=int, default=10, help="galaxies per batch")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps (median reported)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.dims))
    scores = np.clip(np.round(2.5 + 1.5 * x[:, 0] + rng.normal(0, 1, args.n)), 0, 5)
    learner = GPActiveLearner(x, seed=0)
    start = rng.choice(args.n, args.labels - args.batch, replace=False)
    learner.add_labels(start, scores[start])
    times = []
    for _ in range(args.repeats):
        times.append(one_step(learner, scores, args.batch))
        learner.forget(args.batch)
    fast = statistics.median(times)
    slow = statistics.median(sklearn_step(x, learner.labelled, learner.labels, args.batch) for _ in range(max(1, args.repeats // 2)))
    print(f"GP step, {args.n} galaxies x {args.dims} dims, {args.labels} labels: "
          f"{fast:.2f} s median of {args.repeats} (min {min(times):.2f}, max {max(times):.2f}); target <= 2 s")
    print(f"  baseline, scikit-learn predict(return_std=True): {slow:.2f} s ({slow / fast:.1f}x slower)")

    astro = AstronomalyLearner(x, seed=0)
    astro.add_labels(start, scores[start])
    t0 = time.perf_counter()
    astro.next_batch(args.batch)
    print(f"  Astronomaly baseline step (random forest + nearest-label distances): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
