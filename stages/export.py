"""export stage: the trained network as ONNX (data/export/model.onnx), checked against PyTorch.

`fairmot export` writes the graph (opset 19, batch norm folded, the four heads as named outputs,
fixed input size from the checkpoint) and then tracks the held-out sequences (eval.split) with the
PyTorch model and with ONNX Runtime in lockstep (JDE tracker, default settings). reports/export.json holds the per-head max
difference and whether the tracks are identical; the command fails (exit 1) when a head differs by
more than fairmot.export.parity.HEAD_TOLERANCE or any track differs (BOX_TOLERANCE_PX).

Then the OpenVINO IR beside the graph: model.xml/.bin (fp32; bf16 is it compiled with a bf16 hint) and
model_int8.xml/.bin (NNCF's int8, calibrated on export.calibration_frames training frames, never the
evaluated ones). fp32 is held to 1e-4 on the heads and identical tracks; bf16 (where the CPU has it) and
int8 to MOTA, IDF1 and HOTA on eval.split within export.tolerance of fp32's. The "openvino" section of
reports/export.json holds the figures; a failure names the precision and the figure (exit 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stages.common import DatasetOption, ParamsFile, one_line_errors, read_params


@one_line_errors
def export(
    params_file: ParamsFile = Path("params.yaml"),
    model: Annotated[Path, typer.Option(help="Checkpoint written by `fairmot train`.")] = Path("data/model/model.pt"),
    dataset: DatasetOption = Path("data/dataset"),
    out: Annotated[Path, typer.Option(help="The ONNX file to write.")] = Path("data/export/model.onnx"),
    metrics: Annotated[Path, typer.Option(help="Parity report (JSON).")] = Path("reports/export.json"),
    fp16: Annotated[bool, typer.Option(help="Half-precision graph for ONNX Runtime's CUDA provider (checked on heads only).")] = False,
    dynamic: Annotated[bool, typer.Option(help="Free height and width (multiples of 32) instead of the trained size.")] = False,
) -> None:
    """Export the trained network to ONNX and OpenVINO (fp32, int8) and check them on the held-out sequences."""
    from fairmot.config import TrackParams
    from fairmot.evaluation import class_rules, find_eval_sequences
    from fairmot.export import calibration_paths, export_and_check, export_ir_and_check

    params = read_params(params_file)
    sequences = find_eval_sequences(dataset, params.eval.split)
    calibration = calibration_paths(dataset, params)  # training frames only: checked before any work
    # The code's default tracker settings: the check is about the graph, and track.* changes must
    # not re-run the export (they re-run only evaluate, from the detection cache)
    report = export_and_check(model, out, sequences, TrackParams(), metrics, fp16=fp16, dynamic=dynamic,
                              threads=params.eval.threads)
    heads = ", ".join(f"{name} {value:.1e}" for name, value in report["head_max_abs_diff"].items())
    print(f"{out}: max |ONNX - PyTorch| per head: {heads}; tracks identical: {report['tracks_identical']}")
    section = export_ir_and_check(model, out, sequences, calibration, TrackParams(), metrics, report,
                                  tolerance=params.export.tolerance, threads=params.eval.threads,
                                  benchmark=params.eval.benchmark, classes=params.classes,
                                  gt_classes=class_rules(dataset, params.data, params.classes, params.eval.benchmark, sequences))
    figures = "; ".join(f"{name} " + ", ".join(f"{k} {section[name][k]:.4f}" for k in ("MOTA", "IDF1", "HOTA"))
                        for name in ("fp32", "bf16", "int8") if "MOTA" in section[name])
    print(f"{out.with_suffix('.xml')} (+ int8): fp32 tracks identical: {section['fp32']['tracks_identical']}; {figures}")
