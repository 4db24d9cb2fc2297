"""Sim-to-real: how well encoders transfer to a set of real galaxies, and how real the synthetic sky looks.

Needs a folder of real galaxy images with a label catalog (``id_str``, ``file_loc`` relative to
the catalog's folder, a label column). By default the real SDSS dev set beside the repository,
``../shared/real_dev/gz2_odd/labels.csv`` (2,000 galaxies, ``odd_spiral`` 0/1); the project
never holds those images. Prints, and writes to ``OUT/metrics.json`` (strict JSON, null for NaN):

a. **Transfer**: linear-probe test accuracy and ROC AUC at each label budget for each encoder
   (``--models``), mean ± s.e. over ``--repeats`` stratified draws shared by all encoders, on one
   fixed stratified test set (``--n-test``), and the paired gap reference − imagenet ± s.e., from
   :func:`galzoo_tools.finetune.learning_curves` in ``linear`` mode on features each encoder
   computes once; the same features serve (b).
b. **precision@10 within each class**: cosine nearest neighbours (the galaxy itself left out) in
   each encoder's features; for class c, the mean over galaxies of class c of the fraction of
   their 10 neighbours in class c, ± s.e. over those galaxies, next to chance.
c. **Zero-shot** (binary labels): for each encoder that comes with the vote head (``reference``
   or a ``galzoo pretrain`` model folder), its own predicted answers as scores with no labels at
   all: ROC AUC on the same test set, per answer, for the per-question fraction and for the
   answer's share of all volunteers (the fraction times the chance its question is asked,
   :func:`galzoo_tools.votes.expected_votes` with one volunteer; Galaxy Zoo 2's cumulative
   classes). Which of the model's answers track the real label shows which parts of what the
   synthetic sky taught carry over.
d. **Realism**: image statistics (:mod:`galzoo_tools.image_stats`) and pixel-value distributions
   of ``--n-real`` real galaxies next to as many synthetic ones of the ``--survey`` preset, and
   ``OUT/montage.png`` (real thumbnails above synthetic ones). With ``--survey decals`` the
   synthetic statistics are also compared with the real DECaLS numbers (``DECALS_TARGETS``).

With ``--adapt-batchnorm``, every encoder also appears as ``NAME+adabn``: the same weights with
their batch-norm statistics recomputed on all the real images, unlabelled
(:func:`galzoo_tools.models.adapt_batchnorm`, AdaBN), as a researcher would do with their own
galaxies; it is scored in (a) to (c) like any other encoder, and the paired gap between the
adapted reference and the plain ImageNet encoder is printed too (plain, because recomputing the
statistics on galaxies costs ImageNet's features far more than it gains them: measured
2026-12-06, its linear probe falls from 0.787 to 0.670 at 1,000 labels).

S.e. over draws measure the luck of the labelled sample only (the test set is fixed).

    python benchmarks/bench_sim_to_real.py                       # everything, defaults (minutes on 2 CPU cores)
    python benchmarks/bench_sim_to_real.py --skip-transfer --survey decals
    python benchmarks/bench_sim_to_real.py --skip-realism --models reference imagenet
    python benchmarks/bench_sim_to_real.py --skip-realism --models reference imagenet --adapt-batchnorm
    python benchmarks/bench_sim_to_real.py --catalog OTHER/labels.csv --label-col ring \\
        --budgets 32 100 --repeats 3 --models reference imagenet --out runs/sim_to_real_other
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from galzoo_tools import image_stats as stats
from galzoo_tools.catalog import read_catalog
from galzoo_tools.datasets import load_images
from galzoo_tools.jsonio import write_metrics
from galzoo_tools.augment import to_float_images
from galzoo_tools.finetune import FinetuneConfig, build_finetune_model, encode_labels, infer_task, learning_curves
from galzoo_tools.representations import embed
from galzoo_tools.similarity import SimilarityIndex
from galzoo_tools.votes import expected_votes

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CATALOG = REPO.parent / "shared" / "real_dev" / "gz2_odd" / "labels.csv"
IMAGE_SIZE = 128
K = 10
ADAPTED = "+adabn"
GAPS = {("reference", "imagenet"): ("ref−imnet", "reference_minus_imagenet"),
        ("reference" + ADAPTED, "imagenet"): ("ref+adabn−imnet", "adapted_reference_minus_imagenet")}
"""Paired gaps printed when both encoders were scored: column prefix and metrics key."""
_START = time.perf_counter()


def log(message: str) -> None:
    """A progress line with the seconds since the start."""
    print(f"[{time.perf_counter() - _START:6.0f} s] {message}", flush=True)


def mean_se(values: np.ndarray | list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (NaN s.e. for one value)."""
    values = np.asarray(values, dtype=float)
    se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return float(values.mean()), se


