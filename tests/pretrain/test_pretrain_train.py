"""The training loop: it learns, it resumes exactly after a kill, it stops early, DDP works."""

import os
import socket

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from galzoo_tools.pretrain import CHECKPOINT_NAME, TrainConfig, check_resume_settings, fit
from galzoo_tools.schema import decals_dr5


class TinyConcentrationNet(nn.Module):
    """Small enough to train in a second; has dropout so RNG state matters on resume."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(8, decals_dr5.n_answers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1 + 99 * torch.sigmoid(self.head(self.body(x)))


def vote_data(n: int = 96, seed: int = 0) -> TensorDataset:
    """Images whose brightness says smooth (bright) or featured (dim), with tree-consistent votes."""
    rng = np.random.default_rng(seed)
    smooth = rng.random(n) < 0.5
    brightness = np.where(smooth, 0.8, 0.1)[:, None, None, None]
    images = (rng.random((n, 3, 16, 16)) * 0.2 + brightness).astype(np.float32)
    counts = np.zeros((n, decals_dr5.n_answers), dtype=np.float32)
    s = decals_dr5.answer("smooth-or-featured-dr5_smooth").index
    f = decals_dr5.answer("smooth-or-featured-dr5_featured-or-disk").index
    m = decals_dr5.answer("merging-dr5_none").index
    p = np.where(smooth, 0.9, 0.1)
    n_vol = rng.choice([5, 40], size=n)
    counts[:, s] = rng.binomial(n_vol, p)
    counts[:, f] = n_vol - counts[:, s]
    counts[:, m] = n_vol
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(counts))


def config(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=16, lr=3e-3, patience=10, seed=3, num_workers=0)
    base.update(kw)
    return TrainConfig(**base)


def test_training_reduces_validation_loss(tmp_path):
    torch.manual_seed(0)
    model = TinyConcentrationNet()
    result = fit(model, vote_data(), vote_data(48, seed=1), tmp_path, config(epochs=6), device="cpu", progress=False)
    losses = [r["val_loss"] for r in result.history]
    assert losses[-1] < losses[0]
    assert result.images_per_second > 0
    assert set(result.history[0]["val_loss_per_question"]) == set(decals_dr5.question_names)
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert state["epoch"] == 5


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path):
    torch.manual_seed(0)
    reference = TinyConcentrationNet()
    fit(reference, vote_data(), vote_data(32, 1), tmp_path / "full", config(), device="cpu", progress=False)

    torch.manual_seed(0)
    model = TinyConcentrationNet()

    def kill_in_second_epoch(step: int, loss: float) -> None:
        if step == 8:  # 6 steps per epoch: this is mid-way through epoch 2
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(model, vote_data(), vote_data(32, 1), tmp_path / "killed", config(), device="cpu", progress=False,
            on_step=kill_in_second_epoch)
    assert torch.load(tmp_path / "killed" / CHECKPOINT_NAME, weights_only=True)["epoch"] == 0

    torch.manual_seed(123)  # a fresh process would not share the first run's RNG
    resumed_model = TinyConcentrationNet()
    result = fit(resumed_model, vote_data(), vote_data(32, 1), tmp_path / "killed", config(), resume=True,
                 device="cpu", progress=False)
    assert result.epochs_run == 3
    for (name, a), b in zip(reference.state_dict().items(), resumed_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)


def test_early_stopping_and_best_callback(tmp_path):
    torch.manual_seed(0)
    best = []
    result = fit(TinyConcentrationNet(), vote_data(), vote_data(32, 1), tmp_path, config(epochs=20, lr=0.0, patience=2),
                 device="cpu", progress=False, on_best=lambda m, r: best.append(r["epoch"]))
    assert result.stopped_early
    assert result.epochs_run < 20
    assert best and best[0] == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = TinyConcentrationNet()
    fit(model, vote_data(), vote_data(32, 1), out, config(epochs=2), device="cpu", progress=False)
    torch.save(model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
    # Leave without tearing gloo down. About one run in ten, its teardown aborted the process
    # ("terminate called without an active exception") after everything above had finished.
    os._exit(0)


def test_ddp_with_gloo_keeps_replicas_in_sync(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in a:
        torch.testing.assert_close(a[key], b[key], msg=key)
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert state["epoch"] == 1


@pytest.mark.parametrize("workers", [0, 1])
def test_images_are_decoded_up_front_only_for_loaders_with_workers(tmp_path, workers):
    from galzoo_tools.catalog import read_catalog
    from galzoo_tools.datasets import GalaxyDataset, resize_transform
    from galzoo_tools.synthetic import write_universe

    catalog = read_catalog(write_universe(tmp_path / "u", n=40, size=32, seed=0, progress=False))
    train = GalaxyDataset(catalog.iloc[:32], transform=resize_transform(16), cache=True)
    val = GalaxyDataset(catalog.iloc[32:], transform=resize_transform(16), cache=True)
    torch.manual_seed(0)
    result = fit(TinyConcentrationNet(), train, val, tmp_path / "run", config(epochs=1, num_workers=workers),
                 device="cpu", progress=False)
    if workers:
        # decoded in this process before the workers started, so the workers share the images
        assert len(train._cache) == 32 and len(val._cache) == 8 and result.cache_seconds > 0
    else:
        assert result.cache_seconds < 1e-3  # nothing decoded up front: the loop decodes as it goes


def _decoded_sets(tmp_path, transform=None):
    from galzoo_tools.catalog import read_catalog
    from galzoo_tools.datasets import GalaxyDataset, resize_transform
    from galzoo_tools.synthetic import write_universe

    catalog = read_catalog(write_universe(tmp_path / "u", n=40, size=32, seed=0, progress=False))
    transform = transform or resize_transform(16)
    return (GalaxyDataset(catalog.iloc[:32], transform=transform, cache=True),
            GalaxyDataset(catalog.iloc[32:], transform=transform, cache=True))


def test_data_on_device_trains_exactly_like_the_dataloader(tmp_path):
    from galzoo_tools.augment import BatchAugment

    results, weights = [], []
    for on_device in (False, True):
        train, val = _decoded_sets(tmp_path / str(on_device))
        torch.manual_seed(0)
        model = TinyConcentrationNet()
        results.append(fit(model, train, val, tmp_path / f"run{on_device}",
                           config(epochs=2, batch_size=8, data_on_device=on_device),
                           device="cpu", progress=False, augment=BatchAugment(16)))
        weights.append(model.state_dict())
    # same batches in the same order, same augmentation draws: the same model
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], msg=key)
    assert [r["val_loss"] for r in results[0].history] == pytest.approx([r["val_loss"] for r in results[1].history])
    assert results[1].cache_seconds > 0  # decoded and stacked up front


def test_data_on_device_refuses_a_random_transform(tmp_path):
    from galzoo_tools.datasets import train_transform

    train, val = _decoded_sets(tmp_path, transform=train_transform(16))
    with pytest.raises(ValueError, match="resize_transform"):
        fit(TinyConcentrationNet(), train, val, tmp_path / "run", config(epochs=1, data_on_device=True),
            device="cpu", progress=False)


def test_epoch_order_depends_only_on_seed_and_epoch():
    from galzoo_tools.pretrain.data import _epoch_indices
    from galzoo_tools.pretrain.distributed import DistributedContext

    one = _epoch_indices(50, True, 3, DistributedContext(), 1)
    assert torch.equal(one, _epoch_indices(50, True, 3, DistributedContext(), 1))
    assert not torch.equal(one, _epoch_indices(50, True, 3, DistributedContext(), 2))
    assert sorted(one.tolist()) == list(range(50))
    assert torch.equal(_epoch_indices(5, False, 3, DistributedContext(), 1), torch.arange(5))


def test_data_goes_on_the_gpu_only_when_it_fits(tmp_path, monkeypatch):
    from galzoo_tools.pretrain.config import DEVICE_DATA_FRACTION
    from galzoo_tools.pretrain.data import _data_on_device

    train, val = _decoded_sets(tmp_path)
    needed = train.stacked_bytes() + val.stacked_bytes()  # 40 images of 3 x 16 x 16
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (int(needed / DEVICE_DATA_FRACTION) + 1, 10**12))
    assert _data_on_device(config(), cuda, (train, val))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (needed, 10**12))
    assert not _data_on_device(config(), cuda, (train, val))
    assert not _data_on_device(config(data_on_device=False), cuda, (train, val))
    assert not _data_on_device(config(), torch.device("cpu"), (train, val))  # the CPU keeps its DataLoader


def test_fewer_galaxies_than_a_batch_still_train_with_a_warning(tmp_path):
    torch.manual_seed(0)
    model = TinyConcentrationNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    steps = []
    with pytest.warns(UserWarning, match=r"10 training galaxies.*batch size 16.*cut to 10"):
        result = fit(model, vote_data(10), vote_data(8, 1), tmp_path, config(epochs=2, batch_size=16),
                     device="cpu", progress=False, on_step=lambda step, loss: steps.append(step))
    assert steps == [1, 2]  # one step per epoch, not none
    assert result.batch_size == 10 and [r["steps"] for r in result.history] == [1, 1]
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["config"]["batch_size"] == 10


def test_no_training_galaxies_is_an_error(tmp_path):
    empty = TensorDataset(torch.zeros(0, 3, 16, 16), torch.zeros(0, decals_dr5.n_answers))
    with pytest.raises(ValueError, match="no training galaxies"):
        fit(TinyConcentrationNet(), empty, vote_data(8, 1), tmp_path, config(epochs=1), device="cpu", progress=False)
    assert not (tmp_path / CHECKPOINT_NAME).exists()


SETTINGS = {"catalog": "/data/catalog.parquet", "seed": 3, "split": "abc123", "lr": 3e-3, "epochs": 2,
            "backbone": "tiny", "image_size": 16}


def test_resume_refuses_a_checkpoint_written_with_other_settings(tmp_path):
    torch.manual_seed(0)
    fit(TinyConcentrationNet(), vote_data(32), vote_data(8, 1), tmp_path, config(epochs=1), device="cpu",
        progress=False, settings=SETTINGS)
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert state["settings"] == SETTINGS
    other = {**SETTINGS, "lr": 1e-2, "image_size": 24}
    with pytest.raises(ValueError, match=r"cannot resume: .*last_checkpoint.pt.*lr: 0.003 then, 0.01 now; "
                                         r"image_size: 16 then, 24 now") as refused:
        fit(TinyConcentrationNet(), vote_data(32), vote_data(8, 1), tmp_path, config(epochs=2), device="cpu",
            progress=False, resume=True, settings=other)
    assert "seed" not in str(refused.value) and "catalog" not in str(refused.value)
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["epoch"] == 0  # nothing trained on
    with pytest.raises(ValueError, match="epochs: 2 then, 3 now"):
        check_resume_settings(tmp_path / CHECKPOINT_NAME, {**SETTINGS, "epochs": 3})
    check_resume_settings(tmp_path / CHECKPOINT_NAME, SETTINGS)  # the same settings: resumes
    check_resume_settings(tmp_path / "nowhere.pt", other)  # no checkpoint yet: nothing to compare


def test_an_old_checkpoint_without_settings_resumes_with_a_warning(tmp_path):
    torch.manual_seed(0)
    fit(TinyConcentrationNet(), vote_data(32), vote_data(8, 1), tmp_path, config(epochs=1), device="cpu",
        progress=False)
    assert "settings" not in torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    with pytest.warns(UserWarning, match="records no settings"):
        result = fit(TinyConcentrationNet(), vote_data(32), vote_data(8, 1), tmp_path, config(epochs=2),
                     device="cpu", progress=False, resume=True, settings=SETTINGS)
    assert result.epochs_run == 2
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["settings"] == SETTINGS  # recorded from now on


def test_a_damaged_checkpoint_is_named(tmp_path):
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"PK\x03\x04 not really a checkpoint")
    with pytest.raises(ValueError, match=r"cannot read the checkpoint .*last_checkpoint.pt.*damaged or truncated"):
        fit(TinyConcentrationNet(), vote_data(32), vote_data(8, 1), tmp_path, config(epochs=1), device="cpu",
            progress=False, resume=True)
