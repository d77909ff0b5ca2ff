"""A track's life cycle (tentative -> tracked <-> lost -> removed), its Kalman state and smoothed embedding.

Shared by every association method (fairmot.tracking.tracker, bytetrack, botsort); a method
whose Kalman state is laid out otherwise overrides `to_state` / `to_tlwh` (BoT-SORT's x, y, w, h).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from fairmot.tracking.kalman import KalmanFilter, tlwh_to_xyah, xyah_to_tlwh


class TrackState(IntEnum):
    New = 0
    Tracked = 1
    Lost = 2
    Removed = 3


class Track:
    """One identity: Kalman state, smoothed appearance feature and life cycle."""

    alpha = 0.9  # feature smoothing: smooth = alpha * smooth + (1 - alpha) * new
    cls = 0  # the object class (its index in params' classes); the tracker that starts it sets it
    to_state, to_tlwh = staticmethod(tlwh_to_xyah), staticmethod(xyah_to_tlwh)  # box <-> Kalman (x, y, a, h)

    def __init__(self, tlwh: np.ndarray, score: float, feature: np.ndarray, *, unit: bool = False) -> None:
        self._tlwh = np.asarray(tlwh, dtype=np.float64)
        self.score = float(score)
        self.track_id = 0
        self.state = TrackState.New
        self.is_activated = False
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.smooth_feat: np.ndarray | None = None
        self.curr_feat: np.ndarray | None = None
        self.frame_id = 0
        self.start_frame = 0
        self.update_features(feature, unit=unit)

    # -- appearance --------------------------------------------------------------------------
    def update_features(self, feature: np.ndarray, *, unit: bool = False) -> None:
        """Take a new embedding; `unit=True` says it is already L2-normalised (skips a second pass)."""
        feat = np.asarray(feature, dtype=np.float64)
        feat = feat if unit else _normalize(feat)
        self.curr_feat = feat
        if self.smooth_feat is None:
            self.smooth_feat = feat
        else:
            self.smooth_feat = smooth_features(self.smooth_feat, feat)

    # -- geometry ----------------------------------------------------------------------------
    @property
    def tlwh(self) -> np.ndarray:
        """Current box (top-left x, y, width, height): the Kalman mean once the track started."""
        if self.mean is None:
            return self._tlwh.copy()
        return self.to_tlwh(self.mean[:4])

    @property
    def tlbr(self) -> np.ndarray:
        box = self.tlwh
        box[2:] += box[:2]
        return box

    @property
    def end_frame(self) -> int:
        return self.frame_id

    # -- life cycle --------------------------------------------------------------------------
    def activate(self, kf: KalmanFilter, frame_id: int, track_id: int) -> None:
        """Start a track from this detection; confirmed at once only on the first frame."""
        self.track_id = track_id
        self.mean, self.covariance = kf.initiate(self.to_state(self._tlwh))
        self.state = TrackState.Tracked
        self.is_activated = frame_id == 1
        self.frame_id = frame_id
        self.start_frame = frame_id

    def apply_match(self, mean: np.ndarray, covariance: np.ndarray, score: float,
                    feature: np.ndarray, smooth_feat: np.ndarray, frame_id: int) -> None:
        """Take a matched detection (update or re-activation): corrected Kalman state, features.

        `feature` is the detection's normalised embedding, `smooth_feat` the already smoothed one
        (the tracker computes both for all matches at once).
        """
        self.mean, self.covariance = mean, covariance
        self.state = TrackState.Tracked
        self.is_activated = True
        self.frame_id = frame_id
        self.score = float(score)
        self.curr_feat = feature
        self.smooth_feat = smooth_feat

    def mark_lost(self) -> None:
        self.state = TrackState.Lost

    def mark_removed(self) -> None:
        self.state = TrackState.Removed

    def __repr__(self) -> str:
        return f"Track(id={self.track_id}, state={self.state.name}, frames={self.start_frame}-{self.frame_id})"


def _normalize(x: np.ndarray) -> np.ndarray:
    """L2-normalise along the last axis (zero vectors stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def smooth_features(smooth: np.ndarray, feat: np.ndarray, alpha: float = Track.alpha) -> np.ndarray:
    """alpha * smooth + (1 - alpha) * feat, re-normalised; works on one vector or a batch."""
    return _normalize(alpha * smooth + (1 - alpha) * feat)
