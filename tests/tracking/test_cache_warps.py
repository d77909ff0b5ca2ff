"""Camera warps in the detection cache: kept exactly, read by track.cmc without images (giving the online rows),
absent from caches made without eval.cmc (and from format 2 caches), which track.cmc then refuses on one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fairmot.config import TrackParams
from fairmot.data.synthetic import generate_synthetic
from fairmot.errors import DataError
from fairmot.inference.detect import record_sequence
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.sources import image_files, iter_images
from fairmot.tracking.cache import DetectionRecorder, read_detections, track_cached, write_detections
from tests.tracking.test_compensation import panning_scene
from tests.tracking.test_detections import HeadsFromPixels


def scene_cache(*, warps: bool) -> DetectionRecorder:
    rec = DetectionRecorder("PAN", 30.0, first_frame=1, det_floor=0.05, width=640, height=480)
    for boxes, scores, looks, warp in panning_scene():
        rec.add(boxes, scores, looks, {"sparse": warp} if warps else None)
    return rec


def test_warps_round_trip_exactly_and_track_cmc_reads_them(tmp_path):
    write_detections(tmp_path / "PAN.npz", scene_cache(warps=True).result())
    back = read_detections(tmp_path / "PAN.npz")
    expected = np.stack([warp for *_, warp in panning_scene()])
    assert list(back.warps) == ["sparse"] and back.warps["sparse"].dtype == np.float64
    assert np.array_equal(back.warps["sparse"], expected)
    with_cmc = track_cached(back, TrackParams(cmc="sparse"))
    without = track_cached(back, TrackParams())
    assert {r[1] for r in with_cmc} == {1, 2, 3, 4, 5}  # the pan keeps every id
    assert max(r[1] for r in without) > 5  # and breaks them without compensation


def test_a_cache_without_the_warps_track_cmc_needs_is_refused_on_one_line(tmp_path):
    write_detections(tmp_path / "PAN.npz", scene_cache(warps=False).result())
    back = read_detections(tmp_path / "PAN.npz")
    assert back.warps == {}
    assert track_cached(back, TrackParams()) == track_cached(scene_cache(warps=True).result(), TrackParams())
    with pytest.raises(DataError, match=r"^PAN: track.cmc is 'ecc' but the detection cache holds camera warps for: "
                                        r"none; add ecc to eval.cmc and rerun `fairmot detect`$"):
        track_cached(back, TrackParams(cmc="ecc"))


def test_a_format_2_cache_reads_as_one_without_warps(tmp_path):
    path = tmp_path / "PAN.npz"
    write_detections(path, scene_cache(warps=False).result())
    meta = json.loads(str(np.load(path)["meta"]))
    assert meta["version"] == 4 and meta["cmc"] == []
    del meta["cmc"]
    meta["version"] = 2  # what fairmot wrote before camera warps (and classes)
    arrays = dict(np.load(path))
    del arrays["classes"]
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    np.savez_compressed(path, **arrays)
    assert read_detections(path).warps == {}
    with pytest.raises(DataError, match="add sparse to eval.cmc"):
        track_cached(read_detections(path), TrackParams(cmc="sparse"))


def test_warps_of_the_wrong_shape_are_refused(tmp_path):
    path = tmp_path / "PAN.npz"
    write_detections(path, scene_cache(warps=True).result())
    arrays = dict(np.load(path))
    arrays["warps_sparse"] = arrays["warps_sparse"][:-1]
    np.savez_compressed(path, **arrays)
    with pytest.raises(DataError, match=r"warps_sparse float64 \(19, 2, 3\), not \(20, 2, 3\) floats"):
        read_detections(path)
    del arrays["warps_sparse"]
    np.savez_compressed(path, **arrays)
    with pytest.raises(DataError, match="missing warps_sparse"):
        read_detections(path)


@pytest.fixture(scope="module")
def pan_frames(tmp_path_factory) -> list[np.ndarray]:
    root = tmp_path_factory.mktemp("pan")
    generate_synthetic(root, seed=0, train_sequences=1, val_sequences=0, frames=16, width=320, height=192,
                       frame_rate=30, density=8.0, ignore_fraction=0.0, camera="pan")
    return list(iter_images(image_files(root / "images" / "train" / "SYN-01")))


@pytest.mark.parametrize(("method", "cmc"), [("jde", "sparse"), ("bytetrack", "ecc"), ("jde", "orb")])
def test_tracking_from_cached_warps_gives_the_online_rows(pan_frames, tmp_path, method, cmc):
    network = HeadsFromPixels().eval()
    runner = OnlineTracker(network, input_w=160, input_h=96, settings=TrackParams(det_floor=0.05))
    write_detections(tmp_path / "SYN-01.npz", record_sequence(runner, pan_frames, name="SYN-01", frame_rate=30,
                                                                     width=320, height=192, cmc=("sparse", "ecc", "orb")))
    cached = read_detections(tmp_path / "SYN-01.npz")
    assert sorted(cached.warps) == ["ecc", "orb", "sparse"]
    assert np.array_equal(cached.warps[cmc][0], np.eye(2, 3)) and np.abs(cached.warps[cmc][1:, :, 2]).max() > 0.5
    settings = TrackParams(method=method, conf_thres=0.4, low_thres=0.1, det_floor=0.05, cmc=cmc)
    online = OnlineTracker(network, input_w=160, input_h=96, settings=settings)
    rows = [row for _, tracks in online.run(pan_frames, frame_rate=30) for row in tracks.rows()]
    assert len(rows) > 2 * len(pan_frames)
    assert track_cached(cached, settings) == rows
    assert track_cached(cached, TrackParams(method=method, conf_thres=0.4, low_thres=0.1)) != rows  # cmc mattered
