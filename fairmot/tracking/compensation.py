"""Camera motion compensation of Kalman states: move every track as the camera's frame-to-frame warp moves the scene.

When the camera pans or zooms, every box moves with it, and a constant-velocity filter predicts
where the box would have been had the camera stood still. BoT-SORT (Aharon et al. 2022,
NirAharon/BoT-SORT tracker/gmc.py and bot_sort.py `STrack.multi_gmc`) therefore moves each
predicted state by the 2x3 affine [A | t] from the previous frame's pixels to this frame's, before
association. Its state is (x, y, w, h) and it applies A to each pair; ours (fairmot.tracking.kalman)
is (x, y, a, h) and their velocities, so, with s = sqrt|det A| the warp's scale:
- centre (x, y) -> A (x, y) + t, velocity (vx, vy) -> A (vx, vy);
- height h and vh -> s h, s vh; aspect a and va unchanged (a similarity keeps a box's shape);
- covariance P -> M P M^T with M = diag(A, 1, s, A, 1, s), the map's Jacobian.
For a warp without rotation (pans and zooms) the box's corners move exactly as the warp moves
them; a rotation turns the centre and scales the box, which stays upright. The estimators
(fairmot.inference.camera_motion) give the warp in pixel-centre coordinates; boxes use pixel
edges, a difference of (I - A) / 2 pixel (0.005 px at a 1% zoom), left out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

XYAH_SIZES = (3,)  # the state's entries that scale with the image: h (and vh, 4 places on)


def warp_jacobian(warp: np.ndarray, sizes: tuple[int, ...] = XYAH_SIZES) -> np.ndarray:
    """The (8, 8) linear part M of the warp on a box state with velocities; `sizes` scale by s."""
    a = np.asarray(warp, dtype=np.float64).reshape(2, 3)[:, :2]
    scale = float(np.sqrt(abs(np.linalg.det(a))))
    m = np.eye(8)
    m[0:2, 0:2] = a
    m[4:6, 4:6] = a
    for i in sizes:
        m[i, i] = m[i + 4, i + 4] = scale
    return m


def warp_states(means: np.ndarray, covariances: np.ndarray, warp: np.ndarray,
                sizes: tuple[int, ...] = XYAH_SIZES) -> tuple[np.ndarray, np.ndarray]:
    """Means (N, 8) and covariances (N, 8, 8) moved by the (2, 3) warp: A x + t for the centre, M P M^T."""
    m = warp_jacobian(warp, sizes)
    t = np.asarray(warp, dtype=np.float64).reshape(2, 3)[:, 2]
    means = np.asarray(means, dtype=np.float64) @ m.T
    means[..., :2] += t
    return means, m @ np.asarray(covariances, dtype=np.float64) @ m.T


def compensate(tracks: list, warp: np.ndarray | None, move: Callable = warp_states) -> None:
    """Move the started tracks' Kalman states (t.mean, t.covariance) by `warp`; None = a still camera.
    `move(means, covariances, warp)` is the state's own map (botsort's (x, y, w, h): kalman_xywh.warp_state)."""
    if warp is None or not tracks:
        return
    means, covs = move(np.stack([t.mean for t in tracks]), np.stack([t.covariance for t in tracks]), warp)
    for t, m, c in zip(tracks, means, covs):
        t.mean, t.covariance = m, c
