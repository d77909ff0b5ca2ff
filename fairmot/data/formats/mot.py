"""MOTChallenge file formats: seqinfo.ini, gt.txt and tracker result files.

Layout of a dataset root (MOT17 and the synthetic set alike)::

    images/{train,test}/<seq>/seqinfo.ini
    images/{train,test}/<seq>/img1/000001.jpg
    images/{train,test}/<seq>/gt/gt.txt     (train always; test only where gt is public)

gt.txt rows: frame, id, x, y, w, h, mark, class, visibility (1-based frames, top-left x/y).
Result rows: frame, id, x, y, w, h, score, class (index + 1; -1 when the run has one class), -1, -1.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fairmot.errors import DataError
from fairmot.io import atomic_file

GT_COLUMNS = ("frame", "id", "x", "y", "w", "h", "mark", "class", "visibility")
RESULT_COLUMNS = ("frame", "id", "x", "y", "w", "h", "score")
PEDESTRIAN = 1
# MOT16/17 classes whose matched predictions are neither true nor false positives
IGNORE_CLASSES = (2, 7, 8, 12)  # person on vehicle, static person, distractor, reflection


@dataclass(frozen=True)
class Benchmark:
    """How the official evaluator prepares a frame before scoring (eval.benchmark).

    As TrackEval's MotChallenge2DBox.get_preprocessed_seq_data: predictions matched (Hungarian,
    IoU >= 0.5) to a gt box of a `distractors` class are dropped; the targets are the gt rows
    with mark != 0, of the pedestrian class only when `pedestrians_only`. `trackeval` and
    `trackeval_preproc` are its BENCHMARK and DO_PREPROC settings that do the same.
    """

    name: str
    distractors: tuple[int, ...]
    pedestrians_only: bool
    trackeval: str
    trackeval_preproc: bool


BENCHMARKS = {
    "MOT17": Benchmark("MOT17", IGNORE_CLASSES, True, "MOT17", True),
    # MOT20 also treats non-motorised vehicles (class 6) as distractors
    "MOT20": Benchmark("MOT20", (2, 6, 7, 8, 12), True, "MOT20", True),
    # DanceTrack's gt is plain (every row class 1, mark 1, visibility 1): no distractors, every
    # row a target; identical to DanceTrack's own script (TrackEval, MOT17 settings) on its data
    "DanceTrack": Benchmark("DanceTrack", (), False, "MOT17", False),
}


@dataclass(frozen=True)
class SeqInfo:
    name: str
    frame_rate: int
    seq_length: int
    width: int
    height: int
    im_dir: str = "img1"
    im_ext: str = ".jpg"

    def frame_path(self, seq_dir: Path, frame: int) -> Path:
        return Path(seq_dir) / self.im_dir / f"{frame:06d}{self.im_ext}"


def read_seqinfo(path: Path) -> SeqInfo:
    """Parse seqinfo.ini as INI (the reference slices strings, which breaks on reordered keys)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: seqinfo.ini not found; every sequence folder needs one")
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
        section = parser["Sequence"]
        return SeqInfo(
            name=section.get("name", path.parent.name),
            frame_rate=int(float(section["frameRate"])),
            seq_length=int(section["seqLength"]),
            width=int(section["imWidth"]),
            height=int(section["imHeight"]),
            im_dir=section.get("imDir", "img1"),
            im_ext=section.get("imExt", ".jpg"),
        )
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (undecodable bytes); seqinfo.ini is an INI file of UTF-8 text") from None
    except (KeyError, ValueError, configparser.Error) as exc:
        raise DataError(
            f"{path}: malformed seqinfo.ini ({exc!s}); it needs a [Sequence] section with "
            "frameRate, seqLength, imWidth, imHeight"
        ) from None


