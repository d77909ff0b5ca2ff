"""JDETracker fed scripted detections: identities survive crossings and short occlusions."""

import numpy as np

from fairmot.tracking.tracker import JDETracker, Track, TrackState, _remove_duplicates
from tests.tracking.standins import box, unit


def run(tracker: JDETracker, frames: list[list[tuple[list[float], float, np.ndarray]]], seed: int = 0):
    """Feed per-frame (box, score, embedding) lists, shuffled so order cannot carry identity."""
    rng = np.random.default_rng(seed)
    outputs = []
    for dets in frames:
        dets = [dets[i] for i in rng.permutation(len(dets))]
        boxes = np.array([d[0] for d in dets], dtype=float).reshape(-1, 4)
        scores = np.array([d[1] for d in dets], dtype=float)
        feats = np.array([d[2] for d in dets], dtype=float).reshape(len(dets), 8)
        # Tracks are live objects: snapshot (id, box) now, as a result writer would.
        outputs.append([(t.track_id, t.tlwh) for t in tracker.update(boxes, scores, feats)])
    return outputs


def id_near(snapshot: list[tuple[int, np.ndarray]], cx: float, cy: float, tol: float = 8.0) -> int | None:
    for track_id, (x, y, w, h) in snapshot:
        if abs(x + w / 2 - cx) < tol and abs(y + h / 2 - cy) < tol:
            return track_id
    return None


def test_two_crossing_objects_keep_their_ids():
    # A moves right at y=100, B moves left at y=120; they overlap (IoU up to 0.67) around frame 25.
    frames = []
    for f in range(50):
        a, b = (100 + 4 * f, 100.0), (300 - 4 * f, 120.0)
        frames.append([(box(*a), 0.9, unit(0)), (box(*b), 0.8, unit(1))])
    outputs = run(JDETracker(), frames)
    ids_a = {id_near(out, 100 + 4 * f, 100.0) for f, out in enumerate(outputs)}
    ids_b = {id_near(out, 300 - 4 * f, 120.0) for f, out in enumerate(outputs)}
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b
    assert ids_a | ids_b == {1, 2}
    assert all(len(out) == 2 for out in outputs)


def test_object_occluded_for_ten_frames_comes_back_with_its_id():
    frames = []
    for f in range(60):
        dets = [(box(400, 300), 0.9, unit(1))]  # a second, static person
        if not 20 <= f < 30:
            dets.append((box(100 + 3 * f, 200), 0.9, unit(0)))
        frames.append(dets)
    tracker = JDETracker()
    outputs = run(tracker, frames)
    before = id_near(outputs[19], 100 + 3 * 19, 200)
    assert before is not None
    for f in range(20, 30):
        assert id_near(outputs[f], 100 + 3 * f, 200, tol=30) is None  # lost tracks are not reported
    for f in range(30, 60):
        assert id_near(outputs[f], 100 + 3 * f, 200) == before
    assert {tid for out in outputs for tid, _ in out} == {1, 2}


def _absent(frames_away: int) -> list[list]:
    """A static person seen for 10 frames, away for `frames_away`, then seen for 10 more."""
    return [[(box(200, 200), 0.9, unit(0))] if not 10 <= f < 10 + frames_away else []
            for f in range(20 + frames_away)]


def test_absence_up_to_the_buffer_keeps_the_id():
    outputs = run(JDETracker(frame_rate=30, track_buffer=30), _absent(30))
    assert {tid for out in outputs for tid, _ in out} == {1}
    assert [tid for tid, _ in outputs[40]] == [1]  # re-found on the first frame back


def test_late_expiry_an_object_returning_exactly_at_expiry_keeps_its_id():
    # last seen at frame 10, absent 31 frames: marked removed at frame 41 (41 - 10 > 30) but, as
    # in the reference, still re-findable in frame 42's association
    tracker = JDETracker(frame_rate=30, track_buffer=30)
    outputs = run(tracker, _absent(31))
    assert [tid for tid, _ in outputs[41]] == [1]
    assert {tid for out in outputs for tid, _ in out} == {1}


def test_late_expiry_the_expired_track_stays_lost_one_frame_then_leaves():
    tracker = JDETracker(frame_rate=30, track_buffer=30)
    empty = (np.zeros((0, 4)), np.zeros(0), np.zeros((0, 8)))
    tracker.update(np.array([box(200, 200)]), np.array([0.9]), unit(0)[None])
    for _ in range(31):  # frames 2..32: 32 - 1 > 30 marks it removed at frame 32
        tracker.update(*empty)
    assert [(t.track_id, t.state) for t in tracker.lost] == [(1, TrackState.Removed)]
    tracker.update(*empty)
    assert tracker.lost == []


def test_absence_longer_than_the_buffer_plus_one_gets_a_new_id():
    tracker = JDETracker(frame_rate=30, track_buffer=30)
    outputs = run(tracker, _absent(32))
    assert outputs[42] == []  # the new track is tentative on its first frame
    assert [tid for tid, _ in outputs[43]] == [2]
    assert [tid for tid, _ in outputs[-1]] == [2]
    assert tracker.lost == []


