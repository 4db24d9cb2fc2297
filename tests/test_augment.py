"""Batch augmentation: right shape and range, really random, repeatable, flux-preserving."""

import torch

from galzoo_tools.augment import BatchAugment, to_float_images


def galaxy_batch(b: int = 8, size: int = 32) -> torch.Tensor:
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    blob = torch.exp(-(((x - size / 2 + 0.5) / 3) ** 2 + ((y - size / 2 + 0.5) / 8) ** 2))  # elongated
    return (blob * 255).to(torch.uint8).expand(b, 3, size, size).clone()


def test_shape_range_and_resize():
    out = BatchAugment(size=24)(galaxy_batch())
    assert out.shape == (8, 3, 24, 24) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1


def test_rotations_change_orientation_but_keep_the_galaxy_centred_and_bright():
    torch.manual_seed(0)
    images = galaxy_batch(64)
    out = BatchAugment(crop_scale=(1.0, 1.0))(images)
    # second moments: the original is elongated along y; rotated copies point every which way
    size = out.shape[-1]
    y, x = torch.meshgrid(torch.arange(size) - size / 2 + 0.5, torch.arange(size) - size / 2 + 0.5, indexing="ij")
    w = out[:, 0]
    mxx = (w * x**2).sum((1, 2)) / w.sum((1, 2))
    myy = (w * y**2).sum((1, 2)) / w.sum((1, 2))
    assert (mxx > myy).any() and (mxx < myy).any()
    total_in = to_float_images(images)[:, 0].sum((1, 2))
    torch.testing.assert_close(w.sum((1, 2)), total_in, rtol=0.1, atol=0.0)


def test_seeded_runs_repeat_and_unseeded_differ():
    images = galaxy_batch()
    torch.manual_seed(1)
    a = BatchAugment()(images)
    torch.manual_seed(1)
    b = BatchAugment()(images)
    c = BatchAugment()(images)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_identity_when_everything_is_off():
    images = galaxy_batch()
    out = BatchAugment(crop_scale=(1.0, 1.0), rotate=False, flip=False)(images)
    torch.testing.assert_close(out, to_float_images(images), atol=1e-5, rtol=0)
