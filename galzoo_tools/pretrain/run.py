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
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from ..config import get_device
from ..schema import decals_dr5
from .config import PretrainConfig

__all__ = ["pretrain"]


def pretrain(
    config: PretrainConfig,
    out_dir: str | os.PathLike,
    catalog: str | os.PathLike | pd.DataFrame | None = None,
    *,
    resume: bool = False,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a model on every question of ``catalog`` (or of ``config.n_galaxies`` synthetic galaxies),
    as ``config`` says.

    Simulated galaxies (seen as ``config.survey`` sees them) are written once to
    ``cache_dir()/universes/`` and reused (:func:`galzoo_tools.synthetic.cached_universe`).
    Returns the metrics also written to ``OUT/metrics.json``. ``resume`` continues
    ``OUT/last_checkpoint.pt``, and refuses (``ValueError`` naming the keys) when that run had
    another catalog, split, seed, learning rate, number of epochs, backbone, image size or channels.
    """
    from ..augment import BatchAugment, SurveyJitter
    from ..catalog import read_catalog
    from ..datasets import GalaxyDataset, resize_transform
    from ..jsonio import write_metrics
    from ..models import load_model, save_model
    from ..synthetic import cached_universe, universe_description, universe_folder
    from .data import split_catalog
    from .distributed import distributed_context
    from .evaluate import VAL_CHECK_SIZE, predict_vote_fractions, vote_mae_report
    from .frozen import cached_views, check_frozen_blocks, split_encoder
    from .model import head_at_mean_fractions, keeps_head, starting_model
    from .train import CHECKPOINT_NAME, check_resume_settings, evaluate_loss, fit

    if not isinstance(config, PretrainConfig):
        raise TypeError(f"pretrain takes a PretrainConfig first (e.g. PretrainConfig.for_scale('small')), "
                        f"not {type(config).__name__}")
    seed, image_size, channels, batch_size = config.seed, config.image_size, config.channels, config.batch_size
    out_dir = Path(out_dir)
    ctx = distributed_context()
    if config.frozen_blocks and ctx.enabled:
        raise ValueError("frozen_blocks caches the frozen blocks' outputs in one process: run it without torchrun")
    check_frozen_blocks(config.backbone, config.frozen_blocks)  # before rendering galaxies or writing files
    if config.frozen_blocks and config.survey_jitter:
        raise ValueError("survey_jitter augments every image afresh, which frozen_blocks' stored outputs cannot: "
                         "use one or the other")
    out_dir.mkdir(parents=True, exist_ok=True)

    if catalog is None:
        n, survey = config.n_galaxies, config.survey
        universe = universe_folder(n, image_size, seed, survey)
        if ctx.is_main:
            cached_universe(universe, n, image_size, seed, progress, survey)
        if ctx.enabled:
            torch.distributed.barrier()
        catalog = universe / "catalog.parquet"
        trained_on = universe_description(n, image_size, seed, survey)
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
        "seed": seed, "lr": config.lr, "epochs": config.epochs, "backbone": config.backbone, "image_size": image_size,
        "channels": channels, "frozen_blocks": config.frozen_blocks, "survey_jitter": config.survey_jitter,
    }
    if resume:
        check_resume_settings(out_dir / CHECKPOINT_NAME, settings, warn=False)  # fit() warns if it has none
    if ctx.is_main:
        split.to_csv(out_dir / "split.csv", index=False)

    # images stay uint8 at the model's size until they reach the device; augmentation happens there
    train_data = GalaxyDataset(train, transform=resize_transform(image_size, channels), channels=channels)
    val_data = GalaxyDataset(val, transform=resize_transform(image_size, channels), channels=channels)
    torch.manual_seed(seed)
    model = starting_model(config.init, config.backbone, channels)
    if config.head_at_mean and not keeps_head(config.init, config.backbone, channels):
        head_at_mean_fractions(model, train)
    model_dir = out_dir / "model"
    extra = {"image_size": image_size, "channels": channels, "trained_on": trained_on, "seed": seed}

    def save_best(best: torch.nn.Module, record: dict) -> None:
        save_model(best, model_dir, {**extra, "epoch": record["epoch"], "val_loss": record["val_loss"]},
                   half=config.half)

    def save_whole(trained: torch.nn.Module, record: dict) -> None:
        save_best(model, record)  # with frozen blocks fit trains the top; the saved model is the whole one

    augment = BatchAugment(image_size)
    if config.survey_jitter:
        augment = torch.nn.Sequential(augment, SurveyJitter())
    frozen_seconds = 0.0
    if config.frozen_blocks:
        bottom, top = split_encoder(model.to(device if device is not None else get_device()), config.frozen_blocks)
        start = time.perf_counter()
        train_views = cached_views(bottom, train, image_size, channels=channels, progress=progress)
        val_views = cached_views(bottom, val, image_size, views=1, channels=channels)
        frozen_seconds = time.perf_counter() - start
        result = fit(top, train_views, val_views, out_dir, config.train_config(), schema=decals_dr5, resume=resume,
                     device=device, progress=progress, on_best=save_whole, settings=settings)
    else:
        result = fit(model, train_data, val_data, out_dir, config.train_config(), schema=decals_dr5, resume=resume,
                     device=device, progress=progress, on_best=save_best, augment=augment,
                     settings=settings)
    if not ctx.is_main:
        return {}

    best = load_model(model_dir)
    run_device = torch.device(device) if device is not None else get_device()
    check = torch.utils.data.Subset(val_data, range(min(VAL_CHECK_SIZE, len(val_data))))  # decoded already
    check_loss = evaluate_loss(best.to(run_device), torch.utils.data.DataLoader(check, batch_size), decals_dr5, run_device)
    evaluate_on = test if len(test) else val
    predictions = predict_vote_fractions(best, evaluate_on, image_size, batch_size, device, channels=channels)
    fractions = predictions[[c + "_fraction" for c in decals_dr5.label_cols]].to_numpy()
    metrics: dict[str, Any] = {
        "val_loss": result.best_val_loss,
        "val_check": {"n": len(check), "loss": float(check_loss.sum())},
        **vote_mae_report(fractions, evaluate_on, train),
        "evaluated_on": "test" if len(test) else "val",
        "images_per_second": result.images_per_second,
        "cache_seconds": result.cache_seconds,
        "backbone": config.backbone,
        "init": config.init,
        "frozen_blocks": config.frozen_blocks, "survey_jitter": config.survey_jitter,
        **({"frozen_cache_seconds": frozen_seconds} if config.frozen_blocks else {}),
        "image_size": image_size,
        "batch_size": result.batch_size,  # fewer than asked when there were fewer training galaxies
        "channels": channels,
        "epochs": config.epochs,
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
