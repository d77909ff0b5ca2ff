"""gt.txt -> FairMOT's labels_with_ids and the split index files (docs/FAIRMOT_SPEC.md §1; ifzhang/FairMOT src/gen_labels_16.py).

What the reference gets wrong and this module fixes: rows are sorted by (tid, frame) before ids
are given out, sequences are walked in sorted order (train first, then test), so global ids are
deterministic and never merge across sequences; label files are overwritten, never appended to;
frames with no box get an empty file; seqinfo.ini is parsed as INI. Everything is written into
temporary siblings and renamed into place, so an interrupted run leaves the old outputs intact.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fairmot.data.boxes import fit_box, label_line
from fairmot.data.formats.mot import PEDESTRIAN, SeqInfo, list_sequences, read_gt, read_seqinfo
from fairmot.errors import DataError
from fairmot.io import atomic_dir

log = logging.getLogger(__name__)

SPLITS = ("train", "half", "val", "test")
# MOT17 ships each sequence three times (one per public detector); the SDP copy is preferred
_MOT17_COPY = re.compile(r"^(MOT17-\d+)-(SDP|FRCNN|DPM)$")
_DETECTOR_PREFERENCE = ("SDP", "FRCNN", "DPM")


@dataclass(frozen=True)
class Sequence:
    """A sequence folder and where it sits in the dataset (split = images/<split>)."""

    path: Path
    split: str
    info: SeqInfo

    @property
    def name(self) -> str:
        return self.path.name

    def image_rel(self, frame: int) -> str:
        return f"images/{self.split}/{self.name}/{self.info.im_dir}/{frame:06d}{self.info.im_ext}"


def labelled_sequences(dataset_root: Path, allow_no_train: bool = False) -> list[Sequence]:
    """Sequences with ground truth, train split first, each split in sorted name order.

    Train sequences must have gt; test sequences without gt (MOT17's test set) are skipped.
    Of MOT17's three copies of a sequence only one is kept (SDP, else FRCNN, else DPM), since
    using all three would triple the identities (nID) for the same people. `allow_no_train`: a
    mixed dataset may train on detection or jde sets alone.
    """
    dataset_root = Path(dataset_root)
    found: list[Sequence] = []
    for split in ("train", "test"):
        for seq_dir in _one_copy_per_mot17_sequence(list_sequences(dataset_root, split)):
            if not (seq_dir / "gt" / "gt.txt").exists():
                if split == "train":
                    raise DataError(f"{seq_dir / 'gt' / 'gt.txt'}: missing; every training sequence needs ground truth")
                continue
            found.append(Sequence(seq_dir, split, read_seqinfo(seq_dir / "seqinfo.ini")))
    if not allow_no_train and not any(s.split == "train" for s in found):
        raise DataError(
            f"{dataset_root / 'images' / 'train'}: no sequences (folders with seqinfo.ini); "
            "run `fairmot download` first"
        )
    return found


def _one_copy_per_mot17_sequence(seq_dirs: list[Path]) -> list[Path]:
    chosen: dict[str, Path] = {}
    kept: list[Path] = []
    for seq_dir in seq_dirs:
        match = _MOT17_COPY.match(seq_dir.name)
        if not match:
            kept.append(seq_dir)
            continue
        base, detector = match.groups()
        current = chosen.get(base)
        if current is None or _DETECTOR_PREFERENCE.index(detector) < _DETECTOR_PREFERENCE.index(
            _MOT17_COPY.match(current.name).group(2)
        ):
            chosen[base] = seq_dir
    for base, seq_dir in chosen.items():
        skipped = [p.name for p in seq_dirs if p != seq_dir and p.name.startswith(base + "-")]
        if skipped:
            log.info("%s: using %s, skipping the duplicate copies %s", base, seq_dir.name, ", ".join(skipped))
    return sorted(kept + list(chosen.values()), key=lambda p: p.name)


# The gt class numbers a single pedestrian class takes by default: MOT's 1
PEDESTRIAN_NUMBERS = {PEDESTRIAN: 0}


def kept_rows(gt: np.ndarray, class_map: Mapping[int, int] | None = None) -> np.ndarray:
    """The gt rows that become labels: mark != 0 and a class number the map takes (default: MOT's
    pedestrian), sorted by (class index, tid, frame)."""
    class_map = PEDESTRIAN_NUMBERS if class_map is None else class_map
    keep = gt[(gt[:, 6] != 0) & np.isin(gt[:, 7], list(class_map))]
    return keep[np.lexsort((keep[:, 0], keep[:, 1], row_classes(keep, class_map)))]


def row_classes(rows: np.ndarray, class_map: Mapping[int, int]) -> np.ndarray:
    """The class index of each (kept) gt row."""
    return np.array([class_map[int(n)] for n in rows[:, 7]], dtype=np.int64)


def left_out_counts(gt: np.ndarray, class_map: Mapping[int, int] | None = None) -> dict[str, int]:
    """The gt rows kept_rows leaves out, as fairmot.data.boxes.COUNT_DEFINITIONS defines them:
    "ignored" = rows of a class marked 0, "other_classes" = rows no class takes (marked or not)."""
    taken = np.isin(gt[:, 7], list(PEDESTRIAN_NUMBERS if class_map is None else class_map))
    return {"ignored": int((taken & (gt[:, 6] == 0)).sum()), "other_classes": int((~taken).sum())}


def label_lines(rows: np.ndarray, classes: np.ndarray, info: SeqInfo, first_ids: list[int], clip: bool = False
                ) -> tuple[dict[int, list[str]], list[int], dict[str, int], list[int]]:
    """Label lines per frame for one sequence's kept rows (sorted by class, tid, frame) of `classes`.

    Returns ({frame: lines in walk order}, the next free id of each class, {"clipped", "outside"},
    boxes written per class). Ids are numbered per class from first_ids[c]: a new id starts
    whenever (class, tid) differs from the previous row's; a tid below 1 (a CVAT box outside any
    track) gets id -1. Unless `clip`, boxes are not clipped and values may fall outside [0, 1]
    (the single-source default, kept byte-identical); with it, boxes are cut to the image and
    those wholly outside dropped, both counted (fairmot.data.boxes.fit_box).
    """
    per_frame: dict[int, list[str]] = {}
    counts = {"clipped": 0, "outside": 0}
    gids = [first - 1 for first in first_ids]
    boxes = [0] * len(first_ids)
    previous = None
    for (frame, tid, x, y, w, h), c in zip(rows[:, :6], classes.tolist()):
        if (c, tid) != previous and tid >= 1:
            gids[c] += 1
        previous = (c, tid)
        if clip:
            fitted = fit_box(x, y, w, h, info.width, info.height, counts)
            if fitted is None:
                continue
            x, y, w, h = fitted
        per_frame.setdefault(int(frame), []).append(label_line(gids[c] if tid >= 1 else -1, x, y, w, h, info.width,
                                                               info.height, cls=c))
        boxes[c] += 1
    return per_frame, [gid + 1 for gid in gids], counts, boxes


def label_sequence(seq: Sequence, tmp_labels: Path, first_ids: list[int], index: dict[str, list[str]],
                   clip: bool = False, class_map: Mapping[int, int] | None = None) -> tuple[dict, list[int], dict]:
    """Write one sequence's label files, extend the split index; (manifest entry, next ids per class, counts).

    `class_map`: {gt class number: class index} (default: MOT's pedestrian is class 0).
    """
    gt_path = seq.path / "gt" / "gt.txt"
    gt = read_gt(gt_path)
    class_map = PEDESTRIAN_NUMBERS if class_map is None else class_map
    rows = kept_rows(gt, class_map)
    n = seq.info.seq_length
    bad = rows[(rows[:, 0] < 1) | (rows[:, 0] > n) | (rows[:, 0] != np.round(rows[:, 0]))]
    if len(bad):
        raise DataError(
            f"{gt_path}: frame {bad[0, 0]:g} (track {bad[0, 1]:g}) is outside 1..{n} (seqLength in "
            "seqinfo.ini); fix the gt row or seqLength"
        )
    per_frame, next_ids, counts, boxes = label_lines(rows, row_classes(rows, class_map), seq.info, first_ids, clip)
    counts.update(left_out_counts(gt, class_map), class_boxes=boxes)
    out = tmp_labels / seq.split / seq.name / seq.info.im_dir
    out.mkdir(parents=True)
    for frame in range(1, n + 1):
        lines = per_frame.get(frame, [])
        (out / f"{frame:06d}.txt").write_text("".join(line + "\n" for line in lines))
    frames_rel = [seq.image_rel(f) for f in range(1, n + 1)]
    if seq.split == "train":
        index["train"] += frames_rel
        index["half"] += frames_rel[: n // 2]
        index["val"] += frames_rel[n // 2:]
    else:
        index["test"] += frames_rel
    identities = [after - before for before, after in zip(first_ids, next_ids)]
    entry = {
        "split": seq.split,
        "frames": n,
        "boxes": len(rows) - counts["outside"],
        "identities": sum(identities),
        "width": seq.info.width,
        "height": seq.info.height,
        "frame_rate": seq.info.frame_rate,
        **({"class_boxes": boxes, "class_identities": identities} if len(first_ids) > 1 else {}),
    }
    log.debug("%s: %d boxes, ids from %s to %s", seq.name, len(rows), first_ids, next_ids)
    return entry, next_ids, counts


def write_splits(splits_dir: Path, index: dict[str, list[str]], manifest: dict) -> None:
    with atomic_dir(splits_dir) as tmp_splits:
        for name in SPLITS:
            (tmp_splits / f"{name}.txt").write_text("".join(line + "\n" for line in index[name]))
        (tmp_splits / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
