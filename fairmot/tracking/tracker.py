"""JDETracker: FairMOT's online association of detections + re-ID embeddings into tracks.

Per frame (docs/FAIRMOT_SPEC.md §7): predict all confirmed and lost tracks with the Kalman
filter; match them to detections by embedding (gated and fused with motion); match the remaining
tracked ones by IoU; match tentative (unconfirmed) tracks by IoU; start tracks from leftover
confident detections; forget tracks lost for longer than the buffer; drop duplicates.

The tracker sees boxes, scores and embeddings only, never images, so any detector can feed it.
It takes the reference's decisions (ifzhang/FairMOT src/lib/tracker/multitracker.py), including
two behaviours that are easy to miss:
- pixel-inclusive IoU: IoU costs and duplicate removal use the "+1" convention of
  `cython_bbox.bbox_overlaps` (`matching.iou_distance`);
- late expiry: a lost track unseen for more than `max_time_lost` frames is marked removed at the
  end of that frame but stays in the lost list through the NEXT frame's association (the
  reference subtracts only the tracks removed in earlier frames), so an object that returns
  exactly then keeps its id. A track whose id was ever removed and is lost again leaves the lost
  list at the end of that frame (the reference's ever-growing removed list, kept here as the ids
  of tracks still listed: no other id can come back, so the set stays bounded on endless runs).
Differences from the reference, on purpose: track ids restart at 1 for every tracker instance
(the reference keeps one global counter) and a re-found track takes the new detection's score
(the reference keeps the old one; scores only reach the result file, never a decision).
"""

from __future__ import annotations

import numpy as np

from fairmot.tracking import matching
from fairmot.tracking.compensation import compensate, warp_states
from fairmot.tracking.kalman import KalmanFilter, tlwh_to_xyah
from fairmot.tracking.track import Track, TrackState, _normalize, smooth_features

__all__ = ["JDETracker", "Track", "TrackState", "smooth_features"]

EMBEDDING_THRESH = 0.4
IOU_THRESH = 0.5
UNCONFIRMED_THRESH = 0.7
DUPLICATE_THRESH = 0.15


def _boxes(tracks: list[Track]) -> np.ndarray:
    """(N, 4) xyxy boxes of started tracks, from their Kalman means in one go."""
    if not tracks:
        return np.zeros((0, 4))
    tlwh = tracks[0].to_tlwh(np.stack([t.mean[:4] for t in tracks]))
    tlwh[:, 2:] += tlwh[:, :2]
    return tlwh


class _Detections:
    """The current frame's detections as arrays; stages refer to them by index."""

    def __init__(self, tlbr: np.ndarray, scores: np.ndarray, features: np.ndarray) -> None:
        self.tlbr = tlbr
        self.scores = scores
        self.tlwh = np.concatenate([tlbr[:, :2], tlbr[:, 2:] - tlbr[:, :2]], axis=1)
        self.xyah = tlwh_to_xyah(self.tlwh)
        self.unit_features = _normalize(features)

    def __len__(self) -> int:
        return len(self.scores)


