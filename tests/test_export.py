"""ONNX export: named head outputs, fixed or dynamic size, parity with PyTorch, clear errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from fairmot.errors import ConfigError, DataError
from fairmot.export import OUTPUT_NAMES, export_onnx, head_differences, onnx_session
from fairmot.models import create_model


def _trained_looking(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model(arch)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
        if hasattr(module, "conv_offset_mask"):
            module.conv_offset_mask.weight.data.normal_(0, 0.05)
    return model.eval()


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    model = _trained_looking("dla_tiny")
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "tiny.onnx", input_w=96, input_h=64)
    return model, path


def test_export_has_the_four_heads_as_named_outputs_at_the_fixed_size(tiny_export):
    _, path = tiny_export
    graph = onnx.load(str(path)).graph
    assert [o.name for o in graph.output] == list(OUTPUT_NAMES)
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 64, 96]
    assert not any(node.op_type == "BatchNormalization" for node in graph.node)  # folded before export


def test_onnx_runtime_matches_pytorch_per_head_within_1e4(tiny_export):
    model, path = tiny_export
    rng = np.random.default_rng(0)
    blobs = [rng.random((3, 64, 96), dtype=np.float32) for _ in range(2)]
    diffs = head_differences(model, onnx_session(path, threads=1), blobs)
    assert set(diffs) == set(OUTPUT_NAMES)
    assert max(diffs.values()) < 1e-4


def test_dla34_exports_deformconv_and_matches_pytorch(tmp_path):
    model = _trained_looking("dla34")
    path = export_onnx(model, tmp_path / "dla34.onnx", input_w=64, input_h=64)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "DeformConv" in ops
    blob = np.random.default_rng(1).random((3, 64, 64), dtype=np.float32)
    diffs = head_differences(model, onnx_session(path, threads=1), [blob])
    assert max(diffs.values()) < 1e-4


def test_dynamic_export_runs_at_other_sizes(tmp_path):
    model = _trained_looking("dla_tiny")
    path = export_onnx(model, tmp_path / "dyn.onnx", input_w=96, input_h=64, dynamic=True)
    session = onnx_session(path, threads=1)
    rng = np.random.default_rng(2)
    blobs = [rng.random((3, 64, 96), dtype=np.float32), rng.random((3, 128, 32), dtype=np.float32)]
    assert max(head_differences(model, session, blobs).values()) < 1e-4


def test_bad_sizes_and_missing_files_raise_one_clear_error(tmp_path):
    model = create_model("dla_tiny")
    with pytest.raises(ConfigError, match="multiples of 32"):
        export_onnx(model, tmp_path / "x.onnx", input_w=100, input_h=64)
    with pytest.raises(ConfigError, match="opset"):
        export_onnx(model, tmp_path / "x.onnx", input_w=96, input_h=64, opset=17)
    with pytest.raises(DataError, match="fairmot export"):
        onnx_session(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(DataError, match="cannot load"):
        onnx_session(tmp_path / "junk.onnx")
    assert not (tmp_path / "x.onnx").exists()
