"""Association costs and assignment: pure functions on arrays.

Boxes are (x1, y1, x2, y2) in pixels with continuous coordinates (area = w * h, no "+1").
"""

from __future__ import annotations

import lap
import numpy as np

from fairmot.tracking.kalman import CHI2_95_4DOF, KalmanFilter


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes -> (N, M); 0 where the union is empty."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def iou_distance(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """1 - IoU: the cost of the IoU association stages and of duplicate removal."""
    return 1.0 - iou_matrix(boxes_a, boxes_b)


def embedding_distance(track_features: np.ndarray, det_features: np.ndarray) -> np.ndarray:
    """Cosine distance between track (smoothed) and detection embeddings, clipped at 0."""
    t = np.asarray(track_features, dtype=np.float64)
    d = np.asarray(det_features, dtype=np.float64)
    if len(t) == 0 or len(d) == 0:
        return np.zeros((len(t), len(d)), dtype=np.float64)
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    return np.maximum(0.0, 1.0 - t @ d.T)


def fuse_motion(
    kf: KalmanFilter,
    cost: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    det_xyah: np.ndarray,
    lambda_: float = 0.98,
) -> np.ndarray:
    """Gate an appearance cost with the Kalman filter and blend in the motion distance.

    Pairs whose squared Mahalanobis distance exceeds the chi-square 95% bound (4 dof) become
    inf; the others cost lambda * cost + (1 - lambda) * mahalanobis^2.
    """
    if cost.size == 0:
        return cost
    d2 = kf.gating_distance(means, covariances, det_xyah)
    fused = lambda_ * cost + (1.0 - lambda_) * d2
    fused[d2 > CHI2_95_4DOF] = np.inf
    return fused


def linear_assignment(cost: np.ndarray, thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Optimal assignment where leaving a row and a column unmatched costs `thresh` together.

    This is `lap.lapjv(cost, extend_cost=True, cost_limit=thresh)`: a pair is matched only when
    it is part of the optimum of that extended problem (so its cost is below `thresh`), which can
    differ from "Hungarian, then drop pairs above thresh". Returns (matches (K, 2) of
    [row, col], unmatched rows, unmatched cols).
    """
    rows, cols = cost.shape
    if cost.size == 0:
        return np.empty((0, 2), dtype=int), np.arange(rows), np.arange(cols)
    _, x, y = lap.lapjv(np.asarray(cost, dtype=np.float64), extend_cost=True, cost_limit=thresh)
    matched_rows = np.flatnonzero(x >= 0)
    matches = np.stack([matched_rows, x[matched_rows]], axis=1).astype(int)
    return matches, np.flatnonzero(x < 0), np.flatnonzero(y < 0)
