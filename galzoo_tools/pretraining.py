"""Pretraining end to end: catalog → split → model → training → metrics → saved model.

This is what ``galzoo pretrain`` and notebook 02 run. Each step is a plain function so a
reader can run them one at a time; :func:`pretrain` strings them together and writes

* ``OUT/model/`` — the best model (``model.safetensors`` + ``config.json``), see
  :func:`galzoo_tools.models.load_model`;
* ``OUT/last_checkpoint.pt`` — everything needed to resume (``--resume``);
* ``OUT/split.csv`` — which galaxy went to train, validation or test;
* ``OUT/history.json`` and ``OUT/metrics.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .config import Scale, cache_dir, get_device, get_scale
from .cpu_memory import keep_freed_memory
from .schema import Schema, decals_dr5

__all__ = ["split_catalog", "simulated_catalog", "simulated_universe", "predict_catalog", "starting_model", "pretrain"]


def split_catalog(
    catalog: pd.DataFrame, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Random train / validation / test split (row order shuffled by ``seed``)."""
    if not 0 < val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError("need 0 < val_fraction, 0 <= test_fraction and val_fraction + test_fraction < 1")
    order = np.random.default_rng(seed).permutation(len(catalog))
    n_val = max(1, int(round(len(catalog) * val_fraction)))
    n_test = int(round(len(catalog) * test_fraction))
    val, test, train = np.split(order, [n_val, n_val + n_test])
    if len(train) == 0:
        raise ValueError(f"catalog of {len(catalog)} galaxies is too small to split")
    take = catalog.iloc
    return take[train].reset_index(drop=True), take[val].reset_index(drop=True), take[test].reset_index(drop=True)


VAL_CHECK_SIZE = 2000
"""The first this-many validation galaxies (in ``split.csv`` order) get their loss recorded as
``metrics["val_check"]``, from the saved model in float32: a check small enough to repeat."""


def read_split(run_dir: str | os.PathLike) -> pd.DataFrame:
    """A pretrain run's ``split.csv`` (or ``split.csv.gz``, as the committed reference model keeps it)."""
    run_dir = Path(run_dir)
    for name in ("split.csv", "split.csv.gz"):
        if (run_dir / name).exists():
            return pd.read_csv(run_dir / name)
    raise FileNotFoundError(f"{run_dir} has no split.csv or split.csv.gz: is it a galzoo pretrain output folder?")


def simulated_catalog(folder: str | os.PathLike, n: int, size: int, seed: int = 0, progress: bool = True,
                      survey: str = "decals") -> Path:
    """Simulate ``n`` galaxies as ``survey`` sees them into ``folder`` once; later calls reuse them.

    A folder made with other settings, or by an older simulator, is simulated again.
    """
    from .config import worker_processes
    from .synthetic import SIMULATOR_VERSION, write_universe

    folder = Path(folder)
    catalog = folder / "catalog.parquet"
    metrics = folder / "metrics.json"
    if catalog.exists() and metrics.exists():
        made = json.loads(metrics.read_text())
        wanted = (n, size, seed, survey, SIMULATOR_VERSION)
        if tuple(made.get(k) for k in ("n", "size", "seed", "survey", "simulator_version")) == wanted:
            return catalog
    return write_universe(folder, n=n, size=size, seed=seed, progress=progress, processes=worker_processes(),
                          survey=survey)


