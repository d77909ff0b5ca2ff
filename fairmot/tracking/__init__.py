"""The JDE/FairMOT tracker: Kalman motion model, association costs, and the tracking cascade."""

from fairmot.tracking.kalman import CHI2_95_4DOF, KalmanFilter
from fairmot.tracking.matching import (
    embedding_distance,
    fuse_motion,
    iou_distance,
    iou_matrix,
    iou_matrix_inclusive,
    linear_assignment,
)
from fairmot.tracking.tracker import JDETracker, Track, TrackState

__all__ = [
    "CHI2_95_4DOF",
    "JDETracker",
    "KalmanFilter",
    "Track",
    "TrackState",
    "embedding_distance",
    "fuse_motion",
    "iou_distance",
    "iou_matrix",
    "iou_matrix_inclusive",
    "linear_assignment",
]
