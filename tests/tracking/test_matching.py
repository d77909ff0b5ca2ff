"""Association costs and the lap assignment semantics."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from fairmot.tracking.kalman import KalmanFilter
from fairmot.tracking.matching import (
    embedding_distance,
    fuse_motion,
    iou_distance,
    iou_matrix,
    iou_matrix_inclusive,
    linear_assignment,
)


def test_iou_of_overlapping_identical_disjoint_and_touching_boxes():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30], [10, 0, 20, 10]])
    np.testing.assert_allclose(iou_matrix(a, b), [[25 / 175, 1.0, 0.0, 0.0]])



def test_inclusive_iou_adds_one_pixel_like_cython_bbox():
    a = np.array([[0, 0, 10, 10]])  # 11 x 11 pixels
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30], [10, 0, 20, 10], [11, 0, 20, 10]])
    # overlaps 6x6, whole, none, one column (1 x 11), none (iw = 0)
    np.testing.assert_allclose(iou_matrix_inclusive(a, b), [[36 / 206, 1.0, 0.0, 11 / 231, 0.0]])


def test_tracker_iou_distance_uses_the_inclusive_convention():
    # the pair that flipped duplicate removal in the 60-object scene: 0.1498 with +1, 0.1525 without
    a = np.array([[100.0, 100.0, 140.0, 200.0]])
    b = np.array([[103.3, 100.0, 143.3, 200.0]])
    np.testing.assert_allclose(iou_distance(a, b), 1 - iou_matrix_inclusive(a, b))
    assert iou_distance(a, b)[0, 0] < 0.15 < 1 - iou_matrix(a, b)[0, 0]


def test_iou_of_empty_inputs_has_the_right_shape():
    assert iou_matrix(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert iou_matrix(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)
    assert iou_distance([], []).shape == (0, 0)


def test_zero_area_boxes_have_zero_iou_not_nan():
    point = np.array([[5, 5, 5, 5]])
    line = np.array([[0, 5, 10, 5]])
    box = np.array([[0, 0, 10, 10]])
    result = iou_matrix(np.vstack([point, line]), np.vstack([point, line, box]))
    assert np.isfinite(result).all()
    np.testing.assert_array_equal(result, np.zeros((2, 3)))


def test_embedding_distance_is_cosine_clipped_at_zero():
    t = np.array([[1.0, 0.0], [0.6, 0.8]])
    d = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    np.testing.assert_allclose(embedding_distance(t, d), [[0, 1, 2], [0.4, 0.2, 1.6]], atol=1e-12)
    v = np.random.default_rng(1).normal(size=(5, 128))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert (embedding_distance(v, v) >= 0).all()
    assert embedding_distance(np.zeros((0, 4)), np.ones((2, 4))).shape == (0, 2)


def test_fuse_motion_gates_at_chi2_and_blends_98_2():
    kf = KalmanFilter()
    mean, cov = kf.predict(*kf.initiate(np.array([10.0, 20.0, 0.5, 100.0])))
    # one sigma (13.75 px, d2 = 1) and 3.1 sigma (d2 = 9.61 > 9.4877) away in x
    det_xyah = np.array([[23.75, 20.0, 0.5, 100.0], [10 + 13.75 * 3.1, 20.0, 0.5, 100.0]])
    fused = fuse_motion(kf, np.array([[0.1, 0.1]]), mean[None], cov[None], det_xyah)
    assert fused[0, 0] == pytest.approx(0.98 * 0.1 + 0.02 * 1.0)
    assert fused[0, 1] == np.inf


def test_lap_cost_limit_differs_from_hungarian_then_threshold():
    cost = np.array([[0.1, 0.3], [0.35, 0.9]])
    # Hungarian picks the anti-diagonal (0.65 < 1.0) and both pairs are under 0.5 ...
    rows, cols = linear_sum_assignment(cost)
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]
    # ... but leaving a row and a column open costs 0.5, so (0,0) + both open (0.6) is cheaper.
    matches, u_rows, u_cols = linear_assignment(cost, thresh=0.5)
    assert matches.tolist() == [[0, 0]]
    assert u_rows.tolist() == [1]
    assert u_cols.tolist() == [1]


def test_linear_assignment_handles_inf_rectangular_and_empty():
    cost = np.array([[np.inf, 0.2, 0.9], [0.1, np.inf, np.inf]])
    matches, u_rows, u_cols = linear_assignment(cost, thresh=0.4)
    assert sorted(matches.tolist()) == [[0, 1], [1, 0]]
    assert u_rows.tolist() == []
    assert u_cols.tolist() == [2]
    matches, u_rows, u_cols = linear_assignment(np.zeros((0, 3)), thresh=0.4)
    assert matches.shape == (0, 2) and u_rows.tolist() == [] and u_cols.tolist() == [0, 1, 2]
    matches, u_rows, u_cols = linear_assignment(np.full((2, 2), np.inf), thresh=0.4)
    assert matches.shape == (0, 2) and u_rows.tolist() == [0, 1] and u_cols.tolist() == [0, 1]
