"""`fairmot export` and the engine choice of `fairmot evaluate` / `fairmot track`, end to end."""

import json

import pytest
import torch
import yaml
from typer.testing import CliRunner

from fairmot.models import resolve_head_conv
from stages.app import app
from tests.models.standins import trained_looking

INPUT_W, INPUT_H = 320, 192


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def peaked_checkpoint(tmp_path_factory):
    """A random dla_tiny whose heatmap has a few clear peaks per frame (no score plateaus, where
    float noise alone would decide the maximum), in the format `fairmot train` writes."""
    model = trained_looking("dla_tiny", affine=False)
    torch.nn.init.normal_(model.hm[-1].weight, std=2.0)
    with torch.no_grad():
        model.hm[-1].bias.fill_(-1.0)
        model.wh[-1].bias.copy_(torch.tensor([3.0, 6.0, 3.0, 6.0]))
    path = tmp_path_factory.mktemp("model") / "model.pt"
    torch.save({"model": model.state_dict(), "arch": "dla_tiny", "reid_dim": 128,
                "head_conv": resolve_head_conv("dla_tiny"), "input_w": INPUT_W, "input_h": INPUT_H,
                "epoch": 1, "nID": 5}, path)
    return path


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.yaml"
    # a random network on 24 frames: a box more or less moves MOTA by 0.03, so bf16/int8 are not held here
    path.write_text(yaml.safe_dump({"gpus": -1, "eval": {"split": "test", "warmup_frames": 1, "threads": 1},
                                    "export": {"tolerance": 1.0}}))
    return path


@pytest.mark.openvino  # loads OpenVINO in-process: run apart (tests/test_openvino.py says why)
def test_export_then_detect_with_either_engine_gives_the_same_scores(tiny_dataset, peaked_checkpoint,
                                                                      params_file, tmp_path):
    onnx, report = tmp_path / "export" / "model.onnx", tmp_path / "export.json"
    done = invoke("export", "--params", params_file, "--model", peaked_checkpoint, "--dataset", tiny_dataset,
                  "--out", onnx, "--metrics", report)
    assert done.exit_code == 0, done.output
    parity = json.loads(report.read_text())
    assert parity["passed"] and parity["tracks_identical"] and onnx.stat().st_size > 0
    assert max(parity["head_max_abs_diff"].values()) <= parity["head_tolerance"] == 1e-3
    assert sum(seq["track_rows"] for seq in parity["sequences"].values()) > 0

    assert parity["openvino"]["fp32"]["tracks_identical"] and "MOTA" in parity["openvino"]["int8"]
    assert all((onnx.parent / name).stat().st_size > 0 for name in ("model.xml", "model.bin", "model_int8.xml", "model_int8.bin"))

    metrics = {}
    for engine in ("torch", "onnx", "openvino"):  # the network pass (detect) through each engine, then tracking
        reports, cache = tmp_path / f"reports_{engine}", tmp_path / f"detections_{engine}"
        done = invoke("detect", "--params", params_file, "--model", peaked_checkpoint, "--dataset", tiny_dataset,
                      "--out", cache, "--reports", reports, "--device", "cpu", "--engine", engine, "--onnx", onnx)
        assert done.exit_code == 0, done.output
        summary = json.loads((reports / "detect.json").read_text())
        assert summary["engine"] == engine and summary.get("precision") == ("fp32" if engine == "openvino" else None)
        done = invoke("evaluate", "--params", params_file, "--dataset", tiny_dataset, "--detections", cache,
                      "--results", tmp_path / f"results_{engine}", "--reports", reports)
        assert done.exit_code == 0, done.output
        metrics[engine] = json.loads((reports / "metrics.json").read_text())
        assert metrics[engine]["engine"] == engine and metrics[engine]["fps"] > 0
    for key in ("MOTA", "IDF1", "HOTA", "FP", "FN", "IDs"):
        assert metrics["onnx"][key] == metrics["torch"][key] == metrics["openvino"][key], key
    # the int8 IR through track (online): rows written, as many frames as the sequence has
    source = tiny_dataset / "images" / "test" / "SYN-03"
    done = invoke("track", source, "--params", params_file, "--model", peaked_checkpoint, "--out", tmp_path / "out",
                  "--engine", "openvino", "--precision", "int8", "--onnx", onnx, "--no-video")
    assert done.exit_code == 0, done.output
    assert done.output.startswith("24 frames") and (tmp_path / "out" / "SYN-03.txt").stat().st_size > 0


def test_track_runs_through_the_onnx_engine_and_a_missing_graph_is_one_line(tiny_dataset, peaked_checkpoint,
                                                                           params_file, tmp_path):
    source = tiny_dataset / "images" / "test" / "SYN-03"
    missing = invoke("track", source, "--params", params_file, "--model", peaked_checkpoint, "--out",
                     tmp_path / "out", "--engine", "onnx", "--onnx", tmp_path / "none.onnx", "--no-video")
    assert missing.exit_code == 1
    assert "run `fairmot export` first" in missing.output and len(missing.output.strip().splitlines()) == 1
    bad = invoke("track", source, "--params", params_file, "--model", peaked_checkpoint, "--out",
                 tmp_path / "out", "--engine", "tensorrt", "--no-video")
    assert bad.exit_code == 1 and "'torch', 'onnx'" in bad.output

    from fairmot.export.onnx_graph import export_onnx
    from fairmot.io import file_sha256
    from fairmot.models import build_from_checkpoint

    onnx = export_onnx(build_from_checkpoint(peaked_checkpoint)[0], tmp_path / "m.onnx", input_w=INPUT_W,
                       input_h=INPUT_H, source_sha256=file_sha256(peaked_checkpoint))
    done = invoke("track", source, "--params", params_file, "--model", peaked_checkpoint, "--out",
                  tmp_path / "out", "--engine", "onnx", "--onnx", onnx, "--no-video")
    assert done.exit_code == 0, done.output
    rows = (tmp_path / "out" / "SYN-03.txt").read_text().splitlines()
    assert len(rows) > 0 and all(len(row.split(",")) >= 7 for row in rows)
