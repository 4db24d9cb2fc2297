"""Source names resolve to one place, and wrong or online-only sources fail with advice, offline."""

from pathlib import Path

import pytest
import torch

from galzoo_tools.models import build_encoder, build_model, resolve_model_source, save_model


pytestmark = pytest.mark.usefixtures("no_network")


@pytest.mark.parametrize(
    "name, kind, location",
    [
        ("scratch", "scratch", None),
        ("imagenet", "imagenet", None),
        ("ImageNet-timm", "imagenet-timm", None),
        ("hf_hub:mwalmsley/zoobot-encoder-convnext_nano", "hf-hub", "mwalmsley/zoobot-encoder-convnext_nano"),
        ("hf-hub:mwalmsley/zoobot-encoder-efficientnet_b0", "hf-hub", "mwalmsley/zoobot-encoder-efficientnet_b0"),
    ],
)
def test_named_sources(name, kind, location):
    source = resolve_model_source(name)
    assert (source.kind, source.location) == (kind, location)


def test_unknown_source_names_the_choices():
    with pytest.raises(ValueError, match="unknown model source 'imagenette'.*scratch.*hf_hub"):
        resolve_model_source("imagenette")


def test_missing_folder_and_config(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_model_source(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="config.json not found.*save_model"):
        resolve_model_source(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        resolve_model_source(f"local-dir:{tmp_path / 'nowhere'}")


def test_reference_absent_says_how_to_create_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GALZOO_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"reference model is not there yet.*galzoo pretrain"):
        resolve_model_source("reference")
    with pytest.raises(FileNotFoundError, match="galzoo pretrain"):
        build_model("reference")


def test_reference_present_resolves_to_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GALZOO_DATA", str(tmp_path))
    model = build_model("scratch", backbone="test_efficientnet")
    save_model(model, tmp_path / "reference_model", {"image_size": 32})
    source = resolve_model_source("reference")
    assert (source.kind, Path(source.location)) == ("checkpoint", tmp_path / "reference_model")
    encoder, info = build_encoder("reference")
    assert info["backbone"] == "test_efficientnet" and info["kind"] == "checkpoint"
    torch.testing.assert_close(encoder.state_dict(), model.encoder.state_dict(), rtol=0, atol=0)


def test_reference_accepts_pretrain_output_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("GALZOO_DATA", str(tmp_path))
    save_model(build_model("scratch", backbone="test_efficientnet"), tmp_path / "reference_model" / "model")
    assert Path(resolve_model_source("reference").location) == tmp_path / "reference_model" / "model"


def test_unknown_backbone_suggests_names():
    with pytest.raises(ValueError, match="unknown timm backbone 'efficientnet_lite9'.*efficientnet_lite0"):
        build_encoder("scratch", backbone="efficientnet_lite9")


def test_encoder_rejects_classifier_options():
    with pytest.raises(ValueError, match="num_classes=0"):
        build_encoder("scratch", num_classes=10)


def test_online_sources_refuse_when_offline(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(RuntimeError, match="GALZOO_OFFLINE is set"):
        build_encoder("hf_hub:mwalmsley/zoobot-encoder-convnext_nano")
    with pytest.raises(RuntimeError, match="GALZOO_OFFLINE is set"):
        build_encoder("imagenet", backbone="resnet18")
    with pytest.raises(RuntimeError, match="GALZOO_OFFLINE is set"):
        build_encoder("imagenet-timm")


def test_online_imagenet_uses_timm_pretrained(monkeypatch):
    """The online path really calls timm.create_model(name, pretrained=True); checked without a download."""
    import timm

    calls = []
    real = timm.create_model

    def fake_create(name, pretrained=False, **kwargs):
        calls.append((name, pretrained, kwargs.get("num_classes")))
        return real(name, pretrained=False, **kwargs)

    monkeypatch.setattr(timm, "create_model", fake_create)
    encoder, info = build_encoder("imagenet", backbone="test_resnet", offline=False)
    assert calls == [("test_resnet", True, 0)]
    assert info["mean"] == pytest.approx(encoder.pretrained_cfg["mean"])
    assert info["weights"] == "ImageNet (timm test_resnet pretrained)"
