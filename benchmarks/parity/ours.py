"""This project's side: the scene through `fairmot.inference.runner.OnlineTracker.step` (decode + tracker + filter)."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.parity.maps import ReplayNet, head_maps
from benchmarks.parity.scenes import HEIGHT, WIDTH, frames_of


def run_ours(dets: np.ndarray, frame_rate: float = 30) -> tuple[list[tuple], np.ndarray]:
    """Rows (frame, id, x, y, w, h) and per-frame seconds of decode + association (network excluded)."""
    from fairmot.config import TrackParams
    from fairmot.inference.runner import OnlineTracker

    net = ReplayNet()
    runner = OnlineTracker(net, input_w=WIDTH, input_h=HEIGHT, device="cpu", settings=TrackParams())
    runner.reset(frame_rate)
    blob, geometry = runner.prepare(np.zeros((HEIGHT, WIDTH, 3), np.uint8))  # identity letterbox
    rows, seconds = [], []
    for f in frames_of(dets):
        net.maps = head_maps(dets[dets[:, 0] == f])
        net.seconds = 0.0
        start = time.perf_counter()
        tracks = runner.step(blob, geometry)
        seconds.append(time.perf_counter() - start - net.seconds)
        rows += [(f, int(i), *map(float, box)) for box, i in zip(tracks.tlwhs, tracks.ids)]
    return rows, np.array(seconds)
