"""Inference engines: the same head maps and the same tracks as the plain model, one interface."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from fairmot.errors import ConfigError
from fairmot.export.onnx_graph import export_onnx
from fairmot.inference.engines import make_engine
from fairmot.inference.engines.onnx_engine import OUTPUT_NAMES, OnnxEngine
from fairmot.inference.engines.torch_engine import TorchEngine
from fairmot.inference.runner import OnlineTracker
from fairmot.models import create_model
from tests.models.standins import trained_looking

W, H = 128, 96


@pytest.fixture(scope="module")
def model_and_onnx(tmp_path_factory):
    """dla_tiny with batch-norm statistics and a heatmap bias that make it detect plenty."""
    model = trained_looking("dla_tiny", affine=False)
    torch.nn.init.normal_(model.hm[-1].weight, std=2.0)
    torch.nn.init.constant_(model.hm[-1].bias, 0.0)
    with torch.no_grad():  # boxes of about 24x48 pixels, which pass the tracker's output filter
        model.wh[-1].bias.copy_(torch.tensor([3.0, 6.0, 3.0, 6.0]))
    model.eval()
    return model, export_onnx(model, tmp_path_factory.mktemp("engines") / "m.onnx", input_w=W, input_h=H)


def _frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    return [np.roll(base, 4 * i, axis=1) for i in range(n)]


@pytest.mark.parametrize("kind", ["torch", "onnx"])
def test_engine_head_maps_equal_the_model_within_1e4(model_and_onnx, kind):
    model, path = model_and_onnx
    engine = make_engine(kind, model, input_w=W, input_h=H, onnx_path=path, threads=1)
    blob = np.random.default_rng(3).random((3, H, W), dtype=np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(blob)[None])
    got = engine(blob)
    assert set(got) == set(OUTPUT_NAMES)
    for name in OUTPUT_NAMES:
        assert got[name].shape == expected[name].shape
        assert (got[name].float() - expected[name]).abs().max().item() < 1e-4, name


def test_lean_engine_reuses_one_input_buffer_and_leaves_the_model_alone(model_and_onnx):
    model, _ = model_and_onnx
    keys = list(model.state_dict())
    engine = TorchEngine(model, input_w=W, input_h=H)
    buffer = engine.input.data_ptr()
    engine(np.zeros((3, H, W), np.float32))
    engine(np.ones((3, H, W), np.float32))
    assert engine.input.data_ptr() == buffer and engine.input.min().item() == 1.0
    assert list(model.state_dict()) == keys  # the fused copy is the engine's own
    with pytest.raises(ValueError, match="built for"):
        engine(np.zeros((3, H + 32, W), np.float32))


def test_every_engine_gives_the_same_tracks(model_and_onnx):
    model, path = model_and_onnx
    engines = {"model": None, "torch": TorchEngine(model, input_w=W, input_h=H),
               "onnx": OnnxEngine(path, threads=1)}
    results = {}
    for name, engine in engines.items():
        tracker = OnlineTracker(model, input_w=W, input_h=H, engine=engine)
        results[name] = [tracks for _, tracks in tracker.run(_frames(6))]
    assert sum(len(t.ids) for t in results["model"]) > 10  # the comparison below is not vacuous
    for name in ("torch", "onnx"):
        for ref, got in zip(results["model"], results[name]):
            assert np.array_equal(ref.ids, got.ids), name
            assert np.abs(ref.tlwhs - got.tlwhs).max(initial=0.0) < 1e-2, name


def test_unknown_engine_or_missing_onnx_path_is_a_config_error(model_and_onnx):
    model, _ = model_and_onnx
    with pytest.raises(ConfigError, match="torch, onnx"):
        make_engine("tensorrt", model, input_w=W, input_h=H)
    with pytest.raises(ConfigError, match="fairmot export"):
        make_engine("onnx", model, input_w=W, input_h=H)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("amp", ["off", "auto"])
def test_cuda_graph_engine_matches_the_model(model_and_onnx, amp):
    model, _ = model_and_onnx
    engine = TorchEngine(model, input_w=W, input_h=H, device="cuda", amp=amp)
    assert engine.graph is not None
    blob = np.random.default_rng(4).random((3, H, W), dtype=np.float32)
    with torch.inference_mode():
        expected = model.cuda()(torch.from_numpy(blob)[None].cuda())
    got = engine(blob)
    tolerance = 1e-4 if amp == "off" else 5e-2
    for name in OUTPUT_NAMES:
        scale = expected[name].abs().max().item() + 1e-6
        assert (got[name].float() - expected[name]).abs().max().item() / scale < tolerance, name


def test_lean_engine_on_dla34_keeps_the_deformable_neck_exact():
    torch.manual_seed(1)
    model = create_model("dla34")
    for module in model.modules():
        if hasattr(module, "conv_offset_mask"):
            module.conv_offset_mask.weight.data.normal_(0, 0.05)
    model.eval()
    engine = TorchEngine(model, input_w=64, input_h=64)
    blob = np.random.default_rng(5).random((3, 64, 64), dtype=np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(blob)[None])
    got = engine(blob)
    for name in OUTPUT_NAMES:
        assert (got[name] - expected[name]).abs().max().item() < 1e-4, name


def test_check_engine_passes_the_exported_graph_and_fails_a_drifted_one(model_and_onnx, tmp_path):
    from fairmot.config import TrackParams
    from fairmot.export.parity import check_engine

    model, path = model_and_onnx
    def sequences():
        return [("A", _frames(5), 30.0), ("B", _frames(3)[::-1], 25.0)]

    good = check_engine(model, OnnxEngine(path, threads=1), sequences(), input_w=W, input_h=H,
                        settings=TrackParams())
    assert good["passed"] and good["tracks_identical"]
    assert max(good["head_max_abs_diff"].values()) < 1e-4
    assert good["sequences"]["A"]["frames"] == 5 and good["sequences"]["A"]["track_rows"] > 0

    drifted_model = copy.deepcopy(model)
    with torch.no_grad():
        drifted_model.wh[-1].bias.add_(0.5)  # boxes grow by 2 px per side
    drifted = export_onnx(drifted_model, tmp_path / "drifted.onnx", input_w=W, input_h=H)
    bad = check_engine(model, OnnxEngine(drifted, threads=1), sequences(), input_w=W, input_h=H,
                       settings=TrackParams())
    assert not bad["passed"] and not bad["tracks_identical"] and not bad["heads_within_tolerance"]
    assert abs(bad["head_max_abs_diff"]["wh"] - 0.5) < 1e-3


def test_onnx_graph_of_another_input_size_is_refused_by_name(model_and_onnx):
    model, path = model_and_onnx
    with pytest.raises(ConfigError, match=r"exported for input 128x96.*re-run `fairmot export`"):
        make_engine("onnx", model, input_w=W + 32, input_h=H, onnx_path=path)


@pytest.mark.parametrize("kind", ["torch", "onnx"])
def test_a_batch_of_frames_gives_each_frame_its_own_heads(model_and_onnx, kind):
    model, path = model_and_onnx
    engine = make_engine(kind, model, input_w=W, input_h=H, onnx_path=path, threads=1, batch=3)
    blobs = np.random.default_rng(6).random((3, 3, H, W), dtype=np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(blobs))
    for n in (3, 2):  # a full batch, then the shorter last batch of a sequence
        got = engine(blobs[:n])
        for name in OUTPUT_NAMES:
            assert got[name].shape[0] == n
            assert (got[name].float() - expected[name][:n]).abs().max().item() < 1e-4, (n, name)
    with pytest.raises(ValueError):
        engine(np.zeros((4, 3, H, W), np.float32))
