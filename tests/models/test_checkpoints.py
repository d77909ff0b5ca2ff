"""Tracking checkpoints: released FairMOT ones recognised from their tensors and loaded whole."""

import pytest
import torch

from fairmot.errors import ConfigError, DataError
from fairmot.models import build_from_checkpoint, create_model
from fairmot.models.checkpoints import load_tracking_model, recognise_arch


def _reference_format(model, path, prefix="module."):
    """What ifzhang/FairMOT's save_model writes: {'epoch', 'state_dict'}, DataParallel-prefixed keys."""
    torch.save({"epoch": 30, "state_dict": {prefix + k: v for k, v in model.state_dict().items()}}, path)
    return path


@pytest.mark.parametrize("arch", ["dla34", "dlaconv", "dla_tiny", "hrnet18", "hrnet32"])
def test_architecture_is_recognised_from_key_names_and_shapes(arch):
    assert recognise_arch(create_model(arch).state_dict()) == arch


@pytest.mark.parametrize("arch", ["dla34", "hrnet18", "hrnet32"])
def test_released_checkpoint_loads_whole_into_the_recognised_network(arch, tmp_path):
    torch.manual_seed(1)
    source = create_model(arch)
    model, meta = load_tracking_model(_reference_format(source, tmp_path / "official.pth"))
    assert (meta["arch"], meta["format"], meta["epoch"], meta["reid_dim"], meta["head_conv"]) == (
        arch, "reference", 30, 128, 256)
    assert not model.training
    for name, tensor in source.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name


def test_released_checkpoint_gives_the_same_maps_and_head_sizes_from_shapes(tmp_path):
    torch.manual_seed(2)
    source = create_model("dla_tiny", reid_dim=64, head_conv=32).eval()
    model, meta = build_from_checkpoint(_reference_format(source, tmp_path / "m.pth", prefix=""))
    assert (meta["reid_dim"], meta["head_conv"]) == (64, 32)
    x = torch.rand(1, 3, 96, 160)
    with torch.no_grad():
        a, b = source(x), model(x)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_bare_state_dict_is_read_as_a_released_checkpoint(tmp_path):
    torch.save(create_model("dla_tiny").state_dict(), tmp_path / "bare.pth")
    _, meta = load_tracking_model(tmp_path / "bare.pth")
    assert (meta["arch"], meta["format"]) == ("dla_tiny", "reference")


def test_a_missing_tensor_is_an_error_naming_it(tmp_path):
    state = create_model("dla_tiny").state_dict()
    del state["id.2.bias"]
    torch.save({"epoch": 1, "state_dict": state}, tmp_path / "m.pth")
    with pytest.raises(DataError, match=r"1 missing: id\.2\.bias"):
        load_tracking_model(tmp_path / "m.pth")


def test_a_mismatched_or_unexpected_tensor_is_an_error_naming_it(tmp_path):
    state = create_model("dla_tiny").state_dict()
    state["reg.2.bias"] = torch.zeros(3)
    state["classifier.weight"] = torch.zeros(5, 128)
    torch.save({"epoch": 1, "state_dict": state}, tmp_path / "m.pth")
    with pytest.raises(DataError, match=r"1 unexpected: classifier\.weight; 1 shape-mismatched: reg\.2\.bias \(3,\)"):
        load_tracking_model(tmp_path / "m.pth")


def test_arch_overrides_recognition_and_a_wrong_one_fails_whole(tmp_path):
    path = _reference_format(create_model("dla_tiny"), tmp_path / "m.pth")
    with pytest.raises(DataError, match="do not fit arch 'dlaconv'.*shape-mismatched: base.base_layer.0.weight"):
        load_tracking_model(path, arch="dlaconv")
    with pytest.raises(ConfigError, match="not a known network"):
        load_tracking_model(path, arch="resnet50")
    assert load_tracking_model(path, arch="dla_tiny")[1]["arch"] == "dla_tiny"


def test_an_unrecognisable_network_asks_for_arch(tmp_path):
    state = {k: v for k, v in create_model("dla_tiny").state_dict().items() if not k.startswith("base.")}
    torch.save({"epoch": 1, "state_dict": state}, tmp_path / "m.pth")
    with pytest.raises(DataError, match="pass --arch"):
        load_tracking_model(tmp_path / "m.pth")


def test_training_load_model_stays_lenient(tmp_path, caplog):
    from fairmot.models import load_model

    state = create_model("dla_tiny").state_dict()
    del state["id.2.bias"]
    torch.save({"epoch": 1, "state_dict": state}, tmp_path / "m.pth")
    report = load_model(create_model("dla_tiny"), tmp_path / "m.pth")
    assert report.missing == ["id.2.bias"] and len(report.loaded) == len(state)


@pytest.mark.parametrize("value", [1000, -32, "abc", 128000, 0, 320.5])
def test_a_stored_input_size_that_cannot_be_right_is_refused_by_name(tmp_path, value):
    """input_w 128000 had the tracker try to allocate 196 GB; "abc" was a ValueError deep in the runner."""
    model = create_model("dla_tiny")
    path = tmp_path / "model.pt"
    torch.save({"model": model.state_dict(), "arch": "dla_tiny", "reid_dim": 128, "head_conv": 64,
                "input_w": value, "input_h": 192}, path)
    with pytest.raises(DataError, match=rf"model.pt: stored input_w = {value!r} is not a multiple of 32 between 32 "
                                        r"and 8192; the checkpoint is damaged"):
        load_tracking_model(path)


def test_a_stored_input_size_of_multiples_of_32_loads(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"model": create_model("dla_tiny").state_dict(), "arch": "dla_tiny", "reid_dim": 128, "head_conv": 64,
                "input_w": 320, "input_h": 192}, path)
    _, meta = load_tracking_model(path)
    assert (meta["input_w"], meta["input_h"]) == (320, 192)