class JDETracker:
    """FairMOT's tracker. `update` takes one frame's detections and returns the confirmed tracks."""
    track_class = Track  # what `_start_tracks` makes (BoT-SORT's keeps an (x, y, w, h) state)
    frozen = [7]  # velocities zeroed when predicting a track that is not Tracked: the height's (vh)
    warp_state = staticmethod(warp_states)  # how the camera's warp moves a state (compensation.py)
    cls = 0  # the class of the tracks it starts (tracking/per_class.py gives each class's tracker its own)

    def __init__(self, frame_rate: float = 30, conf_thres: float = 0.4, track_buffer: int = 30) -> None:
        self.det_thresh = conf_thres
        self.max_time_lost = int(frame_rate / 30.0 * track_buffer)
        self.kalman_filter = KalmanFilter()
        self.frame_id = 0
        self.tracked: list[Track] = []
        self.lost: list[Track] = []
        self._removed_ids: set[int] = set()  # ids removed in earlier frames (see "late expiry")
        self._next_id = 1

    def update(self, boxes_xyxy: np.ndarray, scores: np.ndarray, embeddings: np.ndarray, *,
               warp: np.ndarray | None = None) -> list[Track]:
        """Associate one frame's detections (N, 4) xyxy, (N,), (N, D); return activated tracked tracks.
        `warp`: the camera's (2, 3) motion since the last frame (tracking/compensation.py), None = still."""
        self.frame_id += 1
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        features = np.asarray(embeddings, dtype=np.float64)
        features = features.reshape(len(boxes), -1) if len(boxes) else np.zeros((0, 1))
        dets = _Detections(boxes, np.asarray(scores, dtype=np.float64).reshape(-1), features)
        pool, unconfirmed = self._predict_all(warp)

        updated: list[Track] = []  # matched tracks that were Tracked (incl. tentative ones), in match order
        refound: list[Track] = []  # matched tracks that were Lost
        newly_lost: list[Track] = []
        removed: list[Track] = []

        matched = (updated, refound)
        remaining_pool, det_idx = self._associate_by_embedding(pool, dets, matched)
        remaining_det = self._associate_by_iou(
            [t for t in remaining_pool if t.state == TrackState.Tracked], dets, det_idx,
            IOU_THRESH, matched, on_unmatched=newly_lost,
        )
        remaining_det = self._associate_by_iou(
            unconfirmed, dets, remaining_det, UNCONFIRMED_THRESH, matched, on_unmatched=removed,
        )
        return self._end_frame(dets, remaining_det, updated, refound, newly_lost, removed)

    # -- steps -------------------------------------------------------------------------------
    def _predict_all(self, warp: np.ndarray | None) -> tuple[list[Track], list[Track]]:
        """Step 1: predict the confirmed and lost tracks (the pool), then move them and the tentative
        ones with the camera; returns (pool, tentative)."""
        confirmed = [t for t in self.tracked if t.is_activated]
        unconfirmed = [t for t in self.tracked if not t.is_activated]
        pool = _join(confirmed, self.lost)
        self._predict(pool)
        compensate(pool + unconfirmed, warp, move=self.warp_state)
        return pool, unconfirmed

    def _predict(self, tracks: list[Track]) -> None:
        """Batched Kalman prediction; tracks not currently Tracked keep their size (`frozen` velocities 0)."""
        if not tracks:
            return
        means = np.stack([t.mean for t in tracks])
        covs = np.stack([t.covariance for t in tracks])
        not_tracked = np.array([t.state != TrackState.Tracked for t in tracks])
        means[np.ix_(not_tracked, self.frozen)] = 0.0
        means, covs = self.kalman_filter.predict(means, covs)
        for t, m, c in zip(tracks, means, covs):
            t.mean, t.covariance = m, c

    def _end_frame(self, dets: _Detections, det_idx: np.ndarray, updated: list[Track], refound: list[Track],
                   newly_lost: list[Track], removed: list[Track]) -> list[Track]:
        """Steps 6-7 and the lists: mark, start tracks from `det_idx`, expire; return the activated tracked tracks."""
        for t in newly_lost:
            t.mark_lost()
        for t in removed:
            t.mark_removed()
        started = self._start_tracks(dets, det_idx)
        removed += self._expire_lost()
        self._update_lists(updated + started, refound, newly_lost, removed)
        return [t for t in self.tracked if t.is_activated]

    def _associate_by_embedding(
        self, pool: list[Track], dets: _Detections, matched: tuple[list[Track], list[Track]]
    ) -> tuple[list[Track], np.ndarray]:
        """Stage 1: appearance cost gated and fused with motion; re-finds lost tracks too."""
        all_idx = np.arange(len(dets))
        if not pool or len(dets) == 0:
            return pool, all_idx
        means = np.stack([t.mean for t in pool])
        covs = np.stack([t.covariance for t in pool])
        cost = matching.embedding_distance(np.stack([t.smooth_feat for t in pool]), dets.unit_features)
        cost = matching.fuse_motion(self.kalman_filter, cost, means, covs, dets.xyah)
        matches, u_track, u_det = matching.linear_assignment(cost, EMBEDDING_THRESH)
        self._apply_matches([pool[i] for i in matches[:, 0]], dets, matches[:, 1], matched)
        return [pool[i] for i in u_track], all_idx[u_det]

    def _associate_by_iou(
        self, tracks: list[Track], dets: _Detections, det_idx: np.ndarray, thresh: float,
        matched: tuple[list[Track], list[Track]], on_unmatched: list[Track],
    ) -> np.ndarray:
        """Stages 2 and 3: 1 - IoU between track boxes and the still unmatched detections."""
        cost = matching.iou_distance(_boxes(tracks), dets.tlbr[det_idx])
        return self._assign(cost, thresh, tracks, dets, det_idx, matched, on_unmatched)

    def _assign(self, cost: np.ndarray, thresh: float, tracks: list[Track], dets: _Detections, det_idx: np.ndarray,
                matched: tuple[list[Track], list[Track]], on_unmatched: list[Track]) -> np.ndarray:
        """Solve one stage's (tracks x det_idx) cost: correct the matched tracks, hand the unmatched ones to
        `on_unmatched`; return the detections still unmatched."""
        matches, u_track, u_det = matching.linear_assignment(cost, thresh)
        self._apply_matches([tracks[i] for i in matches[:, 0]], dets, det_idx[matches[:, 1]], matched)
        on_unmatched.extend(tracks[i] for i in u_track)
        return det_idx[u_det]

    def _apply_matches(self, tracks: list[Track], dets: _Detections, det_idx: np.ndarray,
                       matched: tuple[list[Track], list[Track]]) -> None:
        """One batched Kalman correction for every matched pair, then per-track bookkeeping.

        Matched tracks go to matched[0] (were Tracked) or matched[1] (were Lost, or expired this
        frame or the last and still in the lost list: re-found, as the reference's re_activate).
        """
        if not tracks:
            return
        means, covs = self.kalman_filter.update(
            np.stack([t.mean for t in tracks]), np.stack([t.covariance for t in tracks]), dets.xyah[det_idx]
        )
        feats = dets.unit_features[det_idx]
        smooth = smooth_features(np.stack([t.smooth_feat for t in tracks]), feats)
        for t, m, c, j, f, sf in zip(tracks, means, covs, det_idx, feats, smooth):
            matched[0 if t.state == TrackState.Tracked else 1].append(t)
            t.apply_match(m, c, dets.scores[j], f, sf, self.frame_id)

    def _start_tracks(self, dets: _Detections, det_idx: np.ndarray) -> list[Track]:
        """Stage 4: leftover detections with score >= conf_thres become new (tentative) tracks."""
        started = []
        for j in det_idx:
            if dets.scores[j] < self.det_thresh:
                continue
            track = self.track_class(dets.tlwh[j], dets.scores[j], dets.unit_features[j], unit=True)
            track.activate(self.kalman_filter, self.frame_id, self._next_id)
            track.cls = self.cls
            self._next_id += 1
            started.append(track)
        return started

    def _expire_lost(self) -> list[Track]:
        """Stage 5: lost tracks unseen for more than the buffer are marked removed.

        They leave the lost list only at the end of the next frame (`_update_lists`), after that
        frame's association could still re-find them: the reference's timing.
        """
        expired = [t for t in self.lost if self.frame_id - t.end_frame > self.max_time_lost]
        for t in expired:
            t.mark_removed()
        return expired

    def _update_lists(self, activated: list[Track], refound: list[Track], newly_lost: list[Track],
                      removed: list[Track]) -> None:
        """Stage 6: rebuild the tracked/lost lists and drop tracked/lost duplicates.

        List order matters (it breaks assignment ties next frame): kept tracks, then activated,
        then re-found ones, as in the reference. The lost list drops the ids removed in EARLIER
        frames only; this frame's removals join that set afterwards (late expiry).
        """
        tracked = _join(_join([t for t in self.tracked if t.state == TrackState.Tracked], activated), refound)
        lost = _subtract(self.lost, tracked) + newly_lost
        lost = [t for t in lost if t.track_id not in self._removed_ids]
        self.tracked, self.lost = _remove_duplicates(tracked, lost)
        listed = {t.track_id for t in self.tracked + self.lost}  # ids are never reused: only these are looked up again
        self._removed_ids = {i for i in self._removed_ids.union(t.track_id for t in removed) if i in listed}


def _join(a: list[Track], b: list[Track]) -> list[Track]:
    """a then the tracks of b whose id is not in a (order kept)."""
    seen = {t.track_id for t in a}
    return a + [t for t in b if t.track_id not in seen]


def _subtract(a: list[Track], b: list[Track]) -> list[Track]:
    drop = {t.track_id for t in b}
    return [t for t in a if t.track_id not in drop]


def _remove_duplicates(tracked: list[Track], lost: list[Track]) -> tuple[list[Track], list[Track]]:
    """A tracked and a lost track on nearly the same box (IoU distance < 0.15): keep the older."""
    if not tracked or not lost:
        return tracked, lost
    dist = matching.iou_distance(_boxes(tracked), _boxes(lost))
    drop_tracked, drop_lost = set(), set()
    for p, q in zip(*np.nonzero(dist < DUPLICATE_THRESH)):
        age_p = tracked[p].frame_id - tracked[p].start_frame
        age_q = lost[q].frame_id - lost[q].start_frame
        if age_p > age_q:
            drop_lost.add(q)
        else:
            drop_tracked.add(p)
    return ([t for i, t in enumerate(tracked) if i not in drop_tracked],
            [t for i, t in enumerate(lost) if i not in drop_lost])
