"""How good is a pretrained model? Its predicted vote fractions, and numbers to put them in context.

Observed fractions from 5 volunteers are noisy, so even a perfect model has an error. We
report three errors, measured the same way:

* ``vote_mae``: the model's predicted fractions against the observed ones;
* ``oracle_vote_mae``: the simulator's true answer probabilities against the observed ones
  (the noise floor: no model can expect to beat it);
* ``baseline_vote_mae``: the training set's mean fractions against the observed ones
  (what you get without looking at the image).

Like Walmsley et al. (2022), a question only counts for a galaxy where at least half of its
volunteers were asked it, so fractions are not made of one or two stray votes.

:func:`predict_vote_fractions` gives a model's fractions for a catalog; :func:`remeasure_run`
measures a finished run again from its saved model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import get_device
from ..cpu_memory import keep_freed_memory
from ..schema import Schema, decals_dr5
from ..training_step import default_channels_last
from ..votes import counts_array, counts_to_fractions, question_totals
from .data import read_split

__all__ = [
    "VAL_CHECK_SIZE",
    "asked_mask",
    "vote_fraction_mae",
    "mean_fraction_baseline",
    "vote_mae_report",
    "simulated_truth",
    "predict_vote_fractions",
    "remeasure_run",
]

VAL_CHECK_SIZE = 2000
"""The first this-many validation galaxies (in ``split.csv`` order) get their loss recorded as
``metrics["val_check"]``, from the saved model in float32: a check small enough to repeat."""


def asked_mask(counts: np.ndarray | pd.DataFrame, schema: Schema = decals_dr5, min_asked: float = 0.5) -> np.ndarray:
    """``(n, n_questions)`` True where at least ``min_asked`` of the galaxy's volunteers answered."""
    totals = question_totals(counts, schema)
    volunteers = totals[:, [q.index for q in schema.root_questions]].max(axis=1, keepdims=True)
    return (totals > 0) & (totals >= min_asked * volunteers)


def vote_fraction_mae(
    predicted: np.ndarray,
    counts: np.ndarray | pd.DataFrame,
    schema: Schema = decals_dr5,
    min_asked: float = 0.5,
) -> dict[str, float]:
    """Mean absolute error per question (over its answers and eligible galaxies) and ``"mean"``.

    ``"mean"`` averages the questions that have any eligible galaxy, so rare questions count
    as much as common ones.
    """
    predicted = counts_array(predicted, schema)
    observed = counts_to_fractions(counts, schema)
    mask = asked_mask(counts, schema, min_asked)
    errors = np.abs(predicted - observed)
    out: dict[str, float] = {}
    for q in schema.questions:
        rows = mask[:, q.index]
        if rows.any():
            out[q.name] = float(errors[rows, q.slice].mean())
    out["mean"] = float(np.mean(list(out.values()))) if out else float("nan")
    return out


def mean_fraction_baseline(train_counts: np.ndarray | pd.DataFrame, schema: Schema = decals_dr5) -> np.ndarray:
    """The training set's mean observed fraction per answer (over galaxies asked), ``(n_answers,)``."""
    fractions = counts_to_fractions(train_counts, schema, unasked=np.nan)
    asked = np.isfinite(fractions)
    totals = np.where(asked, fractions, 0.0).sum(axis=0)
    return np.divide(totals, asked.sum(axis=0), out=np.zeros(fractions.shape[1]), where=asked.any(axis=0))


def simulated_truth(catalog: pd.DataFrame, schema: Schema = decals_dr5) -> np.ndarray | None:
    """The simulator's true answer probabilities, its ``{column}_true_fraction`` columns, or None for real data.

    (:func:`galzoo_tools.synthetic.true_fractions` computes such probabilities from a morphology;
    this reads the ones a simulated catalog stored.)"""
    cols = [c + "_true_fraction" for c in schema.label_cols]
    if not all(c in catalog.columns for c in cols):
        return None
    return catalog[cols].to_numpy(dtype=np.float64)


def vote_mae_report(
    predicted: np.ndarray,
    catalog: pd.DataFrame,
    train_catalog: pd.DataFrame,
    schema: Schema = decals_dr5,
) -> dict[str, float | None]:
    """``vote_mae``, ``baseline_vote_mae`` and (with synthetic truth) ``oracle_vote_mae``."""
    baseline = np.broadcast_to(mean_fraction_baseline(train_catalog, schema), predicted.shape)
    truth = simulated_truth(catalog, schema)
    return {
        "vote_mae": vote_fraction_mae(predicted, catalog, schema)["mean"],
        "baseline_vote_mae": vote_fraction_mae(baseline, catalog, schema)["mean"],
        "oracle_vote_mae": None if truth is None else vote_fraction_mae(truth, catalog, schema)["mean"],
    }


