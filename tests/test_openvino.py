"""The OpenVINO engine and its export: fp32 as PyTorch, bf16 and int8 held to tracking accuracy,
int8 calibrated on training frames only, the IR tied to its checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fairmot.config import Params, TrackParams
from fairmot.errors import ConfigError, DataError
from fairmot.export import openvino_ir, precision_check
from fairmot.export.openvino_ir import calibration_paths, convert_ir, quantize_ir, save_ir
from fairmot.inference.engines import OUTPUT_NAMES, make_engine
from fairmot.inference.engines.openvino_engine import OpenVinoEngine, cpu_capabilities, ir_path
from fairmot.io import file_sha256
from tests.models.standins import trained_looking
from tests.test_export import _detecting_checkpoint

# OpenVINO's threads in the process that later ran subprocesses ended the whole run with a SIGSEGV
# (seen in CI, in subprocess.run's poll): `make test` runs these tests in a process of their own
pytestmark = pytest.mark.openvino

W, H = 96, 64


@pytest.fixture(scope="module")
def tiny_ir(tmp_path_factory):
    model = trained_looking("dla_tiny", affine=False)
    path = save_ir(convert_ir(model, input_w=W, input_h=H, source_sha256="ab" * 32), tmp_path_factory.mktemp("ir") / "m.xml")
    return model, path


def _heads(model, blob):
    with torch.inference_mode():
        return {name: value.numpy() for name, value in model(torch.from_numpy(blob)).items()}


def test_openvino_fp32_heads_are_pytorch_s_within_1e4_at_any_batch(tiny_ir):
    model, path = tiny_ir
    blob = np.random.default_rng(0).random((3, 3, H, W), dtype=np.float32)
    engine = OpenVinoEngine(path, threads=1, batch=4)
    got, expected = engine(blob), _heads(model, blob)
    assert (engine.size, engine.channels, engine.source) == ((H, W), {"hm": 1, "wh": 4, "reg": 2, "id": 128}, "ab" * 32)
    for name in OUTPUT_NAMES:
        assert got[name].shape == expected[name].shape  # the padded fourth frame is not returned
        assert np.abs(got[name].numpy() - expected[name]).max() < 1e-4, name


def test_bf16_runs_within_a_loose_bound_where_the_cpu_has_it(tiny_ir):
    if "BF16" not in cpu_capabilities():
        pytest.skip("this CPU has no BF16 (OpenVINO's OPTIMIZATION_CAPABILITIES)")
    model, path = tiny_ir
    blob = np.random.default_rng(1).random((3, H, W), dtype=np.float32)
    got, expected = OpenVinoEngine(path, precision="bf16", threads=1)(blob), _heads(model, blob[None])
    diffs = {name: float(np.abs(got[name].numpy() - expected[name]).max()) for name in OUTPUT_NAMES}
    assert max(diffs.values()) < 0.25 and max(diffs.values()) > 0, diffs  # bf16 really ran: not bit-equal


def test_bf16_on_a_cpu_without_it_is_one_error_naming_the_key(tiny_ir, monkeypatch):
    import fairmot.inference.engines.openvino_engine as module

    monkeypatch.setattr(module, "cpu_capabilities", lambda: ["FP32", "INT8"])
    with pytest.raises(ConfigError, match=r"^eval.precision: bf16 needs a CPU with BF16 \(this one offers FP32, INT8\)"):
        OpenVinoEngine(tiny_ir[1], precision="bf16")
    with pytest.raises(ConfigError, match="eval.precision: int8 runs on engine openvino only"):
        make_engine("onnx", None, input_w=W, input_h=H, onnx_path=tiny_ir[1], precision="int8")


def test_calibration_reads_training_frames_only_and_never_the_evaluated_ones(tiny_dataset, monkeypatch):
    params = Params()
    paths = calibration_paths(tiny_dataset, params)
    assert len(paths) == 48 and all(p.parts[-4] == "train" for p in paths)  # two train sequences of 24, no test
    params.export.calibration_frames, params.eval.split = 5, "val"
    few = calibration_paths(tiny_dataset, params)  # val scores the second halves: calibrate on first halves
    assert [(p.parent.parent.name, p.name) for p in few] == [
        ("SYN-01", "000001.jpg"), ("SYN-01", "000007.jpg"), ("SYN-02", "000001.jpg"), ("SYN-02", "000006.jpg"),
        ("SYN-02", "000012.jpg")]
    params.eval.split = "train"
    with pytest.raises(ConfigError, match="^eval.split: train scores every training frame"):
        calibration_paths(tiny_dataset, params)

    read = []
    real = openvino_ir.iter_images
    monkeypatch.setattr(openvino_ir, "iter_images", lambda ps: (read.append(p) or img for p, img in zip(ps, real(ps))))
    quantize_ir(convert_ir(trained_looking("dla_tiny", affine=False), input_w=W, input_h=H), few, input_w=W, input_h=H)
    assert read == few


def test_int8_quantization_is_deterministic_and_keeps_the_source(tiny_dataset, tiny_ir, tmp_path):
    model, _ = tiny_ir
    frames = calibration_paths(tiny_dataset, Params())[:6]
    files = []
    for name in ("a", "b"):  # the second conversion in one process: OpenVINO's node counters have moved on
        ir = convert_ir(model, input_w=W, input_h=H, source_sha256="cd" * 32)
        files.append(save_ir(quantize_ir(ir, frames, input_w=W, input_h=H), tmp_path / name / "m_int8.xml"))
    assert files[0].read_bytes() == files[1].read_bytes()
    assert files[0].with_suffix(".bin").read_bytes() == files[1].with_suffix(".bin").read_bytes()
    engine = OpenVinoEngine(files[0], precision="int8", threads=1)
    blob = np.random.default_rng(2).random((3, H, W), dtype=np.float32)
    assert engine.source == "cd" * 32
    assert np.abs(engine(blob)["hm"].numpy() - _heads(model, blob[None])["hm"]).max() < 0.5


def test_the_ir_of_another_checkpoint_is_refused_in_one_line(tmp_path, tiny_ir):
    checkpoint = _detecting_checkpoint(tmp_path / "model.pt")
    onnx = tmp_path / "model.onnx"
    save_ir(convert_ir(trained_looking("dla_tiny", affine=False), input_w=W, input_h=H, source_sha256="0" * 64),
            ir_path(onnx, "fp32"))
    with pytest.raises(DataError, match=r"^\S*model.xml: exported from checkpoint sha256 000000000000, not from .*model.pt") as err:
        make_engine("openvino", None, input_w=W, input_h=H, onnx_path=onnx, checkpoint=checkpoint, threads=1)
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match=r"model_int8.xml: OpenVINO model \(.xml/.bin\) not found; run `fairmot export`"):
        make_engine("openvino", None, input_w=W, input_h=H, onnx_path=onnx, precision="int8")


def _export(tiny_dataset, tmp_path, tolerance):
    """The OpenVINO part of the export stage on a peaked dla_tiny at 96x64 (the tiny dataset letterboxed into it)."""
    from fairmot.evaluation import find_eval_sequences

    checkpoint = _detecting_checkpoint(tmp_path / "model.pt")
    saved = torch.load(checkpoint)
    torch.save({**saved, "input_w": W, "input_h": H}, checkpoint)
    params = Params()
    params.export.calibration_frames = 8
    onnx = tmp_path / "export" / "model.onnx"
    onnx.parent.mkdir()
    section = precision_check.export_ir_and_check(
        checkpoint, onnx, find_eval_sequences(tiny_dataset, "test"), calibration_paths(tiny_dataset, params), TrackParams(),
        tmp_path / "export.json", {"onnx": "report"}, tolerance=tolerance, threads=1)
    return checkpoint, onnx, section


def test_export_writes_the_ir_and_per_precision_figures(tiny_dataset, tmp_path):
    # a random network on 24 frames: a box more or less moves MOTA by 0.04 (bf16 lost 0.18), so no tolerance here
    checkpoint, onnx, section = _export(tiny_dataset, tmp_path, tolerance=1.0)
    written = json.loads((tmp_path / "export.json").read_text())
    assert written["onnx"] == "report" and written["openvino"] == section and section["passed"]
    assert sorted(p.name for p in onnx.parent.iterdir()) == ["model.bin", "model.xml", "model_int8.bin", "model_int8.xml"]
    fp32 = section["fp32"]
    assert fp32["tracks_identical"] and max(fp32["head_max_abs_diff"].values()) <= fp32["head_tolerance"] == 1e-4
    assert section["calibration_frames"] == 8 and section["tolerance"] == 1.0
    assert -1 < fp32["MOTA"] < 1 and 0 <= fp32["IDF1"] <= 1 and 0 <= fp32["HOTA"] <= 1
    for precision in ("bf16", "int8"):
        if "skipped" not in section[precision]:
            assert set(section[precision]) == {"MOTA", "IDF1", "HOTA", "drop"}
            assert section[precision]["drop"]["HOTA"] == pytest.approx(fp32["HOTA"] - section[precision]["HOTA"], abs=1e-6)
    engine = make_engine("openvino", None, input_w=W, input_h=H, onnx_path=onnx, checkpoint=checkpoint,
                         precision="int8", threads=1)
    assert engine.source == file_sha256(checkpoint)


def test_an_int8_ir_that_loses_accuracy_fails_the_export_naming_the_figure(tiny_dataset, tmp_path, monkeypatch):
    real_engines = precision_check._engines

    def degraded(staging, threads, bf16):  # an int8 IR that sees people everywhere: its heatmap 20 logits higher
        engines = real_engines(staging, threads, bf16)
        int8 = engines["int8"]

        def lower(blob):
            heads = dict(int8(blob))
            return {**heads, "hm": heads["hm"] + 20.0}

        lower.batch, lower.device = 1, torch.device("cpu")  # type: ignore[attr-defined]
        engines["int8"] = lower
        return engines

    monkeypatch.setattr(precision_check, "_engines", degraded)
    with pytest.raises(DataError, match=r"the OpenVINO IR fails its check: .*int8 MOTA -\d+\.\d{4} is \d+\.\d{4} below "
                                        r"fp32's -?\d\.\d{4} \(export.tolerance 1\).*not written"):
        _export(tiny_dataset, tmp_path, tolerance=1.0)
    report = json.loads((tmp_path / "export.json").read_text())["openvino"]
    assert not report["passed"] and report["int8"]["drop"]["MOTA"] > 1.0
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == []  # nothing unchecked left in place
