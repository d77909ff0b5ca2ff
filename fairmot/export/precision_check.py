"""The export stage's OpenVINO part: the IR per precision, each held to what it can promise.

fp32 must give the PyTorch heads within OV_HEAD_TOLERANCE and identical tracks on the held-out
sequences; bf16 and int8 change the arithmetic, so they are held to tracking accuracy instead: MOTA,
IDF1 and HOTA on the held-out split (detect + track, as the pipeline's detect and evaluate stages run
them) no more than `tolerance` below fp32's. The IR files take their place only when every check passed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fairmot.config import TrackParams
from fairmot.data.classes import PEDESTRIAN, GtClasses
from fairmot.errors import ConfigError, DataError
from fairmot.evaluation import EvalSequence
from fairmot.export.openvino_ir import convert_ir, quantize_ir, save_ir
from fairmot.export.parity import check_engine
from fairmot.inference.detect import record_sequence
from fairmot.inference.engines.openvino_engine import OpenVinoEngine, check_precision, ir_path
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.sources import iter_images
from fairmot.io import file_sha256, remove_stale_temps, temp_sibling, write_json
from fairmot.models import build_from_checkpoint
from fairmot.tuning.search import score_track_params

# The fp32 IR against PyTorch (measured: about 1e-5 on the embedded model)
OV_HEAD_TOLERANCE = 1e-4
ACCURACY_FIGURES = ("MOTA", "IDF1", "HOTA")


def split_figures(engine: Any, sequences: Sequence[EvalSequence], *, input_w: int, input_h: int,
                  settings: TrackParams, benchmark: str = "MOT17", classes: Sequence[str] = (PEDESTRIAN,),
                  gt_classes: Mapping[str, GtClasses] | None = None) -> dict[str, float]:
    """MOTA, IDF1 and HOTA of `engine` on `sequences`: the detection pass, then the tracker over it, scored
    as `fairmot tune` scores a trial (score_track_params; several classes: their class average)."""
    runner = OnlineTracker(None, input_w=input_w, input_h=input_h, settings=settings, engine=engine)
    caches = [record_sequence(runner, iter_images(seq.frame_paths()), name=seq.name, frame_rate=float(seq.info.frame_rate),
                              width=seq.info.width, height=seq.info.height, first_frame=seq.first_frame)
              for seq in sequences]
    figures = score_track_params(caches, sequences, settings, benchmark=benchmark, classes=classes,
                                 gt_classes=gt_classes).headline
    return {name: round(float(figures[name]), 6) for name in ACCURACY_FIGURES}


def accuracy_failures(figures: dict[str, dict[str, Any]], tolerance: float) -> list[str]:
    """One phrase per figure of bf16/int8 more than `tolerance` below fp32's, naming precision and figure."""
    failures = []
    for precision in ("bf16", "int8"):
        got = figures.get(precision, {})
        for name in ACCURACY_FIGURES:
            if name in got and figures["fp32"][name] - got[name] > tolerance:
                failures.append(f"{precision} {name} {got[name]:.4f} is {figures['fp32'][name] - got[name]:.4f} below "
                                f"fp32's {figures['fp32'][name]:.4f} (export.tolerance {tolerance:g})")
    return failures


def _bf16_skip_reason() -> str | None:
    try:
        check_precision("bf16")
    except ConfigError as exc:
        return str(exc)
    return None


def _engines(staging: Path, threads: int, bf16: bool) -> dict[str, Any]:
    """The staged IR in every precision this CPU runs (bf16: where it has BF16)."""
    engines = {"fp32": OpenVinoEngine(staging / "model.xml", precision="fp32", threads=threads)}
    if bf16:
        engines["bf16"] = OpenVinoEngine(staging / "model.xml", precision="bf16", threads=threads)
    engines["int8"] = OpenVinoEngine(staging / "model_int8.xml", precision="int8", threads=threads)
    return engines


def _publish(staging: Path, onnx_out: Path) -> list[Path]:
    """Move the checked IR files beside the ONNX graph (each file atomically, the weights before the xml)."""
    placed = []
    for precision in ("fp32", "int8"):
        xml = ir_path(onnx_out, precision)
        staged = staging / ("model_int8.xml" if precision == "int8" else "model.xml")
        os.replace(staged.with_suffix(".bin"), xml.with_suffix(".bin"))
        os.replace(staged, xml)
        placed += [xml, xml.with_suffix(".bin")]
    return placed


def export_ir_and_check(checkpoint: Path | str, onnx_out: Path | str, sequences: Sequence[EvalSequence],
                        calibration: list[Path], settings: TrackParams, report_path: Path | str, report: dict[str, Any],
                        *, tolerance: float, threads: int = 0, benchmark: str = "MOT17",
                        classes: Sequence[str] = (PEDESTRIAN,), gt_classes: Mapping[str, GtClasses] | None = None
                        ) -> dict[str, Any]:
    """Convert the checkpoint to the fp32 IR and quantize it to int8 on the `calibration` frames; check
    every precision; write `report` with an "openvino" section to `report_path`; put the IR files beside
    `onnx_out` when all passed, else raise DataError naming the precision and the figure. `classes` and
    `gt_classes` score a multi-class network's tracks class by class (split_figures)."""
    model, meta = build_from_checkpoint(checkpoint)
    size = {"input_w": int(meta["input_w"]), "input_h": int(meta["input_h"])}
    onnx_out = Path(onnx_out)
    for precision in ("fp32", "int8"):
        remove_stale_temps(ir_path(onnx_out, precision))
    staging = temp_sibling(ir_path(onnx_out, "fp32"))
    staging.mkdir(parents=True)
    try:
        ir = convert_ir(model, **size, source_sha256=file_sha256(checkpoint))
        save_ir(ir, staging / "model.xml")
        save_ir(quantize_ir(ir, calibration, **size), staging / "model_int8.xml")
        bf16_skipped = _bf16_skip_reason()
        engines = _engines(staging, threads, bf16=bf16_skipped is None)
        frames = ((seq.name, iter_images(seq.frame_paths()), float(seq.info.frame_rate)) for seq in sequences)
        parity = check_engine(model, engines["fp32"], frames, **size, settings=settings, head_tolerance=OV_HEAD_TOLERANCE)
        figures = {name: split_figures(engine, sequences, **size, settings=settings, benchmark=benchmark, classes=classes,
                                       gt_classes=gt_classes) for name, engine in engines.items()}
        failures = accuracy_failures(figures, tolerance)
        section: dict[str, Any] = {"tolerance": tolerance, "calibration_frames": len(calibration),
                                   "fp32": {**parity, **figures["fp32"]}}
        for precision in ("bf16", "int8"):
            section[precision] = ({**figures[precision], "drop": {k: round(figures["fp32"][k] - figures[precision][k], 6)
                                                                  for k in ACCURACY_FIGURES}}
                                  if precision in figures else {"skipped": bf16_skipped})
        section["passed"] = parity["passed"] and not failures
        write_json(Path(report_path), {**report, "openvino": section})
        if not parity["passed"]:
            worst = max(parity["head_max_abs_diff"], key=parity["head_max_abs_diff"].get)
            failures.insert(0, f"fp32 head {worst} differs by {parity['head_max_abs_diff'][worst]:.2e} (tolerance "
                               f"{OV_HEAD_TOLERANCE:.0e}), tracks identical: {parity['tracks_identical']}")
        if failures:
            raise DataError(f"{ir_path(onnx_out, 'fp32').parent}: the OpenVINO IR fails its check: {'; '.join(failures)}; "
                            f"not written, see {report_path}")
        _publish(staging, onnx_out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return section
