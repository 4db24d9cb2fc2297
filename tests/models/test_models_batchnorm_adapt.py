"""adapt_batchnorm: the statistics become the images' own, nothing else changes, bad input is refused."""

import pytest
import torch
from torch import nn

from galzoo_tools.models import adapt_batchnorm, build_model

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("scratch").eval()


@pytest.fixture(scope="module")
def images():
    generator = torch.Generator().manual_seed(1)
    return (torch.rand(16, 3, 32, 32, generator=generator) * 120 + 100).to(torch.uint8)  # bright, low contrast


def _first_batchnorm(model: nn.Module) -> nn.modules.batchnorm._BatchNorm:
    return next(m for m in model.encoder.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def _first_layer_input(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """What the first batch-norm layer sees for these images (the same in the original and the copy:
    only layers before it matter, and there is none with statistics)."""
    seen = []
    hook = _first_batchnorm(model).register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    try:
        with torch.no_grad():
            model.embed(images.float() / 255)
    finally:
        hook.remove()
    return seen[0]


def test_first_layer_statistics_are_the_images_mean_and_variance(model, images):
    adapted = adapt_batchnorm(model, images, batch_size=len(images))
    seen = _first_layer_input(model, images)
    layer = _first_batchnorm(adapted)
    torch.testing.assert_close(layer.running_mean, seen.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(layer.running_var, seen.var(dim=(0, 2, 3), unbiased=True), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(layer.running_mean, _first_batchnorm(model).running_mean)


def test_equal_batches_average_to_the_same_mean_and_uint8_equals_float(model, images):
    whole = _first_batchnorm(adapt_batchnorm(model, images, batch_size=16)).running_mean
    halves = _first_batchnorm(adapt_batchnorm(model, images, batch_size=8)).running_mean
    floats = _first_batchnorm(adapt_batchnorm(model, images.float() / 255, batch_size=16)).running_mean
    torch.testing.assert_close(halves, whole, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(floats, whole)


def test_weights_head_and_original_are_unchanged_and_features_move(model, images):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    adapted = adapt_batchnorm(model, images, batch_size=8)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the original model was modified"
    mine = adapted.state_dict()
    statistics = ("running_mean", "running_var", "num_batches_tracked")
    for key, value in before.items():
        if not key.endswith(statistics):
            assert torch.equal(mine[key], value), key
    assert not adapted.training
    assert all(not m.training and m.momentum == _first_batchnorm(model).momentum
               for m in adapted.encoder.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    with torch.no_grad():
        x = images.float() / 255
        assert not torch.allclose(adapted.embed(x), model.embed(x))


def test_a_last_batch_of_one_image_is_skipped_not_fatal(model, images):
    adapted = adapt_batchnorm(model, images[:9], batch_size=8)
    expected = _first_layer_input(model, images[:8]).mean(dim=(0, 2, 3))
    torch.testing.assert_close(_first_batchnorm(adapted).running_mean, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bad, error, words", [
    (lambda imgs: imgs[:1], ValueError, "at least 2 images"),
    (lambda imgs: imgs[0], ValueError, "(N, C, H, W)"),
])
def test_bad_images_are_refused(model, images, bad, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        adapt_batchnorm(model, bad(images))


def test_a_bare_module_and_a_model_without_batchnorm_are_refused(model, images):
    with pytest.raises(TypeError, match="galzoo model"):
        adapt_batchnorm(nn.Conv2d(3, 3, 1), images)
    no_norm = build_model("scratch")
    for name, child in list(no_norm.encoder.named_modules()):
        for attr, sub in list(child.named_children()):
            if isinstance(sub, nn.modules.batchnorm._BatchNorm):
                setattr(child, attr, nn.Identity())
    with pytest.raises(ValueError, match="no batch-norm layer"):
        adapt_batchnorm(no_norm, images)
