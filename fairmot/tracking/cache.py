"""The detection cache: a sequence's network output kept once, so trackers and thresholds are cheap.

`detect` stores, for every frame, every candidate the decoder finds above `track.det_floor`:
box (x1, y1, x2, y2 in image pixels), score and re-ID embedding, exactly as the decoder returns
them (float32, in its order). Tracking from the cache then cuts the candidates at the tracker's
input threshold with the decoder's own rule (`score > threshold`), which yields the very arrays an
online run decoding at that threshold hands its tracker; so the result rows are identical (a test
checks it), and changing `track.*` never needs the network again.

Format: one compressed npz per sequence (`<seq>.npz`) with `boxes` (N, 4) float32, `scores` (N,)
float32, `embeddings` (N, D) float32, `counts` (F,) int32 (candidates per frame, frames in order)
and `meta`, a JSON string (format version, sequence name, frame rate, first frame number, floor).
Embeddings stay float32: float16 would halve the file and gave the very same rows on the crowd
test split (benchmarks/crowd_trackers.py checks it), but it moves cosine distances in the 4th
digit, so a near-tie assignment could flip; exactness is what the cache promises.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fairmot.config import TrackParams
from fairmot.errors import DataError
from fairmot.io import atomic_file
from fairmot.tracking import build_tracker, input_threshold, reported

FORMAT_VERSION = 1
KEYS = ("boxes", "scores", "embeddings", "counts", "meta")

Row = tuple[int, int, float, float, float, float, float]  # frame, id, x, y, w, h, score


@dataclass
class SequenceDetections:
    """All cached candidates of one sequence, frame after frame."""

    name: str
    frame_rate: float
    first_frame: int  # the sequence's number for the first cached frame (result files use it)
    det_floor: float
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    @property
    def num_frames(self) -> int:
        return len(self.counts)

    def frames(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(boxes, scores, embeddings) of each frame in order."""
        ends = np.cumsum(self.counts)
        starts = ends - self.counts
        for a, b in zip(starts, ends):
            yield self.boxes[a:b], self.scores[a:b], self.embeddings[a:b]


class DetectionRecorder:
    """Collects one sequence's per-frame candidates during the network pass."""

    def __init__(self, name: str, frame_rate: float, first_frame: int, det_floor: float) -> None:
        self.name, self.frame_rate, self.first_frame, self.det_floor = name, frame_rate, first_frame, det_floor
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, boxes: np.ndarray, scores: np.ndarray, embeddings: np.ndarray) -> None:
        scores = np.asarray(scores, np.float32).reshape(-1)
        emb = np.asarray(embeddings, np.float32)
        emb = emb.reshape(len(scores), -1) if len(scores) else emb.reshape(0, emb.shape[-1] if emb.ndim == 2 else 0)
        self._parts.append((np.asarray(boxes, np.float32).reshape(-1, 4), scores, emb))

    def result(self) -> SequenceDetections:
        dim = max((e.shape[1] for _, _, e in self._parts), default=0)
        return SequenceDetections(
            self.name, float(self.frame_rate), int(self.first_frame), float(self.det_floor),
            boxes=np.concatenate([b for b, _, _ in self._parts] or [np.zeros((0, 4), np.float32)]),
            scores=np.concatenate([s for _, s, _ in self._parts] or [np.zeros(0, np.float32)]),
            embeddings=np.concatenate([e if len(e) else np.zeros((0, dim), np.float32) for _, _, e in self._parts]
                                      or [np.zeros((0, dim), np.float32)]),
            counts=np.array([len(s) for _, s, _ in self._parts], dtype=np.int32),
        )


def write_detections(path: Path, seq: SequenceDetections) -> None:
    """Write one sequence's cache atomically (an interrupted write leaves no half file)."""
    meta = {"version": FORMAT_VERSION, "name": seq.name, "frame_rate": seq.frame_rate,
            "first_frame": seq.first_frame, "det_floor": seq.det_floor}
    with atomic_file(Path(path), "wb") as handle:
        np.savez_compressed(handle, boxes=seq.boxes, scores=seq.scores, embeddings=seq.embeddings,
                            counts=seq.counts, meta=np.array(json.dumps(meta, sort_keys=True)))


def read_detections(path: Path) -> SequenceDetections:
    """Read a cache written by `write_detections`; a missing or foreign file raises DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no detection cache; run `fairmot detect` first")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in KEYS if k not in data.files]
            if missing:
                raise DataError(f"{path}: not a detection cache (missing {', '.join(missing)}); rerun `fairmot detect`")
            arrays = {k: data[k] for k in KEYS}
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable detection cache ({exc}); rerun `fairmot detect`") from None
    meta = json.loads(str(arrays.pop("meta")))
    if meta.get("version") != FORMAT_VERSION:
        raise DataError(f"{path}: cache format {meta.get('version')} is not {FORMAT_VERSION}; rerun `fairmot detect`")
    seq = SequenceDetections(meta["name"], meta["frame_rate"], meta["first_frame"], meta["det_floor"], **arrays)
    if seq.counts.sum() != len(seq.scores) or len(seq.boxes) != len(seq.scores):
        raise DataError(f"{path}: per-frame counts do not add up to the stored candidates; rerun `fairmot detect`")
    return seq


def track_cached(seq: SequenceDetections, settings: TrackParams) -> list[Row]:
    """Run the configured tracker over a cached sequence; result rows in the sequence's numbering.

    The same rows as the online path (OnlineTracker.run with these settings) on the same frames.
    """
    threshold = input_threshold(settings)
    if threshold < seq.det_floor:
        raise DataError(f"{seq.name}: the cache keeps candidates above {seq.det_floor:g} only, the tracker "
                        f"needs them from {threshold:g}; lower track.det_floor and rerun `fairmot detect`")
    tracker = build_tracker(settings, seq.frame_rate)
    rows: list[Row] = []
    for index, (boxes, scores, embeddings) in enumerate(seq.frames()):
        keep = scores > threshold  # the decoder's rule (fairmot/models/decode.py)
        tracks = tracker.update(boxes[keep], scores[keep], embeddings[keep])
        frame = seq.first_frame + index
        tlwhs, ids, out_scores = reported(tracks, settings)
        rows += [(frame, int(i), *map(float, box), float(s)) for box, i, s in zip(tlwhs, ids, out_scores)]
    return rows
