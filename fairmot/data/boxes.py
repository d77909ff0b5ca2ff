"""Box geometry shared by every dataset kind and by scoring: label lines (FAIRMOT_SPEC section 1 line
format), clipping, and plain IoU (the MOTChallenge devkit's; the tracker's +1-pixel IoU stays in
fairmot.tracking.matching, apart from it on purpose)."""

from __future__ import annotations

import numpy as np


def clip_xywh(x: float, y: float, w: float, h: float, width: float, height: float
              ) -> tuple[float, float, float, float] | None:
    """The part of the box inside the image, or None when nothing of it is inside.

    Not clipping boxes that leave the image costs about 5 MOTA (ifzhang/FairMOT issue #303).
    """
    x1, y1 = max(x, 0.0), max(y, 0.0)
    x2, y2 = min(x + w, float(width)), min(y + h, float(height))
    if x2 <= x1 or y2 <= y1:
        return None
    return (x1, y1, x2 - x1, y2 - y1)


# How far (px) a box may reach past an edge and still count as inside: float coordinates such as
# x=10.1, w=20.3 do not survive (x + w) - x exactly, and that must not count as clipping
EDGE_TOLERANCE = 1e-6
# What the manifest's per-dataset box counts mean, the same for every kind (fairmot labels)
COUNT_DEFINITIONS = {
    "clipped": "boxes that reach past the image by more than 1e-6 px and were cut to it (part of them is inside)",
    "outside": "boxes wholly outside the image, dropped",
    "ignored": "rows of a class in classes marked 0 (mark/consider flag 0) and CrowdHuman's ignore boxes (extra.ignore 1, "
               "'mask' crowd regions): not training targets",
    "other_classes": "rows of labels that no class takes (class_map: e.g. MOT classes 2-12 with the default, CVAT labels "
                     "not in classes, CrowdHuman tags other than person and mask): not training targets",
}


def fit_box(x: float, y: float, w: float, h: float, width: float, height: float, counts: dict[str, int]
            ) -> tuple[float, float, float, float] | None:
    """The box cut to the image (None when wholly outside), counting it in counts["clipped"] / ["outside"].

    One rule for every dataset kind: a box is clipped only when it leaves the image by more than
    EDGE_TOLERANCE on some side; a box inside (within it) comes back unchanged, not rebuilt from
    its clipped corners, so its label line is the unclipped one.
    """
    fitted = clip_xywh(x, y, w, h, width, height)
    if fitted is None:
        counts["outside"] += 1
        return None
    if min(x, y) < -EDGE_TOLERANCE or x + w > width + EDGE_TOLERANCE or y + h > height + EDGE_TOLERANCE:
        counts["clipped"] += 1
        return fitted
    return (x, y, w, h)


def label_line(gid: int, x: float, y: float, w: float, h: float, width: float, height: float, cls: int = 0) -> str:
    """`cls gid cx cy w h`, normalised by the image size, 6 decimals (cls: the class index, 0 = main class)."""
    cx, cy = x + w / 2.0, y + h / 2.0
    return f"{cls} {gid} {cx / width:.6f} {cy / height:.6f} {w / width:.6f} {h / height:.6f}"


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
