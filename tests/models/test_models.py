"""Networks: output shapes per arch, parameter counts, DCN semantics and checkpoint loading."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F

from fairmot.config import ARCHS
from fairmot.errors import ConfigError, DataError
from fairmot.models import (
    ARCHITECTURES,
    build_from_checkpoint,
    count_parameters,
    create_model,
    load_model,
    resolve_head_conv,
)
from fairmot.models.dla import DCN

# Pinned so an accidental architecture change shows up (the README lists the same figures)
PARAMETERS = {
    "dla34": 19_836_711,
    "dlaconv": 19_196_983,
    "dla_tiny": 1_266_783,
    "hrnet18": 12_086_299,
    "hrnet32": 33_764_935,
}


def _forward_shapes(model: torch.nn.Module, width: int, height: int) -> dict[str, tuple[int, ...]]:
    torch.manual_seed(0)
    with torch.no_grad():
        out = model.eval()(torch.rand(1, 3, height, width))
    assert all(torch.isfinite(v).all() for v in out.values())
    return {k: tuple(v.shape) for k, v in out.items()}


def _expected(width: int, height: int, reid_dim: int = 128) -> dict[str, tuple[int, ...]]:
    h, w = height // 4, width // 4
    return {"hm": (1, 1, h, w), "wh": (1, 4, h, w), "id": (1, reid_dim, h, w), "reg": (1, 2, h, w)}


def test_factory_builds_exactly_the_configurable_archs():
    # ARCHITECTURES is keyed by the torch-free names; a builder no name reaches would be dead code.
    from fairmot.models.factory import _BUILDERS

    assert tuple(ARCHITECTURES) == ARCHS
    assert set(_BUILDERS) == set(ARCHS)


@pytest.mark.parametrize("arch", list(PARAMETERS))
def test_every_arch_gives_stride4_heads_at_default_size_with_pinned_parameter_count(arch):
    model = create_model(arch)
    assert _forward_shapes(model, 320, 192) == _expected(320, 192)
    print(f"{arch}: {count_parameters(model):,} parameters")
    assert count_parameters(model) == PARAMETERS[arch]


@pytest.mark.parametrize("arch", ["dla_tiny", "dlaconv", "hrnet18"])
def test_arch_gives_stride4_heads_at_mot17_size(arch):
    assert _forward_shapes(create_model(arch), 1088, 608) == _expected(1088, 608)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["dla34", "hrnet32"])
def test_large_arch_gives_stride4_heads_at_mot17_size(arch):
    assert _forward_shapes(create_model(arch), 1088, 608) == _expected(1088, 608)


def test_head_conv_defaults_per_arch_and_overrides():
    assert resolve_head_conv("dla34") == 256 and resolve_head_conv("hrnet18", -1) == 256
    assert resolve_head_conv("dla_tiny") == 64 and resolve_head_conv("dla_tiny", 32) == 32
    model = create_model("dla_tiny", reid_dim=64, head_conv=16)
    assert model.hm[0].weight.shape == (16, 32, 3, 3) and model.id[2].weight.shape == (64, 16, 1, 1)
    with pytest.raises(ConfigError, match="dla35"):
        create_model("dla35")


def test_heads_start_with_reference_biases():
    model = create_model("dla_tiny")
    assert torch.all(model.hm[2].bias == -2.19)
    for name in ("wh", "id", "reg"):
        head = getattr(model, name)
        assert torch.all(head[0].bias == 0) and torch.all(head[2].bias == 0)


def test_hrnet_heads_read_the_four_branch_concatenation():
    assert create_model("hrnet18").hm[0].weight.shape[1] == 18 + 36 + 72 + 144
    assert create_model("hrnet32").hm[0].weight.shape[1] == 32 + 64 + 128 + 256


def test_dla34_parameter_names_follow_the_official_layout():
    shapes = {k: tuple(v.shape) for k, v in create_model("dla34").state_dict().items()}
    expected = {
        "base.base_layer.0.weight": (16, 3, 7, 7),
        "base.level0.0.weight": (16, 16, 3, 3),
        "base.level2.root.conv.weight": (64, 128, 1, 1),
        "base.level3.tree2.root.conv.weight": (128, 448, 1, 1),
        "base.level3.project.0.weight": (128, 64, 1, 1),
        "base.level5.root.conv.weight": (512, 1280, 1, 1),
        "dla_up.ida_0.proj_1.conv.weight": (256, 512, 3, 3),
        "dla_up.ida_0.proj_1.conv.bias": (256,),
        "dla_up.ida_0.proj_1.conv.conv_offset_mask.weight": (27, 512, 3, 3),
        "dla_up.ida_0.proj_1.actf.0.running_var": (256,),
        "dla_up.ida_2.node_3.conv.weight": (64, 64, 3, 3),
        "dla_up.ida_2.up_3.weight": (64, 1, 4, 4),
        "ida_up.up_2.weight": (64, 1, 8, 8),
        "ida_up.node_2.conv.conv_offset_mask.bias": (27,),
        "hm.0.weight": (256, 64, 3, 3),
        "hm.2.bias": (1,),
        "wh.2.weight": (4, 256, 1, 1),
        "id.2.weight": (128, 256, 1, 1),
        "reg.2.weight": (2, 256, 1, 1),
    }
    assert {k: shapes.get(k) for k in expected} == expected
    assert "dla_up.ida_3.proj_1.conv.weight" not in shapes and "ida_up.proj_3.conv.weight" not in shapes


def test_upsampling_starts_as_bilinear_interpolation():
    up = create_model("dla_tiny").dla_up.ida_0.up_1
    x = torch.ones(1, up.in_channels, 4, 4)
    with torch.no_grad():
        y = up(x)
    assert y.shape[-2:] == (8, 8)
    # away from the zero-padded border, a constant map stays constant
    torch.testing.assert_close(y[..., 1:-1, 1:-1], torch.ones_like(y[..., 1:-1, 1:-1]))


def test_dcn_with_initial_zero_offsets_is_half_a_plain_conv():
    torch.manual_seed(0)
    dcn = DCN(4, 6)
    x = torch.randn(2, 4, 9, 7)
    with torch.no_grad():
        expected = 0.5 * F.conv2d(x, dcn.weight, padding=1) + dcn.bias.view(1, -1, 1, 1)
        torch.testing.assert_close(dcn(x), expected, rtol=1e-5, atol=1e-5)


def test_dcn_offsets_are_dy_dx_pairs():
    torch.manual_seed(0)
    dcn = DCN(3, 5)
    with torch.no_grad():
        bias = torch.zeros(27)
        bias[1:18:2] = 1.0  # dx = +1 for all 9 kernel positions, dy = 0
        bias[18:] = 30.0  # mask = sigmoid(30) = 1
        dcn.conv_offset_mask.bias.copy_(bias)
        x = torch.randn(1, 3, 8, 10)
        shifted = F.pad(x[..., 1:], (0, 1))  # sampling at x + 1
        expected = F.conv2d(shifted, dcn.weight, dcn.bias, padding=1)
        # column 0 differs: its left taps land on x[0] rather than on the zero padding
        torch.testing.assert_close(dcn(x)[..., 1:], expected[..., 1:], rtol=1e-5, atol=1e-5)


def _official_checkpoint(model, path, mutate=None):
    state = {"module." + k: v.clone() for k, v in model.state_dict().items()}
    if mutate:
        mutate(state)
    torch.save({"epoch": 30, "state_dict": state}, path)
    return state


def test_official_layout_checkpoint_loads_into_dla34_with_nothing_missing(tmp_path):
    torch.manual_seed(1)
    source = create_model("dla34")
    _official_checkpoint(source, tmp_path / "fairmot_dla34.pth")
    torch.manual_seed(2)
    target = create_model("dla34")
    report = load_model(target, tmp_path / "fairmot_dla34.pth")
    assert report.missing == [] and report.unexpected == [] and report.mismatched == []
    assert len(report.loaded) == len(source.state_dict())
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        assert torch.equal(a, b), name


def test_mismatched_head_is_skipped_and_logged_by_name(tmp_path, caplog):
    def coco_heads(state):  # CenterNet's COCO detector: 80 classes, 2-channel wh, plus an ImageNet fc
        state["module.hm.2.weight"] = torch.zeros(80, 256, 1, 1)
        state["module.hm.2.bias"] = torch.zeros(80)
        state["module.base.fc.weight"] = torch.zeros(1000, 512, 1, 1)

    torch.manual_seed(1)
    source = create_model("dla34")
    _official_checkpoint(source, tmp_path / "ctdet_coco_dla_2x.pth", coco_heads)
    target = create_model("dla34")
    initial_bias = target.hm[2].bias.clone()
    with caplog.at_level(logging.WARNING, logger="fairmot.models"):
        report = load_model(target, tmp_path / "ctdet_coco_dla_2x.pth")
    assert report.mismatched == ["hm.2.weight", "hm.2.bias"]
    assert report.unexpected == ["base.fc.weight"]
    assert report.missing == []  # present by name, reported as mismatched
    assert "hm.2.weight" in caplog.text and "(80, 256, 1, 1)" in caplog.text and "base.fc.weight" in caplog.text
    assert torch.equal(target.hm[2].bias, initial_bias)
    assert torch.equal(target.hm[0].weight, source.hm[0].weight)


def test_hrnet_imagenet_layout_loads_backbone_and_logs_classifier_keys(tmp_path):
    source = create_model("hrnet18")
    backbone = {k: v for k, v in source.state_dict().items() if k.split(".")[0] not in {"hm", "wh", "id", "reg"}}
    backbone["classifier.weight"] = torch.zeros(1000, 2048)
    backbone["incre_modules.0.0.conv1.weight"] = torch.zeros(32, 18, 1, 1)
    torch.save(backbone, tmp_path / "hrnetv2_w18_imagenet_pretrained.pth")
    report = load_model(create_model("hrnet18"), tmp_path / "hrnetv2_w18_imagenet_pretrained.pth")
    assert sorted(report.unexpected) == ["classifier.weight", "incre_modules.0.0.conv1.weight"]
    assert {k.split(".")[0] for k in report.missing} == {"hm", "wh", "id", "reg"}
    assert len(report.loaded) == len(backbone) - 2


def test_our_checkpoint_rebuilds_the_same_network(tmp_path):
    torch.manual_seed(3)
    model = create_model("dla_tiny", reid_dim=64, head_conv=32).eval()
    torch.save(
        {"model": model.state_dict(), "arch": "dla_tiny", "reid_dim": 64, "head_conv": 32, "epoch": 4, "nID": 17},
        tmp_path / "model.pt",
    )
    rebuilt, meta = build_from_checkpoint(tmp_path / "model.pt")
    assert (meta["epoch"], meta["nID"], meta["arch"]) == (4, 17, "dla_tiny") and "model" not in meta
    assert not rebuilt.training
    x = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        a, b = model(x), rebuilt(x)
    for name in a:
        assert torch.equal(a[name], b[name])


def test_missing_or_foreign_checkpoint_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_model(create_model("dla_tiny"), tmp_path / "nope.pth")
    torch.save({"optimizer": {}, "epoch": 3}, tmp_path / "foreign.pth")
    with pytest.raises(DataError, match="no state dict found"):
        build_from_checkpoint(tmp_path / "foreign.pth")
