"""ONNX export of a FairMOT network (the four head maps as named outputs) and its parity check.

The exporter is `torch.onnx.export(..., dynamo=True)` at opset 19 or later: torchvision's
deformable convolution becomes ONNX `DeformConv` (opset 19), which the legacy TorchScript exporter
cannot emit. Batch norm is folded into the convolutions before export (`fold_batchnorm`), so the
graph carries no BatchNormalization nodes.

Input size: fixed by default, at the size the network was trained at (checkpoint/params
`input_w` x `input_h`). The tracker letterboxes every frame to that one size anyway, and a fixed
shape lets ONNX Runtime plan memory and pick kernels once; `dynamic=True` exports a graph whose
height and width are free (multiples of 32) for other uses. benchmarks/engines.py measures both.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fairmot.errors import ConfigError, DataError
from fairmot.io import atomic_file
from fairmot.models.fusion import fold_batchnorm

log = logging.getLogger(__name__)

# Output order of the exported graph (and of ONNX Runtime's results)
OUTPUT_NAMES = ("hm", "wh", "reg", "id")
INPUT_NAME = "input"
MIN_OPSET = 19


class HeadOutputs(nn.Module):
    """The network with its head dict flattened into a tuple in OUTPUT_NAMES order (ONNX has no dicts)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(x)
        return tuple(outputs[name] for name in OUTPUT_NAMES)


def _check_size(input_w: int, input_h: int) -> None:
    if input_w <= 0 or input_h <= 0 or input_w % 32 or input_h % 32:
        raise ConfigError(f"input_w/input_h: {input_w}x{input_h} must be positive multiples of 32 for export")


def export_onnx(
    model: nn.Module,
    path: Path | str,
    *,
    input_w: int,
    input_h: int,
    dynamic: bool = False,
    fp16: bool = False,
    opset: int = MIN_OPSET,
) -> Path:
    """Write `model` (batch-norm folded, eval mode, on the CPU) as ONNX at `path`, atomically.

    fp16 exports half-precision weights and input/outputs, meant for ONNX Runtime's CUDA provider.
    """
    _check_size(input_w, input_h)
    if opset < MIN_OPSET:
        raise ConfigError(f"opset {opset}: DeformConv needs opset {MIN_OPSET} or later")
    path = Path(path)
    wrapped = HeadOutputs(fold_batchnorm(model).cpu()).eval()
    example = torch.rand(1, 3, input_h, input_w)
    if fp16:
        wrapped, example = wrapped.half(), example.half()
    dynamic_shapes = None
    if dynamic:
        # height and width in whole blocks of 32 pixels (the network's total stride)
        rows, cols = torch.export.Dim("rows32", min=1, max=128), torch.export.Dim("cols32", min=1, max=128)
        dynamic_shapes = {"x": {2: 32 * rows, 3: 32 * cols}}
    with torch.inference_mode(False), torch.no_grad():
        program = torch.onnx.export(
            wrapped, (example,), dynamo=True, opset_version=opset, input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES), dynamic_shapes=dynamic_shapes, verbose=False,
        )
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "model.onnx"
        program.save(str(staged))  # one self-contained file (weights inline below 2 GB)
        with atomic_file(path, "wb") as handle:
            handle.write(staged.read_bytes())
    log.info("exported %s (%s, %dx%d%s, opset %d)", path, "fp16" if fp16 else "fp32", input_w, input_h,
             ", dynamic" if dynamic else "", opset)
    return path


