"""The detection cache: a sequence's network output kept once, so trackers and thresholds are cheap.

`detect` stores, for every frame, every candidate the decoder finds above `track.det_floor`:
box (x1, y1, x2, y2 in image pixels), score, re-ID embedding and class, exactly as the decoder
returns them (float32, in its order). Tracking from the cache then cuts the candidates at the tracker's
input threshold with the decoder's own rule (`score > threshold`), which yields the very arrays an
online run decoding at that threshold hands its tracker; so the result rows are identical (a test
checks it), and changing `track.*` never needs the network again.

Format: one compressed npz per sequence (`<seq>.npz`) with `boxes` (N, 4) float32, `scores` (N,)
float32, `embeddings` (N, D) float32, `classes` (N,) int16 (class indices), `counts` (F,) int32
(candidates per frame, frames in order) and `meta`, a JSON string (format version, sequence name,
frame rate, first frame number, floor, image size, the checkpoint's sha256, `cmc`: the camera
motion estimators cached). For each of those `warps_<method>` (F, 2, 3) float64 holds the camera's
warp from the previous frame to each frame (identity for the first; fairmot.inference.camera_motion),
which `track.cmc` reads instead of the images; float64 as estimated, so a cached run equals an
online one. Formats 2 (before warps) and 3 (before classes) still read, as caches without warps
whose candidates are all of class 0. `check_cache` compares the meta with what a cache is read for,
so a file swapped, renamed or left over from another split, dataset or checkpoint is refused.
Embeddings stay float32: float16 would halve the file and gave the very same rows on the crowd
test split (benchmarks/crowd_trackers.py checks it), but it moves cosine distances in the 4th
digit, so a near-tie assignment could flip; exactness is what the cache promises.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fairmot.config import TrackParams
from fairmot.errors import DataError, first_line
from fairmot.io import atomic_file
from fairmot.tracking import build_tracker, input_threshold, reported, update_tracker

# 2: meta records the image size and the checkpoint's sha256; 3: camera warps (meta cmc); 4: classes
FORMAT_VERSION = 4
READABLE_VERSIONS = (2, 3, 4)
KEYS = ("boxes", "scores", "embeddings", "counts", "meta")  # and from format 4 on, CLASSES
CLASSES = "classes"
META_TYPES = {"name": str, "frame_rate": (int, float), "first_frame": int, "det_floor": (int, float), "width": int,
              "height": int, "checkpoint_sha256": str}

Row = tuple[int, int, float, float, float, float, float, int]  # frame, id, x, y, w, h, score, class index


@dataclass
class SequenceDetections:
    """All cached candidates of one sequence, frame after frame."""

    name: str
    frame_rate: float
    first_frame: int  # the sequence's number for the first cached frame (result files use it)
    det_floor: float
    width: int  # the size of the frames the network saw (seqinfo.ini's imWidth, imHeight)
    height: int
    checkpoint_sha256: str = ""  # the checkpoint that made the candidates ("" when not from a file)
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    warps: dict[str, np.ndarray] = field(default_factory=dict)  # camera motion method -> (F, 2, 3)
    classes: np.ndarray | None = None  # (N,) class indices; None: every candidate of class 0 (a format-3 cache)

    def __post_init__(self) -> None:
        if self.classes is None:
            self.classes = np.zeros(len(self.scores), np.int16)

    @property
    def num_classes(self) -> int:
        """1 + the highest class of a cached candidate (1 when there is none)."""
        return int(self.classes.max(initial=0)) + 1

    @property
    def num_frames(self) -> int:
        return len(self.counts)

    def frames(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """(boxes, scores, embeddings, classes) of each frame in order."""
        ends = np.cumsum(self.counts)
        starts = ends - self.counts
        for a, b in zip(starts, ends):
            yield self.boxes[a:b], self.scores[a:b], self.embeddings[a:b], self.classes[a:b]


class DetectionRecorder:
    """Collects one sequence's per-frame candidates during the network pass."""

    def __init__(self, name: str, frame_rate: float, first_frame: int, det_floor: float, *, width: int, height: int,
                 checkpoint_sha256: str = "") -> None:
        self.name, self.frame_rate, self.first_frame, self.det_floor = name, frame_rate, first_frame, det_floor
        self.width, self.height, self.checkpoint_sha256 = width, height, checkpoint_sha256
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._classes: list[np.ndarray] = []
        self._warps: dict[str, list[np.ndarray]] = {}

    def add(self, boxes: np.ndarray, scores: np.ndarray, embeddings: np.ndarray,
            warps: dict[str, np.ndarray] | None = None, *, classes: np.ndarray | None = None) -> None:
        """One frame's candidates (with their classes; None: all class 0) and (when detect estimates camera
        motion) its warp per method."""
        for method, warp in (warps or {}).items():
            self._warps.setdefault(method, []).append(np.asarray(warp, np.float64).reshape(2, 3))
        scores = np.asarray(scores, np.float32).reshape(-1)
        emb = np.asarray(embeddings, np.float32)
        emb = emb.reshape(len(scores), -1) if len(scores) else emb.reshape(0, emb.shape[-1] if emb.ndim == 2 else 0)
        self._parts.append((np.asarray(boxes, np.float32).reshape(-1, 4), scores, emb))
        self._classes.append(np.zeros(len(scores), np.int16) if classes is None
                             else np.asarray(classes, np.int16).reshape(len(scores)))

    def result(self) -> SequenceDetections:
        dim = max((e.shape[1] for _, _, e in self._parts), default=0)
        return SequenceDetections(
            self.name, float(self.frame_rate), int(self.first_frame), float(self.det_floor), int(self.width),
            int(self.height), str(self.checkpoint_sha256),
            boxes=np.concatenate([b for b, _, _ in self._parts] or [np.zeros((0, 4), np.float32)]),
            scores=np.concatenate([s for _, s, _ in self._parts] or [np.zeros(0, np.float32)]),
            embeddings=np.concatenate([e if len(e) else np.zeros((0, dim), np.float32) for _, _, e in self._parts]
                                      or [np.zeros((0, dim), np.float32)]),
            counts=np.array([len(s) for _, s, _ in self._parts], dtype=np.int32),
            warps={m: np.stack(w) for m, w in self._warps.items()},
            classes=np.concatenate(self._classes or [np.zeros(0, np.int16)]),
        )


