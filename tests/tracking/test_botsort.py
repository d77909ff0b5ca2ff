"""BoTSORT on scripted candidates: fused IoU + appearance keeps identities where IoU alone swaps them;
its (x, y, w, h) Kalman filter against hand-computed numbers; the camera warp moves the tracks."""

import numpy as np
import pytest

from fairmot.config import TrackParams
from fairmot.tracking import build_tracker, input_threshold
from fairmot.tracking.botsort import BoTSORT, fused_distance
from fairmot.tracking.bytetrack import BYTETracker
from fairmot.tracking.kalman_xywh import KalmanFilterXYWH, warp_state


def wide_box(cx: float, w: float = 80.0, h: float = 60.0, cy: float = 300.0) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def unit(i: int, dim: int = 8) -> np.ndarray:
    e = np.zeros(dim)
    e[i] = 1.0
    return e


def who_is_who(tracker, frames, **kwargs) -> list[dict[int, int]]:
    """Per frame {person (the embedding a track last took): track id}."""
    out = []
    for dets in frames:
        boxes = np.array([d[0] for d in dets], dtype=float).reshape(-1, 4)
        tracks = tracker.update(boxes, np.array([d[1] for d in dets]), np.array([d[2] for d in dets]), **kwargs)
        out.append({int(np.argmax(t.curr_feat)): t.track_id for t in tracks})
    return out


def step_past_each_other() -> list[list]:
    """Person 0 stands at x 200, person 1 at x 230 (80x60 boxes); at frame 6 both step past the other:
    0 to x 224, 1 to x 206. Each new box overlaps the OTHER person's old box more (IoU 0.80 vs 0.54)."""
    before = [(wide_box(200), 0.9, unit(0)), (wide_box(230), 0.9, unit(1))]
    after = [(wide_box(224), 0.9, unit(0)), (wide_box(206), 0.9, unit(1))]
    return [before] * 6 + [after] * 4


def test_fusion_keeps_the_identities_that_iou_alone_swaps():
    frames = step_past_each_other()
    bot = who_is_who(BoTSORT(), frames)
    # bytetrack's appearance stage is gated by its Kalman filter (a 24 px jump of a 60 px high box is
    # implausible), so its IoU stage decides, and IoU pairs each track with the other person
    byte = who_is_who(BYTETracker(), frames)
    assert bot == [{0: 1, 1: 2}] * 10
    no_appearance = who_is_who(BoTSORT(appearance_thresh=-1.0), frames)  # every appearance cost 1: IoU alone
    assert no_appearance[6:] == [{0: 2, 1: 1}] * 4
    assert byte[:6] == [{0: 1, 1: 2}] * 6 and byte[6:] == [{0: 2, 1: 1}] * 4


def test_fused_distance_is_botsorts_min_of_score_fused_iou_and_gated_appearance():
    iou_dist = np.array([[0.2, 0.45, 0.7]])
    cosine = np.array([[0.1, 0.4, 0.0]])  # halved: 0.05, 0.2, 0.0
    scores = np.array([0.5, 1.0, 1.0])
    cost = fused_distance(iou_dist, cosine, scores, proximity_thresh=0.5, appearance_thresh=0.25, fuse_score=True)
    # pair 0: min(1 - 0.8 * 0.5, 0.05); pair 1: min(0.45, 0.2); pair 2: too far apart for appearance: 0.7
    np.testing.assert_allclose(cost, [[0.05, 0.2, 0.7]])
    gated = fused_distance(iou_dist, np.array([[0.6, 0.6, 0.6]]), scores, proximity_thresh=0.5,
                           appearance_thresh=0.25, fuse_score=False)
    np.testing.assert_allclose(gated, iou_dist)  # halved 0.3 > 0.25: appearance says "someone else"


