"""The network pass over an evaluation split, kept as a detection cache (`fairmot detect`, `fairmot tune`).

Frames go through the runner `settings.batch` at a time; each sequence's candidates above
`track.det_floor` (and, for each estimator in `settings.cmc`, the camera's frame-to-frame warps)
are written as `<out>/<seq>.npz` (fairmot.tracking.cache), the folder replaced as one. Each cache
records the checkpoint's sha256 and the image size; `cached_detections` reuses a folder whose
caches the very same checkpoint made for the very same frames.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
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
from fairmot.inference.camera_motion import CameraMotion
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.settings import InferenceSettings
from fairmot.inference.sources import iter_images
from fairmot.io import atomic_dir, file_sha256
from fairmot.tracking.cache import (
    DetectionRecorder,
    SequenceDetections,
    check_cache,
    read_detections,
    write_detections,
)


def record_sequence(runner: OnlineTracker, frames: Iterable[np.ndarray], *, name: str, frame_rate: float,
                    width: int, height: int, first_frame: int = 1, checkpoint_sha256: str = "",
                    cmc: Sequence[str] = (), timer: dict[str, float] | None = None) -> SequenceDetections:
    """The network pass of an OnlineTracker (`prepare` + `detect_batch`) over frames, as a cache,
    `runner.batch` frames per pass (the same candidates up to float rounding of the network).
    width x height is the frames' size (seqinfo.ini's), kept so a cache read for other frames is refused.
    `cmc`: camera motion estimators whose frame-to-frame warps are cached too (their seconds add to
    timer["cmc_s"] when a timer is given)."""
    recorder = DetectionRecorder(name, frame_rate, first_frame, runner.settings.det_floor, width=width, height=height,
                                 checkpoint_sha256=checkpoint_sha256)
    motions = {method: CameraMotion(method) for method in cmc}
    frames = iter(frames)
    while chunk := list(itertools.islice(frames, runner.batch)):
        start = time.perf_counter()
        warps = [{m: motion.apply(img) for m, motion in motions.items()} for img in chunk]
        if timer is not None:
            timer["cmc_s"] = timer.get("cmc_s", 0.0) + time.perf_counter() - start
        for dets, frame_warps in zip(runner.detect_batch([runner.prepare(img) for img in chunk]), warps):
            recorder.add(dets.boxes, dets.scores, dets.embeddings, frame_warps, classes=dets.classes)
    return recorder.result()


def detect_split(sequences: Sequence[EvalSequence], checkpoint: Path, track: TrackParams,
                 settings: InferenceSettings, out: Path, *, seed: int) -> dict[str, Any]:
    """Write out/<seq>.npz for every sequence (atomically, as one folder); the pass's figures."""
    torch.manual_seed(seed)
    apply_threads(settings.threads)
    # the engine allocates its whole batch up front: never more frames than the longest sequence has
    longest = max((seq.num_frames for seq in sequences), default=1)
    settings = dataclasses.replace(settings, batch=max(1, min(settings.batch, longest)))
    runner = OnlineTracker.from_checkpoint(checkpoint, track, settings)
    digest = file_sha256(checkpoint)
    reset_peak_memory(settings.device)
    candidates, timer = 0, {"cmc_s": 0.0}
    with atomic_dir(out) as tmp:
        for seq in sequences:
            frames = tqdm(iter_images(seq.frame_paths()), total=seq.num_frames, desc=seq.name, unit="frame",
                          disable=None)
            cache = record_sequence(runner, frames, name=seq.name, frame_rate=seq.info.frame_rate,
                                    width=seq.info.width, height=seq.info.height, first_frame=seq.first_frame,
                                    checkpoint_sha256=digest, cmc=settings.cmc, timer=timer)
            candidates += len(cache.scores)
            write_detections(tmp / f"{seq.name}.npz", cache)
    frames = sum(s.num_frames for s in sequences)
    cmc = {"cmc": list(settings.cmc), "cmc_ms_per_frame": round(1000 * timer["cmc_s"] / max(frames, 1), 3)}
    return {
        "engine": settings.engine, "batch": settings.batch, "device": device_name(settings.device), "frames": frames,
        "fps": round(runner.meter.fps, 3), "fps_model": round(runner.meter.fps_model, 3),
        "peak_memory_mb": round(peak_memory_mb(settings.device), 1), "det_floor": track.det_floor,
        "candidates_per_frame": round(candidates / max(frames, 1), 2), "checkpoint_sha256": digest,
        **(cmc if settings.cmc else {}),
        **({"precision": settings.precision} if settings.engine == "openvino" else {}),  # other engines: fp32 only
    }


def cached_detections(sequences: Sequence[EvalSequence], checkpoint: Path, track: TrackParams,
                      settings: InferenceSettings, folder: Path, *, seed: int) -> list[SequenceDetections]:
    """The caches of `sequences` in `folder` when every one is readable, made by this very checkpoint (the
    sha256 in its meta) for the same frames, at a floor no higher than track.det_floor, with the camera warps
    of settings.cmc and track.cmc; otherwise one network pass first, estimating those (the folder is this
    command's own cache, so anything else in it is simply made again)."""
    if not Path(checkpoint).is_file():
        raise DataError(f"{checkpoint}: checkpoint not found; run `fairmot train` (or `dvc repro train`) first")
    digest = file_sha256(checkpoint)
    cmc = tuple(dict.fromkeys([*settings.cmc, *([track.cmc] if track.cmc != "none" else [])]))
    settings = dataclasses.replace(settings, cmc=cmc)
    paths = [Path(folder) / f"{s.name}.npz" for s in sequences]
    try:
        caches = [read_detections(p) for p in paths]
        for cache, seq, path in zip(caches, sequences, paths):
            check_cache(cache, path, name=seq.name, first_frame=seq.first_frame, frames=seq.num_frames,
                        width=seq.info.width, height=seq.info.height, checkpoint_sha256=digest)
        if all(c.det_floor <= track.det_floor and set(cmc) <= set(c.warps) for c in caches):
            return caches
    except DataError:
        pass
    detect_split(sequences, checkpoint, track, settings, folder, seed=seed)
    return [read_detections(p) for p in paths]