def onnx_session(path: Path | str, *, device: Any = "cpu", threads: int = 0) -> Any:
    """An ONNX Runtime session: CUDA provider first when asked for and available, CPU otherwise.

    threads > 0 sets ONNX Runtime's intra-op threads (0 = its default, one per core).
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: ONNX model not found; run `fairmot export` first")
    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No busy-waiting between runs: the tracker works on the CPU between frames, and spinning
    # threads would take the cores from it (and from a PyTorch model in the same process)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if torch.device(device).type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ConfigError(f"device {device}: this onnxruntime has no CUDAExecutionProvider "
                              "(install onnxruntime-gpu) ; use --device cpu or --engine torch")
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own Exception subclasses only
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: ONNX Runtime cannot load this model ({first_line})") from None


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


def compare_tracks(reference: Iterable[Any], candidate: Iterable[Any]) -> dict[str, Any]:
    """Compare two runs of FrameTracks over the same frames: ids must match frame by frame and
    boxes agree within BOX_TOLERANCE_PX. Returns counts and the first differing frame (or None)."""
    frames = rows = 0
    worst_box = 0.0
    first_diff = None
    for ref, got in zip(reference, candidate, strict=True):
        frames += 1
        rows += len(ref.ids)
        same_ids = np.array_equal(ref.ids, got.ids)
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
                 *, input_w: int, input_h: int, settings: Any) -> dict[str, Any]:
    """Track every sequence with the PyTorch model and with `engine` in lockstep, on the CPU.

    Returns the per-head max |engine - PyTorch| over all frames, the track comparison per sequence,
    and `passed`: every head within HEAD_TOLERANCE and every sequence's tracks identical.
    """
    from fairmot.inference import OnlineTracker

    reference, candidate = _Recorder(None, model.eval()), _Recorder(engine)
    worst = dict.fromkeys(OUTPUT_NAMES, 0.0)
    per_sequence = {}
    for name, frames, frame_rate in sequences:
        trackers = [OnlineTracker(None, input_w=input_w, input_h=input_h, settings=settings, engine=rec)
                    for rec in (reference, candidate)]
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
    heads_ok = all(value <= HEAD_TOLERANCE for value in worst.values())
    tracks_ok = all(seq["identical"] for seq in per_sequence.values())
    return {"head_max_abs_diff": worst, "head_tolerance": HEAD_TOLERANCE, "box_tolerance_px": BOX_TOLERANCE_PX,
            "heads_within_tolerance": heads_ok, "tracks_identical": tracks_ok, "sequences": per_sequence,
            "passed": heads_ok and tracks_ok}


FP16_HEAD_TOLERANCE = 5e-2


def export_and_check(checkpoint: Path | str, out: Path | str, sequences: Iterable[Any], settings: Any,
                     report_path: Path | str, *, fp16: bool = False, dynamic: bool = False,
                     threads: int = 0) -> dict[str, Any]:
    """The export stage: export a `fairmot train` checkpoint at its trained input size, track the
    held-out `sequences` (EvalSequence-like: name, frame_paths(), info.frame_rate) with PyTorch and
    ONNX Runtime, write the report (JSON) and raise DataError when the graph drifted.

    fp16 graphs cannot match float32 to HEAD_TOLERANCE: they are held to FP16_HEAD_TOLERANCE on the
    heads, and their track comparison is reported but not required."""
    from fairmot.engines import OnnxEngine
    from fairmot.inference import iter_images
    from fairmot.io import write_json
    from fairmot.models import build_from_checkpoint

    model, meta = build_from_checkpoint(checkpoint)
    input_w, input_h = int(meta["input_w"]), int(meta["input_h"])
    path = export_onnx(model, out, input_w=input_w, input_h=input_h, dynamic=dynamic, fp16=fp16)
    engine = OnnxEngine(path, threads=threads)
    frames = ((seq.name, iter_images(seq.frame_paths()), float(seq.info.frame_rate)) for seq in sequences)
    check = check_engine(model, engine, frames, input_w=input_w, input_h=input_h, settings=settings)
    if fp16:
        check["head_tolerance"] = FP16_HEAD_TOLERANCE
        check["heads_within_tolerance"] = all(v <= FP16_HEAD_TOLERANCE for v in check["head_max_abs_diff"].values())
        check["passed"] = check["heads_within_tolerance"]
    report = {"arch": model.arch, "input_w": input_w, "input_h": input_h, "dynamic": dynamic,
              "precision": "fp16" if fp16 else "fp32", "opset": MIN_OPSET, "onnx_bytes": path.stat().st_size,
              **check}
    write_json(Path(report_path), report)
    if not check["passed"]:
        worst = max(check["head_max_abs_diff"], key=check["head_max_abs_diff"].get)
        raise DataError(
            f"{path}: the exported graph drifted from PyTorch (head {worst} differs by "
            f"{check['head_max_abs_diff'][worst]:.2e}, tolerance {check['head_tolerance']:.0e}; tracks identical: "
            f"{check['tracks_identical']}); see {report_path}"
        )
    return report
