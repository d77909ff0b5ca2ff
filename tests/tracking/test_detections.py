"""The detection cache: written atomically, read back whole, and tracking from it equals tracking online."""

import numpy as np
import pytest
import torch

from fairmot.config import TrackParams
from fairmot.errors import DataError
from fairmot.inference.detect import record_sequence
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.sources import image_files, iter_images
from fairmot.tracking.cache import DetectionRecorder, read_detections, track_cached, write_detections


class HeadsFromPixels(torch.nn.Module):
    """FairMOT's four heads at stride 4 from fixed random convolutions of the image: fast, and the
    heatmap has spread-out peaks, so thresholds cut through the candidates."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.pool = torch.nn.AvgPool2d(4)
        self.hm = torch.nn.Conv2d(3, 1, 5, padding=2)
        self.id = torch.nn.Conv2d(3, 128, 3, padding=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.pool(x)
        hm = self.hm(f)
        per_image = dict(dim=(1, 2, 3), keepdim=True)  # each frame on its own, as a network sees it
        hm = (hm - hm.mean(**per_image)) / hm.std(**per_image) * 2.0 - 2.0
        b, _, h, w = f.shape
        return {"hm": hm, "wh": torch.tensor([3.0, 8.0, 3.0, 8.0]).view(1, 4, 1, 1).expand(b, 4, h, w),
                "reg": torch.zeros(b, 2, h, w), "id": self.id(f)}


@pytest.fixture(scope="module")
def network():
    return HeadsFromPixels().eval()


@pytest.fixture(scope="module")
def frames(tiny_dataset):
    return list(iter_images(image_files(tiny_dataset / "images" / "test" / "SYN-03")))[:16]


def online_rows(network, frames, settings: TrackParams) -> list[tuple]:
    runner = OnlineTracker(network, input_w=160, input_h=96, settings=settings)
    return [row for _, tracks in runner.run(frames, frame_rate=30) for row in tracks.rows()]


@pytest.mark.parametrize("method", ["jde", "bytetrack"])
def test_tracking_from_the_cache_gives_the_online_rows(network, frames, tmp_path, method):
    floor = TrackParams(det_floor=0.05)
    runner = OnlineTracker(network, input_w=160, input_h=96, settings=floor)
    write_detections(tmp_path / "SYN-03.npz", record_sequence(runner, frames, name="SYN-03", frame_rate=30))
    cached = read_detections(tmp_path / "SYN-03.npz")
    scores = cached.scores
    for conf in (0.3, 0.5):
        settings = TrackParams(method=method, conf_thres=conf, low_thres=0.1, det_floor=0.05)
        # the threshold cuts through the cached candidates, so the cut itself is exercised
        assert (scores > conf).sum() > 3 * len(frames) and (scores <= conf).sum() > 3 * len(frames)
        online = online_rows(network, frames, settings)
        assert len(online) > 2 * len(frames)
        assert track_cached(cached, settings) == online


def test_cache_round_trip_keeps_every_array_and_frame(tmp_path):
    rng = np.random.default_rng(0)
    rec = DetectionRecorder("SEQ", 25.0, first_frame=301, det_floor=0.05)
    sizes = [3, 0, 5]
    for n in sizes:
        rec.add(rng.random((n, 4)) * 100, rng.random(n), rng.standard_normal((n, 128)))
    write_detections(tmp_path / "SEQ.npz", rec.result())
    back = read_detections(tmp_path / "SEQ.npz")
    meta = (back.name, back.frame_rate, back.first_frame, back.det_floor, back.num_frames)
    assert meta == ("SEQ", 25.0, 301, 0.05, 3)
    assert [len(s) for _, s, _ in back.frames()] == sizes
    assert back.embeddings.shape == (8, 128) and back.embeddings.dtype == np.float32
    assert [p.name for p in tmp_path.iterdir()] == ["SEQ.npz"]  # no temp leftovers


def test_tracking_from_the_cache_numbers_frames_from_the_sequence_start():
    rec = DetectionRecorder("SEQ", 30.0, first_frame=76, det_floor=0.05)
    for f in range(3):
        rec.add([[10 + f, 10, 50 + f, 110]], [0.9], np.ones((1, 8)))
    rows = track_cached(rec.result(), TrackParams())
    # a new track is reported from its second frame (first-frame tracks at once)
    assert [r[:2] for r in rows] == [(76, 1), (77, 1), (78, 1)]


def test_a_cache_below_the_tracker_threshold_is_refused():
    rec = DetectionRecorder("SEQ", 30.0, first_frame=1, det_floor=0.3)
    rec.add(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 8)))
    with pytest.raises(DataError, match="det_floor"):
        track_cached(rec.result(), TrackParams(method="bytetrack", low_thres=0.1))


def test_a_file_that_is_not_a_cache_is_refused(tmp_path):
    np.savez(tmp_path / "x.npz", boxes=np.zeros((0, 4)))
    with pytest.raises(DataError, match="not a detection cache"):
        read_detections(tmp_path / "x.npz")
    with pytest.raises(DataError, match="fairmot detect"):
        read_detections(tmp_path / "missing.npz")


def test_recording_in_batches_keeps_every_frames_candidates(network, frames):
    settings = TrackParams(det_floor=0.05)
    runner = OnlineTracker(network, input_w=160, input_h=96, settings=settings)
    single = record_sequence(runner, frames, name="SYN-03", frame_rate=30)
    batcher = OnlineTracker(network, input_w=160, input_h=96, settings=settings, batch=5)
    batched = record_sequence(batcher, iter(frames), name="SYN-03", frame_rate=30)  # 16 = 5 + 5 + 5 + 1
    assert runner.meter.frames == batcher.meter.frames == len(frames) and len(single.scores) > len(frames)
    assert np.array_equal(single.counts, batched.counts)
    assert np.abs(single.scores - batched.scores).max() < 1e-5
    assert np.abs(single.boxes - batched.boxes).max() < 1e-3
    assert np.abs(single.embeddings - batched.embeddings).max() < 1e-5
