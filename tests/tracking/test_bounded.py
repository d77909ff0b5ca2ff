"""Endless runs: the tracker's bookkeeping stays bounded, and bounding it changes no decision."""

import numpy as np
import pytest

from fairmot.tracking import BYTETracker, JDETracker
from fairmot.tracking.botsort import BoTSORT
from fairmot.tracking.tracker import TrackState, _remove_duplicates


def _churn(frames: int, seed: int = 0):
    """Identities that live 5-60 frames, vanish now and then and are replaced by new ones; a few
    come back after long absences (so expiry, late re-finding and duplicates all happen)."""
    rng = np.random.default_rng(seed)
    slots = [None] * 8  # (embedding, x, y, frames left)
    for _ in range(frames):
        boxes, scores, feats = [], [], []
        for i, slot in enumerate(slots):
            if slot is None or slot[3] <= 0:
                slot = slots[i] = [rng.normal(size=16), rng.uniform(0, 900), rng.uniform(0, 400), int(rng.integers(5, 60))]
            slot[1] += rng.normal(0, 2)
            slot[3] -= 1
            if rng.random() < 0.15:  # missed this frame
                continue
            x, y = slot[1], slot[2]
            boxes.append([x, y, x + 40, y + 100])
            scores.append(rng.uniform(0.2, 1.0))
            feats.append(slot[0] + rng.normal(0, 0.05, 16))
        yield np.array(boxes).reshape(-1, 4), np.array(scores), np.array(feats).reshape(-1, 16)


def _unbounded_update_lists(self, activated, refound, newly_lost, removed):
    """The bookkeeping before it was bounded: every removed id kept forever (the reference's list)."""
    from fairmot.tracking.tracker import _join, _subtract

    tracked = _join(_join([t for t in self.tracked if t.state == TrackState.Tracked], activated), refound)
    lost = _subtract(self.lost, tracked) + newly_lost
    lost = [t for t in lost if t.track_id not in self._removed_ids]
    self._removed_ids.update(t.track_id for t in removed)
    self.tracked, self.lost = _remove_duplicates(tracked, lost)


@pytest.mark.parametrize("cls", [JDETracker, BYTETracker, BoTSORT])
def test_bookkeeping_stays_bounded_over_5000_frames_of_churning_ids(cls):
    tracker = cls(frame_rate=30, conf_thres=0.4, track_buffer=30)
    sizes = []
    for boxes, scores, feats in _churn(5000):
        tracker.update(boxes, scores, feats)
        sizes.append((len(tracker.tracked), len(tracker.lost), len(tracker._removed_ids)))
    assert tracker._next_id > 500  # hundreds of identities came and went
    # at most the 8 people, their lost tracks within the 30-frame buffer and tentative ones
    assert max(s[0] for s in sizes) <= 16 and max(s[1] for s in sizes) <= 8 * 32
    assert max(s[2] for s in sizes) <= max(s[0] + s[1] for s in sizes)  # only ids still listed
    assert max(s[0] + s[1] + s[2] for s in sizes[-1000:]) <= max(s[0] + s[1] + s[2] for s in sizes[:1000]) * 2


@pytest.mark.parametrize(("cls", "seed"), [(JDETracker, 3), (BYTETracker, 3), (BoTSORT, 5)])  # seeds where an expired id is re-found
def test_bounded_bookkeeping_takes_the_same_decisions_as_the_unbounded_one(cls, seed, monkeypatch):
    bounded = cls(frame_rate=30, conf_thres=0.4, track_buffer=30)
    unbounded = cls(frame_rate=30, conf_thres=0.4, track_buffer=30)
    monkeypatch.setattr(unbounded, "_update_lists", _unbounded_update_lists.__get__(unbounded))
    refound_after_expiry = 0
    for boxes, scores, feats in _churn(1500, seed=seed):
        a = [(t.track_id, *np.round(t.tlwh, 6)) for t in bounded.update(boxes, scores, feats)]
        b = [(t.track_id, *np.round(t.tlwh, 6)) for t in unbounded.update(boxes, scores, feats)]
        assert a == b
        assert [t.track_id for t in bounded.lost] == [t.track_id for t in unbounded.lost]
        refound_after_expiry += bool(bounded._removed_ids & {t.track_id for t in bounded.tracked})
    assert refound_after_expiry > 0  # ids removed, then re-found, were kept and looked up
    assert len(unbounded._removed_ids) > 100 > len(bounded._removed_ids)
