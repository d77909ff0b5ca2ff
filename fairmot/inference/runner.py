"""Run a FairMOT network + decoding + a tracker (track.method) over a stream of frames, with timing.

What the timers cover (per frame, after the image has been read and letterboxed on the CPU, as
the reference's data loader does it):
- `fps`: tensor to device + forward + decode (incl. copying detections to the host) + tracker
  update + the output box filter;
- `fps_model`: the forward pass alone.
On CUDA the device is synchronised before each clock read, so queued kernels are not missed.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fairmot.config import TrackParams
from fairmot.data.dataset import letterbox
from fairmot.devices import resolve_amp
from fairmot.inference.camera_motion import CameraMotion
from fairmot.inference.engines import make_engine
from fairmot.inference.settings import InferenceSettings
from fairmot.inference.sources import Frame
from fairmot.inference.speed import SpeedMeter
from fairmot.models.checkpoints import load_tracking_model
from fairmot.models.decode import decode_detections
from fairmot.tracking import build_tracker, input_threshold, reported, update_tracker

Prepared = tuple[np.ndarray, tuple[float, float, float]]  # a letterboxed CHW blob and its geometry


@dataclass
class FrameTracks:
    """One frame's reported tracks (after the output filter): boxes as top-left x, y, w, h, and their
    class, an index into `names` (the run's class names)."""

    frame: int
    tlwhs: np.ndarray  # (N, 4)
    ids: np.ndarray  # (N,)
    scores: np.ndarray  # (N,)
    classes: np.ndarray | None = None  # (N,); None: every track of class 0
    names: tuple[str, ...] = ("pedestrian",)

    def __post_init__(self) -> None:
        if self.classes is None:
            self.classes = np.zeros(len(self.ids), dtype=np.int64)

    def rows(self) -> list[tuple[int, int, float, float, float, float, float, int]]:
        """Result rows: frame, id, x, y, w, h, score, class index."""
        return [(self.frame, int(i), *map(float, box), float(s), int(c))
                for box, i, s, c in zip(self.tlwhs, self.ids, self.scores, self.classes)]


def hm_channels(model: Any) -> int:
    """The heatmap head's output channels (one per class); 1 for a model without a readable hm head."""
    convs = [m for m in getattr(model, "hm", torch.nn.Identity()).modules() if isinstance(m, torch.nn.Conv2d)]
    return int(convs[-1].out_channels) if convs else 1


def class_names(meta: dict[str, Any], channels: int, fallback: Sequence[str] = ()) -> tuple[str, ...]:
    """The names of a network's classes: the checkpoint's record, else `fallback` (params' classes) when it
    has one name per heatmap channel, else pedestrian for one channel and class0, class1, ... for more."""
    recorded = meta.get("classes")
    if recorded:
        return tuple(str(name) for name in recorded)
    if len(fallback) == channels:
        return tuple(fallback)
    return ("pedestrian",) if channels == 1 else tuple(f"class{c}" for c in range(channels))


class OnlineTracker:
    """A model and a per-sequence tracker (track.method): `reset` per sequence, `step` per frame."""

    def __init__(
        self,
        model: Any,
        *,
        input_w: int,
        input_h: int,
        device: Any = "cpu",
        settings: TrackParams | None = None,
        amp: bool | str | None = None,
        meter: SpeedMeter | None = None,
        engine: Any = None,
        batch: int = 1,
        classes: Sequence[str] | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval() if model is not None else None
        # An inference engine (fairmot.inference.engines) replaces the plain model call when given
        self.engine = engine
        # Frames per network pass of `detect_batch`: an engine's is fixed when it is built
        self.batch = engine.batch if engine is not None else batch
        self.input_w, self.input_h = input_w, input_h
        self.settings = settings if settings is not None else TrackParams()
        self.amp = resolve_amp(amp, self.device)
        self.meter = meter if meter is not None else SpeedMeter()
        # one tracker per class: the names given, else one per heatmap channel of the model
        self.classes = tuple(classes) if classes else class_names({}, hm_channels(self.model))
        self.reset()

    @classmethod
    def from_checkpoint(cls, path: Path, track: TrackParams, settings: InferenceSettings,
                        classes: Sequence[str] = ()) -> OnlineTracker:
        """The network of a checkpoint, ours or a released FairMOT one (fairmot/models/checkpoints.py).

        Ours runs at the input size it was trained at; a released one (no size inside) at the
        settings' input size. `settings.arch` overrides the recognised architecture; engine None runs
        the model as it is, "torch" / "onnx" through `fairmot.inference.engines`; either way
        `detect_batch` takes up to `settings.batch` frames per pass. Its classes are the checkpoint's
        (`class_names`; `classes`, params' list, names those of a checkpoint that records none).
        """
        net, meta = load_tracking_model(path, arch=settings.arch, map_location=settings.device)
        width, height = int(meta.get("input_w", settings.input_w)), int(meta.get("input_h", settings.input_h))
        engine = None if settings.engine is None else make_engine(
            settings.engine, net, input_w=width, input_h=height, device=settings.device, amp=settings.amp,
            onnx_path=settings.onnx_path, threads=settings.threads, batch=settings.batch, checkpoint=path,
            precision=settings.precision)
        return cls(net, input_w=width, input_h=height, device=settings.device, settings=track, amp=settings.amp,
                   meter=SpeedMeter(warmup=settings.warmup), engine=engine, batch=settings.batch,
                   classes=class_names(meta, hm_channels(net), classes))

    def reset(self, frame_rate: float = 30) -> None:
        """Start a new sequence: fresh tracker (ids from 1), buffer scaled by the frame rate, and (track.cmc)
        a fresh camera motion estimator."""
        self.tracker = build_tracker(self.settings, frame_rate, len(self.classes))
        self.camera = CameraMotion(self.settings.cmc) if self.settings.cmc != "none" else None
        self.frame = 0

    def prepare(self, img_bgr: np.ndarray) -> Prepared:
        """Letterbox to the network size, BGR -> RGB, CHW float32 in [0, 1] (the loader's work)."""
        img, ratio, pad_w, pad_h = letterbox(img_bgr, self.input_w, self.input_h)
        blob = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) / 255.0
        return blob, (ratio, pad_w, pad_h)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def detect(self, blob: np.ndarray, geometries: list[tuple[float, float, float]], conf_thres: float) -> Any:
        """Forward + decode prepared frames, one blob (3, H, W) or a stack (N, 3, H, W) with one
        geometry each: candidates above `conf_thres`, in image pixels.

        Returns (one Detections per frame, seconds of the forward pass); the caller times the whole step.
        """
        self._sync()
        with torch.inference_mode():
            if self.engine is not None:
                forward_start = time.perf_counter()  # the engine's own upload is part of its forward
                outputs = self.engine(blob)
            else:
                x = torch.from_numpy(blob).to(self.device, non_blocking=True)
                x = x.unsqueeze(0) if x.dim() == 3 else x
                self._sync()
                forward_start = time.perf_counter()
                with self.amp.autocast(self.device):
                    outputs = self.model(x)
            self._sync()
            model_s = time.perf_counter() - forward_start
            dets = decode_detections(outputs, K=self.settings.K, conf_thres=conf_thres, letterbox=geometries)
        return dets, model_s

    def step(self, blob: np.ndarray, geometry: tuple[float, float, float], number: int | None = None,
             image: np.ndarray | None = None) -> FrameTracks:
        """Track one prepared frame, numbered `number` (default: the one after the last); records its
        timings in the meter. The tracker steps once per frame it is given, as the reference's does.
        With track.cmc, `image` (the frame as read, BGR) gives the camera's motion (timed with the step)."""
        self.frame = self.frame + 1 if number is None else number
        self._sync()
        start = time.perf_counter()
        warp = self.camera.apply(image) if self.camera is not None and image is not None else None
        (dets,), model_s = self.detect(blob, [geometry], input_threshold(self.settings))
        tracks = update_tracker(self.tracker, dets.boxes, dets.scores, dets.embeddings, dets.classes, warp=warp)
        result = FrameTracks(self.frame, *reported(tracks, self.settings), names=self.classes)
        self.meter.add(time.perf_counter() - start, model_s)
        return result

    def detect_batch(self, prepared: list[Prepared]) -> list[Any]:
        """The network pass alone (for the detection cache) over prepared frames in one batch:
        candidates above track.det_floor per frame; each frame is timed as its share of the batch."""
        self._sync()
        start = time.perf_counter()
        dets, model_s = self.detect(*stack_prepared(prepared), self.settings.det_floor)
        total_s = time.perf_counter() - start
        for _ in prepared:
            self.meter.add(total_s / len(prepared), model_s / len(prepared))
        return dets

    def run(self, frames: Iterable[np.ndarray], frame_rate: float = 30) -> Iterator[tuple[np.ndarray, FrameTracks]]:
        """Reset, then yield (frame image, its tracks) for every frame of one sequence, numbered 1, 2, ..."""
        return self.run_numbered((Frame(n, img) for n, img in enumerate(frames, 1)), frame_rate)

    def run_numbered(self, frames: Iterable[Frame], frame_rate: float = 30) -> Iterator[tuple[np.ndarray, FrameTracks]]:
        """`run` over a source's numbered frames: result rows carry the source's numbers, gaps included.

        Across a gap (frames that could not be read) the tracker still steps once, as the reference's
        does for every frame it receives; the numbers keep the rows where they belong.
        """
        for frame, tracks in self.run_frames(frames, frame_rate):
            yield frame.image, tracks

    def run_frames(self, frames: Iterable[Frame], frame_rate: float = 30) -> Iterator[tuple[Frame, FrameTracks]]:
        """`run_numbered` yielding each Frame itself; one without `captured` gets the time it was handed over."""
        self.reset(frame_rate)
        for frame in frames:
            if frame.captured is None:
                frame = replace(frame, captured=time.monotonic())
            yield frame, self.step(*self.prepare(frame.image), number=frame.number, image=frame.image)

    def fork(self) -> OnlineTracker:
        """Another sequence on the same network (model and engine shared, not copied): its own tracker,
        frame count and meter, so several streams can be tracked side by side in one process."""
        twin = copy.copy(self)
        twin.meter = SpeedMeter(warmup=self.meter.warmup)
        twin.reset()
        return twin


def stack_prepared(prepared: list[Prepared]) -> tuple[np.ndarray, list]:
    """Prepared frames (blob, geometry) as one (N, 3, H, W) stack and the N geometries (one frame: no copy)."""
    blobs = prepared[0][0][None] if len(prepared) == 1 else np.stack([blob for blob, _ in prepared])
    return blobs, [geometry for _, geometry in prepared]