def fmt(mean: float, se: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


# ---------------------------------------------------------------- a + b: transfer and neighbours


def adapted(model: torch.nn.Module, images: torch.Tensor) -> torch.nn.Module:
    """``model`` with batch-norm statistics of ``images`` (no labels used)."""
    from galzoo_tools.models import adapt_batchnorm

    return adapt_batchnorm(model, images)


def embed_all(model_name: str, images: torch.Tensor, seed: int) -> np.ndarray:
    """Frozen features of every galaxy from one encoder (seeded as learning_curves seeds it,
    which matters for ``scratch``); a name ending in ``+adabn`` is its encoder adapted to ``images``."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    base = model_name.removesuffix(ADAPTED)
    model = build_finetune_model(base)
    if base != model_name:
        model = adapted(model, images)
    features = embed(model, images, progress=False)
    log(f"  embedded {len(images)} galaxies with {model_name} in {time.perf_counter() - start:.0f} s")
    return features


def transfer_table(runs: pd.DataFrame, models: list[str]) -> tuple[pd.DataFrame, dict]:
    """Printable mean ± s.e. per budget and model, the paired reference − imagenet gaps (:data:`GAPS`), and the numbers."""
    table, numbers = pd.DataFrame(index=sorted(runs["budget"].unique())), {}
    table.index.name = "labels"
    for metric, short in (("accuracy", "acc"), ("roc_auc", "AUC")):
        for model in models:
            cells = runs[runs["model"] == model].groupby("budget")[metric].apply(mean_se)
            table[f"{model} {short}"] = [fmt(*cell) for cell in cells]
            for budget, (m, s) in cells.items():
                numbers.setdefault(model, {}).setdefault(str(budget), {})[metric] = {"mean": m, "se": s}
        wide = runs.pivot_table(index=["budget", "repeat"], columns="model", values=metric)
        for (ours, theirs), (column, key) in GAPS.items():
            if not {ours, theirs} <= set(models):
                continue
            gaps = (wide[ours] - wide[theirs]).groupby("budget").apply(mean_se)
            table[f"{column} {short}"] = [fmt(*cell) for cell in gaps]
            for budget, (m, s) in gaps.items():
                numbers.setdefault(key, {}).setdefault(str(budget), {})[metric] = {"mean": m, "se": s}
    return table, numbers


def precision_within_class(features: np.ndarray, y: np.ndarray, classes: list, k: int = K) -> dict:
    """precision@k per class: mean ± s.e. over that class's galaxies, and chance ((n_c − 1) / (N − 1))."""
    found, _ = SimilarityIndex(features, metric="cosine").neighbours(np.arange(len(y)), k)
    hits = (y[found] == y[:, None]).mean(axis=1)
    out = {}
    for index, name in enumerate(classes):
        mine = y == index
        mean, se = mean_se(hits[mine])
        out[str(name)] = {"mean": mean, "se": se, "n": int(mine.sum()), "chance": (mine.sum() - 1) / (len(y) - 1)}
    return out


def precision_table(precision: dict[str, dict], label_col: str) -> pd.DataFrame:
    classes = list(next(iter(precision.values())))
    table = pd.DataFrame({model: [fmt(p[c]["mean"], p[c]["se"]) for c in classes] for model, p in precision.items()},
                         index=pd.Index([f"{label_col}={c}" for c in classes], name="class"))
    first = next(iter(precision.values()))
    table.insert(0, "chance", [f"{first[c]['chance']:.3f}" for c in classes])
    table.insert(0, "galaxies", [first[c]["n"] for c in classes])
    return table


def run_transfer(args: argparse.Namespace, table: pd.DataFrame) -> dict:
    """Parts a to c: embed once per encoder, learning curves of linear probes on those features, neighbours,
    and the answers of encoders with a vote head."""
    y, classes = encode_labels(table[args.label_col], infer_task(table[args.label_col]))
    log(f"loading {len(table)} real images at {IMAGE_SIZE} px")
    images = load_images(table, IMAGE_SIZE)
    models = args.models + ([name + ADAPTED for name in args.models] if args.adapt_batchnorm else [])
    features = {name: embed_all(name, images, args.seed) for name in models}
    curves = learning_curves(table, args.label_col, models=models, budgets=args.budgets, repeats=args.repeats,
                             n_test=args.n_test, config=FinetuneConfig(mode="linear", seed=args.seed),
                             features=features, progress=False)
    budgets = sorted(curves.runs["budget"].unique().tolist())
    if len(budgets) < len(args.budgets):
        log(f"skipped budgets above the galaxies left after the test set: {sorted(set(args.budgets) - set(budgets))}")
    precision = {name: precision_within_class(values, y, classes) for name, values in features.items()}
    runs_frame = curves.runs.rename(columns={"test_accuracy": "accuracy", "test_roc_auc": "roc_auc"})
    runs_frame = runs_frame[["model", "budget", "repeat", "accuracy", "roc_auc"]]
    test = curves.test
    printable, numbers = transfer_table(runs_frame, models)
    counts = ", ".join(f"{c}: {int((y == i).sum())}" for i, c in enumerate(classes))
    print(f"\n== Transfer: linear probe on {args.label_col!r} ({counts}); {len(test)} test galaxies, "
          f"{args.repeats} shared draws per budget; mean ± s.e. over draws ==")
    print(printable.to_string())
    print(f"\n== precision@{K} within each class (cosine neighbours of all {len(y)} galaxies, self excluded; "
          "mean ± s.e. over the class's galaxies) ==")
    print(precision_table(precision, args.label_col).to_string())
    answers = {}
    if len(classes) == 2:
        test_rows = np.flatnonzero(table["id_str"].astype(str).isin(test["id_str"].astype(str)))
        answers = zero_shot(models, images, y, test_rows)
    del images
    return {"label_col": args.label_col, "classes": classes, "n_galaxies": len(table), "n_test": len(test),
            "repeats": args.repeats, "budgets": budgets, "models": models, "transfer": numbers,
            f"precision_at_{K}": precision, "zero_shot": answers, "runs": runs_frame.to_dict(orient="records")}


# ---------------------------------------------------------------- c: zero-shot answers


def vote_model(name: str) -> torch.nn.Module | None:
    """The galzoo model (with its vote head) that ``name`` names, or None for a bare encoder."""
    from galzoo_tools.models import load_model, resolve_model_source

    source = resolve_model_source(name)
    return load_model(source.location, device="cpu") if source.kind == "checkpoint" else None


@torch.no_grad()
def predicted_answers(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 128) -> np.ndarray:
    """Predicted per-question vote fractions ``(n, n_answers)`` for ``uint8`` images at the bench's size."""
    model.eval()
    parts = [model.predict_fractions(to_float_images(images[i:i + batch_size])).mean.float()
             for i in range(0, len(images), batch_size)]
    return torch.cat(parts).numpy()


def answer_aucs(fractions: np.ndarray, y: np.ndarray, schema: Any) -> pd.DataFrame:
    """ROC AUC of each answer against label 1, as a per-question fraction and as a share of all volunteers."""
    from sklearn.metrics import roc_auc_score

    shares = expected_votes(fractions, 1.0, schema)
    return pd.DataFrame({"fraction AUC": [roc_auc_score(y, fractions[:, i]) for i in range(schema.n_answers)],
                         "share AUC": [roc_auc_score(y, shares[:, i]) for i in range(schema.n_answers)]},
                        index=pd.Index(schema.label_cols, name="answer"))


def zero_shot(models: list[str], images: torch.Tensor, y: np.ndarray, test: np.ndarray, top: int = 6) -> dict:
    """Part c: for every encoder with a vote head, how well each of its answers alone ranks the test galaxies
    (a ``+adabn`` name: its model adapted to all of ``images``)."""
    out = {}
    for name in models:
        base = name.removesuffix(ADAPTED)
        model = vote_model(base)
        if model is None:
            continue
        if base != name:
            model = adapted(model, images)
        start = time.perf_counter()
        aucs = answer_aucs(predicted_answers(model, images[test]), y[test], model.schema)
        log(f"  predicted the answers of {len(test)} test galaxies with {name} in {time.perf_counter() - start:.0f} s")
        strength = (aucs - 0.5).abs()  # how far from chance, in either direction
        shown = aucs.loc[strength.max(axis=1).sort_values(ascending=False).index[:top]]
        print(f"\n== Zero-shot: {name}'s own answers as scores, no labels; ROC AUC for label 1 on the "
              f"{len(test)} test galaxies (below 0.5: the answer points to label 0); the {top} strongest ==")
        print(shown.to_string(float_format=lambda v: f"{v:.3f}"))
        best = strength.stack().idxmax()
        out[name] = {"best": {"answer": best[0], "score": best[1], "roc_auc": float(aucs.loc[best])},
                     "answers": aucs.to_dict(orient="index")}
    return out


# ---------------------------------------------------------------- d: realism


def simulate_preset(n: int, survey: str, seed: int) -> np.ndarray:
    """``n`` synthetic galaxies of the ``survey`` preset at 128 px."""
    from galzoo_tools.synthetic import simulate

    return simulate(n, size=IMAGE_SIZE, seed=seed, survey=survey)[0]


def side_by_side(real: pd.DataFrame, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Synthetic p10/median/p90 against the real set's, with inside / spread_ratio."""
    compared = stats.compare_to_targets(synthetic, real)
    return pd.DataFrame({
        "real p10": compared["real p10"], "real median": compared["real median"], "real p90": compared["real p90"],
        "syn p10": synthetic.loc[compared.index, "p10"], "syn median": compared["median"],
        "syn p90": synthetic.loc[compared.index, "p90"], "inside": compared["inside"],
        "spread_ratio": compared["spread_ratio"],
    })


def histogram_tables(real: np.ndarray, synthetic: np.ndarray) -> dict[str, pd.DataFrame]:
    """Pixel-value quantiles and bin fractions, real rows above synthetic rows."""
    a, b = stats.pixel_histograms(real), stats.pixel_histograms(synthetic)
    return {part: pd.concat({"real": getattr(a, part), "synthetic": getattr(b, part)})
            for part in ("quantiles", "fractions")}


def save_montage(real: np.ndarray, synthetic: np.ndarray, survey: str, path: Path, per_block: int = 16) -> None:
    """Real thumbnails (2 rows of 8) above synthetic ones, each titled with where it came from."""
    from galzoo_tools.plotting import image_grid

    real, synthetic = real[:per_block], synthetic[:per_block]
    titles = ["real"] * len(real) + [f"synthetic ({survey})"] * len(synthetic)
    fig = image_grid(list(real) + list(synthetic), titles, ncols=8, ax_size=1.3, fontsize=7)
    fig.savefig(path, dpi=90)


def run_realism(args: argparse.Namespace) -> dict:
    """Part d: statistics and histograms of real and synthetic galaxies, and the montage."""
    log(f"realism: {args.n_real} real galaxies (seed 0 sample) and {args.n_real} synthetic ({args.survey})")
    real_images, _ = stats.load_catalog_images(args.catalog, n=args.n_real, seed=0, size=IMAGE_SIZE)
    synthetic_images = simulate_preset(len(real_images), args.survey, args.seed)
    real_summary = stats.summarise(stats.stats_table(real_images))
    synthetic_summary = stats.summarise(stats.stats_table(synthetic_images))
    compared = side_by_side(real_summary, synthetic_summary)
    histograms = histogram_tables(real_images, synthetic_images)
    preset = args.survey
    print(f"\n== Realism: image statistics at {IMAGE_SIZE} px, {len(real_images)} real vs "
          f"{len(synthetic_images)} synthetic ({preset}); inside = synthetic median within the real 10-90 % ==")
    print(compared.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"synthetic medians inside the real 10-90 % range: {int(compared['inside'].sum())}/{len(compared)}")
    result = {"survey": args.survey, "n_real": len(real_images), "n_synthetic": len(synthetic_images),
              "real": real_summary.to_dict(orient="index"), "synthetic": synthetic_summary.to_dict(orient="index"),
              "vs_real": compared.to_dict(orient="index")}
    if args.survey == "decals":
        decals = stats.compare_to_targets(synthetic_summary)
        print("\n== Synthetic vs real DECaLS (DECALS_TARGETS, 470 GZ DECaLS cut-outs) ==")
        print(decals.to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"synthetic medians inside the DECaLS 10-90 % range: {int(decals['inside'].sum())}/{len(decals)}")
        result["vs_decals"] = decals.to_dict(orient="index")
    print("\n== Pixel values (0-255): quantiles and mean per channel ==")
    print(histograms["quantiles"].to_string(float_format=lambda v: f"{v:.1f}"))
    print("\n== Fraction of pixels per value bin ==")
    print(histograms["fractions"].to_string(float_format=lambda v: f"{v:.4f}"))
    montage = args.out / "montage.png"
    save_montage(real_images, synthetic_images, preset, montage)
    log(f"montage written to {montage}")
    result["pixel_quantiles"] = {f"{a} {b}": row.to_dict() for (a, b), row in histograms["quantiles"].iterrows()}
    result["pixel_fractions"] = {f"{a} {b}": row.to_dict() for (a, b), row in histograms["fractions"].iterrows()}
    result["montage"] = str(montage)
    return result


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG,
                        help="real label catalog (csv/parquet; file_loc relative to its folder)")
    parser.add_argument("--label-col", default=None, help="label column (default: odd_spiral if present)")
    parser.add_argument("--models", nargs="+", default=["reference", "imagenet", "scratch"])
    parser.add_argument("--budgets", nargs="+", type=int, default=[32, 100, 300, 1000])
    parser.add_argument("--repeats", type=int, default=5, help="labelled draws per budget")
    parser.add_argument("--n-test", type=int, default=800, help="fixed stratified test set")
    parser.add_argument("--n-real", type=int, default=400, help="real (and synthetic) galaxies for the realism report")
    parser.add_argument("--survey", choices=["sdss", "decals"], default="sdss", help="synthetic survey preset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adapt-batchnorm", action="store_true",
                        help="also score each model as NAME+adabn: batch-norm statistics of the real images (AdaBN)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "sim_to_real")
    parser.add_argument("--skip-transfer", action="store_true")
    parser.add_argument("--skip-realism", action="store_true")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> pd.DataFrame | None:
    """Exit with one line when the catalog, label column or output folder will not do; the catalog
    (paths resolved) when transfer is to run."""
    if not args.catalog.is_file():
        sys.exit(f"bench_sim_to_real: no real catalog at {args.catalog}; pass --catalog PATH/labels.csv")
    out = args.out.resolve()
    if out.is_relative_to(REPO) and not out.is_relative_to(REPO / "runs"):
        sys.exit(f"bench_sim_to_real: --out {args.out} is inside the repository; use a folder under runs/ "
                 "(real thumbnails must never land in tracked folders)")
    if args.skip_transfer:
        return None
    table = read_catalog(args.catalog, schema=None, require_votes=False)
    args.label_col = args.label_col or ("odd_spiral" if "odd_spiral" in table.columns else None)
    if args.label_col not in table.columns:
        sys.exit(f"bench_sim_to_real: no label column {args.label_col!r} in {args.catalog}; pass --label-col NAME")
    if infer_task(table[args.label_col]) == "regression":
        sys.exit(f"bench_sim_to_real: {args.label_col!r} looks continuous; this benchmark needs class labels")
    if args.n_test >= len(table):
        sys.exit(f"bench_sim_to_real: --n-test {args.n_test} leaves no labelled pool in {len(table)} galaxies")
    return table.reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    table = check_args(args)
    args.out.mkdir(parents=True, exist_ok=True)
    log(f"real catalog {args.catalog}; output {args.out}")
    metrics: dict[str, Any] = {"catalog": str(args.catalog), "image_size": IMAGE_SIZE, "seed": args.seed}
    if table is not None:
        metrics["transfer"] = run_transfer(args, table)
    if not args.skip_realism:
        metrics["realism"] = run_realism(args)
    metrics["seconds"] = round(time.perf_counter() - _START, 1)
    path = args.out / "metrics.json"
    write_metrics(path, metrics)
    log(f"metrics written to {path}")


if __name__ == "__main__":
    main()
