"""BoT-SORT's association on FairMOT's embeddings: IoU and appearance fused, ByteTrack's two stages.

BoT-SORT (Aharon et al. 2022, NirAharon/BoT-SORT tracker/bot_sort.py `BoTSORT.update`, with
tracker/matching.py) keeps ByteTrack's split of the candidates into H (score above `conf_thres`)
and L (above `low_thres` only), and changes three things, all kept here:
- the first association (all confirmed and lost tracks against H) costs min(IoU distance, appearance
  distance), where the appearance distance is the cosine distance halved, set to 1 when it exceeds
  `appearance_thresh` or when the pair's IoU distance exceeds `proximity_thresh` (appearance only
  decides between boxes that overlap); with `fuse_score` (BoT-SORT's MOT17 setting, off only for
  MOT20) the IoU distance first becomes 1 - IoU * score. The pair matches below `match_thresh`;
- the tentative tracks meet the rest of H with the same fused cost (limit 0.7);
- the Kalman state is (x, y, w, h) (kalman_xywh.py), and the camera motion of the frame (`warp`)
  moves every track's state before association, as its GMC does.
L detections continue the still unmatched tracked tracks by IoU (`low_iou_gate`), as ByteTrack's;
they carry no appearance in BoT-SORT (it embeds only H), so a track they continue keeps its
features. Tracks start from the rest of H (BoT-SORT's `new_track_thresh` is conf_thres here, as in
our bytetrack), and the list bookkeeping, expiry and duplicate removal are JDETracker's.
"""

from __future__ import annotations

import numpy as np

from fairmot.tracking import matching
from fairmot.tracking.bytetrack import LOW_IOU_GATE, BYTETracker
from fairmot.tracking.kalman_xywh import KalmanFilterXYWH, warp_state
from fairmot.tracking.tracker import (
    UNCONFIRMED_THRESH,
    Track,
    TrackState,
    _boxes,
    _Detections,
    smooth_features,
)

MATCH_THRESH = 0.8  # BoT-SORT's match_thresh for MOT17 (0.7 for MOT20)
PROXIMITY_THRESH = 0.5  # appearance counts only for pairs with IoU distance at most this
APPEARANCE_THRESH = 0.25  # halved cosine distances above this count as "not the same person"


def tlwh_to_xywh(tlwh: np.ndarray) -> np.ndarray:
    """(..., 4) top-left/width/height -> centre x, centre y, width, height."""
    out = np.array(tlwh, dtype=np.float64)
    out[..., :2] += out[..., 2:4] / 2
    return out


def xywh_to_tlwh(xywh: np.ndarray) -> np.ndarray:
    out = np.array(xywh, dtype=np.float64)[..., :4]
    out[..., :2] -= out[..., 2:] / 2
    return out


class BoTTrack(Track):
    """A track whose Kalman state is (x, y, w, h)."""

    to_state, to_tlwh = staticmethod(tlwh_to_xywh), staticmethod(xywh_to_tlwh)


def fused_distance(iou_dist: np.ndarray, emb_dist: np.ndarray, scores: np.ndarray, *, proximity_thresh: float,
                   appearance_thresh: float, fuse_score: bool) -> np.ndarray:
    """BoT-SORT's cost: min(IoU distance (score-fused), cosine distance / 2 gated by appearance and proximity)."""
    far = iou_dist > proximity_thresh  # on the plain IoU, before the score enters
    if fuse_score:
        iou_dist = 1.0 - (1.0 - iou_dist) * np.asarray(scores, dtype=np.float64)[None, :]
    emb = emb_dist / 2.0
    emb = np.where((emb > appearance_thresh) | far, 1.0, emb)
    return np.minimum(iou_dist, emb)


