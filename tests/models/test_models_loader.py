"""load_model takes every source and says by its return type what it can do; offline, with local stand-ins."""

import json
import warnings
from pathlib import Path

import pytest
import timm
import torch

from galzoo_tools.config import data_dir
from galzoo_tools.finetune import build_finetune_model, load_finetuned, save_finetuned
from galzoo_tools.models import (
    EncoderModel, FinetuneModel, ZooModel, build_encoder, build_model, load_encoder, load_model, read_model_config,
    resolve_model_source, save_model, trained_image_size,
)

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def images():
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="module")
def zoo():
    torch.manual_seed(0)
    return build_model("scratch", schema="gz2", backbone="test_efficientnet").eval()


@pytest.fixture(scope="module")
def finetuned():
    torch.manual_seed(1)
    model = build_finetune_model("scratch", "multiclass", ["ring", "bar", "none"], backbone="test_efficientnet")
    with torch.no_grad():
        model.head.weight.normal_()
        model.feature_mean.normal_()
    return model.eval()


def _same_outputs(a, b, images):
    with torch.no_grad():
        torch.testing.assert_close(a(images), b(images))


def test_reference_gives_the_trained_zoo_model(zoo, images, tmp_path, monkeypatch):
    monkeypatch.setenv("GALZOO_DATA", str(tmp_path))
    save_model(zoo, tmp_path / "reference_model" / "model", {"image_size": 32})
    loaded = load_model("reference", device="cpu")
    assert isinstance(loaded, ZooModel) and not loaded.training
    _same_outputs(zoo, loaded, images)
    assert read_model_config("reference")["image_size"] == 32
    assert trained_image_size("reference") == 32 and trained_image_size("imagenet") is None


def test_committed_reference_model_still_loads():
    """The folder on disk predates the unified format's bookkeeping; it loads unchanged."""
    folder = data_dir() / "reference_model" / "model"
    before = (folder / "config.json").read_bytes()
    model = load_model(folder, device="cpu")
    assert isinstance(model, ZooModel) and model.encoder_info["backbone"] == "efficientnet_lite0"
    assert read_model_config(folder)["format"] == "galzoo-zoomodel"
    assert (folder / "config.json").read_bytes() == before


def test_model_folder_run_folder_and_weights_file(zoo, images, tmp_path):
    save_model(zoo, tmp_path / "run" / "model")
    for source in (tmp_path / "run" / "model", tmp_path / "run", str(tmp_path / "run"),
                   tmp_path / "run" / "model" / "model.safetensors"):
        loaded = load_model(source, device="cpu")
        assert isinstance(loaded, ZooModel), source
        _same_outputs(zoo, loaded, images)


@pytest.mark.parametrize("name, normalised", [("scratch", False), ("imagenet", True)])
def test_encoder_sources_give_an_encoder_model(name, normalised, images):
    model = load_model(name, device="cpu")
    assert type(model) is EncoderModel and not model.training
    assert model.normalise is normalised and not hasattr(model, "predict_fractions")
    assert model.embed(images).shape == (2, model.num_features) == (2, 1280)


def test_a_module_comes_back_as_is(zoo):
    assert load_model(zoo) is zoo
    assert load_model(zoo, device="cpu") is zoo


def test_local_dir_and_offline_hub_stand_in(images, tmp_path, monkeypatch):
    """hf_hub:... goes through timm's hub loader; here that loader is pointed at a local folder."""
    original = timm.create_model("test_convnext", pretrained=False, num_classes=0).eval()
    timm.models.save_for_hf(original, tmp_path, safe_serialization=True)
    real = timm.create_model
    asked = []

    def hub_from_folder(name, *args, **kwargs):
        if name.startswith("hf-hub:"):
            asked.append(name)
            name = f"local-dir:{tmp_path}"
        return real(name, *args, **kwargs)

    monkeypatch.setattr(timm, "create_model", hub_from_folder)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the hub cache only: allowed offline
    for source in (f"local-dir:{tmp_path}", "hf_hub:someone/galaxy-encoder"):
        model = load_model(source, device="cpu")
        assert type(model) is EncoderModel and model.encoder_info["backbone"] == "test_convnext"
        with torch.no_grad():
            assert torch.equal(model.encoder(images), original(images))
    assert asked == ["hf-hub:someone/galaxy-encoder"]


