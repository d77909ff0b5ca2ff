"""The detection cache: written atomically, read back whole, and tracking from it equals tracking online;
read only for the sequence, frames, image size and checkpoint it was made for, and damaged files refused on one line."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from fairmot.config import TrackParams
from fairmot.errors import DataError
from fairmot.inference.detect import record_sequence
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.sources import image_files, iter_images
from fairmot.tracking.cache import DetectionRecorder, check_cache, read_detections, track_cached, write_detections


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


@pytest.mark.parametrize("method", ["jde", "bytetrack", "botsort"])
def test_tracking_from_the_cache_gives_the_online_rows(network, frames, tmp_path, method):
    floor = TrackParams(det_floor=0.05)
    runner = OnlineTracker(network, input_w=160, input_h=96, settings=floor)
    write_detections(tmp_path / "SYN-03.npz", record_sequence(runner, frames, name="SYN-03", frame_rate=30,
                                                                     width=320, height=192))
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
    rec = DetectionRecorder("SEQ", 25.0, first_frame=301, det_floor=0.05, width=1920, height=1080,
                            checkpoint_sha256="ab" * 32)
    sizes = [3, 0, 5]
    for n in sizes:
        rec.add(rng.random((n, 4)) * 100, rng.random(n), rng.standard_normal((n, 128)))
    write_detections(tmp_path / "SEQ.npz", rec.result())
    back = read_detections(tmp_path / "SEQ.npz")
    meta = (back.name, back.frame_rate, back.first_frame, back.det_floor, back.num_frames, back.width, back.height)
    assert meta == ("SEQ", 25.0, 301, 0.05, 3, 1920, 1080) and back.checkpoint_sha256 == "ab" * 32
    assert [len(s) for _, s, _, _ in back.frames()] == sizes
    assert back.embeddings.shape == (8, 128) and back.embeddings.dtype == np.float32
    assert [p.name for p in tmp_path.iterdir()] == ["SEQ.npz"]  # no temp leftovers


def test_tracking_from_the_cache_numbers_frames_from_the_sequence_start():
    rec = DetectionRecorder("SEQ", 30.0, first_frame=76, det_floor=0.05, width=640, height=480)
    for f in range(3):
        rec.add([[10 + f, 10, 50 + f, 110]], [0.9], np.ones((1, 8)))
    rows = track_cached(rec.result(), TrackParams())
    # a new track is reported from its second frame (first-frame tracks at once)
    assert [r[:2] for r in rows] == [(76, 1), (77, 1), (78, 1)]


def test_a_cache_below_the_tracker_threshold_is_refused():
    rec = DetectionRecorder("SEQ", 30.0, first_frame=1, det_floor=0.3, width=640, height=480)
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
    single = record_sequence(runner, frames, name="SYN-03", frame_rate=30, width=320, height=192)
    batcher = OnlineTracker(network, input_w=160, input_h=96, settings=settings, batch=5)
    batched = record_sequence(batcher, iter(frames), name="SYN-03", frame_rate=30, width=320,  # 16 = 5 + 5 + 5 + 1
                              height=192)
    assert runner.meter.frames == batcher.meter.frames == len(frames) and len(single.scores) > len(frames)
    assert np.array_equal(single.counts, batched.counts)
    assert np.abs(single.scores - batched.scores).max() < 1e-5
    assert np.abs(single.boxes - batched.boxes).max() < 1e-3
    assert np.abs(single.embeddings - batched.embeddings).max() < 1e-5


def small_cache(name="SEQ", first_frame=1, frames=4, sha="ab" * 32):
    rng = np.random.default_rng(1)
    rec = DetectionRecorder(name, 30.0, first_frame, det_floor=0.05, width=640, height=480, checkpoint_sha256=sha)
    for n in [2, 0, 3, 1][:frames] + [1] * (frames - 4):
        rec.add(rng.random((n, 4)) * 100, rng.random(n), rng.standard_normal((n, 16)))
    return rec.result()


EXPECTED = dict(name="SEQ", first_frame=1, frames=4, width=640, height=480, checkpoint_sha256="ab" * 32)


@pytest.mark.parametrize(("change", "message"), [
    (dict(name="OTHER"), "cached sequence name 'SEQ', but it is read for 'OTHER'"),
    (dict(frames=5), "cached frames 1..4, but OTHER is scored on frames 1..5"),
    (dict(first_frame=3, frames=4), "cached frames 1..4, but OTHER is scored on frames 3..6"),
    (dict(width=320, height=192), "cached image size 640x480, but OTHER's frames are 320x192"),
    (dict(checkpoint_sha256="cd" * 32), "made by the checkpoint with sha256 abababababab..., not cdcdcdcdcdcd..."),
])
def test_a_cache_read_for_another_sequence_frames_size_or_checkpoint_is_refused(tmp_path, change, message):
    cache, path = small_cache(), tmp_path / "OTHER.npz"
    check_cache(cache, path, **EXPECTED)  # what it was made for
    expected = {**EXPECTED, **change}
    if "name" not in change:  # each field on its own: the name fits, the one field differs
        cache, expected["name"] = dataclasses.replace(cache, name="OTHER"), "OTHER"
    with pytest.raises(DataError) as raised:
        check_cache(cache, path, **expected)
    assert str(raised.value).startswith(f"{path}: {message}")
    assert str(raised.value).endswith("rerun `fairmot detect`") or "rerun `fairmot detect` with this split" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_checkpoint_is_checked_only_when_asked(tmp_path):
    check_cache(small_cache(sha=""), tmp_path / "SEQ.npz", **{**EXPECTED, "checkpoint_sha256": None})


def _npz_bytes(tmp_path, cache) -> bytes:
    write_detections(tmp_path / "good.npz", cache)
    return (tmp_path / "good.npz").read_bytes()


def _flip_a_byte_in_the_compressed_data(data: bytes) -> bytes:
    spoilt = bytearray(data)
    spoilt[len(data) // 3] ^= 0xFF  # inside the embeddings' deflated bytes
    return bytes(spoilt)


CORRUPT = {
    "empty": (lambda good: b"", "empty file"),
    "truncated": (lambda good: good[: len(good) // 2], "File is not a zip file"),
    "bad CRC": (_flip_a_byte_in_the_compressed_data, "Bad CRC-32 for file 'embeddings.npy'"),
    "a single .npy": (None, "a single array, not an npz archive"),
    "object arrays": (None, "it holds Python objects, not plain arrays"),
    "a folder": (None, "a folder, not a file"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_a_damaged_cache_is_one_line_naming_the_file(tmp_path, case):
    good = _npz_bytes(tmp_path, small_cache(frames=40))
    path, (spoil, reason) = tmp_path / "SEQ.npz", CORRUPT[case]
    if spoil:
        path.write_bytes(spoil(good))
    elif case == "a single .npy":
        with open(path, "wb") as handle:
            np.save(handle, np.zeros(3))
    elif case == "object arrays":
        np.savez(path, boxes=np.array([None, 1], dtype=object), scores=np.zeros(2), embeddings=np.zeros((2, 1)),
                 counts=np.array([2]), meta=np.array("{}"))
    else:
        path.mkdir()
    with pytest.raises(DataError) as raised:
        read_detections(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: unreadable detection cache ({reason}") and text.endswith("; rerun `fairmot detect`")
    assert "allow_pickle" not in text and "\n" not in text


def _rewrite(path, **arrays):
    with np.load(path) as data:
        values = {k: data[k] for k in data.files}
    np.savez(path, **{**values, **arrays})


@pytest.mark.parametrize(("arrays", "problem"), [
    (dict(boxes=np.zeros((7, 3), np.float32)), "boxes float32 (7, 3), not (7, 4) floats"),
    (dict(embeddings=np.zeros((6, 16), np.float32)), "embeddings float32 (6, 16), not (7, D) floats"),
    (dict(scores=np.zeros((7, 1), np.float32)), "scores float32 (7, 1), not (N,) floats"),
    (dict(counts=np.array([2.0, 5.0])), "counts float64 (2,), not (F,) integers"),
    (dict(counts=np.array([9, -2, 0, 0], np.int32)), "per-frame counts (sum 7, least -2) do not add up"),
    (dict(counts=np.array([2, 0, 3, 1], np.int32)), "per-frame counts (sum 6, least 0) do not add up to the 7"),
    (dict(meta=np.array("[1]")), "not a detection cache (its meta is not a JSON object)"),
    (dict(meta=np.array(json.dumps({"version": 2, "name": 5}))), "not a valid detection cache (meta 'name' = 5)"),
])
def test_arrays_that_do_not_fit_together_are_refused(tmp_path, arrays, problem):
    path = tmp_path / "SEQ.npz"
    write_detections(path, small_cache(frames=5))  # 2 + 0 + 3 + 1 + 1 = 7 candidates
    _rewrite(path, **arrays)
    with pytest.raises(DataError, match=r"^.*SEQ\.npz: .*" + problem.replace("(", r"\(").replace(")", r"\)")):
        read_detections(path)


def test_a_cache_of_the_previous_format_says_which_formats(tmp_path):
    path = tmp_path / "SEQ.npz"
    write_detections(path, small_cache())
    _rewrite(path, meta=np.array(json.dumps({"version": 1, "name": "SEQ", "frame_rate": 30.0, "first_frame": 1,
                                                 "det_floor": 0.05})))
    with pytest.raises(DataError) as raised:
        read_detections(path)
    assert str(raised.value) == (f"{path}: detection cache format 1, this version of fairmot reads format 2, 3 or 4; "
                                 "rerun `fairmot detect`")
