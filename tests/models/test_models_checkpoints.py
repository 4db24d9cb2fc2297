"""Checkpoints round-trip (fp32 exactly, fp16 closely), load with weights_only, and fail with advice."""

import json

import pytest
import timm
import torch

from galzoo_tools.models import EncoderModel, build_encoder, build_model, load_model, read_model_config, save_model
from galzoo_tools.schema import Schema


pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = build_model("scratch", schema="gz2", backbone="test_efficientnet", dropout=0.3, max_concentration=50.0)
    return model.eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))


def _same_weights(a, b, **tolerance):
    state_a, state_b = a.state_dict(), b.state_dict()
    assert list(state_a) == list(state_b)
    for key in state_a:
        torch.testing.assert_close(state_b[key], state_a[key], **(tolerance or {"rtol": 0, "atol": 0}))


def test_round_trip_fp32_is_exact(model, images, tmp_path):
    folder = save_model(model, tmp_path / "ckpt", {"image_size": 32})
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    config = read_model_config(folder)
    assert config["image_size"] == 32 and config["backbone"] == "test_efficientnet"
    assert config["head"] == {"dropout": 0.3, "min_concentration": 1.0, "max_concentration": 50.0}
    loaded = load_model(folder)
    _same_weights(model, loaded)
    assert loaded.schema == model.schema and not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(images), model(images))


def test_round_trip_fp16_is_close(model, images, tmp_path):
    save_model(model, tmp_path, half=True)
    assert read_model_config(tmp_path)["weights_dtype"] == "float16"
    loaded = load_model(tmp_path / "model.safetensors")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    _same_weights(model, loaded, rtol=1e-3, atol=1e-3)
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), model(images), rtol=1e-2, atol=1e-2)


def test_torch_save_weights_only(model, tmp_path):
    save_model(model, tmp_path, file_format="pt")
    assert not (tmp_path / "model.safetensors").exists()
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert set(state) == set(model.state_dict())
    _same_weights(model, load_model(tmp_path))


def test_custom_schema_round_trips(tmp_path):
    schema = Schema.from_dict({"ring": {"answers": ["yes", "no"], "asked_after": None}}, name="rings")
    model = build_model("scratch", schema=schema, backbone="test_efficientnet")
    assert load_model(save_model(model, tmp_path)).schema == schema


def test_checkpoint_as_encoder_source(model, tmp_path):
    save_model(model, tmp_path)
    encoder, info = build_encoder(tmp_path)
    _same_weights(model.encoder, encoder)
    assert info["kind"] == "checkpoint" and info["backbone"] == "test_efficientnet"
    with pytest.raises(ValueError, match="backbone 'efficientnet_lite0' was requested.*test_efficientnet"):
        build_encoder(tmp_path, backbone="efficientnet_lite0")
    with pytest.raises(ValueError, match="in_chans=1"):
        build_encoder(tmp_path, in_chans=1)
    with pytest.raises(ValueError, match="drop_path_rate"):
        build_encoder(tmp_path, drop_path_rate=0.1)


def test_missing_config_names_the_file(model, tmp_path):
    save_model(model, tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"config.json not found.*save_model"):
        load_model(tmp_path)


def test_unknown_backbone_in_config(model, tmp_path):
    save_model(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(dict(config, backbone="efficientnet_lite9")))
    with pytest.raises(ValueError, match="config.json names backbone 'efficientnet_lite9'.*upgrade timm"):
        load_model(tmp_path)


def test_shape_mismatch_names_the_tensor(model, tmp_path):
    save_model(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(dict(config, schema="decals_dr5", schema_tree=None)))
    with pytest.raises(ValueError, match=r"model.safetensors: tensor 'head.linear.weight' has shape"):
        load_model(tmp_path)


def test_mismatched_architecture(model, tmp_path):
    save_model(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(dict(config, backbone="test_resnet")))
    with pytest.raises(ValueError, match="different models"):
        load_model(tmp_path)


def test_resave_with_loaded_config(model, tmp_path):
    save_model(model, tmp_path / "a", {"image_size": 32}, half=True)
    folder = save_model(load_model(tmp_path / "a"), tmp_path / "b", read_model_config(tmp_path / "a"))
    config = read_model_config(folder)
    assert config["image_size"] == 32 and config["weights_dtype"] == "float32"


def test_save_refuses_contradicting_config(model, tmp_path):
    with pytest.raises(ValueError, match="contradicts"):
        save_model(model, tmp_path, {"backbone": "resnet50"})


def test_local_dir_round_trip(tmp_path, images):
    """A timm folder (as zoobot publishes on the hub) loads through the same function, exactly."""
    original = timm.create_model("test_convnext", pretrained=False, num_classes=0).eval()
    timm.models.save_for_hf(original, tmp_path, safe_serialization=True)
    assert {"config.json", "model.safetensors"} <= {p.name for p in tmp_path.iterdir()}
    for source in (f"local-dir:{tmp_path}", tmp_path):
        encoder, info = build_encoder(source)
        assert info["backbone"] == "test_convnext" and info["kind"] == "local-dir"
        _same_weights(original, encoder)
        with torch.no_grad():
            assert torch.equal(encoder.eval()(images), original(images))
    model = build_model(f"local-dir:{tmp_path}", schema="decals_dr5")
    assert model(images).shape == (2, 34)
    loaded = load_model(tmp_path)  # no trained head: an encoder with its input normalisation
    assert type(loaded) is EncoderModel and not hasattr(loaded, "head")
    _same_weights(original, loaded.encoder)
    with pytest.raises(ValueError, match="timm model folder.*local-dir"):
        read_model_config(tmp_path)