def test_xywh_kalman_predict_and_update_against_hand_numbers():
    kf = KalmanFilterXYWH()
    mean, cov = kf.initiate(np.array([100.0, 200.0, 40.0, 100.0]))
    # std: 2/20 of w or h for positions and sizes, 10/160 of them for velocities
    np.testing.assert_allclose(np.diag(cov), [16, 100, 16, 100, 6.25, 39.0625, 6.25, 39.0625])
    mean, cov = kf.predict(mean, cov)
    assert cov[0, 0] == pytest.approx(16 + 6.25 + 2.0**2)  # + velocity variance + (w / 20)^2
    assert cov[3, 3] == pytest.approx(100 + 39.0625 + 5.0**2)
    assert cov[0, 4] == pytest.approx(6.25) and cov[4, 4] == pytest.approx(6.25 + 0.25**2)
    mean, cov = kf.update(mean, cov, np.array([104.0, 200.0, 40.0, 100.0]))
    s = 26.25 + 2.0**2  # innovation variance of x: predicted + measurement (w / 20)^2
    np.testing.assert_allclose(mean, [100 + 4 * 26.25 / s, 200, 40, 100, 4 * 6.25 / s, 0, 0, 0])
    assert cov[0, 0] == pytest.approx(26.25 * 4.0 / s)


def test_warp_state_maps_centre_by_the_affine_and_sizes_velocities_covariance_by_its_linear_part():
    mean = np.array([100.0, 200.0, 40.0, 100.0, 1.0, 2.0, 0.5, 0.25])
    cov = np.diag(np.arange(1.0, 9.0))
    new_mean, new_cov = warp_state(mean, cov, np.array([[2.0, 0.0, 10.0], [0.0, 3.0, -5.0]]))
    np.testing.assert_allclose(new_mean, [210, 595, 80, 300, 2, 6, 1, 0.75])
    np.testing.assert_allclose(np.diag(new_cov), [1 * 4, 2 * 9, 3 * 4, 4 * 9, 5 * 4, 6 * 9, 7 * 4, 8 * 9])
    shear_mean, shear_cov = warp_state(mean[None], cov[None], np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0]]))
    assert shear_mean[0, :4] == pytest.approx([200, 200, 90, 100])
    assert shear_cov[0, 0, 0] == pytest.approx(1 + 0.25 * 2) and shear_cov[0, 0, 1] == pytest.approx(0.5 * 2)


def test_a_camera_pan_given_as_warp_keeps_the_track_and_without_it_the_track_is_lost():
    """A person stands still while the camera pans 30 px at frame 5: the box jumps 30 px in the image."""
    still = [[(wide_box(100, w=40, h=100), 0.9, unit(0))]] * 5
    panned = [[(wide_box(130, w=40, h=100), 0.9, unit(0))]] * 3
    pan = np.array([[1.0, 0.0, 30.0], [0.0, 1.0, 0.0]])
    tracker = BoTSORT()
    with_warp = who_is_who(tracker, still) + who_is_who(tracker, panned[:1], warp=pan) + who_is_who(tracker, panned[1:])
    assert with_warp == [{0: 1}] * 8
    assert tracker.tracked[0].tlwh[0] == pytest.approx(110, abs=0.5)
    blind = who_is_who(BoTSORT(), still + panned)  # IoU 0.15: neither IoU nor appearance (too far) matches
    assert blind[:5] == [{0: 1}] * 5 and blind[5] == {} and blind[6:] == [{0: 2}] * 2
    same = BoTSORT()
    assert who_is_who(same, still, warp=np.eye(2, 3)) == [{0: 1}] * 5  # the identity warp changes nothing


def test_low_score_candidates_continue_a_track_without_changing_its_appearance():
    frames = [[(wide_box(100 + 2 * f), 0.9, unit(0))] for f in range(5)]
    frames += [[(wide_box(110 + 2 * f), 0.3, unit(5))] for f in range(3)]
    tracker = BoTSORT(low_thres=0.1)
    out = who_is_who(tracker, frames)
    assert out == [{0: 1}] * 8  # the track's features are still person 0's
    assert tracker.tracked[0].score == pytest.approx(0.3)


def test_track_method_botsort_builds_it_from_the_track_params():
    settings = TrackParams(method="botsort", conf_thres=0.5, low_thres=0.15, low_iou_gate=0.3, track_buffer=60,
                           match_thresh=0.7, proximity_thresh=0.4, appearance_thresh=0.2, fuse_score=False)
    tracker = build_tracker(settings, frame_rate=15)
    assert isinstance(tracker, BoTSORT) and input_threshold(settings) == 0.15
    assert (tracker.det_thresh, tracker.low_thres, tracker.low_iou_gate, tracker.max_time_lost) == (0.5, 0.15, 0.3, 30)
    assert (tracker.match_thresh, tracker.proximity_thresh, tracker.appearance_thresh, tracker.fuse_score) == (
        0.7, 0.4, 0.2, False)