def test_finetuned_folder_through_the_loader(finetuned, images, tmp_path):
    save_model(finetuned, tmp_path / "out" / "model", {"image_size": 32, "label_col": "ring"})
    assert resolve_model_source(tmp_path / "out").kind == "finetuned"
    for source in (tmp_path / "out" / "model", tmp_path / "out"):
        loaded = load_model(source, device="cpu")
        assert isinstance(loaded, FinetuneModel) and not loaded.training
        assert loaded.classes == ["ring", "bar", "none"] and loaded.task == "multiclass"
        _same_outputs(finetuned, loaded, images)
    assert trained_image_size(tmp_path / "out") == 32
    config = read_model_config(tmp_path / "out" / "model")
    assert config["format"] == "galzoo-finetuned" and config["format_version"] == 1 and config["label_col"] == "ring"
    encoder, info = build_encoder(tmp_path / "out")  # its encoder can start something new
    assert info["kind"] == "finetuned"
    torch.testing.assert_close(encoder.state_dict(), finetuned.encoder.state_dict())
    again = build_finetune_model(tmp_path / "out", "binary")
    assert again.classes == [0, 1] and again.encoder_info["backbone"] == "test_efficientnet"


def test_old_finetuned_folder_still_loads(finetuned, images, tmp_path):
    """Folders written before the unified format: no format_version, weights_file or feature_scaling."""
    save_model(finetuned, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    for key in ("format_version", "weights_file", "weights_dtype", "feature_scaling"):
        del config[key]
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = load_model(tmp_path, device="cpu")
    assert isinstance(loaded, FinetuneModel) and loaded.feature_scaling == "standardise"


def test_failed_weights_write_leaves_no_partial_file(zoo, tmp_path, monkeypatch):
    import safetensors.torch

    save_model(zoo, tmp_path)
    old_weights = (tmp_path / "model.safetensors").read_bytes()

    def write_half_then_fail(state, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 100)
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_model(zoo, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]  # no temporary file, no config
    assert (tmp_path / "model.safetensors").read_bytes() == old_weights
    with pytest.raises(FileNotFoundError, match="config.json not found"):  # incomplete, and says so
        load_model(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        save_model(zoo, tmp_path / "fresh")
    assert list((tmp_path / "fresh").iterdir()) == []


def test_failed_config_write_leaves_no_config(zoo, tmp_path, monkeypatch):
    real = Path.write_text

    def fail_on_config(self, text, *args, **kwargs):
        if ".config.json." in self.name:
            real(self, text[:10])
            raise OSError("disk full")
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fail_on_config)
    with pytest.raises(OSError, match="disk full"):
        save_model(zoo, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_saved_files_are_readable_like_the_rest_of_a_run(finetuned, tmp_path):
    from galzoo_tools.config import default_file_mode

    save_model(finetuned, tmp_path)
    for name in ("model.safetensors", "config.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == default_file_mode()


def test_deprecated_aliases_warn_and_forward(zoo, finetuned, images, tmp_path):
    with pytest.warns(DeprecationWarning, match="save_model"):
        save_finetuned(finetuned, tmp_path / "ft", {"image_size": 32})
    with pytest.warns(DeprecationWarning, match="load_model"):
        loaded = load_finetuned(tmp_path / "ft", device="cpu")
    _same_outputs(finetuned, loaded, images)
    save_model(zoo, tmp_path / "zoo")
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="not a fine-tuned"):
        load_finetuned(tmp_path / "zoo")
    with pytest.warns(DeprecationWarning, match="load_model"):
        encoder = load_encoder(tmp_path / "zoo", device="cpu")
    torch.testing.assert_close(encoder.state_dict(), zoo.encoder.state_dict())


def test_the_new_names_do_not_warn(zoo, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        save_model(zoo, tmp_path)
        load_model(tmp_path, device="cpu")
        build_encoder(tmp_path)
