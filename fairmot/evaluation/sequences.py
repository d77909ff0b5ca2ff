"""Which sequences and frames an evaluation split scores, and the tracker's result files for them.

The split-to-folder mapping lives here once: evaluation and the report's annotated frames both
read it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fairmot.config import EVAL_SPLITS
from fairmot.data.formats.mot import RESULT_COLUMNS, SeqInfo, read_gt, read_results, read_seqinfo, sequence_folders
from fairmot.errors import DataError

# The images/<folder> each split reads: val is the second half of every train sequence.
EVAL_IMAGE_FOLDER = {"test": "test", "val": "train", "train": "train"}
OVERALL = "OVERALL"  # the all-sequences row of every table
CLASS = len(RESULT_COLUMNS)  # the column of load_results' rows holding the class index
# Float64 holds every integer up to 2**53 exactly: past it two ids of a result file may read as one.
MAX_ID = 2**53


@dataclass(frozen=True)
class EvalSequence:
    """One evaluated sequence: its frames first_frame..last_frame (1-based) and their gt rows."""

    name: str
    seq_dir: Path
    info: SeqInfo
    first_frame: int
    last_frame: int
    gt: np.ndarray = field(repr=False)  # (N, 9) gt.txt rows within the frame range

    @property
    def num_frames(self) -> int:
        return self.last_frame - self.first_frame + 1

    def frame_paths(self) -> list[Path]:
        return [self.info.frame_path(self.seq_dir, f) for f in range(self.first_frame, self.last_frame + 1)]


def split_frame_range(seq_length: int, split: str) -> tuple[int, int]:
    """`val` = frames floor(N/2)+1..N (the half/val ablation protocol); otherwise all N frames."""
    if split == "val":
        return seq_length // 2 + 1, seq_length
    return 1, seq_length


def split_image_folder(root: Path, split: str) -> Path:
    """The folder of sequences a split reads: `images/<folder>` of a dataset root, else `root` itself."""
    if split not in EVAL_SPLITS:
        raise DataError(f"unknown evaluation split {split!r}; use one of {', '.join(EVAL_SPLITS)}")
    root = Path(root)
    return root / "images" / EVAL_IMAGE_FOLDER[split] if (root / "images").is_dir() else root


def find_eval_sequences(root: Path, split: str) -> list[EvalSequence]:
    """The sequences an evaluation split scores, with their gt.

    `root` is a MOT-layout dataset root (`images/{train,test}/<seq>`) or one folder of sequences
    (e.g. `images/train`). From a dataset root: test = the images/test sequences that have gt;
    train = every images/train sequence; val = the second half of every images/train sequence.
    """
    folder = split_image_folder(root, split)
    _refuse_benchmark_root(folder)
    seq_dirs = sequence_folders(folder)
    if not seq_dirs:
        raise DataError(f"{folder}: no sequence folders (with seqinfo.ini) found; check the dataset path and split")
    if split == "test":
        # MOT17's test sequences have no public gt: score the ones that have it.
        seq_dirs = [d for d in seq_dirs if (d / "gt" / "gt.txt").exists()]
        if not seq_dirs:
            raise DataError(
                f"{folder}: no sequence has gt/gt.txt, so the test split cannot be scored; "
                "set eval.split to val (second half of train sequences) or train"
            )
    return [_load_sequence(seq_dir, split) for seq_dir in seq_dirs]


def _refuse_benchmark_root(folder: Path) -> None:
    """A benchmark download (MOT20/{train,test}, DanceTrack/{train,val,test}) is no folder of sequences:
    name its folders instead of calling `train/` a sequence without seqinfo.ini. Its val/ holds whole
    sequences, unlike eval.split's val, so it is not guessed from the split."""
    if not folder.is_dir():
        return
    splits = [d for d in sorted(folder.iterdir()) if d.is_dir() and not (d / "seqinfo.ini").exists()
              and any((s / "seqinfo.ini").is_file() for s in d.iterdir() if s.is_dir())]
    if splits:
        scored = [d for d in splits if any((s / "gt" / "gt.txt").is_file() for s in d.iterdir())] or splits
        raise DataError(
            f"{folder}: a benchmark folder ({', '.join(d.name + '/' for d in splits)}), not a folder of sequences; "
            f"pass the folder of the sequences to score: {' or '.join(str(d) for d in scored)}")


