"""interpolate_weights: the ends give the two models back, the middle is the average, the head stays."""

import pytest
import torch

from galzoo_tools.models import build_model, interpolate_weights

pytestmark = pytest.mark.usefixtures("no_network")


def _model(seed: int, backbone: str = "efficientnet_lite0"):
    torch.manual_seed(seed)
    model = build_model("scratch", backbone=backbone)
    with torch.no_grad():  # non-trivial batch-norm statistics, different in each model
        for name, buffer in model.encoder.named_buffers():
            if name.endswith("running_mean"):
                buffer.normal_()
            elif name.endswith("running_var"):
                buffer.uniform_(0.5, 2.0)
    return model


@pytest.fixture(scope="module")
def pair():
    return _model(0), _model(1)


def _states(model):
    return model.encoder.state_dict()


def test_ends_give_each_encoder_back(pair):
    start, trained = pair
    for alpha, expected in ((0.0, start), (1.0, trained)):
        mixed = interpolate_weights(start, trained, alpha)
        for key, value in _states(mixed).items():
            if value.is_floating_point():
                torch.testing.assert_close(value, _states(expected)[key], msg=f"alpha={alpha}: {key}")


def test_middle_is_the_average_and_the_head_and_counters_are_the_trained_ones(pair):
    start, trained = pair
    mixed = interpolate_weights(start, trained, 0.25)
    a, b = _states(start), _states(trained)
    changed = 0
    for key, value in _states(mixed).items():
        if value.is_floating_point():
            torch.testing.assert_close(value, 0.75 * a[key] + 0.25 * b[key])
            changed += not torch.equal(a[key], b[key])
        else:
            assert torch.equal(value, b[key]), key
    assert changed > 100  # the two encoders really differ, so the check above says something
    assert any(k.endswith("running_var") for k in a)
    for key, value in mixed.head.state_dict().items():
        assert torch.equal(value, trained.head.state_dict()[key]), key
    assert not mixed.training


def test_inputs_are_left_alone(pair):
    start, trained = pair
    before = {k: v.clone() for k, v in _states(trained).items()}
    interpolate_weights(start, trained, 0.5)
    assert all(torch.equal(before[k], v) for k, v in _states(trained).items())


def test_the_mixed_model_still_runs(pair):
    start, trained = pair
    with torch.no_grad():
        out = interpolate_weights(start, trained, 0.5)(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, trained.head.schema.n_answers) and torch.isfinite(out).all()


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan")])
def test_alpha_outside_0_to_1_is_refused(pair, alpha):
    with pytest.raises(ValueError, match="alpha must be between 0"):
        interpolate_weights(*pair, alpha)


def test_different_backbones_are_refused(pair):
    other = _model(2, backbone="resnet18")
    with pytest.raises(ValueError, match="the two encoders differ"):
        interpolate_weights(other, pair[1], 0.5)


def test_a_bare_module_is_refused(pair):
    with pytest.raises(TypeError, match="must be a galzoo model with an .encoder"):
        interpolate_weights(torch.nn.Linear(2, 2), pair[1], 0.5)


@pytest.mark.parametrize("part", ["weights", "statistics"])
def test_part_mixes_only_the_weights_or_only_the_batch_norm_statistics(pair, part):
    start, trained = pair
    mixed = _states(interpolate_weights(start, trained, 0.5, part=part))
    a, b = _states(start), _states(trained)
    for key, value in mixed.items():
        if not value.is_floating_point():
            continue
        statistic = key.endswith(("running_mean", "running_var"))
        expected = 0.5 * (a[key] + b[key]) if (part == "statistics") == statistic else b[key]
        torch.testing.assert_close(value, expected, msg=f"{part}: {key}")


def test_an_unknown_part_is_refused(pair):
    with pytest.raises(ValueError, match="part must be one of"):
        interpolate_weights(*pair, 0.5, part="biases")
