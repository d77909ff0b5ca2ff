"""MOTChallenge scoring (motmetrics CLEAR/identity + TrackEval HOTA) and speed/memory accounting.

Ground truth is preprocessed as the official MOT17 evaluator does it (TrackEval's
MotChallenge2DBox): per frame, predictions and *all* gt boxes are matched by Hungarian on IoU
(pairs below 0.5 never match); predictions matched to a distractor-class box (2 person on vehicle,
7 static person, 8 distractor, 12 reflection) are dropped; then only gt rows with mark != 0 and
class 1 remain as targets. Every gt frame is scored, also frames where the tracker wrote nothing
(the reference scores only frames present in the result file, which inflates MOTA).

Figures are fractions (MOTA 0.73, not 73). MOTP is reported IoU-style, as MOTChallenge prints it:
the mean IoU of matched pairs (motmetrics computes the distance 1 - IoU; we report 1 - that), and
0 when nothing matched (TrackEval's convention).
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from fairmot.data.mot import (
    IGNORE_CLASSES,
    PEDESTRIAN,
    SeqInfo,
    read_gt,
    read_results,
    read_seqinfo,
    write_seqinfo,
)
from fairmot.errors import DataError
from fairmot.tracking.matching import iou_matrix

EVAL_SPLITS = ("test", "train", "val")
IOU_THRESHOLD = 0.5
_EPS = np.finfo(float).eps
OVERALL = "OVERALL"
# Column order of the per-sequence table (after "sequence")
METRIC_COLUMNS = (
    "MOTA", "IDF1", "HOTA", "DetA", "AssA", "LocA", "MOTP", "IDP", "IDR", "precision", "recall",
    "IDs", "FP", "FN", "MT", "PT", "ML", "Frag", "GT", "frames",
)
COUNT_COLUMNS = ("IDs", "FP", "FN", "MT", "PT", "ML", "Frag", "GT", "frames")
_MM_NAMES = {
    "mota": "MOTA", "idf1": "IDF1", "idp": "IDP", "idr": "IDR", "precision": "precision",
    "recall": "recall", "num_switches": "IDs", "num_false_positives": "FP", "num_misses": "FN",
    "mostly_tracked": "MT", "partially_tracked": "PT", "mostly_lost": "ML",
    "num_fragmentations": "Frag", "num_unique_objects": "GT", "num_frames": "frames",
}


# ---------------------------------------------------------------------------------------------
# Which frames are scored
# ---------------------------------------------------------------------------------------------
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


def find_eval_sequences(root: Path, split: str) -> list[EvalSequence]:
    """The sequences an evaluation split scores, with their gt.

    `root` is a MOT-layout dataset root (`images/{train,test}/<seq>`) or one folder of sequences
    (e.g. `images/train`). From a dataset root: test = the images/test sequences that have gt;
    train = every images/train sequence; val = the second half of every images/train sequence.
    """
    if split not in EVAL_SPLITS:
        raise DataError(f"unknown evaluation split {split!r}; use one of {', '.join(EVAL_SPLITS)}")
    root = Path(root)
    if (root / "images").is_dir():
        folder = root / "images" / ("test" if split == "test" else "train")
    else:
        folder = root
    seq_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and (p / "seqinfo.ini").exists()) if folder.is_dir() else []
    if not seq_dirs:
        raise DataError(f"{folder}: no sequence folders (with seqinfo.ini) found; check the dataset path and split")
    if split == "test":
        # MOT17's test sequences have no public gt: score the ones that have it.
        with_gt = [d for d in seq_dirs if (d / "gt" / "gt.txt").exists()]
        if not with_gt:
            raise DataError(
                f"{folder}: no sequence has gt/gt.txt, so the test split cannot be scored; "
                "set eval.split to val (second half of train sequences) or train"
            )
        seq_dirs = with_gt
    sequences = []
    for seq_dir in seq_dirs:
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
        _check_unique_ids(gt, gt_path)
        keep = (gt[:, 0] >= first) & (gt[:, 0] <= last)
        sequences.append(EvalSequence(seq_dir.name, seq_dir, info, first, last, gt[keep]))
    return sequences


def _check_unique_ids(rows: np.ndarray, path: Path) -> None:
    pairs = rows[:, :2].astype(np.int64)
    _, first_index, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        frame, tid = pairs[first_index[np.argmax(counts > 1)]]
        raise DataError(f"{path}: id {tid} appears more than once in frame {frame}; ids must be unique per frame")


def load_results(results_dir: Path, sequences: Sequence[EvalSequence]) -> dict[str, np.ndarray]:
    """Read `<results_dir>/<seq>.txt` for every sequence, keeping the rows in its frame range.

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
        outside = (rows[:, 0] < 1) | (rows[:, 0] > seq.info.seq_length) | (rows[:, 0] != np.round(rows[:, 0]))
        if outside.any():
            raise DataError(
                f"{path}: frame {rows[outside][0, 0]:g} is not a frame of {seq.name} (1..{seq.info.seq_length})"
            )
        _check_unique_ids(rows, path)
        out[seq.name] = rows[(rows[:, 0] >= seq.first_frame) & (rows[:, 0] <= seq.last_frame)]
    return out


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------
def _xyxy(rows: np.ndarray) -> np.ndarray:
    boxes = rows[:, 2:6].astype(np.float64)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def preprocess_frame(gt_rows: np.ndarray, pred_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame's MOT17 preprocessing: returns (target gt rows, kept prediction rows)."""
    if len(gt_rows) and len(pred_rows):
        scores = iou_matrix(_xyxy(gt_rows), _xyxy(pred_rows))
        scores[scores < IOU_THRESHOLD - _EPS] = 0.0
        rows, cols = linear_sum_assignment(-scores)
        matched = scores[rows, cols] > _EPS
        rows, cols = rows[matched], cols[matched]
        on_distractor = np.isin(gt_rows[rows, 7].astype(int), IGNORE_CLASSES)
        pred_rows = np.delete(pred_rows, cols[on_distractor], axis=0)
    targets = gt_rows[(gt_rows[:, 6] != 0) & (gt_rows[:, 7] == PEDESTRIAN)]
    return targets, pred_rows


def _by_frame(rows: np.ndarray, first: int, last: int) -> list[np.ndarray]:
    """Rows grouped per frame first..last (empty arrays for frames without rows)."""
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    frames = np.arange(first, last + 2)
    bounds = np.searchsorted(rows[:, 0], frames - 0.5)
    return [rows[bounds[i]:bounds[i + 1]] for i in range(len(frames) - 1)]


def _accumulate(seq: EvalSequence, preds: np.ndarray):
    """A motmetrics accumulator over every gt frame, fed our own IoU distances (NaN = no match)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    gt_frames = _by_frame(seq.gt, seq.first_frame, seq.last_frame)
    pred_frames = _by_frame(preds, seq.first_frame, seq.last_frame)
    for offset, (g, p) in enumerate(zip(gt_frames, pred_frames)):
        g, p = preprocess_frame(g, p)
        dist = 1.0 - iou_matrix(_xyxy(g), _xyxy(p))
        dist[dist > 1.0 - IOU_THRESHOLD + _EPS] = np.nan
        acc.update(g[:, 1].astype(int).tolist(), p[:, 1].astype(int).tolist(), dist,
                   frameid=seq.first_frame + offset)
    return acc


def _motmetrics_table(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray]) -> pd.DataFrame:
    import motmetrics as mm

    accs = [_accumulate(seq, results[seq.name]) for seq in sequences]
    names = [seq.name for seq in sequences]
    metrics = list(_MM_NAMES) + ["motp", "num_detections"]
    summary = _compute_many(mm, accs, metrics, names)
    table = summary.rename(columns=_MM_NAMES)
    # MOTP: motmetrics gives a mean distance per sequence and NaN overall as soon as one sequence
    # has no match; pool the matched distances ourselves and report IoU-style.
    dets = summary["num_detections"].to_numpy(dtype=float)
    dist = summary["motp"].to_numpy(dtype=float)
    per_seq = np.where(dets[:-1] > 0, 1.0 - np.nan_to_num(dist[:-1]), 0.0)
    total = dets[:-1].sum()
    overall = 1.0 - float(np.nansum(dist[:-1] * dets[:-1]) / total) if total > 0 else 0.0
    table["MOTP"] = np.append(per_seq, overall)
    return table.drop(columns=["motp", "num_detections"])


def _compute_many(mm: Any, accs: list, metrics: list[str], names: list[str]) -> pd.DataFrame:
    """motmetrics' compute_many with an overall row named OVERALL (merged events, not averages)."""
    summary = mm.metrics.create().compute_many(accs, metrics=metrics, names=names, generate_overall=True)
    summary.index = names + [OVERALL]
    return summary


def _trackeval_table(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray]) -> tuple[pd.DataFrame, dict]:
    """HOTA/DetA/AssA/LocA from TrackEval (its own MOT17 preprocessing) in a temporary layout.

    Frames are renumbered from 1 (a val half becomes its own short sequence), as TrackEval only
    reads frames 1..seqLength.
    """
    import trackeval

    bench, split, tracker = "MOT17", "fairmot", "fairmot"
    with tempfile.TemporaryDirectory(prefix="trackeval-") as tmp:
        gt_root = Path(tmp) / "GT"
        trk_root = Path(tmp) / "TRACKERS" / f"{bench}-{split}" / tracker / "data"
        trk_root.mkdir(parents=True)
        (gt_root / "seqmaps").mkdir(parents=True)
        (gt_root / "seqmaps" / f"{bench}-{split}.txt").write_text("name\n" + "".join(f"{s.name}\n" for s in sequences))
        for seq in sequences:
            seq_gt = gt_root / f"{bench}-{split}" / seq.name
            (seq_gt / "gt").mkdir(parents=True)
            write_seqinfo(seq_gt / "seqinfo.ini", SeqInfo(seq.name, seq.info.frame_rate, seq.num_frames,
                                                          seq.info.width, seq.info.height))
            shift = np.array([seq.first_frame - 1] + [0] * 8)
            np.savetxt(seq_gt / "gt" / "gt.txt", seq.gt - shift, fmt="%d,%d,%.3f,%.3f,%.3f,%.3f,%d,%d,%.4f")
            preds = results[seq.name]
            rows = np.column_stack([preds[:, 0] - (seq.first_frame - 1), preds[:, 1:7],
                                    -np.ones((len(preds), 3))])
            np.savetxt(trk_root / f"{seq.name}.txt", rows, fmt="%d,%d,%.3f,%.3f,%.3f,%.3f,%.4f,%d,%d,%d")
        eval_config = {
            "USE_PARALLEL": False, "BREAK_ON_ERROR": True, "RETURN_ON_ERROR": False, "LOG_ON_ERROR": None,
            "PRINT_RESULTS": False, "PRINT_ONLY_COMBINED": True, "PRINT_CONFIG": False,
            "TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True, "OUTPUT_SUMMARY": False,
            "OUTPUT_EMPTY_CLASSES": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
        }
        dataset_config = {
            "GT_FOLDER": str(gt_root), "TRACKERS_FOLDER": str(Path(tmp) / "TRACKERS"),
            "OUTPUT_FOLDER": str(Path(tmp) / "out"), "TRACKERS_TO_EVAL": [tracker], "BENCHMARK": bench,
            "SPLIT_TO_EVAL": split, "PRINT_CONFIG": False, "DO_PREPROC": True,
        }
        quiet = {"PRINT_CONFIG": False}
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                evaluator = trackeval.Evaluator(eval_config)
                dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
                metrics = [trackeval.metrics.HOTA(quiet), trackeval.metrics.CLEAR(quiet),
                           trackeval.metrics.Identity(quiet)]
                output, _ = evaluator.evaluate([dataset], metrics)
        except Exception as exc:  # TrackEval raises its own exception type with a message
            raise DataError(f"TrackEval could not score the results: {exc}") from None
    per_seq = output["MotChallenge2DBox"][tracker]
    rows = {}
    for name in [s.name for s in sequences] + ["COMBINED_SEQ"]:
        hota = per_seq[name]["pedestrian"]["HOTA"]
        rows[OVERALL if name == "COMBINED_SEQ" else name] = {
            key: float(np.mean(hota[key])) for key in ("HOTA", "DetA", "AssA", "LocA")
        }
    return pd.DataFrame.from_dict(rows, orient="index"), per_seq


