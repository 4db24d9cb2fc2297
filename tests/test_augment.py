"""Batch augmentation: right shape and range, really random, repeatable, flux-preserving; survey jitter."""

import pytest
import torch

from galzoo_tools.augment import BatchAugment, SurveyJitter, to_float_images


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


OFF = dict(gamma=0.0, gain=0.0, band_gain=0.0, saturation=(1.0, 1.0), blur_p=0.0, noise=0.0)


def test_survey_jitter_is_the_identity_when_every_width_is_zero():
    images = galaxy_batch()
    torch.testing.assert_close(SurveyJitter(**OFF)(images), to_float_images(images), atol=1e-5, rtol=0)


def test_survey_jitter_gives_each_image_its_own_look_in_range_and_repeats_when_seeded():
    images = galaxy_batch(16)
    torch.manual_seed(3)
    a = SurveyJitter()(images)
    torch.manual_seed(3)
    b = SurveyJitter()(images)
    torch.testing.assert_close(a, b)
    assert a.shape == images.shape and a.dtype == torch.float32 and 0 <= a.min() and a.max() <= 1
    per_image = a.mean(dim=(1, 2, 3))
    assert per_image.std() > 0.01  # the same galaxy, sixteen different renderings


def test_survey_jitter_saturation_zero_makes_the_bands_equal():
    torch.manual_seed(0)
    colour = torch.rand(4, 3, 16, 16)
    out = SurveyJitter(**{**OFF, "saturation": (0.0, 0.0)})(colour)
    torch.testing.assert_close(out[:, 0], out[:, 2])
    torch.testing.assert_close(out.mean(dim=1), colour.mean(dim=1))


def test_survey_jitter_blur_smooths_but_keeps_the_flux():
    torch.manual_seed(0)
    images = galaxy_batch(8, size=48)
    out = SurveyJitter(**{**OFF, "blur_p": 1.0, "blur_sigma": 2.0})(images)
    sharp = to_float_images(images)
    assert (out.amax(dim=(1, 2, 3)) < sharp.amax(dim=(1, 2, 3))).sum() >= 6  # widths drawn in (0, 2): most peaks drop
    torch.testing.assert_close(out.sum(dim=(2, 3)), sharp.sum(dim=(2, 3)), rtol=0.02, atol=0.0)


def test_survey_jitter_refuses_negative_widths():
    with pytest.raises(ValueError, match="widths"):
        SurveyJitter(noise=-0.1)
    with pytest.raises(ValueError, match="saturation"):
        SurveyJitter(saturation=(1.0, 0.5))
