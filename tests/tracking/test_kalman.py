"""The JDE Kalman filter against values worked out by hand."""

import numpy as np
import pytest

from fairmot.tracking.kalman import CHI2_95_4DOF, KalmanFilter

# A box centred at (10, 20), aspect 0.5, height 100: position std = h/20 = 5, velocity std = h/160.
Z = np.array([10.0, 20.0, 0.5, 100.0])


def test_initiate_has_zero_velocity_and_height_scaled_std():
    mean, cov = KalmanFilter().initiate(Z)
    assert mean.tolist() == [10, 20, 0.5, 100, 0, 0, 0, 0]
    # std: 2*5, 2*5, 1e-2, 2*5, 10*100/160 (x3 velocities), 1e-5 for the aspect velocity
    expected = np.square([10, 10, 1e-2, 10, 6.25, 6.25, 1e-5, 6.25])
    np.testing.assert_allclose(np.diag(cov), expected)
    assert np.count_nonzero(cov - np.diag(np.diag(cov))) == 0


def test_predict_moves_by_velocity_and_adds_process_noise():
    kf = KalmanFilter()
    mean, cov = kf.initiate(Z)
    mean = mean + np.array([0, 0, 0, 0, 2, -1, 0, 3])
    new_mean, new_cov = kf.predict(mean, cov)
    np.testing.assert_allclose(new_mean, [12, 19, 0.5, 103, 2, -1, 0, 3])
    # var(x) = 100 (pos) + 39.0625 (vel, dt=1) + 25 (process, (h/20)^2 with h=100 before the step)
    assert new_cov[0, 0] == pytest.approx(164.0625)
    assert new_cov[3, 3] == pytest.approx(164.0625)
    assert new_cov[2, 2] == pytest.approx(1e-4 + 1e-10 + 1e-4)
    assert new_cov[0, 4] == pytest.approx(39.0625)  # position-velocity covariance
    assert new_cov[4, 4] == pytest.approx(39.0625 + (100 / 160) ** 2)


def test_update_pulls_towards_measurement_with_hand_computed_gain():
    kf = KalmanFilter()
    mean, cov = kf.predict(*kf.initiate(Z))
    new_mean, new_cov = kf.update(mean, cov, np.array([12.0, 20.0, 0.5, 100.0]))
    s = 164.0625 + 25.0  # innovation variance of x: predicted var + (h/20)^2
    assert new_mean[0] == pytest.approx(10 + 2 * 164.0625 / s)  # 11.7355...
    assert new_mean[4] == pytest.approx(2 * 39.0625 / s)  # the velocity learns too: 0.4132...
    np.testing.assert_allclose(new_mean[[1, 2, 3, 5, 6, 7]], [20, 0.5, 100, 0, 0, 0], atol=1e-12)
    assert new_cov[0, 0] == pytest.approx(164.0625 * 25.0 / s)
    np.testing.assert_allclose(new_cov, new_cov.T, atol=1e-9)


def test_gating_distance_is_squared_mahalanobis():
    kf = KalmanFilter()
    mean, cov = kf.predict(*kf.initiate(Z))
    # projected var of x and y = 164.0625 + 25 = 189.0625 = 13.75^2, so 13.75 px off is one sigma.
    dets = np.array([
        Z,
        Z + [13.75, 0, 0, 0],
        Z + [13.75, 13.75, 0, 0],
        Z + [13.75 * 3.1, 0, 0, 0],
    ])
    d2 = kf.gating_distance(mean, cov, dets)
    assert d2.shape == (1, 4)
    np.testing.assert_allclose(d2[0], [0.0, 1.0, 2.0, 3.1**2])
    assert (d2[0] > CHI2_95_4DOF).tolist() == [False, False, False, True]


def test_batched_calls_equal_one_track_at_a_time():
    kf = KalmanFilter()
    rng = np.random.default_rng(0)
    zs = np.column_stack([rng.uniform(0, 500, 3), rng.uniform(0, 300, 3), rng.uniform(0.3, 0.6, 3),
                          rng.uniform(50, 200, 3)])
    means, covs = kf.initiate(zs)
    means[:, 4:] = rng.normal(size=(3, 4))
    pm, pc = kf.predict(means, covs)
    um, uc = kf.update(pm, pc, zs + 1.5)
    for i in range(3):
        m1, c1 = kf.predict(means[i], covs[i])
        np.testing.assert_allclose(pm[i], m1)
        np.testing.assert_allclose(pc[i], c1)
        m2, c2 = kf.update(m1, c1, zs[i] + 1.5)
        np.testing.assert_allclose(um[i], m2)
        np.testing.assert_allclose(uc[i], c2)
    d2 = kf.gating_distance(pm, pc, zs)
    for i in range(3):
        np.testing.assert_allclose(d2[i], kf.gating_distance(pm[i], pc[i], zs)[0])