@dataclass
class EvalReport:
    """Per-sequence rows plus an OVERALL row; `trackeval` keeps TrackEval's raw results."""

    table: pd.DataFrame
    trackeval: dict = field(repr=False, default_factory=dict)

    @property
    def overall(self) -> dict[str, float | int]:
        row = self.table[self.table["sequence"] == OVERALL].iloc[0]
        return {k: (int(row[k]) if k in COUNT_COLUMNS else float(row[k])) for k in METRIC_COLUMNS}


def score_results(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray]) -> EvalReport:
    """Score result rows (per sequence name, (N, 7) frame,id,x,y,w,h,score) against the gt."""
    if not sequences:
        raise DataError("no sequences to evaluate")
    mm_table = _motmetrics_table(sequences, results)
    te_table, raw = _trackeval_table(sequences, results)
    table = mm_table.join(te_table)
    for column in COUNT_COLUMNS:
        table[column] = table[column].astype(int)
    table = table.reset_index(names="sequence")[["sequence", *METRIC_COLUMNS]]
    return EvalReport(table=table, trackeval=raw)


def evaluate_results_dir(results_dir: Path, gt_root: Path, split: str) -> EvalReport:
    """Score the result files in `results_dir` against a dataset root or folder of sequences."""
    sequences = find_eval_sequences(gt_root, split)
    return score_results(sequences, load_results(results_dir, sequences))


