"""The export stage's check: the exported graph tracks exactly as the PyTorch model it came from."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fairmot.config import TrackParams
from fairmot.errors import DataError
from fairmot.evaluation import EvalSequence
from fairmot.export.onnx_graph import MIN_OPSET, export_onnx
from fairmot.inference.engines import INPUT_NAME, OUTPUT_NAMES, OnnxEngine
from fairmot.inference.runner import FrameTracks, OnlineTracker, class_names, hm_channels
from fairmot.inference.sources import iter_images
from fairmot.io import file_sha256, remove_stale_temps, temp_sibling, write_json
from fairmot.models import build_from_checkpoint


def head_differences(model: nn.Module, session: Any, blobs: Iterable[np.ndarray]) -> dict[str, float]:
    """Per-head max |ONNX Runtime - PyTorch| over the given preprocessed frames (3, H, W) float32."""
    model = model.eval()
    device = next(model.parameters()).device
    worst = dict.fromkeys(OUTPUT_NAMES, 0.0)
    input_type = session.get_inputs()[0].type
    dtype = np.float16 if "float16" in input_type else np.float32
    for blob in blobs:
        batch = np.ascontiguousarray(blob[None], dtype=np.float32)
        with torch.inference_mode():
            expected = model(torch.from_numpy(batch).to(device))
        got = session.run(list(OUTPUT_NAMES), {INPUT_NAME: batch.astype(dtype)})
        for name, value in zip(OUTPUT_NAMES, got):
            diff = np.abs(value.astype(np.float32) - expected[name].float().cpu().numpy()).max()
            worst[name] = max(worst[name], float(diff))
    return worst


# Tolerances the export stage holds the graph to (measured: about 1e-6 on the heads, tracks equal)
HEAD_TOLERANCE = 1e-3
BOX_TOLERANCE_PX = 0.01


def compare_tracks(reference: Iterable[FrameTracks], candidate: Iterable[FrameTracks]) -> dict[str, Any]:
    """Compare two runs of FrameTracks over the same frames: ids (and their classes) must match frame by frame and
    boxes agree within BOX_TOLERANCE_PX. Returns counts and the first differing frame (or None)."""
    frames = rows = 0
    worst_box = 0.0
    first_diff = None
    for ref, got in zip(reference, candidate, strict=True):
        frames += 1
        rows += len(ref.ids)
        same_ids = np.array_equal(ref.ids, got.ids) and np.array_equal(ref.classes, got.classes)
        box = float(np.abs(ref.tlwhs - got.tlwhs).max(initial=0.0)) if same_ids else float("inf")
        worst_box = max(worst_box, box)
        if first_diff is None and (not same_ids or box > BOX_TOLERANCE_PX):
            first_diff = ref.frame
    return {"frames": frames, "track_rows": rows, "max_box_diff_px": worst_box,
            "identical": first_diff is None, "first_differing_frame": first_diff}


class _Recorder:
    """An engine wrapper keeping the last head maps, so two engines can be compared frame by frame."""

    batch = 1  # frame by frame: the comparison tracks online

    def __init__(self, engine: Any, model: nn.Module | None = None) -> None:
        self.engine, self.model = engine, model
        self.device = engine.device if engine is not None else next(model.parameters()).device
        self.last: dict[str, torch.Tensor] = {}

    def __call__(self, blob: np.ndarray) -> dict[str, torch.Tensor]:
        if self.engine is not None:
            self.last = self.engine(blob)
        else:
            with torch.inference_mode():
                self.last = self.model(torch.from_numpy(blob)[None].to(self.device))
        return self.last


def check_engine(model: nn.Module, engine: Any, sequences: Iterable[tuple[str, Iterable[np.ndarray], float]],
                 *, input_w: int, input_h: int, settings: TrackParams, head_tolerance: float = HEAD_TOLERANCE) -> dict[str, Any]:
    """Track every sequence with the PyTorch model and with `engine` in lockstep, on the CPU.

    Returns the per-head max |engine - PyTorch| over all frames, the track comparison per sequence,
    and `passed`: every head within `head_tolerance` and every sequence's tracks identical.
    """
    reference, candidate = _Recorder(None, model.eval()), _Recorder(engine)
    worst = dict.fromkeys(OUTPUT_NAMES, 0.0)
    per_sequence = {}
    for name, frames, frame_rate in sequences:
        trackers = [OnlineTracker(None, input_w=input_w, input_h=input_h, settings=settings, engine=rec,
                                  classes=class_names({}, hm_channels(model))) for rec in (reference, candidate)]
        runs: list[list[Any]] = [[], []]
        for tracker in trackers:
            tracker.reset(frame_rate)
        for image in frames:
            blob, geometry = trackers[0].prepare(image)
            for tracker, run in zip(trackers, runs):
                run.append(tracker.step(blob, geometry))
            for head in OUTPUT_NAMES:
                diff = (candidate.last[head].float().cpu() - reference.last[head].float().cpu()).abs().max()
                worst[head] = max(worst[head], float(diff))
        per_sequence[name] = compare_tracks(*runs)
    heads_ok = all(value <= head_tolerance for value in worst.values())
    tracks_ok = all(seq["identical"] for seq in per_sequence.values())
    return {"head_max_abs_diff": worst, "head_tolerance": head_tolerance, "box_tolerance_px": BOX_TOLERANCE_PX,
            "heads_within_tolerance": heads_ok, "tracks_identical": tracks_ok, "sequences": per_sequence,
            "passed": heads_ok and tracks_ok}


FP16_HEAD_TOLERANCE = 5e-2


def export_and_check(checkpoint: Path | str, out: Path | str, sequences: Iterable[EvalSequence], settings: TrackParams,
                     report_path: Path | str, *, fp16: bool = False, dynamic: bool = False,
                     threads: int = 0) -> dict[str, Any]:
    """The export stage: export a `fairmot train` checkpoint at its trained input size, track the
    held-out `sequences` with PyTorch and ONNX Runtime, write the report (JSON), and put the graph at
    `out` only when it passed (a failed or killed check leaves no unchecked graph); DataError when it
    drifted. The graph records the checkpoint's sha256, which the onnx engine checks.

    fp16 graphs cannot match float32 to HEAD_TOLERANCE: they are held to FP16_HEAD_TOLERANCE on the
    heads, and their track comparison is reported but not required."""
    model, meta = build_from_checkpoint(checkpoint)
    input_w, input_h = int(meta["input_w"]), int(meta["input_h"])
    out, digest = Path(out), file_sha256(checkpoint)
    remove_stale_temps(out)
    staged = temp_sibling(out)  # the graph takes its place only once it has passed
    try:
        export_onnx(model, staged, input_w=input_w, input_h=input_h, dynamic=dynamic, fp16=fp16, source_sha256=digest)
        frames = ((seq.name, iter_images(seq.frame_paths()), float(seq.info.frame_rate)) for seq in sequences)
        check = check_engine(model, OnnxEngine(staged, threads=threads), frames, input_w=input_w, input_h=input_h,
                             settings=settings)
        if fp16:
            check["head_tolerance"] = FP16_HEAD_TOLERANCE
            check["heads_within_tolerance"] = all(v <= FP16_HEAD_TOLERANCE for v in check["head_max_abs_diff"].values())
            check["passed"] = check["heads_within_tolerance"]
        report = {"arch": model.arch, "input_w": input_w, "input_h": input_h, "dynamic": dynamic,
                  "precision": "fp16" if fp16 else "fp32", "opset": MIN_OPSET, "onnx_bytes": staged.stat().st_size,
                  "checkpoint_sha256": digest, **check}
        write_json(Path(report_path), report)
        if not check["passed"]:
            worst = max(check["head_max_abs_diff"], key=check["head_max_abs_diff"].get)
            raise DataError(
                f"{out}: the exported graph drifted from PyTorch (head {worst} differs by "
                f"{check['head_max_abs_diff'][worst]:.2e}, tolerance {check['head_tolerance']:.0e}; tracks identical: "
                f"{check['tracks_identical']}); not written, see {report_path}"
            )
        os.replace(staged, out)
    finally:
        staged.unlink(missing_ok=True)
    return report
