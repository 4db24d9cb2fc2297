"""Weight interpolation (WiSE-FT) between a trained model and its ImageNet start: real transfer vs synthetic fit.

For each ``--alphas`` value a, :func:`galzoo_tools.models.interpolate_weights` builds a model whose
encoder is ``(1 - a) * ImageNet + a * trained`` and whose Dirichlet head is the trained one's, and
saves it to ``OUT/alpha_<a>/model`` (with the trained run's split, so it can be measured like a
pretrain run). Then, for every a:

1. the vote-fraction MAE on ``--n`` fresh synthetic galaxies, as a multiple of the oracle
   (``bench_reference_model.vote_mae_table``; the head was fitted to the a = 1 encoder, so this is
   what the interpolated encoder costs on synthetic galaxies before any head refit);
2. when the real catalog exists (default ``../shared/real_dev/gz2_odd/labels.csv``), the
   linear-probe table of ``bench_sim_to_real.py`` (part a, b, c) on all interpolated models and
   ImageNet, with its shared draws and standard errors.

Prints both and writes ``OUT/metrics.json``.

    python benchmarks/bench_weight_interpolation.py                     # reference, alphas 0.5 0.7 0.8 0.9 1
    python benchmarks/bench_weight_interpolation.py --alphas 0.7 1 --repeats 2 --budgets 32 1000
    python benchmarks/bench_weight_interpolation.py --alphas 0.7 --part statistics    # which part matters
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from galzoo_tools.jsonio import write_metrics
from galzoo_tools.models import (
    build_model,
    interpolate_weights,
    load_model,
    read_model_config,
    resolve_model_source,
    save_model,
)
from galzoo_tools.models.interpolate import PARTS
from galzoo_tools.pretrain import split_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_reference_model
import bench_sim_to_real

REPO = Path(__file__).resolve().parents[1]
RUN_KEYS = ("image_size", "channels", "trained_on", "seed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="reference", help="the trained model: 'reference' or a pretrain run's model folder")
    parser.add_argument("--alphas", nargs="+", type=float, default=[0.5, 0.7, 0.8, 0.9, 1.0],
                        help="weights of the trained encoder (1 = the model itself, 0 = ImageNet)")
    parser.add_argument("--part", choices=PARTS, default="all",
                        help="mix every encoder tensor, only the learned weights, or only the batch-norm statistics")
    parser.add_argument("--n", type=int, default=2000, help="fresh synthetic galaxies for the vote MAE")
    parser.add_argument("--survey", default="decals", help="their sky: decals, sdss or mixed")
    parser.add_argument("--catalog", type=Path, default=bench_sim_to_real.DEFAULT_CATALOG, help="real label catalog")
    parser.add_argument("--budgets", nargs="+", type=int, default=[32, 100, 300, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "weight_interpolation")
    args = parser.parse_args(argv)
    if any(not 0 <= a <= 1 for a in args.alphas):
        parser.error(f"--alphas must lie between 0 and 1, got {args.alphas}")
    return args


def save_interpolated(args: argparse.Namespace) -> dict[float, Path]:
    """One model folder per alpha under ``args.out``; returns alpha → folder."""
    folder = Path(resolve_model_source(args.model).location)
    split, config = split_path(folder.parent), read_model_config(folder)
    trained = load_model(folder, device="cpu").float()
    start = build_model("imagenet", schema=config["schema"], backbone=config["backbone"])
    folders = {}
    for alpha in args.alphas:
        run = args.out / (f"alpha_{alpha:g}" + ("" if args.part == "all" else f"_{args.part}"))
        save_model(interpolate_weights(start, trained, alpha, part=args.part), run / "model",
                   {**{k: config[k] for k in RUN_KEYS if k in config}, "interpolation": {
                       "trained": str(args.model), "start": "imagenet", "alpha": alpha, "part": args.part}})
        shutil.copy(split, run / split.name)
        folders[alpha] = run / "model"
    return folders


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    folders = save_interpolated(args)
    rows = {}
    for alpha, folder in folders.items():
        mean = bench_reference_model.vote_mae_table(str(folder), args.n, survey=args.survey).loc["mean"]
        rows[alpha] = {"vote_mae": mean["model"], "x_oracle": mean["model"] / mean["oracle"],
                       "x_baseline": mean["model"] / mean["baseline"]}
    synthetic = pd.DataFrame(rows).T.rename_axis("alpha")
    mixed = "" if args.part == "all" else f" ({args.part} only)"
    print(f"\n== {args.model}: encoder (1 - alpha) x ImageNet + alpha x trained{mixed}, trained head; vote MAE on "
          f"{args.n} fresh {args.survey} galaxies ==")
    print(synthetic.round(3).to_string())
    metrics = {"model": str(args.model), "part": args.part, "synthetic": {str(a): r for a, r in rows.items()},
               "folders": {str(a): str(f) for a, f in folders.items()}}
    if args.catalog.is_file():
        real_out = args.out / "sim_to_real"
        bench_sim_to_real.main(["--skip-realism", "--catalog", str(args.catalog), "--out", str(real_out),
                                "--repeats", str(args.repeats), "--budgets", *map(str, args.budgets),
                                "--models", *(os.path.relpath(f) for f in folders.values()), "imagenet"])
        metrics["real"] = str(real_out / "metrics.json")
    else:
        print(f"\nno real catalog at {args.catalog}: real transfer skipped (pass --catalog)")
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    write_metrics(args.out / "metrics.json", metrics)


if __name__ == "__main__":
    main()