@torch.no_grad()
@keep_freed_memory()
def predict_vote_fractions(
    model: torch.nn.Module,
    catalog: pd.DataFrame,
    image_size: int,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    mc_samples: int = 1,
    channels: int = 3,
    progress: bool = False,
) -> pd.DataFrame:
    """Predicted vote fractions for every galaxy: ``id_str`` + one ``{column}_fraction`` per answer.

    Images of any size are resized to ``image_size``, the size the model was trained at. With
    ``mc_samples > 1`` the fractions average that many MC-dropout passes and
    ``{column}_fraction_std`` columns give their spread (the model's uncertainty).
    """
    from ..datasets import GalaxyDataset, eval_transform, make_dataloader

    device = torch.device(device) if device is not None else get_device()
    schema: Schema = getattr(model, "schema", decals_dr5)
    data = GalaxyDataset(catalog, schema=None, transform=eval_transform(image_size, channels), channels=channels)
    loader = make_dataloader(data, batch_size, shuffle=False, device=device)
    memory_format = torch.channels_last if default_channels_last(device) else torch.contiguous_format
    model.to(device, memory_format=memory_format).eval()
    if progress:
        from tqdm.auto import tqdm

        loader = tqdm(loader, desc="predicting", unit="batch")
    means, stds = [], []
    for images in loader:
        images = images.to(device).contiguous(memory_format=memory_format)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            prediction = model.predict_fractions(images, mc_samples=mc_samples)
        means.append(prediction.mean.float().cpu())
        stds.append(prediction.std.float().cpu())
    empty = torch.zeros((0, schema.n_answers))
    columns = [c + "_fraction" for c in schema.label_cols]
    out = pd.DataFrame(torch.cat(means or [empty]).numpy(), columns=columns)
    if mc_samples > 1:
        spread = pd.DataFrame(torch.cat(stds or [empty]).numpy(), columns=[c + "_std" for c in columns])
        out = pd.concat([out, spread], axis=1)
    out.insert(0, "id_str", catalog["id_str"].astype(str).to_numpy())
    return out


@keep_freed_memory()
def _simulated_concentrations(model: torch.nn.Module, morphology, rows: np.ndarray, size: int,
                              chunk: int = 2000) -> torch.Tensor:
    """Render galaxies ``rows`` a chunk at a time (to bound memory) and run ``model`` on them."""
    from ..synthetic import render

    out = []
    with torch.inference_mode():
        for start in range(0, len(rows), chunk):
            images = torch.from_numpy(render(morphology.take(rows[start : start + chunk]), size)).permute(0, 3, 1, 2)
            out += [model(batch.float() / 255) for batch in images.split(256)]
    return torch.cat(out)


def remeasure_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Measure a pretrain run on simulated galaxies again, from its saved model, in float32 on the CPU.

    Re-simulates the run's validation and test galaxies (n, size and seed come from the model's
    ``trained_on``) and returns the validation loss (``val_loss_float32``), ``val_check`` and the
    test split's vote-MAE report, as :func:`~galzoo_tools.pretrain.pretrain` writes them. For runs
    stopped after their last epoch but before their own evaluation, or to check a GPU run's figures.
    """
    from ..losses import dirichlet_multinomial_loss, expected_fractions
    from ..models import load_model, read_model_config
    from ..synthetic import simulate_catalog, trained_universe

    run_dir = Path(run_dir)
    n, size, seed, survey = trained_universe(read_model_config(run_dir / "model"), run_dir / "model" / "config.json")
    split = read_split(run_dir)
    model = load_model(run_dir / "model", device="cpu").eval()
    morphology, catalog = simulate_catalog(n, seed=seed, survey=survey)
    position = pd.Series(np.arange(len(catalog)), index=catalog["id_str"])

    def rows(name: str) -> np.ndarray:
        return position[split.loc[split["split"] == name, "id_str"]].to_numpy()

    val, test = rows("val"), rows("test")
    counts = torch.tensor(catalog.iloc[val][decals_dr5.label_cols].to_numpy(), dtype=torch.float32)
    loss = dirichlet_multinomial_loss(counts, _simulated_concentrations(model, morphology, val, size), decals_dr5).sum(1)
    fractions = expected_fractions(_simulated_concentrations(model, morphology, test, size), decals_dr5)
    return {
        "val_loss_float32": float(loss.mean()),
        "val_check": {"n": min(VAL_CHECK_SIZE, len(val)), "loss": float(loss[:VAL_CHECK_SIZE].mean())},
        **vote_mae_report(fractions.numpy(), catalog.iloc[test], catalog.iloc[rows("train")]),
        "evaluated_on": "test",
        **{f"n_{name}": int((split["split"] == name).sum()) for name in ("train", "val", "test")},
    }