def format_table(table: pd.DataFrame) -> str:
    """A fixed-width text table for the terminal (fractions with 3 decimals)."""
    shown = table.copy()
    for column in shown.columns:
        if column != "sequence" and column not in COUNT_COLUMNS:
            shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    return shown.to_string(index=False)


# ---------------------------------------------------------------------------------------------
# Speed and memory
# ---------------------------------------------------------------------------------------------
@dataclass
class SpeedMeter:
    """Frames per second after `warmup` frames (all frames if there are no more than that).

    `total` times image-to-device + forward + decode + tracker for one frame; `model` the forward
    alone. Callers synchronise the device before reading the clock.
    """

    warmup: int = 5
    _total: list[float] = field(default_factory=list)
    _model: list[float] = field(default_factory=list)

    def add(self, total_s: float, model_s: float) -> None:
        self._total.append(total_s)
        self._model.append(model_s)

    @property
    def frames(self) -> int:
        return len(self._total)

    def _timed(self, values: list[float]) -> list[float]:
        return values[self.warmup:] if len(values) > self.warmup else values

    @staticmethod
    def _fps(values: list[float]) -> float:
        total = sum(values)
        return len(values) / total if total > 0 else 0.0

    @property
    def fps(self) -> float:
        return self._fps(self._timed(self._total))

    @property
    def fps_model(self) -> float:
        return self._fps(self._timed(self._model))


def metrics_summary(report: EvalReport, meter: SpeedMeter | None, memory_mb: float, device: str) -> dict[str, Any]:
    """The flat metrics.json dict: tracking figures (6 decimals), fps, memory and device."""
    out: dict[str, Any] = {}
    for key, value in report.overall.items():
        if key == "GT":
            continue
        out[key] = value if isinstance(value, int) else (round(value, 6) if math.isfinite(value) else None)
    out["fps"] = round(meter.fps, 3) if meter else 0.0
    out["fps_model"] = round(meter.fps_model, 3) if meter else 0.0
    out["peak_memory_mb"] = round(memory_mb, 1)
    out["device"] = device
    return out


__all__ = [
    "EVAL_SPLITS", "EvalReport", "EvalSequence", "OVERALL", "SpeedMeter",
    "evaluate_results_dir", "find_eval_sequences", "format_table", "load_results", "metrics_summary",
    "preprocess_frame", "score_results", "split_frame_range",
]
