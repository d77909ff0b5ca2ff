"""Several classes tracked side by side: one tracker per class, one id counter for them all.

A detection only ever meets the tracks of its own class (a pedestrian never continues a car's
track, however well the boxes overlap), because each class has a tracker of its own (the
method's, unchanged: MCMOT and PaddleDetection's MCFairMOT keep one track set per class the same
way). The trackers take their ids in turn from one counter, so an id names one object across all
classes in the result file. Every tracker steps on every frame, with or without detections of
its class (lost tracks age and expire as with one class) and with the frame's camera warp.
With one class `build_tracker` returns the method's tracker itself, not this wrapper.

One object is sometimes found by two classes at once (a walker also as a cyclist: the rider looks
like a walker from the waist up), and each class's tracker would follow it. `class_nms` (the IoU
track.class_nms) drops a candidate that overlaps a higher-scoring candidate of another class that
much before routing; 0 keeps every candidate (MCMOT's behaviour).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fairmot.data.boxes import iou_matrix
from fairmot.tracking.tracker import JDETracker, Track


class PerClassTracker:
    """`update(boxes, scores, embeddings, classes=...)` routes each detection to its class's tracker."""

    def __init__(self, make: Callable[[], JDETracker], num_classes: int, class_nms: float = 0.0) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes {num_classes} must be at least 1")
        self.class_nms = class_nms
        self.trackers = [make() for _ in range(num_classes)]
        for cls, tracker in enumerate(self.trackers):
            tracker.cls = cls  # the class of the tracks it starts
        self._next_id = 1  # the one counter: each tracker takes its new ids from here in turn
        self.frame_id = 0

    @property
    def tracked(self) -> list[Track]:
        return [t for tracker in self.trackers for t in tracker.tracked]

    @property
    def lost(self) -> list[Track]:
        return [t for tracker in self.trackers for t in tracker.lost]

    def update(self, boxes_xyxy: np.ndarray, scores: np.ndarray, embeddings: np.ndarray, *, classes: np.ndarray,
               warp: np.ndarray | None = None) -> list[Track]:
        """One frame's detections (N, 4) xyxy, (N,), (N, D) with their class (N,); the activated tracked
        tracks of every class (class 0's first)."""
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        features = np.asarray(embeddings, dtype=np.float64)
        features = features.reshape(len(boxes), -1) if len(boxes) else np.zeros((0, 1))
        classes = np.asarray(classes, dtype=np.int64).reshape(-1)
        if len(classes) != len(boxes) or ((classes < 0) | (classes >= len(self.trackers))).any():
            raise ValueError(f"classes {classes.tolist()} do not give one class in 0..{len(self.trackers) - 1} "
                             f"per detection ({len(boxes)})")
        if self.class_nms > 0:
            kept = kept_across_classes(boxes, scores, classes, self.class_nms)
            boxes, scores, features, classes = boxes[kept], scores[kept], features[kept], classes[kept]
        self.frame_id += 1
        out: list[Track] = []
        for cls, tracker in enumerate(self.trackers):
            mine = classes == cls
            tracker._next_id = self._next_id
            out += tracker.update(boxes[mine], scores[mine], features[mine], warp=warp)
            self._next_id = tracker._next_id
        return out


def kept_across_classes(boxes_xyxy: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> np.ndarray:
    """Mask of the candidates that no higher-scoring candidate of another class overlaps by IoU >= `iou`
    (greedy, highest score first, as NMS; a dropped candidate drops nothing). Order is kept."""
    keep = np.ones(len(scores), dtype=bool)
    overlap = iou_matrix(boxes_xyxy, boxes_xyxy) >= iou
    order = np.argsort(-scores, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    for i in order:
        if keep[i]:
            keep &= ~(overlap[i] & (classes != classes[i]) & (rank > rank[i]))
    return keep


def update_tracker(tracker: JDETracker | PerClassTracker, boxes_xyxy: np.ndarray, scores: np.ndarray,
                   embeddings: np.ndarray, classes: np.ndarray | None, *, warp: np.ndarray | None = None) -> list[Track]:
    """One frame into whatever `build_tracker` made: by class into a PerClassTracker; a one-class tracker
    takes them all (they must all be class 0)."""
    if isinstance(tracker, PerClassTracker):
        return tracker.update(boxes_xyxy, scores, embeddings, classes=classes, warp=warp)
    if classes is not None and len(classes) and np.max(classes) > 0:
        raise ValueError(f"a one-class tracker got detections of class {int(np.max(classes))}; "
                         "build it with num_classes")
    return tracker.update(boxes_xyxy, scores, embeddings, warp=warp)
