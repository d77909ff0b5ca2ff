"""Camera motion compensation in the trackers: the warp moves Kalman states as it moves the image, and keeps ids
through a pan that breaks them without it; no warp (and the identity) changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from fairmot.tracking import BYTETracker, JDETracker
from fairmot.tracking.compensation import warp_states
from fairmot.tracking.kalman import KalmanFilter, tlwh_to_xyah, xyah_to_tlwh


def predicted(tlwh: list[float], velocity: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    kf = KalmanFilter()
    mean, cov = kf.initiate(tlwh_to_xyah(np.array(tlwh)))
    mean[4:6] = velocity
    return kf.predict(mean[None], cov[None])


def corners(tlwh: np.ndarray) -> np.ndarray:
    x, y, w, h = tlwh
    return np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]])


def test_a_pan_and_zoom_moves_the_predicted_box_corners_exactly_as_the_image():
    mean, cov = predicted([300.0, 120.0, 40.0, 100.0], velocity=(2.0, -1.0))
    warp = np.array([[1.05, 0.0, -22.5], [0.0, 1.05, 7.25]])  # 5% zoom and a pan
    new_mean, new_cov = warp_states(mean, cov, warp)
    box = xyah_to_tlwh(new_mean[0, :4])
    expected = corners(xyah_to_tlwh(mean[0, :4])) @ warp[:, :2].T + warp[:, 2]
    assert np.allclose(corners(box), expected, atol=1e-9)
    assert np.allclose(new_mean[0, 4:6], [2.1, -1.05])  # velocities scale too (pixels of the new frame)
    assert new_mean[0, 2] == mean[0, 2] and np.isclose(new_mean[0, 7], 1.05 * mean[0, 7])
    # the uncertainty grows with the image: every position and height variance by 1.05^2, aspect's unchanged
    idx = [0, 1, 3, 4, 5, 7]
    assert np.allclose(np.diag(new_cov[0])[idx], 1.05 ** 2 * np.diag(cov[0])[idx])
    assert np.diag(new_cov[0])[2] == np.diag(cov[0])[2]


def test_a_roll_turns_the_centre_and_velocity_and_scales_the_upright_box():
    mean, cov = predicted([300.0, 120.0, 40.0, 100.0], velocity=(3.0, 0.0))
    angle, scale = np.deg2rad(2.0), 1.02
    a = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    warp = np.hstack([a, [[4.0], [-3.0]]])
    new_mean, new_cov = warp_states(mean, cov, warp)
    assert np.allclose(new_mean[0, :2], a @ mean[0, :2] + [4.0, -3.0])
    assert np.allclose(new_mean[0, 4:6], a @ [3.0, 0.0])
    assert np.isclose(new_mean[0, 3], scale * mean[0, 3]) and new_mean[0, 2] == mean[0, 2]
    assert np.allclose(new_cov[0], new_cov[0].T) and np.all(np.linalg.eigvalsh(new_cov[0]) > 0)


# A scene of five people standing still, filmed by a camera that starts panning at frame 6, 30 px a frame
# to the left (everything in the image moves right, 1.5 box widths a frame), then stops at frame 14.
PEOPLE = np.array([[60.0, 200.0], [180.0, 220.0], [300.0, 190.0], [420.0, 210.0], [540.0, 230.0]])  # top-left
SIZE = np.array([20.0, 50.0])


def camera_x(frame: int) -> float:
    return 30.0 * min(max(frame - 5, 0), 9)


def panning_scene(frames: int = 20) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per frame: boxes xyxy, scores, embeddings (one fixed look per person) and the camera's warp from the last frame."""
    looks = np.random.default_rng(0).standard_normal((len(PEOPLE), 16))
    scene = []
    for f in range(1, frames + 1):
        top_left = PEOPLE + [camera_x(f), 0.0]
        boxes = np.hstack([top_left, top_left + SIZE])
        warp = np.array([[1.0, 0.0, camera_x(f) - camera_x(f - 1)], [0.0, 1.0, 0.0]])
        scene.append((boxes, np.full(len(PEOPLE), 0.9), looks, warp if f > 1 else np.eye(2, 3)))
    return scene


def ids_per_frame(tracker, *, cmc: bool) -> list[list[int]]:
    out = []
    for boxes, scores, looks, warp in panning_scene():
        tracks = tracker.update(boxes, scores, looks, warp=warp if cmc else None)
        out.append(sorted(t.track_id for t in tracks))
    return out


@pytest.mark.parametrize("make", [JDETracker, BYTETracker])
def test_a_panning_camera_keeps_every_id_with_compensation_and_breaks_them_without(make):
    with_cmc = ids_per_frame(make(), cmc=True)
    assert all(ids == [1, 2, 3, 4, 5] for ids in with_cmc)
    without = ids_per_frame(make(), cmc=False)
    assert without[4] == [1, 2, 3, 4, 5]
    assert without[5] == [] and without[-1] and not set(without[-1]) & {1, 2, 3, 4, 5}  # lost, then new ids


@pytest.mark.parametrize("make", [JDETracker, BYTETracker])
def test_no_warp_and_the_identity_warp_track_exactly_as_before(make):
    rng = np.random.default_rng(3)
    looks = rng.standard_normal((6, 16))
    plain, identity = make(), make()
    for f in range(25):
        centres = np.array([[50.0 + 60 * i + 3 * f + rng.normal(0, 2), 150.0 + rng.normal(0, 2)] for i in range(6)])
        boxes = np.hstack([centres - [20, 50], centres + [20, 50]])
        scores = rng.uniform(0.2, 0.95, 6)
        a = [(t.track_id, *np.round(t.tlwh, 12)) for t in plain.update(boxes, scores, looks)]
        b = [(t.track_id, *np.round(t.tlwh, 12)) for t in identity.update(boxes, scores, looks, warp=np.eye(2, 3))]
        assert a == b
