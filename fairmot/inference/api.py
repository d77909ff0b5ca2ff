"""The Python API, read like the CLI: one network, any number of sources tracked side by side.

    from fairmot import Tracker
    tracker = Tracker.from_checkpoint("model.pt")
    for result in tracker.stream("video.mp4"):
        result.frame, result.timestamp, result.tracks  # each track: id, box (x, y, w, h), score, class_name

Every `stream` keeps its own tracker state (ids from 1, its own lost tracks) on the shared network
(`OnlineTracker.fork`), so streams iterated in turn in one process never mix identities.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fairmot.config import Params, load_params
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.settings import InferenceSettings
from fairmot.inference.sources import FrameSource, open_source


@dataclass(frozen=True)
class Track:
    """One reported track of a frame: its id (unique across classes), box (top-left x, y, width, height in
    pixels), score and `class_name` (one of params' `classes`, as the checkpoint records them)."""

    id: int
    box: tuple[float, float, float, float]
    score: float
    class_name: str = "pedestrian"


@dataclass(frozen=True)
class Result:
    """One frame's tracks: its number in the source, seconds since the source's first frame, the BGR
    image and the seconds from capture to this result."""

    frame: int
    timestamp: float | None
    tracks: list[Track]
    image: np.ndarray
    latency: float


class Tracker:
    """A network ready to track: `stream(source)` yields one Result per frame of the source."""

    def __init__(self, runner: OnlineTracker) -> None:
        self.runner = runner

    @classmethod
    def from_checkpoint(cls, path: Path | str, params: Params | Path | str | None = None, *,
                        device: str | None = None, **settings: Any) -> Tracker:
        """Load a checkpoint (ours or a released FairMOT one). `params`: a params file or Params
        (None: the shipped defaults) for `track.*` and `eval.engine`/`eval.threads`; `device` None
        takes the first GPU of params' `gpus` when CUDA is available, else the CPU; other keyword
        arguments override InferenceSettings fields (engine="onnx", amp="bf16", ...)."""
        import torch

        params = params if isinstance(params, Params) else load_params(params)
        if device is None:
            device = f"cuda:{params.gpu_ids[0]}" if params.gpu_ids and torch.cuda.is_available() else "cpu"
        base = InferenceSettings.from_params(params, device=device, batch=1)
        fields = {**base.__dict__, **settings, "batch": 1}  # online: one frame at a time
        return cls(OnlineTracker.from_checkpoint(Path(path), params.track, InferenceSettings(**fields), params.classes))

    def stream(self, source: Any, *, frame_rate: float | None = None) -> Iterator[Result]:
        """Track `source` (whatever `open_source` takes, or an opened FrameSource) frame by frame, with
        a tracker of its own; the lost-track buffer follows `frame_rate` (default: the source's)."""
        frames = source if isinstance(source, FrameSource) else open_source(source)
        runner = self.runner.fork()
        try:
            for frame, tracks in runner.run_frames(frames, frame_rate or frames.frame_rate):
                found = [Track(int(i), tuple(float(v) for v in box), float(s), tracks.names[int(c)])  # type: ignore[arg-type]
                         for box, i, s, c in zip(tracks.tlwhs, tracks.ids, tracks.scores, tracks.classes)]
                yield Result(tracks.frame, frame.timestamp, found, frame.image, time.monotonic() - frame.captured)
        finally:
            frames.close()
