"""The network pass over an evaluation split, kept as a detection cache (`fairmot detect`, `fairmot tune`).

Frames go through the runner `settings.batch` at a time; each sequence's candidates above
`track.det_floor` are written as `<out>/<seq>.npz` (fairmot.tracking.cache), the folder replaced
as one. `cached_detections` reuses such a folder when the very same checkpoint made it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from fairmot.config import TrackParams
from fairmot.devices import apply_threads, device_name, peak_memory_mb, reset_peak_memory
from fairmot.errors import DataError
from fairmot.evaluation import EvalSequence
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.settings import InferenceSettings
from fairmot.inference.sources import iter_images
from fairmot.io import atomic_dir, file_sha256, write_text
from fairmot.tracking.cache import DetectionRecorder, SequenceDetections, read_detections, write_detections

MODEL_STAMP = "model.sha256"


def record_sequence(runner: OnlineTracker, frames: Iterable[np.ndarray], *, name: str, frame_rate: float,
                    first_frame: int = 1) -> SequenceDetections:
    """The network pass of an OnlineTracker (`prepare` + `detect_batch`) over frames, as a cache,
    `runner.batch` frames per pass (the same candidates up to float rounding of the network)."""
    recorder = DetectionRecorder(name, frame_rate, first_frame, runner.settings.det_floor)
    frames = iter(frames)
    while chunk := list(itertools.islice(frames, runner.batch)):
        for dets in runner.detect_batch([runner.prepare(img) for img in chunk]):
            recorder.add(dets.boxes, dets.scores, dets.embeddings)
    return recorder.result()


def detect_split(sequences: Sequence[EvalSequence], checkpoint: Path, track: TrackParams,
                 settings: InferenceSettings, out: Path, *, seed: int) -> dict[str, Any]:
    """Write out/<seq>.npz for every sequence (atomically, as one folder); the pass's figures."""
    torch.manual_seed(seed)
    apply_threads(settings.threads)
    runner = OnlineTracker.from_checkpoint(checkpoint, track, settings)
    reset_peak_memory(settings.device)
    candidates = 0
    with atomic_dir(out) as tmp:
        for seq in sequences:
            frames = tqdm(iter_images(seq.frame_paths()), total=seq.num_frames, desc=seq.name, unit="frame",
                          disable=None)
            cache = record_sequence(runner, frames, name=seq.name, frame_rate=seq.info.frame_rate,
                                    first_frame=seq.first_frame)
            candidates += len(cache.scores)
            write_detections(tmp / f"{seq.name}.npz", cache)
    frames = sum(s.num_frames for s in sequences)
    return {
        "engine": settings.engine, "batch": settings.batch, "device": device_name(settings.device), "frames": frames,
        "fps": round(runner.meter.fps, 3), "fps_model": round(runner.meter.fps_model, 3),
        "peak_memory_mb": round(peak_memory_mb(settings.device), 1), "det_floor": track.det_floor,
        "candidates_per_frame": round(candidates / max(frames, 1), 2),
    }


def cached_detections(sequences: Sequence[EvalSequence], checkpoint: Path, track: TrackParams,
                      settings: InferenceSettings, folder: Path, *, seed: int) -> list[SequenceDetections]:
    """The caches of `sequences` in `folder` when complete and made by this very checkpoint (its sha256
    is kept beside them) at a floor no higher than track.det_floor; otherwise one network pass first."""
    if not Path(checkpoint).is_file():
        raise DataError(f"{checkpoint}: checkpoint not found; run `fairmot train` (or `dvc repro train`) first")
    digest = file_sha256(checkpoint)
    stamp = folder / MODEL_STAMP
    paths = [folder / f"{s.name}.npz" for s in sequences]
    same_model = stamp.exists() and stamp.read_text().strip() == digest
    caches = [read_detections(p) for p in paths] if same_model and all(p.exists() for p in paths) else []
    fresh = all(c.det_floor <= track.det_floor and c.first_frame == s.first_frame for c, s in zip(caches, sequences))
    if not caches or not fresh:
        detect_split(sequences, checkpoint, track, settings, folder, seed=seed)
        write_text(stamp, digest + "\n")
        caches = [read_detections(p) for p in paths]
    return caches