@torch.no_grad()
@keep_freed_memory()
def predict_catalog(
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
    from .datasets import GalaxyDataset, eval_transform, make_dataloader

    device = torch.device(device) if device is not None else get_device()
    schema: Schema = getattr(model, "schema", decals_dr5)
    data = GalaxyDataset(catalog, schema=None, transform=eval_transform(image_size, channels), channels=channels)
    loader = make_dataloader(data, batch_size, shuffle=False, device=device)
    model.to(device).eval()
    if progress:
        from tqdm.auto import tqdm

        loader = tqdm(loader, desc="predicting", unit="batch")
    means, stds = [], []
    for images in loader:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            prediction = model.predict_fractions(images.to(device), mc_samples=mc_samples)
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


def starting_model(source: str | os.PathLike, backbone: str = "efficientnet_lite0", channels: int = 3) -> torch.nn.Module:
    """The model pretraining starts from.

    A galzoo checkpoint (or ``"reference"``) trained on the same questions with the same
    backbone and channels keeps its Dirichlet head too, so training *continues* from it: this
    is how to train an existing model further on new galaxies. Every other source (``scratch``,
    ``imagenet``, ``hf_hub:...``, a checkpoint for other questions) gets a fresh head.
    """
    from .models import build_model, load_model, read_model_config, resolve_model_source

    resolved = resolve_model_source(source)
    if resolved.kind == "checkpoint":
        config = read_model_config(resolved.location)
        if (config.get("schema") == decals_dr5.name and config.get("backbone") == backbone
                and int(config.get("in_chans", 3)) == channels):
            return load_model(resolved.location, device="cpu").train()
    return build_model(source, schema=decals_dr5, backbone=backbone, in_chans=channels)


def pretrain(
    out_dir: str | os.PathLike,
    catalog: str | os.PathLike | pd.DataFrame | None = None,
    simulate: int | None = None,
    scale: str | Scale | None = None,
    backbone: str = "efficientnet_lite0",
    source: str = "scratch",
    image_size: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    channels: int = 3,
    lr: float = 1e-3,
    seed: int = 0,
    resume: bool = False,
    device: torch.device | str | None = None,
    num_workers: int | None = None,
    progress: bool = True,
    half: bool = False,
    survey: str = "decals",
) -> dict[str, Any]:
    """Train a model on every question of a catalog (or of ``simulate`` synthetic galaxies).

    Simulated galaxies (seen as ``survey`` sees them) are written once to
    ``cache_dir()/universes/`` and reused. ``half``
    stores the best model in float16 (half the file size). Returns the metrics also written
    to ``OUT/metrics.json``. ``resume`` continues ``OUT/last_checkpoint.pt``, and refuses
    (``ValueError`` naming the keys) when that run had another catalog, split, seed, learning
    rate, number of epochs, backbone, image size or channels.
    """
    from .catalog import read_catalog
    from .augment import BatchAugment
    from .datasets import GalaxyDataset, resize_transform
    from .evaluation import vote_mae_report
    from .jsonio import write_metrics
    from .models import load_model, save_model
    from .training import CHECKPOINT_NAME, TrainConfig, check_resume_settings, distributed_context, evaluate_loss, fit

    preset = get_scale(scale)
    image_size = image_size or preset.image_size
    epochs = epochs or preset.epochs
    batch_size = batch_size or preset.batch_size
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = distributed_context()

    if catalog is None:
        n = simulate or preset.n_galaxies
        universe = cache_dir() / "universes" / f"n{n}_size{image_size}_seed{seed}_{survey}"
        if ctx.is_main:
            simulated_catalog(universe, n, image_size, seed, progress, survey)
        if ctx.enabled:
            torch.distributed.barrier()
        catalog = universe / "catalog.parquet"
        trained_on = f"synthetic universe: galzoo simulate --n {n} --size {image_size} --seed {seed} --survey {survey}"
        catalog_setting = trained_on
    else:
        trained_on = str(catalog) if not isinstance(catalog, pd.DataFrame) else "a DataFrame"
        catalog_setting = (trained_on if isinstance(catalog, pd.DataFrame)
                           else str(Path(catalog).expanduser().absolute()))
    table = read_catalog(catalog, schema=decals_dr5)
    train, val, test = split_catalog(table, seed=seed)
    split = pd.concat([frame[["id_str"]].assign(split=name) for name, frame in
                       (("train", train), ("val", val), ("test", test))])
    # what a resumed run must share with the run it continues (checked before anything is written)
    settings = {
        "catalog": catalog_setting,
        "split": hashlib.sha256(split.to_csv(index=False).encode()).hexdigest()[:16],
        "seed": seed, "lr": lr, "epochs": epochs, "backbone": backbone, "image_size": image_size, "channels": channels,
    }
    if resume:
        check_resume_settings(out_dir / CHECKPOINT_NAME, settings, warn=False)  # fit() warns if it has none
    if ctx.is_main:
        split.to_csv(out_dir / "split.csv", index=False)

    # images stay uint8 at the model's size until they reach the device; augmentation happens there
    train_data = GalaxyDataset(train, transform=resize_transform(image_size, channels), channels=channels)
    val_data = GalaxyDataset(val, transform=resize_transform(image_size, channels), channels=channels)
    torch.manual_seed(seed)
    model = starting_model(source, backbone, channels)
    model_dir = out_dir / "model"
    extra = {"image_size": image_size, "channels": channels, "trained_on": trained_on, "seed": seed}

    def save_best(best: torch.nn.Module, record: dict) -> None:
        save_model(best, model_dir, {**extra, "epoch": record["epoch"], "val_loss": record["val_loss"]}, half=half)

    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, num_workers=num_workers)
    result = fit(model, train_data, val_data, out_dir, config, schema=decals_dr5, resume=resume,
                 device=device, progress=progress, on_best=save_best, augment=BatchAugment(image_size),
                 settings=settings)
    if not ctx.is_main:
        return {}

    best = load_model(model_dir)
    run_device = torch.device(device) if device is not None else get_device()
    check = torch.utils.data.Subset(val_data, range(min(VAL_CHECK_SIZE, len(val_data))))  # decoded already
    check_loss = evaluate_loss(best.to(run_device), torch.utils.data.DataLoader(check, batch_size), decals_dr5, run_device)
    evaluate_on = test if len(test) else val
    predictions = predict_catalog(best, evaluate_on, image_size, batch_size, device, channels=channels)
    fractions = predictions[[c + "_fraction" for c in decals_dr5.label_cols]].to_numpy()
    metrics: dict[str, Any] = {
        "val_loss": result.best_val_loss,
        "val_check": {"n": len(check), "loss": float(check_loss.sum())},
        **vote_mae_report(fractions, evaluate_on, train),
        "evaluated_on": "test" if len(test) else "val",
        "images_per_second": result.images_per_second,
        "cache_seconds": result.cache_seconds,
        "backbone": backbone,
        "source": source,
        "image_size": image_size,
        "batch_size": result.batch_size,  # fewer than asked when there were fewer training galaxies
        "channels": channels,
        "epochs": epochs,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "n_train": len(train),
        "n_val": len(val),
        "n_test": len(test),
        "world_size": ctx.world_size,
        "device": str(get_device() if device is None else device),
    }
    write_metrics(out_dir / "history.json", result.history)
    write_metrics(out_dir / "metrics.json", metrics)
    return metrics