def write_detections(path: Path, seq: SequenceDetections) -> None:
    """Write one sequence's cache atomically (an interrupted write leaves no half file)."""
    meta = {"version": FORMAT_VERSION, **{key: getattr(seq, key) for key in META_TYPES}, "cmc": sorted(seq.warps)}
    warps = {f"warps_{m}": w for m, w in seq.warps.items()}
    with atomic_file(Path(path), "wb") as handle:
        np.savez_compressed(handle, boxes=seq.boxes, scores=seq.scores, embeddings=seq.embeddings,
                            counts=seq.counts, classes=np.asarray(seq.classes, np.int16),
                            meta=np.array(json.dumps(meta, sort_keys=True)), **warps)


def read_detections(path: Path) -> SequenceDetections:
    """Read a cache written by `write_detections`; a missing, foreign, damaged or outdated file raises DataError."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no detection cache; run `fairmot detect` first")
    arrays = _load_arrays(path)
    meta, cmc, version = _read_meta(path, arrays.pop("meta"))
    missing = [f"warps_{m}" for m in cmc if f"warps_{m}" not in arrays] + ([CLASSES] if version >= 4 and CLASSES not in arrays else [])
    if missing:
        raise DataError(f"{path}: not a detection cache (missing {', '.join(missing)}); rerun `fairmot detect`")
    warps = {m: arrays.pop(f"warps_{m}") for m in cmc}
    seq = SequenceDetections(**meta, **{k: arrays[k] for k in KEYS if k != "meta"}, warps=warps,
                             classes=arrays.get(CLASSES) if version >= 4 else None)
    problem = _shape_problem(seq)
    if problem:
        raise DataError(f"{path}: not a valid detection cache ({problem}); rerun `fairmot detect`")
    return seq


def _unreadable(path: Path, reason: str) -> DataError:
    return DataError(f"{path}: unreadable detection cache ({reason}); rerun `fairmot detect`")


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The cache's five arrays; any failure of the file, the zip or an array is one DataError naming the file."""
    if not path.is_file():
        raise _unreadable(path, "a folder, not a file" if path.is_dir() else "not a regular file")
    if path.stat().st_size == 0:
        raise _unreadable(path, "empty file")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise _unreadable(path, "a single array, not an npz archive")
        with data:
            missing = [k for k in KEYS if k not in data.files]
            if missing:
                raise DataError(f"{path}: not a detection cache (missing {', '.join(missing)}); rerun `fairmot detect`")
            return {k: data[k] for k in data.files if k in (*KEYS, CLASSES) or k.startswith("warps_")}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        raise _unreadable(path, _reason(exc)) from None


