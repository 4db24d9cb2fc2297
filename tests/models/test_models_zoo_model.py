"""ZooModel: shapes, concentration bounds, MC-dropout spread, embeddings, channels_last, autocast."""


import pytest
import torch

from galzoo_tools.losses import dirichlet_multinomial_loss
from galzoo_tools.models import DirichletHead, ZooModel, build_encoder, build_model
from galzoo_tools.schema import decals_dr5, gz2


pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def model() -> ZooModel:
    torch.manual_seed(0)
    return build_model("imagenet", schema="decals_dr5").eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_shapes(model, images):
    with torch.no_grad():
        assert model(images).shape == (2, decals_dr5.n_answers)
        assert model.embed(images).shape == (2, model.num_features) == (2, 1280)
    assert model.encoder_info["backbone"] == "efficientnet_lite0"


def test_concentrations_stay_in_bounds():
    head = DirichletHead(8, "gz2", dropout=0.0).eval()
    extreme = torch.cat([torch.full((1, 8), -1e4), torch.zeros(1, 8), torch.full((1, 8), 1e4)])
    with torch.no_grad():
        head.linear.weight.fill_(1.0)
        alpha = head(extreme)
    assert alpha.shape == (3, gz2.n_answers) and alpha.dtype == torch.float32
    assert float(alpha.min()) >= 1.0 and float(alpha.max()) <= 100.0
    torch.testing.assert_close(alpha[0], torch.ones(gz2.n_answers))
    torch.testing.assert_close(alpha[2], torch.full((gz2.n_answers,), 100.0))


def test_head_rejects_bad_bounds():
    with pytest.raises(ValueError, match="min_concentration"):
        DirichletHead(8, min_concentration=5.0, max_concentration=2.0)


def test_fractions_sum_to_one_per_question(model, images):
    prediction = model.predict_fractions(images)
    for question in decals_dr5.questions:
        torch.testing.assert_close(prediction.mean[:, question.slice].sum(dim=1), torch.ones(2))
    assert torch.equal(prediction.std, torch.zeros_like(prediction.mean))
    assert prediction.concentrations.shape == (1, 2, decals_dr5.n_answers)


def test_mc_dropout_spreads_and_restores_mode(model, images):
    model.train()
    prediction = model.predict_fractions(images, mc_samples=6)
    assert model.training and model.head.dropout.training
    assert prediction.concentrations.shape == (6, 2, decals_dr5.n_answers)
    assert float(prediction.std.min()) > 0
    model.eval()
    again = model.predict_fractions(images, mc_samples=1)
    assert not model.training
    torch.testing.assert_close(model.predict_fractions(images).mean, again.mean)
    with pytest.raises(ValueError, match="mc_samples"):
        model.predict_fractions(images, mc_samples=0)


def test_loss_backpropagates_to_encoder(images):
    model = build_model("scratch", schema="gz2", backbone="test_convnext", dropout=0.5).train()
    counts = torch.randint(0, 5, (2, gz2.n_answers))
    loss = dirichlet_multinomial_loss(counts, model(images), gz2, reduction="mean")
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.encoder.parameters() if p.requires_grad)


def test_channels_last_and_autocast(model, images):
    with torch.no_grad():
        reference = model(images)
        fast = model.to(memory_format=torch.channels_last)
        channels_last = images.contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(fast(channels_last), reference, rtol=1e-4, atol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(images)
    model.to(memory_format=torch.contiguous_format)
    assert mixed.dtype == torch.float32
    assert float(mixed.min()) >= 1.0 and float(mixed.max()) <= 100.0
    torch.testing.assert_close(mixed, reference, rtol=0.1, atol=1.0)


def test_custom_encoder_needs_feature_size():
    encoder = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    with pytest.raises(ValueError, match="in_features"):
        ZooModel(encoder)
    model = ZooModel(encoder, "gz2", in_features=4)
    assert model(torch.rand(2, 3, 16, 16)).shape == (2, gz2.n_answers)
    assert model.encoder_info["in_chans"] == 3


def test_single_channel_scratch_encoder():
    encoder, info = build_encoder("scratch", backbone="test_efficientnet", in_chans=1, drop_path_rate=0.1)
    assert info["in_chans"] == 1 and info["timm_kwargs"] == {"drop_path_rate": 0.1}
    with torch.no_grad():
        assert encoder.eval()(torch.rand(2, 1, 32, 32)).shape == (2, info["num_features"])


def test_inputs_in_0_1_are_normalised_as_the_encoder_weights_expect():
    import torch

    from galzoo_tools.models import build_model

    model = build_model("imagenet", backbone="efficientnet_lite0").eval()
    assert model.normalise
    images = torch.rand(2, 3, 32, 32)
    mean = torch.tensor(model.encoder_info["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(model.encoder_info["std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(images), model.encoder((images - mean) / std))
        assert not torch.allclose(model.embed(images), model.encoder(images))
