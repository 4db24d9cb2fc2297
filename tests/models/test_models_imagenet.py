"""The offline EfficientNet-Lite0 ImageNet weights map onto timm exactly and still see a cat."""


import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F

from galzoo_tools.models import LITE0_MEAN, LITE0_STD, build_encoder, create_lite0_imagenet, lite0_imagenet_state_dict

skimage_data = pytest.importorskip("skimage.data")

CAT_CLASSES = range(281, 286)  # ImageNet tabby, tiger cat, Persian, Siamese, Egyptian cat


pytestmark = pytest.mark.usefixtures("no_network")


def _chelsea(size: int = 224) -> torch.Tensor:
    image = torch.from_numpy(np.ascontiguousarray(skimage_data.chelsea())).permute(2, 0, 1).float()[None] / 255
    image = F.interpolate(image, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(LITE0_MEAN)[:, None, None]
    std = torch.tensor(LITE0_STD)[:, None, None]
    return (image - mean) / std


def test_mapping_covers_every_tensor_with_matching_shapes():
    mapped = lite0_imagenet_state_dict("efficientnet_lite0")
    reference = timm.create_model("efficientnet_lite0").state_dict()
    assert list(mapped) == list(reference)
    assert all(mapped[k].shape == reference[k].shape for k in reference)


def test_mapping_refuses_other_architectures():
    with pytest.raises(ValueError, match="fit"):
        lite0_imagenet_state_dict("efficientnet_b0")


@pytest.mark.parametrize("backbone", ["efficientnet_lite0", "tf_efficientnet_lite0"])
def test_chelsea_is_a_cat(backbone):
    model = create_lite0_imagenet(backbone).eval()
    with torch.no_grad():
        probabilities = model(_chelsea()).softmax(dim=-1)[0]
    assert int(probabilities.argmax()) in CAT_CLASSES
    assert float(probabilities[list(CAT_CLASSES)].sum()) > 0.8


def test_imagenet_encoder_matches_classifier_features():
    encoder, info = build_encoder("imagenet")
    assert info["mean"] == pytest.approx(LITE0_MEAN) and info["num_features"] == 1280
    classifier = create_lite0_imagenet().eval()
    x = _chelsea(64)
    with torch.no_grad():
        pooled = classifier.forward_head(classifier.forward_features(x), pre_logits=True)
        torch.testing.assert_close(encoder.eval()(x), pooled)


def test_single_channel_stem_sums_rgb():
    encoder, info = build_encoder("imagenet", in_chans=1)
    rgb = lite0_imagenet_state_dict()["conv_stem.weight"]
    torch.testing.assert_close(encoder.conv_stem.weight, rgb.sum(dim=1, keepdim=True))
    assert info["in_chans"] == 1 and len(info["mean"]) == 1
    grey = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert encoder.eval()(grey).shape == (2, 1280)
