"""Association costs and assignment: pure functions on arrays.

Boxes are (x1, y1, x2, y2) in pixels. Two IoU conventions live here on purpose:
- `iou_matrix`: continuous coordinates (area = w * h), what the evaluation metrics use;
- `iou_matrix_inclusive`: the "+1" pixel-inclusive convention of `cython_bbox.bbox_overlaps`,
  which the reference tracker's `iou_distance` uses (ifzhang/FairMOT
  src/lib/tracker/matching.py). The tracker's costs (`iou_distance`) use this one, so IoU
  association and duplicate removal take the reference's decisions: near a threshold the two
  conventions differ (e.g. a duplicate pair at IoU distance 0.1498 with +1 is 0.1525 without).
"""

from __future__ import annotations

import lap
import numpy as np

from fairmot.data.boxes import iou_matrix  # noqa: F401 -- re-exported: the plain IoU beside the tracker's
from fairmot.tracking.kalman import CHI2_95_4DOF, KalmanFilter


def iou_matrix_inclusive(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Pairwise IoU with +1 on widths, heights and the overlap, as `cython_bbox.bbox_overlaps`.

    A box (x1, y1, x2, y2) covers (x2 - x1 + 1) * (y2 - y1 + 1) pixels; pairs that do not
    overlap by more than -1 px in x or y have IoU 0 (the reference's `iw > 0 and ih > 0`).
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=(inter > 0) & (union > 0))
    return out


def iou_distance(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """1 - inclusive IoU: the cost of the IoU association stages and of duplicate removal."""
    return 1.0 - iou_matrix_inclusive(boxes_a, boxes_b)


def embedding_distance(track_features: np.ndarray, det_features: np.ndarray) -> np.ndarray:
    """Cosine distance 1 - t.d between UNIT track (smoothed) and detection embeddings, clipped at 0.

    The tracker normalises every embedding once when it enters (`Track`/`_Detections`), so this
    is only the product; non-unit inputs give scaled distances.
    """
    t = np.asarray(track_features, dtype=np.float64)
    d = np.asarray(det_features, dtype=np.float64)
    if len(t) == 0 or len(d) == 0:
        return np.zeros((len(t), len(d)), dtype=np.float64)
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
