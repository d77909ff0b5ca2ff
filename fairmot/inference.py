"""Run a FairMOT network + decoding + a tracker (track.method) over a stream of frames, with timing.

What the timers cover (per frame, after the image has been read and letterboxed on the CPU, as
the reference's data loader does it):
- `fps`: tensor to device + forward + decode (incl. copying detections to the host) + tracker
  update + the output box filter;
- `fps_model`: the forward pass alone.
On CUDA the device is synchronised before each clock read, so queued kernels are not missed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fairmot.config import TrackParams
from fairmot.devices import resolve_amp
from fairmot.errors import ConfigError, DataError
from fairmot.speed import SpeedMeter
from fairmot.tracking.detections import build_tracker, input_threshold, reported

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Only these are opened as videos: ffmpeg would also "decode" a text file (its tty demuxer).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


@dataclass
class FrameTracks:
    """One frame's reported tracks (after the output filter): boxes as top-left x, y, w, h."""

    frame: int
    tlwhs: np.ndarray  # (N, 4)
    ids: np.ndarray  # (N,)
    scores: np.ndarray  # (N,)

    def rows(self) -> list[tuple[int, int, float, float, float, float, float]]:
        """Result-file rows: frame, id, x, y, w, h, score."""
        return [(self.frame, int(i), *map(float, box), float(s)) for box, i, s in zip(self.tlwhs, self.ids, self.scores)]


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
    ) -> None:
        import torch

        self.device = torch.device(device)
        self.model = model.to(self.device).eval() if model is not None else None
        # An inference engine (fairmot.engines) replaces the plain model call when given
        self.engine = engine
        # Frames per network pass of `detect_batch`: an engine's is fixed when it is built
        self.batch = engine.batch if engine is not None else batch
        self.input_w, self.input_h = input_w, input_h
        self.settings = settings if settings is not None else TrackParams()
        self.amp = resolve_amp(amp, self.device)
        self.meter = meter if meter is not None else SpeedMeter()
        self.reset()

    @classmethod
    def from_checkpoint(cls, path: Path, settings: TrackParams, *, device: Any = "cpu",
                        amp: bool | str | None = None, warmup: int = 5, arch: str | None = None,
                        input_size: tuple[int, int] = (1088, 608), engine: str | None = None,
                        onnx_path: Path | None = None, threads: int = 0, batch: int = 1) -> OnlineTracker:
        """The network of a checkpoint, ours or a released FairMOT one (fairmot/models/checkpoints.py).

        Ours runs at the input size it was trained at; a released one (no size inside) at
        `input_size` (width, height). `arch` overrides the recognised architecture. engine None runs
        the model as it is; "torch" / "onnx" run it through `fairmot.engines`; either way
        `detect_batch` takes up to `batch` frames per pass.
        """
        from fairmot.engines import make_engine
        from fairmot.models.checkpoints import load_tracking_model

        net, meta = load_tracking_model(path, arch=arch, map_location=device)
        width, height = int(meta.get("input_w", input_size[0])), int(meta.get("input_h", input_size[1]))
        runner = None if engine is None else make_engine(
            engine, net, input_w=width, input_h=height, device=device, amp=amp, onnx_path=onnx_path,
            threads=threads, batch=batch)
        return cls(net, input_w=width, input_h=height, device=device, settings=settings, amp=amp,
                   meter=SpeedMeter(warmup=warmup), engine=runner, batch=batch)

    def reset(self, frame_rate: float = 30) -> None:
        """Start a new sequence: fresh tracker (ids from 1), buffer scaled by the frame rate."""
        self.tracker = build_tracker(self.settings, frame_rate)
        self.frame = 0

    def prepare(self, img_bgr: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float]]:
        """Letterbox to the network size, BGR -> RGB, CHW float32 in [0, 1] (the loader's work)."""
        from fairmot.data.dataset import letterbox

        img, ratio, pad_w, pad_h = letterbox(img_bgr, self.input_w, self.input_h)
        blob = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) / 255.0
        return blob, (ratio, pad_w, pad_h)

    def _sync(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def detect(self, blob: np.ndarray, geometries: list[tuple[float, float, float]], conf_thres: float) -> Any:
        """Forward + decode prepared frames, one blob (3, H, W) or a stack (N, 3, H, W) with one
        geometry each: candidates above `conf_thres`, in image pixels.

        Returns (one Detections per frame, seconds of the forward pass); the caller times the whole step.
        """
        import torch

        from fairmot.models.decode import decode_detections

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

    def step(self, blob: np.ndarray, geometry: tuple[float, float, float]) -> FrameTracks:
        """Track one prepared frame; records its timings in the meter."""
        self.frame += 1
        self._sync()
        start = time.perf_counter()
        (dets,), model_s = self.detect(blob, [geometry], input_threshold(self.settings))
        tracks = self.tracker.update(dets.boxes, dets.scores, dets.embeddings)
        result = FrameTracks(self.frame, *reported(tracks, self.settings))
        self.meter.add(time.perf_counter() - start, model_s)
        return result

    def detect_batch(self, prepared: list[tuple[np.ndarray, tuple[float, float, float]]]) -> list[Any]:
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
        """Reset, then yield (frame image, its tracks) for every frame of one sequence."""
        self.reset(frame_rate)
        for img in frames:
            yield img, self.step(*self.prepare(img))


def stack_prepared(prepared: list[tuple[np.ndarray, tuple[float, float, float]]]) -> tuple[np.ndarray, list]:
    """Prepared frames (blob, geometry) as one (N, 3, H, W) stack and the N geometries (one frame: no copy)."""
    blobs = prepared[0][0][None] if len(prepared) == 1 else np.stack([blob for blob, _ in prepared])
    return blobs, [geometry for _, geometry in prepared]


# ---------------------------------------------------------------------------------------------
# Frame sources: read until the reader stops, never trusting a container's frame count
# ---------------------------------------------------------------------------------------------
def read_image(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"{path}: cannot read this image (missing, empty or not an image)")
    return img


def image_files(folder: Path) -> list[Path]:
    """Images of a folder sorted by name; a MOT sequence folder means its img1/ subfolder."""
    folder = Path(folder)
    if (folder / "img1").is_dir():
        folder = folder / "img1"
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    return files


def iter_images(paths: Iterable[Path]) -> Iterator[np.ndarray]:
    for path in paths:
        yield read_image(path)


def iter_video(path: Path) -> Iterator[np.ndarray]:
    """Frames of a video file, until the decoder returns no more."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DataError(f"{path}: cannot open this video (unsupported container/codec or not a video)")
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            yield frame
    finally:
        cap.release()


def video_frame_rate(path: Path, default: float = 30.0) -> float:
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    cap.release()
    return fps if fps and 1.0 <= fps <= 240.0 else default


def open_source(source: Path) -> tuple[Iterator[np.ndarray], float]:
    """(frames, frame rate) of a video file or an image folder (seqinfo.ini's rate when present)."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such video file or image folder")
    if source.is_dir():
        rate = 30.0
        for ini in (source / "seqinfo.ini", source.parent / "seqinfo.ini"):
            if ini.exists():
                from fairmot.data.mot import read_seqinfo

                rate = float(read_seqinfo(ini).frame_rate)
                break
        return iter_images(image_files(source)), rate
    if source.suffix.lower() not in VIDEO_EXTENSIONS:
        raise DataError(f"{source}: not a video file ({' '.join(VIDEO_EXTENSIONS)}) or a folder of images")
    return iter_video(source), video_frame_rate(source)


def output_name(source: Path) -> str:
    """A video's stem, or the sequence name for `<seq>/img1` folders."""
    source = Path(source)
    if source.is_dir() and source.name == "img1":
        return source.parent.name
    return source.stem if source.is_file() else source.name


def check_outputs_spare_source(source: Path, outputs: Iterable[Path]) -> None:
    """Refuse an output path that is the source video or one of a source folder's frames."""
    source = Path(source)
    protected = {p.resolve() for p in (image_files(source) if source.is_dir() else [source])}
    for path in outputs:
        if Path(path).resolve() in protected:
            raise ConfigError(
                f"{path}: writing it would overwrite the source {source}; pass --out with another folder"
            )