@keep_freed_memory()
def _simulated_concentrations(model: torch.nn.Module, morphology, rows: np.ndarray, size: int,
                              chunk: int = 2000) -> torch.Tensor:
    """Render galaxies ``rows`` a chunk at a time (to bound memory) and run ``model`` on them."""
    from .synthetic import render

    out = []
    with torch.inference_mode():
        for start in range(0, len(rows), chunk):
            images = torch.from_numpy(render(morphology.take(rows[start : start + chunk]), size)).permute(0, 3, 1, 2)
            out += [model(batch.float() / 255) for batch in images.split(256)]
    return torch.cat(out)


def simulated_universe(config: dict[str, Any], where: str | os.PathLike = "the model's config") -> tuple[int, int, int, str]:
    """``(n, size, seed, survey)`` of the synthetic universe a model was trained on, from its ``trained_on``."""
    made = re.search(r"--n (\d+) --size (\d+) --seed (\d+)(?: --survey ([\w-]+))?", config.get("trained_on", ""))
    if made is None:
        raise ValueError(f"{where}: 'trained_on' names no simulated universe, so its galaxies cannot be simulated again")
    n, size, seed = (int(g) for g in made.groups()[:3])
    return n, size, seed, made.group(4) or "decals"


def remeasure_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Measure a pretrain run on simulated galaxies again, from its saved model, in float32 on the CPU.

    Re-simulates the run's validation and test galaxies (n, size and seed come from the model's
    ``trained_on``) and returns the validation loss (``val_loss_float32``), ``val_check`` and the
    test split's vote-MAE report, as :func:`pretrain` writes them. For runs stopped after their
    last epoch but before their own evaluation, or to check a GPU run's figures.
    """
    from .evaluation import vote_mae_report
    from .losses import dirichlet_multinomial_loss, expected_fractions
    from .models import load_model, read_model_config
    from .synthetic import simulate_catalog

    run_dir = Path(run_dir)
    n, size, seed, survey = simulated_universe(read_model_config(run_dir / "model"), run_dir / "model" / "config.json")
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
