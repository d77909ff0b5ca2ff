"""ByteTrack's association with FairMOT's embeddings: low-score detections keep tracks alive.

FairMOT's JDETracker only ever sees detections above `conf_thres`; a person who is half hidden
scores lower, drops out, and the track is lost (and often re-found under a new id). ByteTrack
(Zhang et al. 2022, ifzhang/ByteTrack yolox/tracker/byte_tracker.py `BYTETracker.update`) also
uses the detections between a low floor and `conf_thres`, but only to continue existing tracks,
never to start one. PaddleDetection pairs it with FairMOT's re-ID the same way
(PaddlePaddle/PaddleDetection ppdet/modeling/mot/tracker/jde_tracker.py, `use_byte`).

Per frame, with H = detections scoring above `conf_thres` and L = those above `low_thres` only:
1. predict every confirmed and lost track with the Kalman filter;
2. match them to H by embedding distance gated and fused with motion (JDETracker's stage 1);
3. match the still unmatched tracked ones to the rest of H by IoU (JDETracker's stage 2);
4. match the tracked ones still left to L by IoU (gate `low_iou_gate`); the tracked tracks left
   after that are lost, and unmatched L detections are dropped;
5. match tentative tracks to the rest of H by IoU (JDETracker's stage 3); unmatched ones go;
6. start new (tentative) tracks from the rest of H only;
7. expire lost tracks past the buffer and rebuild the lists (JDETracker's stages 5 and 6).
Steps 2, 3, 5, 6 and 7 are JDETracker's own code (inherited), so both trackers share the Track
class, the Kalman filter, the matching functions and the list bookkeeping. A track matched to an
L detection takes its box, score and embedding, as PaddleDetection's does.
"""

from __future__ import annotations

import numpy as np

from fairmot.tracking.tracker import (
    IOU_THRESH,
    UNCONFIRMED_THRESH,
    JDETracker,
    Track,
    TrackState,
    _Detections,
)

LOW_IOU_GATE = 0.5  # ByteTrack's second association: a match needs IoU > 0.5 (cost 1 - IoU < 0.5)


class BYTETracker(JDETracker):
    """JDETracker's cascade plus ByteTrack's second look at low-score detections."""

    def __init__(self, frame_rate: float = 30, conf_thres: float = 0.4, track_buffer: int = 30,
                 low_thres: float = 0.1, low_iou_gate: float = LOW_IOU_GATE) -> None:
        if not 0 <= low_thres <= conf_thres:
            raise ValueError(f"low_thres {low_thres} must lie between 0 and conf_thres {conf_thres}")
        super().__init__(frame_rate, conf_thres, track_buffer)
        self.low_thres = low_thres
        self.low_iou_gate = low_iou_gate

    def update(self, boxes_xyxy: np.ndarray, scores: np.ndarray, embeddings: np.ndarray, *,
               warp: np.ndarray | None = None) -> list[Track]:
        """Associate one frame's candidates (N, 4) xyxy, (N,), (N, D); return activated tracked tracks.

        Give it every candidate above `low_thres` (more are ignored); it splits them itself. `warp`: the
        camera's (2, 3) motion since the last frame (tracking/compensation.py), None = a still camera.
        """
        self.frame_id += 1
        high, low = self._split(boxes_xyxy, scores, embeddings)
        pool, unconfirmed = self._predict_all(warp)  # step 1, then moved with the camera

        updated: list[Track] = []
        refound: list[Track] = []
        newly_lost: list[Track] = []
        removed: list[Track] = []
        matched = (updated, refound)

        remaining_pool, det_idx = self._associate_by_embedding(pool, high, matched)  # step 2
        unmatched_tracked: list[Track] = []
        det_idx = self._associate_by_iou(  # step 3
            [t for t in remaining_pool if t.state == TrackState.Tracked], high, det_idx,
            IOU_THRESH, matched, on_unmatched=unmatched_tracked,
        )
        self._associate_by_iou(  # step 4: the low-score detections only continue tracks
            unmatched_tracked, low, np.arange(len(low)), self.low_iou_gate, matched, on_unmatched=newly_lost,
        )
        det_idx = self._associate_by_iou(  # step 5
            unconfirmed, high, det_idx, UNCONFIRMED_THRESH, matched, on_unmatched=removed,
        )
        return self._end_frame(high, det_idx, updated, refound, newly_lost, removed)  # steps 6-7

    def _split(self, boxes_xyxy: np.ndarray, scores: np.ndarray,
               embeddings: np.ndarray) -> tuple[_Detections, _Detections]:
        """(H, L): candidates above conf_thres, and those in (low_thres, conf_thres]; order kept.

        Strict ">" on both edges, as the decoder's `scores > conf_thres`, so a candidate list cut at
        `conf_thres` gives JDETracker exactly H.
        """
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        features = np.asarray(embeddings, dtype=np.float64)
        features = features.reshape(len(boxes), -1) if len(boxes) else np.zeros((0, 1))
        is_high = scores > self.det_thresh
        is_low = ~is_high & (scores > self.low_thres)
        return (_Detections(boxes[is_high], scores[is_high], features[is_high]),
                _Detections(boxes[is_low], scores[is_low], features[is_low]))