def write_seqinfo(path: Path, info: SeqInfo) -> None:
    text = (
        "[Sequence]\n"
        f"name={info.name}\n"
        f"imDir={info.im_dir}\n"
        f"frameRate={info.frame_rate}\n"
        f"seqLength={info.seq_length}\n"
        f"imWidth={info.width}\n"
        f"imHeight={info.height}\n"
        f"imExt={info.im_ext}\n"
    )
    with atomic_file(path) as handle:
        handle.write(text)


def _read_table(path: Path, min_columns: int, what: str) -> np.ndarray:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: {what} file not found")
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a {what} file; replace it with the {what} file")
    rows: list[list[float]] = []
    try:
        _read_rows(path, min_columns, rows)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not text (undecodable bytes); a {what} file is comma-separated UTF-8 text") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc}); check the file and its permissions") from None
    if not rows:
        return np.zeros((0, min_columns), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


def _read_rows(path: Path, min_columns: int, rows: list[list[float]]) -> None:
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            parts = line.replace(" ", "").split(",")
            if len(parts) < min_columns:
                raise DataError(
                    f"{path}:{lineno}: expected at least {min_columns} comma-separated values, got {len(parts)}: {line!r}"
                )
            try:
                rows.append([float(v) for v in parts[:min_columns]])
            except ValueError:
                raise DataError(f"{path}:{lineno}: non-numeric value in {line!r}") from None


def read_gt(path: Path) -> np.ndarray:
    """gt.txt as an (N, 9) float array in GT_COLUMNS order; errors name the file and line."""
    return _read_table(path, len(GT_COLUMNS), "ground-truth")


def read_results(path: Path) -> np.ndarray:
    """A result file as an (N, 7) float array: frame, id, x, y, w, h, score."""
    return _read_table(path, len(RESULT_COLUMNS), "result")


def write_gt(path: Path, rows: np.ndarray) -> None:
    """Write gt rows with integer frame/id/box/mark/class and a 2-decimal visibility."""
    with atomic_file(path) as handle:
        for r in rows:
            handle.write(
                f"{int(r[0])},{int(r[1])},{int(r[2])},{int(r[3])},{int(r[4])},{int(r[5])},"
                f"{int(r[6])},{int(r[7])},{r[8]:.2f}\n"
            )


def write_results(path: Path, rows: Iterable[Sequence[float]], *, replace: str = "any", classes: int = 1) -> None:
    """Write MOTChallenge result lines (`result_line`, 1-based frames) for a run of `classes` classes; `replace`
    is a fairmot.io policy ("ours" where the folder may hold the user's own files)."""
    with atomic_file(path, replace=replace) as handle:
        for row in rows:
            handle.write(result_line(row, classes))


def result_line(row: Sequence[float], classes: int = 1) -> str:
    """One MOTChallenge result line (newline included) for (frame, id, x, y, w, h, score[, class index]):
    `frame,id,x,y,w,h,score,<c>,-1,-1`, <c> = class index + 1 in a run of several classes, -1 with one
    (today's files, byte for byte). A row without its class is of class 0."""
    frame, tid, x, y, w, h, score = row[:7]
    cls = f"{int(row[7]) + 1 if len(row) > 7 else 1}" if classes > 1 else "-1"
    return f"{int(frame)},{int(tid)},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{score:.2f},{cls},-1,-1\n"


def list_sequences(root: Path, split: str) -> list[Path]:
    """Sequence folders under `<root>/images/<split>`, sorted by name.

    A folder there without seqinfo.ini is an error, not skipped: skipping it silently drops the
    sequence from labels, validation and training. Hidden folders (`.name`) are not sequences.
    """
    return sequence_folders(Path(root) / "images" / split)


def sequence_folders(base: Path) -> list[Path]:
    """The sequence folders directly under `base` (sorted), each required to hold seqinfo.ini."""
    if not base.is_dir():
        return []
    folders = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        if not (folder / "seqinfo.ini").is_file():
            raise DataError(
                f"{folder}: sequence folder without seqinfo.ini; add its seqinfo.ini ([Sequence] with "
                "frameRate, seqLength, imWidth, imHeight) or remove the folder from the dataset"
            )
    return folders
