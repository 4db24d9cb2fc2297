"""Ring learning curves (galzoo-pretrained vs ImageNet vs scratch) and the time of one CLI fine-tuning run.

The experiment of notebook 06 at a larger scale: a balanced synthetic ring set (seed 7, never
seen in pretraining), a fixed test set, and for each label budget ``--repeats`` stratified draws
shared by all starting points. Writes ``OUT/runs.csv``, ``OUT/summary.md`` and
``OUT/learning_curves.png`` and checks the targets: with 128 labels the reference encoder
reaches ≥ 0.85 test accuracy and beats ImageNet and scratch; it leads at every budget ≤ 256.

    # the default: linear probe, budgets 8-512, 3 repeats (a few minutes on 2 CPU cores)
    python benchmarks/bench_finetune.py
    # + time `galzoo finetune` with 256 labels at 128 px
    python benchmarks/bench_finetune.py --time-cli
    # the full grid on a GPU: more galaxies, every budget to 1024, partial fine-tuning, 5 repeats
    python benchmarks/bench_finetune.py --n-per-class 1500 --n-test 1000 --repeats 5 \\
        --budgets 8 16 32 64 128 256 512 1024 --mode partial
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from galzoo_tools.config import cache_dir, get_device, seed_everything
from galzoo_tools.finetune import (
    FinetuneConfig,
    balanced_ring_set,
    learning_curves,
    plot_learning_curves,
    summarise_curves,
)


def time_cli(catalog: Path, out: Path, train_size: int, mode: str) -> dict:
    """Run ``galzoo finetune`` as a user would (a fresh process) and return its metrics + wall time."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "galzoo_tools.cli", "finetune", "--catalog", str(catalog),
                    "--label-col", "ring", "--model", "reference", "--train-size", str(train_size),
                    "--mode", mode, "--out", str(out), "--overwrite", "--quiet"], check=True)
    metrics = json.loads((out / "metrics.json").read_text())
    return {**metrics, "wall_seconds": round(time.perf_counter() - start, 1)}


def check_targets(runs, budget: int = 128) -> list[str]:
    """The targets of this benchmark (see the module docstring), as lines saying PASS or FAIL with the numbers."""
    mean = runs.groupby(["model", "budget"])["test_accuracy"].mean().unstack("model")
    lines = []
    if budget in mean.index and "reference" in mean:
        row = mean.loc[budget]
        ok = row["reference"] >= 0.85 and all(row["reference"] > row[c] for c in row.index if c != "reference")
        lines.append(f"{'PASS' if ok else 'FAIL'}: {budget} labels: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))
    if "reference" in mean:
        others = [c for c in mean.columns if c != "reference"]
        small = mean[mean.index <= 256]
        ahead = (small["reference"].to_frame().values > small[others].values).all(axis=1)
        lines.append(f"{'PASS' if ahead.all() else 'FAIL'}: reference ahead at every budget <= 256 "
                     f"(behind at {list(small.index[~ahead])})")
    return lines


def paired_gaps(runs, against: str = "imagenet") -> str:
    """Reference minus ``against`` accuracy per budget over the shared draws: mean, its standard error, wins.

    Every starting point sees the same labelled draws and test set, so differences are paired;
    a gap smaller than about two standard errors is a tie, whichever sign it has.
    """
    accuracy = runs.pivot_table(index=["budget", "repeat"], columns="model", values="test_accuracy")
    if "reference" not in accuracy or against not in accuracy:
        return ""
    gap = (accuracy["reference"] - accuracy[against]).groupby(level="budget")
    table = pd.DataFrame({"mean gap": gap.mean(), "std error": gap.std(ddof=1) / np.sqrt(gap.count()),
                          "reference wins": gap.apply(lambda g: f"{int((g > 0).sum())}/{len(g)}")})
    return f"reference - {against}, paired over the same draws:\n" + table.round(3).to_string()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["reference", "imagenet", "scratch"])
    parser.add_argument("--mode", choices=["linear", "partial", "full"], default="linear")
    parser.add_argument("--n-per-class", type=int, default=450, help="rings (and as many non-rings) in the set")
    parser.add_argument("--n-test", type=int, default=300, help="fixed test galaxies")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--feature-scaling", choices=["cosine", "standardise"], default="cosine",
                        help="how the head sees the features (galzoo_tools.finetune.FEATURE_SCALINGS)")
    parser.add_argument("--time-cli", action="store_true", help="also time `galzoo finetune` with 256 labels")
    parser.add_argument("--cli-mode", default="linear", choices=["linear", "partial", "full"])
    parser.add_argument("--out", type=Path, default=cache_dir() / "bench_finetune")
    args = parser.parse_args()

    seed_everything(0)
    args.out.mkdir(parents=True, exist_ok=True)
    ring_set = balanced_ring_set(cache_dir() / f"ring_set_n{args.n_per_class}_s{args.size}", args.n_per_class, args.size)
    print(f"ring set: {ring_set} ({2 * args.n_per_class} galaxies); device {get_device()}, "
          f"{torch.get_num_threads()} torch threads")
    start = time.perf_counter()
    curves = learning_curves(ring_set, "ring", models=args.models, budgets=args.budgets, repeats=args.repeats,
                             n_test=args.n_test, mode=args.mode, image_size=args.size,
                             config=FinetuneConfig(feature_scaling=args.feature_scaling))
    seconds = time.perf_counter() - start
    curves.runs.to_csv(args.out / "runs.csv", index=False)
    table = summarise_curves(curves.runs)
    title = f"rings, {args.mode} ({args.feature_scaling}), {args.repeats} repeats, {args.n_test} test galaxies"
    fig = plot_learning_curves(curves.runs, title=title)
    fig.savefig(args.out / "learning_curves.png", dpi=100)
    lines = [f"learning curves ({args.mode}, {args.feature_scaling} features): {seconds:.0f} s", "",
             table.to_string(), "", paired_gaps(curves.runs), "",
             *check_targets(curves.runs)]
    if args.time_cli:
        cli = time_cli(ring_set, args.out / "cli_run", 256, args.cli_mode)
        ok = cli["wall_seconds"] <= 120
        lines.append(f"{'PASS' if ok else 'FAIL'}: `galzoo finetune --train-size 256 --mode {args.cli_mode}` at "
                     f"{cli['image_size']} px: {cli['wall_seconds']} s wall ({cli['seconds']} s inside), "
                     f"test accuracy {cli['test_accuracy']:.3f} on {cli['n_test']} galaxies")
    text = "\n".join(lines)
    (args.out / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
