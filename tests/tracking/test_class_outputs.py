"""The class travels through everything tracking writes: the detection cache (format 4; format 3 reads as
class 0), cached and online rows, result lines, gap filling, the JSON-lines feed and the Python API."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fairmot.config import TrackParams
from fairmot.data.formats.mot import result_line, write_results
from fairmot.errors import DataError
from fairmot.evaluation.interpolate import interpolate_tracks
from fairmot.inference.detect import record_sequence
from fairmot.inference.live import frame_json
from fairmot.inference.runner import FrameTracks, OnlineTracker, class_names, hm_channels
from fairmot.inference.sources import Frame, image_files, iter_images
from fairmot.tracking.cache import DetectionRecorder, read_detections, track_cached, write_detections
from tests.tracking.standins import box, unit
from tests.tracking.test_detections import HeadsFromPixels


class TwoClassHeads(HeadsFromPixels):
    """HeadsFromPixels with a second heatmap channel (its own random convolution): two classes."""

    def __init__(self) -> None:
        super().__init__()
        self.hm = torch.nn.Conv2d(3, 2, 5, padding=2)


def two_class_cache() -> DetectionRecorder:
    """A car (class 1) and a pedestrian (class 0) walking on the same box for 4 frames, with the same look."""
    rec = DetectionRecorder("SEQ", 30.0, first_frame=5, det_floor=0.1, width=640, height=480)
    for f in range(4):
        same = box(100 + 4 * f, 200)
        rec.add(np.array([same, same]), np.array([0.9, 0.8]), np.stack([unit(0), unit(0)]), classes=np.array([1, 0]))
    return rec


def test_a_cache_keeps_the_classes_and_tracks_them_apart(tmp_path):
    write_detections(tmp_path / "SEQ.npz", two_class_cache().result())
    with np.load(tmp_path / "SEQ.npz") as raw:
        assert json.loads(str(raw["meta"]))["version"] == 4 and raw["classes"].dtype == np.int16
    back = read_detections(tmp_path / "SEQ.npz")
    assert back.classes.tolist() == [1, 0] * 4 and back.num_classes == 2
    rows = track_cached(back, TrackParams(class_nms=0.0), num_classes=2)  # the two share a box
    assert [(r[0], r[1], r[7]) for r in rows] == [(f, i, c) for f in (5, 6, 7, 8) for i, c in ((1, 0), (2, 1))]
    assert rows[0][2:7] == pytest.approx((80.0, 150.0, 40.0, 100.0, 0.8))
    with pytest.raises(DataError, match=r"^SEQ: the cache holds candidates of class 1 \(0-based\), but 1 class\(es\) are tracked"):
        track_cached(back, TrackParams())


def test_a_format_3_cache_reads_as_class_0(tmp_path):
    path = tmp_path / "SEQ.npz"
    write_detections(path, two_class_cache().result())
    arrays = dict(np.load(path))
    meta = json.loads(str(arrays["meta"]))
    meta["version"] = 3  # what fairmot wrote before classes: no classes array
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    del arrays["classes"]
    np.savez_compressed(path, **arrays)
    back = read_detections(path)
    assert back.classes.tolist() == [0] * 8 and back.num_classes == 1
    rows = track_cached(back, TrackParams())
    assert {r[7] for r in rows} == {0} and len(rows[0]) == 8
    meta["version"] = 4  # but a format-4 cache must have them
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    np.savez_compressed(path, **arrays)
    with pytest.raises(DataError, match=r"not a detection cache \(missing classes\)"):
        read_detections(path)


def test_negative_classes_are_refused(tmp_path):
    path = tmp_path / "SEQ.npz"
    write_detections(path, two_class_cache().result())
    arrays = dict(np.load(path))
    arrays["classes"] = -arrays["classes"]
    np.savez_compressed(path, **arrays)
    with pytest.raises(DataError, match=r"classes int16 \(8,\), not \(8,\) class indices"):
        read_detections(path)


def test_result_lines_carry_the_class_only_with_several_classes(tmp_path):
    row = (3, 7, 1.234, 2.0, 30.0, 60.5, 0.91234, 2)
    assert result_line(row) == "3,7,1.23,2.00,30.00,60.50,0.91,-1,-1,-1\n"  # one class: today's line
    assert result_line(row[:7]) == result_line(row)
    assert result_line(row, 3) == "3,7,1.23,2.00,30.00,60.50,0.91,3,-1,-1\n"  # class index 2 -> 3
    assert result_line(row[:7], 3) == "3,7,1.23,2.00,30.00,60.50,0.91,1,-1,-1\n"  # no class: class 0
    write_results(tmp_path / "r.txt", [row, (4, 8, 1, 2, 3, 4, 0.5, 0)], classes=2)
    assert (tmp_path / "r.txt").read_text() == ("3,7,1.23,2.00,30.00,60.50,0.91,3,-1,-1\n"
                                                "4,8,1.00,2.00,3.00,4.00,0.50,1,-1,-1\n")


def test_gap_filling_keeps_the_class_of_the_track():
    rows = np.array([[1, 5, 10, 20, 30, 40, 0.9, 2], [4, 5, 40, 20, 30, 40, 0.6, 2], [1, 6, 0, 0, 5, 5, 0.9, 1]])
    filled = interpolate_tracks(rows, TrackParams(interpolate="linear", max_gap=5))
    assert filled.shape == (5, 8)
    assert filled[:, [0, 1, 2, 7]].tolist() == [[1, 5, 10, 2], [1, 6, 0, 1], [2, 5, 20, 2], [3, 5, 30, 2], [4, 5, 40, 2]]
    assert interpolate_tracks(rows, TrackParams(interpolate="gsi", max_gap=5))[:, 7].tolist() == [2, 1, 2, 2, 2]


@pytest.fixture(scope="module")
def frames(tiny_dataset):
    return list(iter_images(image_files(tiny_dataset / "images" / "test" / "SYN-03")))[:12]


def test_a_two_class_network_tracks_online_as_from_its_cache(frames, tmp_path):
    network = TwoClassHeads().eval()
    assert hm_channels(network) == 2 and hm_channels(HeadsFromPixels()) == 1
    settings = TrackParams(method="bytetrack", det_floor=0.05, low_thres=0.1)
    runner = OnlineTracker(network, input_w=160, input_h=96, settings=settings, classes=("pedestrian", "car"))
    online = [row for _, tracks in runner.run(frames, frame_rate=30) for row in tracks.rows()]
    assert {r[7] for r in online} == {0, 1}  # both classes tracked
    ids = {r[1]: r[7] for r in online}
    assert all(ids[r[1]] == r[7] for r in online)  # an id is of one class
    write_detections(tmp_path / "SYN-03.npz", record_sequence(runner, frames, name="SYN-03", frame_rate=30,
                                                                     width=320, height=192))
    cached = read_detections(tmp_path / "SYN-03.npz")
    assert cached.num_classes == 2
    assert track_cached(cached, settings, num_classes=2) == online
    # without names the classes are the network's heatmap channels
    assert OnlineTracker(network, input_w=160, input_h=96).classes == ("class0", "class1")


def test_class_names_come_from_the_checkpoint_then_params_then_the_channels():
    assert class_names({"classes": ["pedestrian", "car"]}, 2, ["a", "b"]) == ("pedestrian", "car")
    assert class_names({}, 2, ["pedestrian", "cyclist"]) == ("pedestrian", "cyclist")
    assert class_names({}, 1, ["pedestrian", "cyclist"]) == ("pedestrian",)
    assert class_names({}, 1, ["person"]) == ("person",)
    assert class_names({}, 3) == ("class0", "class1", "class2")


def test_the_json_feed_names_the_class_with_several_classes():
    image = np.zeros((2, 2, 3), np.uint8)
    one = FrameTracks(7, np.array([[1.0, 2, 30, 60]]), np.array([3]), np.array([0.5]))
    assert len(one.rows()[0]) == 8 and one.rows()[0][7] == 0
    assert "class" not in json.loads(frame_json(Frame(7, image, 0.2), one))["tracks"][0]
    two = FrameTracks(7, np.array([[1.0, 2, 30, 60], [5, 5, 9, 9]]), np.array([3, 4]), np.array([0.5, 0.6]),
                      classes=np.array([1, 0]), names=("pedestrian", "car"))
    assert [t["class"] for t in json.loads(frame_json(Frame(7, image, 0.2), two))["tracks"]] == ["car", "pedestrian"]
    assert [r[7] for r in two.rows()] == [1, 0]


def test_the_api_and_the_result_file_carry_the_class(tiny_dataset, tmp_path):
    from fairmot.inference.api import Tracker
    from fairmot.inference.outputs import track_to_files
    from fairmot.inference.sources import open_source

    folder = tiny_dataset / "images" / "test" / "SYN-03" / "img1"
    settings = TrackParams(method="bytetrack", low_thres=0.1)
    runner = OnlineTracker(TwoClassHeads().eval(), input_w=160, input_h=96, settings=settings,
                           classes=("pedestrian", "car"))
    results = list(Tracker(runner).stream(folder))
    expected = [(row[1], ("pedestrian", "car")[row[7]]) for _, tracks in runner.run_frames(open_source(folder))
                for row in tracks.rows()]
    got = [(t.id, t.class_name) for r in results for t in r.tracks]
    assert got == expected and {name for _, name in got} == {"pedestrian", "car"}
    done = track_to_files(runner, open_source(folder), 30, tmp_path / "out.txt", None, name="SYN-03")
    column = [line.split(",")[7] for line in (tmp_path / "out.txt").read_text().splitlines()]
    assert done.frames == len(results) and column == [{"pedestrian": "1", "car": "2"}[n] for _, n in got]
