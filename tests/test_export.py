"""ONNX export: named head outputs, fixed or dynamic size, parity with PyTorch, clear errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from fairmot.errors import ConfigError, DataError
from fairmot.export.onnx_graph import export_onnx
from fairmot.export.parity import head_differences
from fairmot.inference.engines.onnx_engine import OUTPUT_NAMES, onnx_session
from fairmot.models import create_model
from tests.models.standins import trained_looking


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    model = _trained_looking_stats("dla_tiny")
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "tiny.onnx", input_w=96, input_h=64)
    return model, path


def _trained_looking_stats(arch: str) -> torch.nn.Module:
    return trained_looking(arch, affine=False)


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
    model = _trained_looking_stats("dla34")
    path = export_onnx(model, tmp_path / "dla34.onnx", input_w=64, input_h=64)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "DeformConv" in ops
    blob = np.random.default_rng(1).random((3, 64, 64), dtype=np.float32)
    diffs = head_differences(model, onnx_session(path, threads=1), [blob])
    assert max(diffs.values()) < 1e-4


def test_dynamic_export_runs_at_other_sizes(tmp_path):
    model = _trained_looking_stats("dla_tiny")
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


def _detecting_checkpoint(path):
    """A `fairmot train`-style checkpoint of a dla_tiny that finds one peaked object per frame at 320x192.

    (A random network that fires everywhere has score plateaus on flat backgrounds, where 1e-7 of
    float noise decides which cell is the maximum: no graph can reproduce those tracks exactly.)"""
    model = _trained_looking_stats("dla_tiny")
    torch.nn.init.normal_(model.hm[-1].weight, std=2.0)
    with torch.no_grad():
        model.hm[-1].bias.fill_(-1.0)
        model.wh[-1].bias.copy_(torch.tensor([3.0, 6.0, 3.0, 6.0]))
    torch.save({"arch": "dla_tiny", "model": model.state_dict(), "input_w": 320, "input_h": 192,
                "reid_dim": 128, "head_conv": -1}, path)
    return path


def test_export_stage_writes_the_graph_and_a_passing_parity_report(tiny_dataset, tmp_path):
    import json

    from fairmot.config import TrackParams
    from fairmot.evaluation import find_eval_sequences
    from fairmot.export.parity import HEAD_TOLERANCE, export_and_check

    checkpoint = _detecting_checkpoint(tmp_path / "model.pt")
    sequences = find_eval_sequences(tiny_dataset, "test")
    report = export_and_check(checkpoint, tmp_path / "export" / "model.onnx", sequences, TrackParams(),
                              tmp_path / "export.json", threads=1)
    assert (tmp_path / "export" / "model.onnx").stat().st_size == report["onnx_bytes"] > 0
    written = json.loads((tmp_path / "export.json").read_text())
    assert written["passed"] and written["tracks_identical"]
    assert max(written["head_max_abs_diff"].values()) <= HEAD_TOLERANCE
    seq = written["sequences"][sequences[0].name]
    assert seq["frames"] == sequences[0].num_frames and seq["track_rows"] > 0
    assert (written["input_w"], written["input_h"], written["precision"]) == (320, 192, "fp32")


def test_export_stage_fails_and_says_so_when_the_graph_drifts(tiny_dataset, tmp_path, monkeypatch):
    import json

    import fairmot.export.onnx_graph as graph_module
    from fairmot.config import TrackParams
    from fairmot.evaluation import find_eval_sequences
    from fairmot.export import export_and_check

    real_fold = graph_module.fold_batchnorm

    def drifting_fold(model):  # what a broken exporter would do: the graph's boxes grow
        fused = real_fold(model)
        with torch.no_grad():
            fused.wh[-1].bias.add_(0.5)
        return fused

    monkeypatch.setattr(graph_module, "fold_batchnorm", drifting_fold)
    checkpoint = _detecting_checkpoint(tmp_path / "model.pt")
    with pytest.raises(DataError, match="drifted from PyTorch"):
        export_and_check(checkpoint, tmp_path / "model.onnx", find_eval_sequences(tiny_dataset, "test"),
                                       TrackParams(), tmp_path / "export.json", threads=1)
    written = json.loads((tmp_path / "export.json").read_text())
    assert not written["passed"] and not written["tracks_identical"]
    # the drifted graph is not left in place, nor its temporary (it used to be written before the check)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "model.pt"]
    assert abs(written["head_max_abs_diff"]["wh"] - 0.5) < 1e-3


def test_the_graph_holds_no_absolute_path_of_this_checkout(tiny_export):
    """The exporter's stack traces put ~730 absolute source paths into the graph, so two clones exported
    the same checkpoint to files of different sizes (and dvc.lock hashes)."""
    from pathlib import Path

    import fairmot

    _, path = tiny_export
    checkout = str(Path(fairmot.__file__).resolve().parents[1]).encode()
    data = path.read_bytes()
    assert checkout not in data and b"site-packages" not in data
    assert all(not node.metadata_props for node in onnx.load(str(path)).graph.node)


def test_two_exports_of_one_model_are_byte_identical(tmp_path):
    model = _trained_looking_stats("dla_tiny")
    first = export_onnx(model, tmp_path / "a" / "m.onnx", input_w=96, input_h=64, source_sha256="ab" * 32)
    second = export_onnx(model, tmp_path / "b" / "m.onnx", input_w=96, input_h=64, source_sha256="ab" * 32)
    assert first.read_bytes() == second.read_bytes()


def test_the_onnx_engine_refuses_a_graph_of_another_checkpoint(tmp_path):
    """A graph exported from another (or an older) checkpoint ran without notice: '0 identities', exit 0."""
    from fairmot.inference.engines import make_engine
    from fairmot.io import file_sha256

    checkpoint = _detecting_checkpoint(tmp_path / "model.pt")
    model = _trained_looking_stats("dla_tiny")
    ours = export_onnx(model, tmp_path / "ours.onnx", input_w=96, input_h=64, source_sha256=file_sha256(checkpoint))
    other = export_onnx(model, tmp_path / "other.onnx", input_w=96, input_h=64, source_sha256="0" * 64)
    unrecorded = export_onnx(model, tmp_path / "unrecorded.onnx", input_w=96, input_h=64)
    kwargs = dict(input_w=96, input_h=64, onnx_path=None, checkpoint=checkpoint, threads=1)
    assert make_engine("onnx", None, **{**kwargs, "onnx_path": ours}).source == file_sha256(checkpoint)
    with pytest.raises(DataError, match=r"other.onnx: exported from checkpoint sha256 000000000000, not from .*model.pt"):
        make_engine("onnx", None, **{**kwargs, "onnx_path": other})
    with pytest.raises(DataError, match="exported from no recorded checkpoint"):
        make_engine("onnx", None, **{**kwargs, "onnx_path": unrecorded})


def test_a_graph_without_the_head_outputs_is_refused_by_name(tmp_path):
    from onnx import TensorProto, helper

    from fairmot.inference.engines import OnnxEngine

    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["hm"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 64, 96])],
                              [helper.make_tensor_value_info("hm", TensorProto.FLOAT, [1, 3, 64, 96])])
    path = tmp_path / "partial.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)]), str(path))
    with pytest.raises(DataError, match=r"partial.onnx: not a graph of `fairmot export` .*missing outputs wh, reg, id"):
        OnnxEngine(path, threads=1)


def test_a_graph_with_other_head_channels_than_the_network_is_refused(tmp_path):
    """A graph of another reid_dim (same input size) ran and gave '0 identities' without a word."""
    from fairmot.inference.engines import make_engine

    graph = export_onnx(create_model("dla_tiny", reid_dim=64).eval(), tmp_path / "m64.onnx", input_w=96, input_h=64)
    with pytest.raises(DataError, match=r"m64.onnx: head channels id 64 \(the network's 128\) differ; re-run"):
        make_engine("onnx", create_model("dla_tiny", reid_dim=128), input_w=96, input_h=64, onnx_path=graph, threads=1)
    assert make_engine("onnx", create_model("dla_tiny", reid_dim=64), input_w=96, input_h=64, onnx_path=graph,
                       threads=1).channels == {"hm": 1, "wh": 4, "reg": 2, "id": 64}