def _reason(exc: BaseException) -> str:
    """numpy's own message, short, and never its advice to allow pickles (a cache holds no Python objects)."""
    if "allow_pickle" in str(exc):
        return "it holds Python objects, not plain arrays"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, EOFError):
        return "truncated"
    return first_line(exc)


def _read_meta(path: Path, meta: np.ndarray) -> tuple[dict, list[str], int]:
    """The meta JSON of a cache of a READABLE_VERSIONS format, every field of META_TYPES present and typed,
    the camera motion methods whose warps it holds (none before format 3) and the format."""
    try:
        values = json.loads(str(meta)) if meta.dtype.kind == "U" and meta.ndim == 0 else None
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise DataError(f"{path}: not a detection cache (its meta is not a JSON object); rerun `fairmot detect`")
    version = values.pop("version", None)
    if version not in READABLE_VERSIONS:
        raise DataError(f"{path}: detection cache format {version!r}, this version of fairmot reads format "
                        f"{', '.join(map(str, READABLE_VERSIONS[:-1]))} or {READABLE_VERSIONS[-1]}; rerun `fairmot detect`")
    for key, kind in META_TYPES.items():
        if not isinstance(values.get(key), kind) or isinstance(values.get(key), bool):
            raise DataError(f"{path}: not a valid detection cache (meta {key!r} = {values.get(key)!r}); "
                            "rerun `fairmot detect`")
    cmc = values.get("cmc", [])
    if not isinstance(cmc, list) or not all(isinstance(m, str) and m.isidentifier() for m in cmc):
        raise DataError(f"{path}: not a valid detection cache (meta 'cmc' = {cmc!r}); rerun `fairmot detect`")
    return {key: values[key] for key in META_TYPES}, cmc, version


def _shape_problem(seq: SequenceDetections) -> str | None:
    """What is wrong with the arrays' shapes or types, None when they fit together."""
    scores, boxes, emb, counts = seq.scores, seq.boxes, seq.embeddings, seq.counts
    if scores.ndim != 1 or scores.dtype.kind != "f":
        return f"scores {scores.dtype} {scores.shape}, not (N,) floats"
    n = len(scores)
    if boxes.shape != (n, 4) or boxes.dtype.kind != "f":
        return f"boxes {boxes.dtype} {boxes.shape}, not ({n}, 4) floats"
    if emb.ndim != 2 or len(emb) != n or emb.dtype.kind != "f":
        return f"embeddings {emb.dtype} {emb.shape}, not ({n}, D) floats"
    if counts.ndim != 1 or counts.dtype.kind not in "iu":
        return f"counts {counts.dtype} {counts.shape}, not (F,) integers"
    if (counts < 0).any() or counts.sum() != n:
        return f"per-frame counts (sum {int(counts.sum())}, least {counts.min(initial=0)}) do not add up to the {n} candidates"
    if seq.classes.shape != (n,) or seq.classes.dtype.kind not in "iu" or (seq.classes < 0).any():
        return f"classes {seq.classes.dtype} {seq.classes.shape}, not ({n},) class indices"
    for method, warps in seq.warps.items():
        if warps.shape != (len(counts), 2, 3) or warps.dtype.kind != "f":
            return f"warps_{method} {warps.dtype} {warps.shape}, not ({len(counts)}, 2, 3) floats"
    return None