def test_a_track_refound_after_expiry_leaves_at_once_when_lost_again():
    # the reference subtracts every id it ever removed from the lost list
    tracker = JDETracker(frame_rate=30, track_buffer=30)
    outputs = run(tracker, _absent(31) + [[]])
    assert [tid for tid, _ in outputs[50]] == [1]  # re-found after expiry, tracked to the end
    assert tracker.tracked == [] and tracker.lost == []
    control = JDETracker(frame_rate=30, track_buffer=30)
    run(control, _absent(5)[:16] + [[]])
    assert [t.track_id for t in control.lost] == [1]


def test_buffer_scales_with_frame_rate():
    assert JDETracker(frame_rate=15, track_buffer=30).max_time_lost == 15
    assert JDETracker(frame_rate=60, track_buffer=30).max_time_lost == 60
    assert JDETracker(frame_rate=25, track_buffer=30).max_time_lost == 25


def test_one_frame_false_positive_is_never_confirmed():
    frames = [[(box(100 + 2 * f, 200), 0.9, unit(0))] for f in range(20)]
    frames[9].append((box(500, 300), 0.95, unit(3)))
    tracker = JDETracker()
    outputs = run(tracker, frames)
    assert {tid for out in outputs for tid, _ in out} == {1}
    assert [t.track_id for t in tracker.tracked] == [1] and tracker.lost == []


def test_first_frame_detections_are_confirmed_at_once_later_ones_on_second_match():
    tracker = JDETracker(conf_thres=0.4)
    out1 = tracker.update(np.array([box(100, 200), box(300, 200)]), np.array([0.9, 0.3]), np.eye(2, 8))
    assert [t.track_id for t in out1] == [1]  # the 0.3 detection is below conf_thres: no track
    out2 = tracker.update(np.array([box(100, 200), box(300, 200)]), np.array([0.9, 0.5]), np.eye(2, 8))
    assert [t.track_id for t in out2] == [1]  # id 2 starts tentative
    out3 = tracker.update(np.array([box(100, 200), box(300, 200)]), np.array([0.9, 0.5]), np.eye(2, 8))
    assert sorted(t.track_id for t in out3) == [1, 2]


def test_ids_restart_at_one_per_tracker_and_empty_frames_are_fine():
    for _ in range(2):
        tracker = JDETracker()
        assert tracker.update(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 8))) == []
        out = tracker.update(np.array([box(50, 60)]), np.array([0.9]), unit(0)[None])
        assert out == []  # frame 2: tentative
        out = tracker.update(np.array([box(50, 60)]), np.array([0.9]), unit(0)[None])
        assert [t.track_id for t in out] == [1]
        np.testing.assert_allclose(out[0].tlwh, [30, 10, 40, 100], atol=1e-6)
        assert tracker.update(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 8))) == []
        assert [t.state for t in tracker.lost] == [TrackState.Lost]


def test_tracklet_bookkeeping_has_no_unused_fields():
    assert not hasattr(Track(np.array([0, 0, 10, 20]), 0.9, unit(0, 2)), "tracklet_len")


def test_feature_smoothing_is_09_old_01_new_renormalised():
    track = Track(np.array([0, 0, 10, 20]), 0.9, unit(0, 2))
    track.update_features(unit(1, 2) * 5)
    np.testing.assert_allclose(track.smooth_feat, np.array([0.9, 0.1]) / np.hypot(0.9, 0.1))
    np.testing.assert_allclose(track.curr_feat, [0, 1])


def test_duplicate_of_a_lost_track_drops_the_younger_one():
    kf = JDETracker().kalman_filter
    old = Track(np.array([0, 0, 40, 100]), 0.9, unit(0))
    old.activate(kf, 1, 1)
    old.frame_id = 20
    young = Track(np.array([1, 0, 40, 100]), 0.9, unit(1))
    young.activate(kf, 15, 2)
    young.frame_id = 20
    tracked, lost = _remove_duplicates([young], [old])
    assert tracked == [] and lost == [old]
    tracked, lost = _remove_duplicates([old], [young])
    assert tracked == [old] and lost == []


def test_duplicate_removal_uses_the_inclusive_iou():
    # 40x100 boxes 3.3 px apart: IoU distance 0.1490 with the reference's +1, 0.1524 without
    kf = JDETracker().kalman_filter
    old = Track(np.array([100, 100, 40, 100]), 0.9, unit(0))
    old.activate(kf, 1, 1)
    old.frame_id = 20
    young = Track(np.array([103.3, 100, 40, 100]), 0.9, unit(1))
    young.activate(kf, 15, 2)
    young.frame_id = 20
    tracked, lost = _remove_duplicates([young], [old])
    assert tracked == [] and lost == [old]
