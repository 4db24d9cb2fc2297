"""The torch Dataset, the zoobot-style transforms, the DataLoader settings and load_images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest_data import make_catalog_folder, write_image
from PIL import Image

from galzoo_tools import datasets
from galzoo_tools.catalog import read_catalog
from galzoo_tools.datasets import (
    GalaxyDataset,
    decode_image,
    eval_transform,
    load_images,
    make_dataloader,
    resize_transform,
    train_transform,
)
from galzoo_tools.schema import decals_dr5


@pytest.fixture()
def catalog(tmp_path: Path) -> pd.DataFrame:
    df = make_catalog_folder(tmp_path, n=8)
    df.to_csv(tmp_path / "catalog.csv", index=False)
    return read_catalog(tmp_path / "catalog.csv")


def test_items_are_images_and_vote_counts_in_schema_order(catalog: pd.DataFrame) -> None:
    ds = GalaxyDataset(catalog, size=32)
    image, labels = ds[1]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.5
    assert labels.dtype == torch.float32 and labels.shape == (34,)
    expected = catalog.loc[1, decals_dr5.label_cols].to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(labels.numpy(), expected)
    assert ds.ids[1] == "gal001"


def test_raw_images_keep_their_size_and_get_the_asked_channels(catalog: pd.DataFrame) -> None:
    ds = GalaxyDataset(catalog, schema=None)
    assert [tuple(ds[i].shape) for i in range(4)] == [(3, 48, 48), (3, 56, 40), (3, 64, 64), (3, 33, 33)]
    assert all(ds[i].dtype == torch.uint8 for i in range(4))
    grey = GalaxyDataset(catalog, schema=None, channels=1)
    assert grey[0].shape == (1, 48, 48) and grey[1].shape == (1, 56, 40)
    rgb_from_grey = ds[1]  # an L-mode PNG: the three channels are equal
    assert torch.equal(rgb_from_grey[0], rgb_from_grey[2])


def test_own_label_columns_and_unlabelled(catalog: pd.DataFrame) -> None:
    _, ring = GalaxyDataset(catalog, label_cols=["ring"], size=16)[3]
    assert ring.tolist() == [1.0]
    assert isinstance(GalaxyDataset(catalog, schema=None, size=16)[0], torch.Tensor)
    with pytest.raises(KeyError, match="schema=None"):
        GalaxyDataset(catalog[["id_str", "file_loc"]])


def test_eval_transform_is_deterministic_and_crops_to_a_centred_square() -> None:
    image = torch.zeros((1, 40, 60), dtype=torch.uint8)
    image[:, :, 10:50] = 200  # the centred 40x40 square
    out = eval_transform(20)(image)
    assert out.shape == (3, 20, 20) and out.dtype == torch.float32
    assert torch.allclose(out, torch.full_like(out, 200 / 255), atol=1e-6)
    assert torch.equal(out, eval_transform(20)(image))
    assert eval_transform(20, channels=1)(torch.zeros((3, 30, 30), dtype=torch.uint8)).shape == (1, 20, 20)


def test_train_transform_randomises_but_keeps_the_galaxy_centred(tmp_path: Path) -> None:
    image = decode_image(write_image(tmp_path / "g.png", (64, 64), "RGB", seed=0))
    torch.manual_seed(0)
    outs = torch.stack([train_transform(32)(image) for _ in range(8)])
    assert outs.shape == (8, 3, 32, 32) and outs.dtype == torch.float32
    assert 0.0 <= outs.min() and outs.max() <= 1.0
    assert not torch.allclose(outs[0], outs[1])
    centre = outs[:, :, 12:20, 12:20].mean(dim=(1, 2, 3))
    border = outs[:, :, :4, :].mean(dim=(1, 2, 3))
    assert (centre > 3 * border).all()


def test_cache_serves_images_after_the_file_is_gone(catalog: pd.DataFrame) -> None:
    cached = GalaxyDataset(catalog, schema=None, cache=True)
    uncached = GalaxyDataset(catalog, schema=None, cache=False)
    first = cached[0].clone()
    uncached[0]
    os.remove(catalog.loc[0, "file_loc"])
    assert torch.equal(cached[0], first)
    with pytest.raises(OSError, match="gal000"):
        uncached[0]


def test_auto_cache_follows_the_size_limit(catalog: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    assert GalaxyDataset(catalog, schema=None).cache_enabled
    monkeypatch.setattr(datasets, "CACHE_LIMIT_BYTES", 1000)
    assert not GalaxyDataset(catalog, schema=None).cache_enabled


def test_cache_limit_is_a_quarter_of_memory_or_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GALZOO_IMAGE_CACHE_GB", raising=False)
    pages = {"SC_PHYS_PAGES": 64 * 1024**2, "SC_PAGE_SIZE": 1024}  # 64 GiB
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert datasets._cache_limit_bytes() == 16 * 1024**3
    pages["SC_PHYS_PAGES"] = 1024**2  # 1 GiB: the 2 GiB floor applies
    assert datasets._cache_limit_bytes() == 2 * 1024**3
    monkeypatch.setenv("GALZOO_IMAGE_CACHE_GB", "0.5")
    assert datasets._cache_limit_bytes() == 1024**3 // 2
    monkeypatch.setenv("GALZOO_IMAGE_CACHE_GB", "lots")
    with pytest.raises(ValueError, match="GALZOO_IMAGE_CACHE_GB"):
        datasets._cache_limit_bytes()


def test_worker_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(2)), raising=False)
    assert datasets.default_num_workers(torch.device("cpu")) == 0
    assert datasets.default_num_workers(torch.device("cuda")) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(32)), raising=False)
    assert datasets.default_num_workers(torch.device("cuda")) == 8
    assert 0 < datasets.default_num_workers(torch.device("cpu")) <= 4


def test_dataloader_batches_on_cpu(catalog: pd.DataFrame) -> None:
    loader = make_dataloader(GalaxyDataset(catalog, transform=train_transform(24)), batch_size=4, shuffle=True,
                             device="cpu", seed=0)
    assert loader.num_workers in (0, 1) or (os.cpu_count() or 1) > 2
    assert not loader.pin_memory
    images, labels = next(iter(loader))
    assert images.shape == (4, 3, 24, 24) and labels.shape == (4, 34)
    cuda_loader = make_dataloader(GalaxyDataset(catalog, size=8), batch_size=2, shuffle=False, device="cuda",
                                  num_workers=2)
    assert cuda_loader.pin_memory and cuda_loader.persistent_workers and cuda_loader.prefetch_factor == 4


class _Threads(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        return torch.get_num_threads()


def test_workers_run_single_threaded() -> None:
    loader = make_dataloader(_Threads(), batch_size=2, shuffle=False, device="cpu", num_workers=1)
    assert next(iter(loader)).tolist() == [1, 1]


def test_load_images_matches_the_eval_pipeline(catalog: pd.DataFrame) -> None:
    stack = load_images(catalog, size=16)
    assert stack.shape == (8, 3, 16, 16) and stack.dtype == torch.uint8
    via_dataset = GalaxyDataset(catalog, schema=None, size=16)[5]
    assert torch.allclose(stack[5].float() / 255, via_dataset, atol=1 / 255 + 1e-6)
    assert load_images(catalog["file_loc"].tolist()[:2], size=8, channels=1).shape == (2, 1, 8, 8)


def test_a_users_own_folder_loads_unchanged(tmp_path: Path) -> None:
    """Mixed formats, sizes and modes (incl. 16-bit and RGBA PNG) + a CSV with relative paths."""
    folder = tmp_path / "my_galaxies"
    names = []
    for i, (size, mode, suffix) in enumerate([((120, 90), "RGB", ".jpg"), ((50, 50), "L", ".png"),
                                               ((77, 77), "RGB", ".jpeg"), ((64, 64), "L", ".jpg")]):
        names.append(write_image(folder / "imgs" / f"ngc{i}{suffix}", size, mode, seed=i).name)
    deep = (np.random.default_rng(0).random((40, 40)) * 60000).astype(np.uint16)
    Image.fromarray(deep).save(folder / "imgs" / "deep16.png")
    Image.new("RGBA", (30, 30), (200, 100, 50, 128)).save(folder / "imgs" / "alpha.png")
    names += ["deep16.png", "alpha.png"]
    pd.DataFrame({"file_loc": [f"imgs/{n}" for n in names], "ring": [1, 0, 0, 1, 0, 1]}).to_csv(
        folder / "my_rings.csv", index=False)

    ds = GalaxyDataset(folder / "my_rings.csv", schema=None, label_cols=["ring"], size=32)
    images, rings = next(iter(make_dataloader(ds, batch_size=6, shuffle=False, device="cpu", num_workers=0)))
    assert images.shape == (6, 3, 32, 32) and rings.squeeze(1).tolist() == [1, 0, 0, 1, 0, 1]
    assert ds.ids[:2] == ["ngc0", "ngc1"]
    assert images[4].std() > 0.05  # the 16-bit image was rescaled, not clipped to white


def test_preloading_in_processes_caches_the_same_images(catalog: pd.DataFrame) -> None:
    in_threads, in_processes = GalaxyDataset(catalog, cache=True), GalaxyDataset(catalog, cache=True)
    in_threads.preload(processes=1)
    in_processes.preload(processes=2)
    assert len(in_processes._cache) == len(catalog)
    for i in range(len(catalog)):
        assert torch.equal(in_threads._cache[i], in_processes._cache[i])


def test_preloading_in_processes_names_an_unreadable_file(catalog: pd.DataFrame) -> None:
    Path(catalog.loc[3, "file_loc"]).write_bytes(b"not an image")
    with pytest.raises(OSError, match="cannot read image .*gal003"):
        GalaxyDataset(catalog, cache=True).preload(processes=2)


def test_stacked_resizes_every_image_once_into_one_tensor(catalog: pd.DataFrame) -> None:
    ds = GalaxyDataset(catalog, transform=resize_transform(24), cache=True)
    images, labels = ds.stacked()
    assert images.shape == (8, 3, 24, 24) and images.dtype == torch.uint8
    assert ds.stacked_bytes() == images.numel()
    for i in (0, 1, 7):  # what __getitem__ gives, image by image
        image, label = ds[i]
        assert torch.equal(images[i], image) and torch.equal(labels[i], label)


def test_stacked_names_the_file_of_another_size(catalog: pd.DataFrame) -> None:
    ds = GalaxyDataset(catalog, cache=True)  # raw images of several sizes
    assert ds.stackable
    with pytest.raises(ValueError, match=r"gal001.*resize_transform"):
        ds.stacked()
    assert not GalaxyDataset(catalog, transform=train_transform(24), cache=True).stackable
    assert not GalaxyDataset(catalog, transform=resize_transform(24), cache=False).stackable
