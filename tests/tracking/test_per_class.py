"""Tracking per class: one track set per class, one id counter; a detection never continues a track of
another class; with one class `build_tracker` is the method's own tracker and decides as before."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fairmot.config import TrackParams
from fairmot.tracking import BoTSORT, BYTETracker, JDETracker, PerClassTracker, build_tracker, update_tracker
from tests.tracking.standins import box, unit
from tests.tracking.test_compensation import panning_scene

METHODS = {"jde": JDETracker, "bytetrack": BYTETracker, "botsort": BoTSORT}


def settings(method: str) -> TrackParams:
    return TrackParams(method=method, conf_thres=0.4, low_thres=0.1)


def step(tracker, dets: list[tuple[list[float], int]], feature: np.ndarray) -> list[tuple[int, int]]:
    """One frame of (box, class) detections sharing one embedding; the (id, class) of the reported tracks."""
    boxes = np.array([b for b, _ in dets]).reshape(-1, 4)
    classes = np.array([c for _, c in dets], dtype=np.int64)
    tracks = update_tracker(tracker, boxes, np.full(len(dets), 0.9), np.tile(feature, (len(dets), 1)), classes)
    return sorted((t.track_id, t.cls) for t in tracks)


@pytest.mark.parametrize("method", list(METHODS))
def test_build_tracker_makes_one_tracker_of_the_method_per_class(method):
    assert type(build_tracker(settings(method))) is METHODS[method]
    assert type(build_tracker(settings(method), num_classes=1)) is METHODS[method]
    tracker = build_tracker(settings(method), frame_rate=15, num_classes=3)
    assert isinstance(tracker, PerClassTracker)
    assert [type(t) for t in tracker.trackers] == [METHODS[method]] * 3
    assert [t.cls for t in tracker.trackers] == [0, 1, 2]
    assert {t.max_time_lost for t in tracker.trackers} == {15}  # frame rate 15, buffer 30


@pytest.mark.parametrize("method", list(METHODS))
def test_a_pedestrian_never_continues_a_cars_track_on_the_very_same_box_and_embedding(method):
    same_box, look = box(200, 300), unit(0)
    # one class: the detection at the car's box continues its track (id 1 on every frame)
    plain = build_tracker(settings(method))
    assert [step(plain, [(same_box, 0)], look) for _ in range(3)] == [[(1, 0)], [(1, 0)], [(1, 0)]]
    # two classes: the car (class 1) leaves, a pedestrian (class 0) appears on its box: a track of its own
    tracker = build_tracker(settings(method), num_classes=2)
    out = [step(tracker, [(same_box, 1)], look)] + [step(tracker, [(same_box, 0)], look) for _ in range(3)]
    assert out == [[(1, 1)], [], [(2, 0)], [(2, 0)]]  # the pedestrian's track is confirmed on its second frame
    assert [(t.track_id, t.cls) for t in tracker.trackers[1].lost] == [(1, 1)]  # the car's track only waits


@pytest.mark.parametrize("method", list(METHODS))
def test_a_car_and_a_pedestrian_on_one_box_keep_their_own_ids(method):
    """Without class_nms (0) both are tracked, each with its own id."""
    tracker = build_tracker(dataclasses.replace(settings(method), class_nms=0.0), num_classes=2)
    same_box, look = box(200, 300), unit(3)
    for _ in range(6):  # class 0's tracker takes its ids first
        assert step(tracker, [(same_box, 1), (same_box, 0)], look) == [(1, 0), (2, 1)]


@pytest.mark.parametrize("method", list(METHODS))
def test_ids_are_unique_across_classes_from_one_counter(method):
    tracker = build_tracker(settings(method), num_classes=3)
    seen: dict[int, int] = {}
    for f in range(1, 10):
        # up to frame 8 a new object of class (f - 1) % 3 appears far from the others; the earlier ones stay
        dets = [(box(80 * k + 50, 300), k % 3) for k in range(min(f, 8))]
        boxes = np.array([b for b, _ in dets])
        classes = np.array([c for _, c in dets])
        tracks = tracker.update(boxes, np.full(len(dets), 0.9), np.eye(len(dets), 16), classes=classes)
        for t in tracks:
            assert seen.setdefault(t.track_id, t.cls) == t.cls  # an id never changes class
    assert sorted(seen) == list(range(1, 9)) and tracker._next_id == 9
    assert seen == {1: 0, 2: 1, 3: 2, 4: 0, 5: 1, 6: 2, 7: 0, 8: 1}  # ids in order of appearance, whatever the class


@pytest.mark.parametrize("method", list(METHODS))
def test_two_classes_given_only_class_0_decide_as_one_class(method):
    """Class 0's tracker is the method's tracker, unchanged: same ids and boxes on a scene with churn."""
    rng = np.random.default_rng(7)
    plain, per_class = build_tracker(settings(method)), build_tracker(settings(method), num_classes=2)
    looks = rng.standard_normal((12, 16))
    for f in range(60):
        here = [k for k in range(12) if (f + 3 * k) % 17 < 12]  # people come and go
        boxes = np.array([box(60 * k + 40 + 2 * f, 200 + 5 * k) for k in here]).reshape(-1, 4)
        scores = rng.uniform(0.2, 1.0, len(here))
        feats = looks[here] + rng.normal(0, 0.05, (len(here), 16))
        a = [(t.track_id, *np.round(t.tlwh, 9)) for t in plain.update(boxes, scores, feats)]
        b = [(t.track_id, *np.round(t.tlwh, 9)) for t in per_class.update(boxes, scores, feats,
                                                                          classes=np.zeros(len(here), int))]
        assert a == b
    assert plain._next_id > 12  # identities were made along the way


@pytest.mark.parametrize("method", ["jde", "bytetrack", "botsort"])
def test_the_camera_warp_moves_every_classs_tracks(method):
    """panning_scene's five walkers, two classes: every id kept through the pan only with the warps."""
    def ids(cmc: bool) -> set[int]:
        tracker = build_tracker(settings(method), num_classes=2)
        out: set[int] = set()
        for boxes, scores, looks, warp in panning_scene():
            tracks = tracker.update(boxes, scores, looks, classes=np.array([0, 1, 0, 1, 0]), warp=warp if cmc else None)
            out |= {(t.track_id, t.cls) for t in tracks}
        return out

    assert ids(cmc=True) == {(1, 0), (2, 0), (3, 0), (4, 1), (5, 1)}
    assert len(ids(cmc=False)) > 5


