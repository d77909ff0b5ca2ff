"""BYTETracker vs JDETracker on scripted candidates: low-score boxes continue tracks, never start them."""

import numpy as np
import pytest

from fairmot.config import TrackParams
from fairmot.tracking import build_tracker, input_threshold
from fairmot.tracking.bytetrack import BYTETracker
from fairmot.tracking.tracker import JDETracker
from tests.tracking.standins import box, unit


def feed(tracker, frames, threshold: float) -> list[dict[int, np.ndarray]]:
    """Per frame: the candidates above `threshold` (the decoder's cut) -> {track id: tlwh}."""
    out = []
    for dets in frames:
        dets = [d for d in dets if d[1] > threshold]
        boxes = np.array([d[0] for d in dets], dtype=float).reshape(-1, 4)
        scores = np.array([d[1] for d in dets], dtype=float)
        feats = np.array([d[2] for d in dets], dtype=float).reshape(len(dets), 8)
        out.append({t.track_id: t.tlwh for t in tracker.update(boxes, scores, feats)})
    return out


def occluded_walker(low_score: float = 0.25) -> list[list]:
    """A walks right; in frames 20-29 a passer-by hides half of it and its score drops to `low_score`.

    While hidden, its embedding is the passer-by's (unit(3)), so appearance cannot carry it; B is a
    second, static person that is always clear.
    """
    frames = []
    for f in range(45):
        hidden = 20 <= f < 30
        a = (box(100 + 3 * f, 200), low_score if hidden else 0.9, unit(3) if hidden else unit(0))
        frames.append([a, (box(400, 300), 0.9, unit(1))])
    return frames


def test_a_low_score_detection_keeps_the_track_alive_under_bytetrack_not_under_jde():
    frames = occluded_walker()
    byte = feed(BYTETracker(low_thres=0.1), frames, 0.1)
    jde = feed(JDETracker(), frames, 0.4)
    a_byte = [next((i for i, b in out.items() if b[1] < 250), None) for out in byte]
    a_jde = [next((i for i, b in out.items() if b[1] < 250), None) for out in jde]
    assert set(a_byte[1:]) == {a_byte[1]} and a_byte[1] is not None  # one id, reported in every frame
    assert all(a_jde[f] is None for f in range(20, 30))  # JDE loses it while hidden
    assert a_jde[19] is not None and a_jde[30] is not None
    # the reported box follows the walker through the occlusion (x centre 100 + 3 f)
    tlwh = byte[25][a_byte[25]]
    assert abs(tlwh[0] + tlwh[2] / 2 - 175) < 3


def test_no_track_starts_from_a_low_score_detection():
    frames = [[(box(100 + 2 * f, 200), 0.3, unit(0))] for f in range(20)]
    tracker = BYTETracker(low_thres=0.1)
    out = feed(tracker, frames, 0.1)
    assert all(o == {} for o in out)
    assert tracker.tracked == [] and tracker.lost == []


def test_a_low_score_detection_far_from_the_track_does_not_continue_it():
    frames = [[(box(100 + 3 * f, 200), 0.9, unit(0))] for f in range(10)]
    frames += [[(box(100 + 3 * f + 30, 200), 0.3, unit(0))] for f in range(10, 14)]  # IoU 0.14 with A
    tracker = BYTETracker(low_thres=0.1)
    out = feed(tracker, frames, 0.1)
    assert len(out[9]) == 1 and out[10] == {}
    assert [t.track_id for t in tracker.lost] == [1]


def test_with_only_confident_detections_bytetrack_equals_jde():
    rng = np.random.default_rng(0)
    frames = []
    for f in range(60):
        dets = [(box(100 + 4 * f, 100.0), 0.9, unit(0)), (box(300 - 4 * f, 120.0), 0.8, unit(1))]
        if f % 7 != 3:
            dets.append((box(200, 300 + rng.normal()), 0.7, unit(2)))
        frames.append(dets)
    byte = feed(BYTETracker(low_thres=0.1), frames, 0.4)
    jde = feed(JDETracker(), frames, 0.4)
    assert [sorted(o) for o in byte] == [sorted(o) for o in jde]
    assert all(np.allclose(byte[f][i], jde[f][i]) for f in range(60) for i in byte[f])


def test_track_method_picks_the_tracker_and_its_input_threshold():
    jde = TrackParams(method="jde", conf_thres=0.45, low_thres=0.15)
    byte = TrackParams(method="bytetrack", conf_thres=0.45, low_thres=0.15, low_iou_gate=0.3, track_buffer=60)
    assert type(build_tracker(jde)) is JDETracker and input_threshold(jde) == 0.45
    tracker = build_tracker(byte, frame_rate=15)
    assert isinstance(tracker, BYTETracker) and input_threshold(byte) == 0.15
    assert (tracker.det_thresh, tracker.low_thres, tracker.low_iou_gate, tracker.max_time_lost) == (0.45, 0.15, 0.3, 30)


def test_low_thres_above_conf_thres_is_refused():
    with pytest.raises(ValueError, match="low_thres"):
        BYTETracker(conf_thres=0.3, low_thres=0.5)