class BoTSORT(BYTETracker):
    """ByteTrack's two stages with BoT-SORT's fused first association and (x, y, w, h) Kalman filter."""

    track_class = BoTTrack
    frozen = [6, 7]  # not Tracked: width and height keep still (BoT-SORT zeroes vw and vh)
    warp_state = staticmethod(warp_state)  # BoT-SORT's multi_gmc on (x, y, w, h)

    def __init__(self, frame_rate: float = 30, conf_thres: float = 0.4, track_buffer: int = 30,
                 low_thres: float = 0.1, low_iou_gate: float = LOW_IOU_GATE, *, match_thresh: float = MATCH_THRESH,
                 proximity_thresh: float = PROXIMITY_THRESH, appearance_thresh: float = APPEARANCE_THRESH,
                 fuse_score: bool = True) -> None:
        super().__init__(frame_rate, conf_thres, track_buffer, low_thres=low_thres, low_iou_gate=low_iou_gate)
        self.kalman_filter = KalmanFilterXYWH()
        self.match_thresh = match_thresh
        self.proximity_thresh, self.appearance_thresh, self.fuse_score = proximity_thresh, appearance_thresh, fuse_score
        self._featureless: _Detections | None = None  # this frame's L detections: they bring no appearance

    def update(self, boxes_xyxy: np.ndarray, scores: np.ndarray, embeddings: np.ndarray,
               warp: np.ndarray | None = None) -> list[Track]:
        """Associate one frame's candidates (N, 4) xyxy, (N,), (N, D); return activated tracked tracks.

        Give it every candidate above `low_thres`. `warp`: the camera motion since the last frame, a 2x3
        affine from previous-frame to this frame's pixels (None: a still camera).
        """
        self.frame_id += 1
        high, low = self._split(boxes_xyxy, scores, embeddings)
        pool, unconfirmed = self._predict_all(warp)

        updated: list[Track] = []
        refound: list[Track] = []
        newly_lost: list[Track] = []
        removed: list[Track] = []
        matched = (updated, refound)
        left: list[Track] = []
        det_idx = self._associate_fused(pool, high, np.arange(len(high)), self.match_thresh, matched, left)
        self._featureless = low
        self._associate_by_iou([t for t in left if t.state == TrackState.Tracked], low, np.arange(len(low)),
                               self.low_iou_gate, matched, on_unmatched=newly_lost)
        self._featureless = None
        det_idx = self._associate_fused(unconfirmed, high, det_idx, UNCONFIRMED_THRESH, matched, removed)
        return self._end_frame(high, det_idx, updated, refound, newly_lost, removed)

    def _associate_fused(self, tracks: list[Track], dets: _Detections, det_idx: np.ndarray, thresh: float,
                         matched: tuple[list[Track], list[Track]], on_unmatched: list[Track]) -> np.ndarray:
        """Match `tracks` to the detections `det_idx` by the fused cost; the detections left unmatched."""
        if tracks and len(det_idx):
            cost = fused_distance(
                matching.iou_distance(_boxes(tracks), dets.tlbr[det_idx]),
                matching.embedding_distance(np.stack([t.smooth_feat for t in tracks]), dets.unit_features[det_idx]),
                dets.scores[det_idx], proximity_thresh=self.proximity_thresh,
                appearance_thresh=self.appearance_thresh, fuse_score=self.fuse_score)
        else:
            cost = np.zeros((len(tracks), len(det_idx)))
        return self._assign(cost, thresh, tracks, dets, det_idx, matched, on_unmatched)

    def _apply_matches(self, tracks: list[Track], dets: _Detections, det_idx: np.ndarray,
                       matched: tuple[list[Track], list[Track]]) -> None:
        """JDETracker's batched correction, measuring (x, y, w, h); L detections leave the features as they are."""
        if not tracks:
            return
        means, covs = self.kalman_filter.update(np.stack([t.mean for t in tracks]),
                                                np.stack([t.covariance for t in tracks]),
                                                tlwh_to_xywh(dets.tlwh[det_idx]))
        if dets is self._featureless:
            feats, smooth = [t.curr_feat for t in tracks], [t.smooth_feat for t in tracks]
        else:
            feats = dets.unit_features[det_idx]
            smooth = smooth_features(np.stack([t.smooth_feat for t in tracks]), feats)
        for t, m, c, j, f, sf in zip(tracks, means, covs, det_idx, feats, smooth):
            matched[0 if t.state == TrackState.Tracked else 1].append(t)
            t.apply_match(m, c, dets.scores[j], f, sf, self.frame_id)