def _load_sequence(seq_dir: Path, split: str) -> EvalSequence:
    gt_path = seq_dir / "gt" / "gt.txt"
    if not gt_path.exists():
        raise DataError(f"{gt_path}: ground truth not found; every evaluated sequence needs gt/gt.txt")
    info = read_seqinfo(seq_dir / "seqinfo.ini")
    first, last = split_frame_range(info.seq_length, split)
    gt = read_gt(gt_path)
    outside = (gt[:, 0] < 1) | (gt[:, 0] > info.seq_length)
    if outside.any():
        raise DataError(
            f"{gt_path}: frame {int(gt[outside][0, 0])} is outside 1..{info.seq_length} "
            f"(seqLength in {seq_dir / 'seqinfo.ini'})"
        )
    # Boxes outside any track (id -1, e.g. a CVAT export's trackless boxes) train the detector but
    # are no trajectory to score; TrackEval would also fold a negative id onto another one.
    gt = gt[gt[:, 1] >= 0]
    _check_unique_ids(gt, gt_path)
    keep = (gt[:, 0] >= first) & (gt[:, 0] <= last)
    return EvalSequence(seq_dir.name, seq_dir, info, first, last, gt[keep])


def _check_unique_ids(rows: np.ndarray, path: Path) -> None:
    pairs = rows[:, :2].astype(np.int64)
    _, first_index, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        frame, tid = pairs[first_index[np.argmax(counts > 1)]]
        raise DataError(f"{path}: id {tid} appears more than once in frame {frame}; ids must be unique per frame")


def _line_number(path: Path, row: int) -> int:
    """The file line of parsed row `row` (the reader skips blank lines)."""
    with Path(path).open() as handle:
        seen = -1
        for lineno, line in enumerate(handle, start=1):
            seen += bool(line.strip())
            if seen == row:
                return lineno
    return row + 1


def check_result_rows(rows: np.ndarray, path: Path, seq: EvalSequence) -> None:
    """Refuse values no tracker can mean: a scorer would crash on them or score them silently."""
    frame_ok = (rows[:, 0] >= 1) & (rows[:, 0] <= seq.info.seq_length) & (rows[:, 0] == np.round(rows[:, 0]))
    checks = (
        (~np.isfinite(rows).all(axis=1), lambda r: "a NaN or infinite value"),
        (~frame_ok, lambda r: f"frame {r[0]:g} is not a frame of {seq.name} (1..{seq.info.seq_length})"),
        (rows[:, 1] != np.round(rows[:, 1]), lambda r: f"id {r[1]:g} is not an integer"),
        (np.abs(rows[:, 1]) > MAX_ID, lambda r: f"id {r[1]:g} is beyond ±2**53, past which ids are not read exactly"),
        ((rows[:, 4] <= 0) | (rows[:, 5] <= 0), lambda r: f"box size {r[4]:g}x{r[5]:g} is not positive"),
    )
    for bad, describe in checks:
        if bad.any():
            row = rows[int(np.argmax(bad))]
            values = ",".join(f"{v:g}" for v in row)
            raise DataError(f"{path}:{_line_number(path, int(np.argmax(bad)))}: {describe(row)} in {values!r}; "
                            "result rows are frame,id,x,y,w,h,score with integer frame and id")


def load_results(results_dir: Path, sequences: Sequence[EvalSequence], num_classes: int = 1) -> dict[str, np.ndarray]:
    """Read `<results_dir>/<seq>.txt` for every sequence, keeping the rows in its frame range: (N, 7)
    frame, id, x, y, w, h, score; with several classes (N, 8), the class index (read_result_classes) added.

    A result file for a sequence that has no gt is an error too (it would silently go unscored).
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise DataError(f"{results_dir}: results folder not found; run `fairmot evaluate` or pass --results DIR")
    names = {s.name for s in sequences}
    extra = sorted(p.stem for p in results_dir.glob("*.txt") if p.stem not in names)
    if extra:
        raise DataError(
            f"{results_dir / (extra[0] + '.txt')}: no ground-truth sequence named {extra[0]!r} in the "
            f"evaluated split ({', '.join(sorted(names))}); remove the file or pass the matching --gt/--split"
        )
    out = {}
    for seq in sequences:
        path = results_dir / f"{seq.name}.txt"
        if not path.exists():
            raise DataError(f"{path}: result file missing for sequence {seq.name}; every evaluated sequence needs one")
        rows = read_results(path)
        check_result_rows(rows, path, seq)
        _check_unique_ids(rows, path)
        if num_classes > 1:
            rows = np.column_stack([rows, read_result_classes(path)])
        out[seq.name] = rows[(rows[:, 0] >= seq.first_frame) & (rows[:, 0] <= seq.last_frame)]
    return out


def read_result_classes(path: Path) -> np.ndarray:
    """The class index of every row of a result file: MOTChallenge's class column (the 8th) holds the
    class index + 1; -1, 0 or no such column (a single-class file, another tool's) is class 0."""
    classes = []
    with Path(path).open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            parts = line.replace(" ", "").strip().split(",")
            if parts == [""]:
                continue
            value = parts[CLASS] if len(parts) > CLASS else "-1"
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or number != int(number):
                raise DataError(f"{path}:{lineno}: class {value!r} is not an integer in {line.strip()!r}; "
                                "column 8 is the class (1 = the first of classes; -1 = none)")
            classes.append(max(int(number) - 1, 0))
    return np.asarray(classes, dtype=np.float64)
