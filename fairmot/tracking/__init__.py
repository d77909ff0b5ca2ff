"""Trackers over detections: the JDE/FairMOT cascade, ByteTrack's and BoT-SORT's, reached through one registry.

A tracker takes each frame's candidates (boxes, scores, embeddings) and returns its tracks; it never
sees frames or networks. `build_tracker` is the one place `track.method` becomes a tracker (one per
class with several classes: per_class.py), for the online runner and the detection cache alike;
`update_tracker` hands it a frame and `reported` is the output filter both apply.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fairmot.config import TrackParams
from fairmot.tracking.botsort import BoTSORT
from fairmot.tracking.bytetrack import BYTETracker
from fairmot.tracking.kalman import CHI2_95_4DOF, KalmanFilter
from fairmot.tracking.matching import (
    embedding_distance,
    fuse_motion,
    iou_distance,
    iou_matrix,
    iou_matrix_inclusive,
    linear_assignment,
)
from fairmot.tracking.per_class import PerClassTracker, update_tracker
from fairmot.tracking.tracker import JDETracker, Track, TrackState

__all__ = [
    "CHI2_95_4DOF",
    "TRACKERS",
    "BYTETracker",
    "BoTSORT",
    "JDETracker",
    "KalmanFilter",
    "PerClassTracker",
    "Track",
    "TrackState",
    "build_tracker",
    "embedding_distance",
    "fuse_motion",
    "input_threshold",
    "iou_distance",
    "iou_matrix",
    "iou_matrix_inclusive",
    "linear_assignment",
    "reported",
    "update_tracker",
]


def _jde(settings: TrackParams, frame_rate: float) -> JDETracker:
    return JDETracker(frame_rate, settings.conf_thres, settings.track_buffer)


def _bytetrack(settings: TrackParams, frame_rate: float) -> BYTETracker:
    return BYTETracker(frame_rate, settings.conf_thres, settings.track_buffer,
                       low_thres=settings.low_thres, low_iou_gate=settings.low_iou_gate)


def _botsort(settings: TrackParams, frame_rate: float) -> BoTSORT:
    return BoTSORT(frame_rate, settings.conf_thres, settings.track_buffer, low_thres=settings.low_thres,
                   low_iou_gate=settings.low_iou_gate, match_thresh=settings.match_thresh,
                   proximity_thresh=settings.proximity_thresh, appearance_thresh=settings.appearance_thresh,
                   fuse_score=settings.fuse_score)


# track.method -> (builder from the settings and the frame rate, the lowest score the tracker reads)
TRACKERS: dict[str, tuple[Callable[[TrackParams, float], JDETracker], Callable[[TrackParams], float]]] = {
    "jde": (_jde, lambda settings: settings.conf_thres),
    "bytetrack": (_bytetrack, lambda settings: settings.low_thres),
    "botsort": (_botsort, lambda settings: settings.low_thres),
}


def build_tracker(settings: TrackParams, frame_rate: float = 30, num_classes: int = 1) -> JDETracker | PerClassTracker:
    """The tracker `track.method` names, configured from `settings`; with several classes one per class
    behind a PerClassTracker (ids unique across classes)."""
    make = TRACKERS[settings.method][0]
    if num_classes == 1:
        return make(settings, frame_rate)
    return PerClassTracker(lambda: make(settings, frame_rate), num_classes, class_nms=settings.class_nms)


def input_threshold(settings: TrackParams) -> float:
    """The lowest score the chosen tracker looks at: the decoder's (or the cache's) cut."""
    return TRACKERS[settings.method][1](settings)


def reported(tracks: list[Track], settings: TrackParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(tlwhs, ids, scores, classes) of the tracks with w*h > min_box_area and w/h <= max_aspect_ratio.

    The aspect limit is FairMOT's upright-pedestrian prior: with several classes it holds for the
    main class (classes[0]) only, so cars and cyclists, wider than tall, are reported.
    """
    tlwhs = np.array([t.tlwh for t in tracks], dtype=np.float64).reshape(-1, 4)
    ids = np.array([t.track_id for t in tracks], dtype=np.int64)
    scores = np.array([t.score for t in tracks], dtype=np.float64)
    classes = np.array([t.cls for t in tracks], dtype=np.int64)
    w, h = tlwhs[:, 2], tlwhs[:, 3]
    keep = (w * h > settings.min_box_area) & ((w <= settings.max_aspect_ratio * h) | (classes != 0))
    return tlwhs[keep], ids[keep], scores[keep], classes[keep]
