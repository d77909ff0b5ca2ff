"""BoT-SORT's Kalman filter: state (x, y, w, h) and velocities, noise relative to width and height.

JDE's filter (kalman.py) keeps the aspect ratio a = w/h nearly constant and scales every noise with
the height only; BoT-SORT (NirAharon/BoT-SORT tracker/kalman_filter.py) estimates the width itself,
with x and w noise relative to w, y and h noise relative to h, which follows boxes whose shape
changes (people turning, partial occlusion, a zooming camera). Same constant-velocity model, same
batched interface; update and gating are kalman.py's own (they only call `project`).

`warp_state` moves a state by the camera motion of one frame as BoT-SORT's `STrack.multi_gmc` does.
"""

from __future__ import annotations

import numpy as np

from fairmot.tracking.kalman import NDIM, KalmanFilter, _diag


def _wh_std(mean: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """(..., 2 * len(weights)): for each weight, (weight * w, weight * h) of the state's (w, h)."""
    w, h = mean[..., 2], mean[..., 3]
    return np.stack([v for k in weights for v in (k * w, k * h)], axis=-1)


class KalmanFilterXYWH(KalmanFilter):
    """(x, y, w, h) filter: x and w noise proportional to the width, y and h to the height."""

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A new track from an (x, y, w, h) measurement: zero velocity, wide covariance."""
        z = np.asarray(measurement, dtype=np.float64)
        mean = np.concatenate([z, np.zeros_like(z)], axis=-1)
        sp, sv = self.std_weight_position, self.std_weight_velocity
        return mean, _diag(_wh_std(z, (2 * sp, 2 * sp, 10 * sv, 10 * sv)))

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of the constant-velocity model; process noise scales with the current w and h."""
        mean = np.asarray(mean, dtype=np.float64)
        sp, sv = self.std_weight_position, self.std_weight_velocity
        f = self.motion_mat
        return mean @ f.T, f @ covariance @ f.T + _diag(_wh_std(mean, (sp, sp, sv, sv)))

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state distribution in measurement space (x, y, w, h), measurement noise added."""
        mean = np.asarray(mean, dtype=np.float64)
        sp = self.std_weight_position
        return mean[..., :NDIM], covariance[..., :NDIM, :NDIM] + _diag(_wh_std(mean, (sp, sp)))


def warp_state(mean: np.ndarray, covariance: np.ndarray, warp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move (x, y, w, h) states by a 2x3 affine `warp` (previous-frame pixels -> this frame's).

    The centre maps through the affine; (w, h) and both velocities through its linear part R only,
    so the state transforms by R (x) I_4 = kron(I_4, R) plus the shift, and the covariance by
    kron(I_4, R) P kron(I_4, R)^T: BoT-SORT's multi_gmc. Batched like the filter.
    """
    warp = np.asarray(warp, dtype=np.float64).reshape(2, 3)
    big = np.kron(np.eye(NDIM), warp[:, :2])
    new_mean = np.asarray(mean, dtype=np.float64) @ big.T
    new_mean[..., :2] += warp[:, 2]
    return new_mean, big @ covariance @ big.T