def test_a_one_class_tracker_refuses_other_classes_and_the_wrapper_unknown_ones():
    with pytest.raises(ValueError, match="class 1"):
        update_tracker(JDETracker(), np.array([box(10, 10)]), np.array([0.9]), unit(0)[None], np.array([1]))
    with pytest.raises(ValueError, match="one class in 0..1 per detection"):
        PerClassTracker(JDETracker, 2).update(np.array([box(10, 10)]), np.array([0.9]), unit(0)[None], classes=np.array([2]))


def test_the_aspect_limit_drops_wide_boxes_of_the_main_class_only():
    """FairMOT's upright prior: a 2:1 box is not reported as a pedestrian, but is as a car."""
    from types import SimpleNamespace

    from fairmot.tracking import reported

    wide, upright = np.array([0.0, 0.0, 80.0, 40.0]), np.array([0.0, 0.0, 20.0, 50.0])
    tracks = [SimpleNamespace(tlwh=t, track_id=i, score=0.9, cls=c)
              for i, (t, c) in enumerate([(wide, 0), (upright, 0), (wide, 1), (upright, 1)], start=1)]
    _, ids, _, classes = reported(tracks, TrackParams())
    assert ids.tolist() == [2, 3, 4] and classes.tolist() == [0, 1, 1]


def test_class_nms_drops_a_lower_scoring_candidate_of_another_class_on_the_same_object():
    from fairmot.tracking.per_class import kept_across_classes

    boxes = np.array([[0, 0, 10, 20], [0, 1, 10, 21], [0, 0, 10, 20], [50, 0, 60, 20], [1, 0, 11, 20]], dtype=float)
    scores = np.array([0.6, 0.9, 0.5, 0.8, 0.7])
    classes = np.array([0, 1, 0, 1, 1])
    # 1 (class 1, 0.9) drops 0 and 2 (class 0, IoU 0.9 >= 0.6); 4 is class 1 like 1: kept; 3 is elsewhere
    assert kept_across_classes(boxes, scores, classes, 0.6).tolist() == [False, True, False, True, True]
    # below the IoU (0.905 between 0 and 1) nothing is dropped
    assert kept_across_classes(boxes, scores, classes, 0.95).all()
    # a dropped candidate drops nothing: 0 (class 0) would drop 5 (class 1, lower), but 1 dropped 0 first
    boxes5 = np.vstack([boxes, [[0, 0, 10, 19]]])
    kept = kept_across_classes(boxes5, np.append(scores, 0.55), np.append(classes, 1), 0.6)
    assert kept.tolist() == [False, True, False, True, True, True]


@pytest.mark.parametrize("method", ["jde", "bytetrack", "botsort"])
def test_with_class_nms_one_object_found_as_two_classes_is_tracked_once(method):
    settings = TrackParams(method=method, class_nms=0.6)
    both = build_tracker(settings, num_classes=2)
    tracks = []
    for frame in range(4):
        b = np.array(box(50 + frame, 50))
        out = update_tracker(both, np.stack([b, b]), np.array([0.9, 0.8]), np.stack([unit(0), unit(1)]),
                             np.array([0, 1]), warp=None)
        tracks.append(sorted((t.track_id, t.cls) for t in out))
    assert tracks[-1] == [(1, 0)]
    off = build_tracker(dataclasses.replace(settings, class_nms=0.0), num_classes=2)
    for frame in range(4):
        b = np.array(box(50 + frame, 50))
        out = update_tracker(off, np.stack([b, b]), np.array([0.9, 0.8]), np.stack([unit(0), unit(1)]),
                             np.array([0, 1]), warp=None)
    assert sorted((t.track_id, t.cls) for t in out) == [(1, 0), (2, 1)]
