"""Training the top of an encoder on cached outputs of its frozen bottom."""

import pytest
import torch
from torch import nn

from galzoo_tools.models import build_model
from galzoo_tools.pretrain import TrainConfig, fit
from galzoo_tools.pretrain.frozen import (
    N_SYMMETRIES, CachedViews, cache_bottom, check_frozen_blocks, split_encoder, symmetry_view,
)
from galzoo_tools.schema import decals_dr5


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return build_model("scratch", schema=decals_dr5, backbone="efficientnet_lite0").eval()


def test_top_of_bottom_is_the_whole_model(model, one_thread):
    bottom, top = split_encoder(model, 3)
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(top(bottom(images)), model(images), rtol=1e-4, atol=1e-4)
    assert not any(p.requires_grad for p in model.encoder.blocks[2].parameters())
    assert all(p.requires_grad for p in model.encoder.blocks[3].parameters())


def test_the_eight_symmetries_are_distinct_and_exact():
    image = torch.arange(16.0).view(1, 1, 4, 4)
    views = [symmetry_view(image, k) for k in range(N_SYMMETRIES)]
    assert len({tuple(v.flatten().tolist()) for v in views}) == N_SYMMETRIES
    assert torch.equal(symmetry_view(symmetry_view(image, 1), 3), image)  # four quarter turns
    with pytest.raises(ValueError, match="0-7"):
        symmetry_view(image, 8)


def test_bad_splits_say_what_is_allowed(model):
    with pytest.raises(ValueError, match="between 0 and 6"):
        split_encoder(model, 7)
    with pytest.raises(ValueError, match="EfficientNet-style"):
        split_encoder(nn.Linear(2, 2), 1)


def test_cached_views_train_the_shared_top(model, tmp_path, one_thread):
    torch.manual_seed(0)
    fresh = build_model("scratch", schema=decals_dr5, backbone="efficientnet_lite0")
    bottom, top = split_encoder(fresh, 4)
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    counts = torch.randint(0, 5, (8, decals_dr5.n_answers)).float()
    cache = cache_bottom(bottom, images, views=2)
    assert cache.shape[:2] == (2, 8) and cache.dtype == torch.bfloat16
    stem_before = fresh.encoder.conv_stem.weight.clone()
    head_before = fresh.head.linear.weight.clone()
    fit(top, CachedViews(cache, counts), CachedViews(cache[:1], counts), tmp_path,
        TrainConfig(epochs=1, batch_size=4, lr=1e-2), progress=False)
    assert torch.equal(fresh.encoder.conv_stem.weight, stem_before)  # the frozen bottom stays as it was
    assert not torch.equal(fresh.head.linear.weight, head_before)  # the model's own head learned
    with pytest.raises(ValueError, match="views, N"):
        CachedViews(cache, counts[:3])


def test_check_frozen_blocks_refuses_before_anything_is_built_or_rendered():
    check_frozen_blocks("efficientnet_lite0", 0)
    check_frozen_blocks("efficientnet_lite0", 6)
    with pytest.raises(ValueError, match=r"between 0 and 6 \(efficientnet_lite0 has 7 blocks"):
        check_frozen_blocks("efficientnet_lite0", 7)
    with pytest.raises(ValueError, match="EfficientNet-style encoder"):
        check_frozen_blocks("resnet18", 2)