def check_cache(seq: SequenceDetections, path: Path, *, name: str, first_frame: int, frames: int, width: int,
                height: int, checkpoint_sha256: str | None = None) -> None:
    """Refuse a cache made for another sequence, frame range, image size or (when given) checkpoint than the
    one it is read for: a swapped or stale file would otherwise be tracked and scored as if it were right."""
    fix = "; rerun `fairmot detect`"
    if seq.name != name:
        raise DataError(f"{path}: cached sequence name {seq.name!r}, but it is read for {name!r} "
                        f"(a renamed or copied file?){fix}")
    if (seq.first_frame, seq.num_frames) != (first_frame, frames):
        raise DataError(f"{path}: cached frames {seq.first_frame}..{seq.first_frame + seq.num_frames - 1}, but "
                        f"{name} is scored on frames {first_frame}..{first_frame + frames - 1}{fix} with this split")
    if (seq.width, seq.height) != (width, height):
        raise DataError(f"{path}: cached image size {seq.width}x{seq.height}, but {name}'s frames are "
                        f"{width}x{height} (seqinfo.ini){fix}")
    if checkpoint_sha256 is not None and seq.checkpoint_sha256 != checkpoint_sha256:
        made_by = f"the checkpoint with sha256 {seq.checkpoint_sha256[:12]}..." if seq.checkpoint_sha256 else "no checkpoint"
        raise DataError(f"{path}: made by {made_by}, not {checkpoint_sha256[:12]}... (a cache of another network pass){fix}")


def track_cached(seq: SequenceDetections, settings: TrackParams, num_classes: int = 1) -> list[Row]:
    """Run the configured tracker (one per class of the `num_classes`) over a cached sequence; result rows
    (frame, id, x, y, w, h, score, class) in the sequence's numbering.

    The same rows as the online path (OnlineTracker.run with these settings) on the same frames.
    """
    threshold = input_threshold(settings)
    if threshold < seq.det_floor:
        raise DataError(f"{seq.name}: the cache keeps candidates above {seq.det_floor:g} only, the tracker "
                        f"needs them from {threshold:g}; lower track.det_floor and rerun `fairmot detect`")
    if seq.num_classes > num_classes:
        raise DataError(f"{seq.name}: the cache holds candidates of class {seq.num_classes - 1} (0-based), but "
                        f"{num_classes} class(es) are tracked; set classes as the network was trained, or rerun `fairmot detect`")
    warps = cached_warps(seq, settings.cmc)
    tracker = build_tracker(settings, seq.frame_rate, num_classes)
    rows: list[Row] = []
    for index, (boxes, scores, embeddings, classes) in enumerate(seq.frames()):
        keep = scores > threshold  # the decoder's rule (fairmot/models/decode.py)
        warp = None if warps is None else warps[index]
        tracks = update_tracker(tracker, boxes[keep], scores[keep], embeddings[keep], classes[keep], warp=warp)
        frame = seq.first_frame + index
        tlwhs, ids, out_scores, out_classes = reported(tracks, settings)
        rows += [(frame, int(i), *map(float, box), float(s), int(c))
                 for box, i, s, c in zip(tlwhs, ids, out_scores, out_classes)]
    return rows


def cached_warps(seq: SequenceDetections, cmc: str) -> np.ndarray | None:
    """The (F, 2, 3) warps of `track.cmc` (None for none); a cache made without them is refused."""
    if cmc == "none":
        return None
    if cmc not in seq.warps:
        held = ", ".join(sorted(seq.warps)) or "none"
        raise DataError(f"{seq.name}: track.cmc is {cmc!r} but the detection cache holds camera warps for: {held}; "
                        f"add {cmc} to eval.cmc and rerun `fairmot detect`")
    return seq.warps[cmc]
