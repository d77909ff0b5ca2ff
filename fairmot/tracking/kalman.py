"""Constant-velocity Kalman filter over boxes in (x, y, a, h) space, as the JDE/FairMOT tracker uses it.

State: centre x, centre y, aspect ratio a = w/h, height h, and their velocities (8 values); time
step 1 frame. Noise is proportional to the box height, so large (near) boxes may move more.

Every method works on one track (mean (8,), covariance (8, 8)) or on a batch of tracks
(mean (N, 8), covariance (N, 8, 8)) alike, so the tracker predicts, gates and updates all of its
tracks with one call instead of a Python loop.
"""

from __future__ import annotations

import numpy as np

# 0.95 quantile of the chi-square distribution with 4 degrees of freedom: the Mahalanobis gate
# on (x, y, a, h).
CHI2_95_4DOF = 9.4877

NDIM = 4
STD_WEIGHT_POSITION = 1.0 / 20
STD_WEIGHT_VELOCITY = 1.0 / 160


def tlwh_to_xyah(tlwh: np.ndarray) -> np.ndarray:
    """(..., 4) top-left/width/height -> centre x, centre y, aspect w/h, height."""
    tlwh = np.asarray(tlwh, dtype=np.float64)
    out = tlwh.copy()
    out[..., :2] += tlwh[..., 2:] / 2
    out[..., 2] = tlwh[..., 2] / tlwh[..., 3]
    return out


def xyah_to_tlwh(xyah: np.ndarray) -> np.ndarray:
    xyah = np.asarray(xyah, dtype=np.float64)
    out = xyah[..., :4].copy()
    out[..., 2] = xyah[..., 2] * xyah[..., 3]
    out[..., :2] -= out[..., 2:] / 2
    return out


def _diag(std: np.ndarray) -> np.ndarray:
    """(..., k) standard deviations -> (..., k, k) diagonal covariances."""
    out = np.zeros(std.shape + (std.shape[-1],), dtype=np.float64)
    idx = np.arange(std.shape[-1])
    out[..., idx, idx] = np.square(std)
    return out


class KalmanFilter:
    """The JDE box filter: height-proportional noise, aspect ratio nearly constant."""

    def __init__(self) -> None:
        self.motion_mat = np.eye(2 * NDIM)
        self.motion_mat[:NDIM, NDIM:] = np.eye(NDIM)  # x += vx * dt, dt = 1
        self.std_weight_position = STD_WEIGHT_POSITION
        self.std_weight_velocity = STD_WEIGHT_VELOCITY

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A new track from an unassociated (x, y, a, h) measurement: zero velocity, wide covariance."""
        z = np.asarray(measurement, dtype=np.float64)
        mean = np.concatenate([z, np.zeros_like(z)], axis=-1)
        h = z[..., 3]
        sp, sv = self.std_weight_position, self.std_weight_velocity
        std = np.stack(
            [2 * sp * h, 2 * sp * h, np.full_like(h, 1e-2), 2 * sp * h,
             10 * sv * h, 10 * sv * h, np.full_like(h, 1e-5), 10 * sv * h],
            axis=-1,
        )
        return mean, _diag(std)

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of the constant-velocity model; process noise scales with the current height."""
        mean = np.asarray(mean, dtype=np.float64)
        h = mean[..., 3]
        sp, sv = self.std_weight_position, self.std_weight_velocity
        std = np.stack(
            [sp * h, sp * h, np.full_like(h, 1e-2), sp * h,
             sv * h, sv * h, np.full_like(h, 1e-5), sv * h],
            axis=-1,
        )
        f = self.motion_mat
        new_mean = mean @ f.T
        new_cov = f @ covariance @ f.T + _diag(std)
        return new_mean, new_cov

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state distribution in measurement space (x, y, a, h), measurement noise added."""
        mean = np.asarray(mean, dtype=np.float64)
        h = mean[..., 3]
        sp = self.std_weight_position
        std = np.stack([sp * h, sp * h, np.full_like(h, 1e-1), sp * h], axis=-1)
        return mean[..., :NDIM], covariance[..., :NDIM, :NDIM] + _diag(std)

    def update(
        self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Correct the predicted state with a measurement (x, y, a, h)."""
        projected_mean, projected_cov = self.project(mean, covariance)
        # Kalman gain K = P H^T S^-1; with H = [I 0], P H^T is the first NDIM columns of P.
        # S is symmetric, so K^T = S^-1 (P H^T)^T = solve(S, P[:NDIM, :]).
        gain_t = np.linalg.solve(projected_cov, covariance[..., :NDIM, :])
        gain = np.swapaxes(gain_t, -1, -2)
        innovation = np.asarray(measurement, dtype=np.float64) - projected_mean
        new_mean = mean + (gain @ innovation[..., None])[..., 0]
        new_cov = covariance - gain @ projected_cov @ gain_t
        return new_mean, new_cov

    def gating_distance(self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances between track distributions and measurements.

        mean (N, 8), covariance (N, 8, 8), measurements (M, 4) -> (N, M). Compare with
        CHI2_95_4DOF to gate implausible associations.
        """
        mean = np.atleast_2d(mean)
        covariance = covariance.reshape(-1, 2 * NDIM, 2 * NDIM)
        measurements = np.asarray(measurements, dtype=np.float64).reshape(-1, NDIM)
        projected_mean, projected_cov = self.project(mean, covariance)
        d = measurements[None, :, :] - projected_mean[:, None, :]  # (N, M, 4)
        # d^T S^-1 d for every pair; S is a well-conditioned 4x4 SPD matrix, so its inverse is
        # as accurate as a Cholesky solve here and several times faster for many tracks.
        return np.sum((d @ np.linalg.inv(projected_cov)) * d, axis=-1)
