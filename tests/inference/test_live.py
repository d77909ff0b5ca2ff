"""Live-run helpers: latency percentiles and the speed meter in bounded memory, and the clean stop on signals."""

import os
import signal

import pytest

from fairmot.inference.live import Latency, StopRequest, frame_json
from fairmot.inference.speed import SpeedMeter


def test_latency_percentiles_within_half_a_percent_in_bounded_memory():
    latency = Latency()
    for _ in range(1000):  # 100,000 frames between 1 and 100 ms
        for ms in range(1, 101):
            latency.add(ms / 1000)
    assert latency.count == 100_000
    assert latency.percentile_ms(50) == pytest.approx(50, rel=0.006)
    assert latency.percentile_ms(95) == pytest.approx(95, rel=0.006)
    assert len(latency.bins) <= 100  # one bin per distinct 1 % step, not one entry per frame
    assert Latency().percentile_ms(50) is None


def test_the_speed_meter_keeps_sums_not_one_entry_per_frame():
    meter = SpeedMeter(warmup=5)
    for _ in range(50_000):
        meter.add(0.02, 0.01)
    assert meter.frames == 50_000 and meter.fps == pytest.approx(50) and meter.fps_model == pytest.approx(100)
    assert all(len(v) <= 2 for v in vars(meter).values() if isinstance(v, list))


def test_a_signal_asks_for_a_stop_a_second_one_stops_at_once():
    before = signal.getsignal(signal.SIGTERM)
    closed = []
    with StopRequest() as stop:
        stop.on_stop.append(lambda: closed.append(True))
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.reason == "SIGTERM" and closed == [True]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before


def test_frame_json_is_one_line_per_frame():
    import numpy as np

    from fairmot.inference.runner import FrameTracks
    from fairmot.inference.sources import Frame

    tracks = FrameTracks(7, np.array([[1.234, 2, 30, 60.5]]), np.array([3]), np.array([0.91234]))
    line = frame_json(Frame(7, np.zeros((2, 2, 3), np.uint8), 0.2), tracks)
    assert line == '{"frame":7,"timestamp":0.2,"tracks":[{"id":3,"box":[1.23,2.0,30.0,60.5],"score":0.9123}]}\n'


def test_file_sources_stamp_their_frames_and_drop_none(tmp_path):
    from fairmot.inference.sources import open_source
    from tests.inference.clips import write_avi

    source = open_source(write_avi(tmp_path / "clip.avi", frames=5))  # 10 fps
    frames = list(source)
    assert [f.timestamp for f in frames] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4], abs=1e-6)
    assert all(a.captured <= b.captured for a, b in zip(frames, frames[1:])) and frames[0].captured is not None
    assert source.dropped == 0
    source.close()
    source.close()  # idempotent
