"""CLEAR MOT and identity metrics (motmetrics), on ground truth preprocessed as the benchmark's evaluator does.

Preprocessing as the official MOT17 evaluator (TrackEval's MotChallenge2DBox,
`JonathonLuiten/TrackEval trackeval/datasets/mot_challenge_2d_box.py`): per frame, predictions
and *all* gt boxes are matched by Hungarian on IoU (pairs below 0.5 never match); predictions
matched to a distractor-class box (2 person on vehicle, 7 static person, 8 distractor, 12
reflection) are dropped; then only gt rows with mark != 0 and class 1 remain as targets. MOT20
adds class 6 (non-motorised vehicle) to the distractors; DanceTrack's plain gt has none, and every
row with mark != 0 is a target (eval.benchmark, `fairmot.data.formats.mot.BENCHMARKS`). Every gt
frame is scored, also frames where the tracker wrote nothing (the reference scores only frames
present in the result file, which inflates MOTA).

MOTP is reported IoU-style, as MOTChallenge prints it: the mean IoU of matched pairs
(motmetrics computes the distance 1 - IoU; we report 1 - that), and 0 when nothing matched
(TrackEval's convention).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from fairmot.data.boxes import iou_matrix
from fairmot.data.formats.mot import BENCHMARKS, PEDESTRIAN, Benchmark
from fairmot.evaluation.sequences import OVERALL, EvalSequence

IOU_THRESHOLD = 0.5
_EPS = np.finfo(float).eps
_MM_NAMES = {
    "mota": "MOTA", "idf1": "IDF1", "idp": "IDP", "idr": "IDR", "precision": "precision",
    "recall": "recall", "num_switches": "IDs", "num_false_positives": "FP", "num_misses": "FN",
    "mostly_tracked": "MT", "partially_tracked": "PT", "mostly_lost": "ML",
    "num_fragmentations": "Frag", "num_unique_objects": "GT", "num_frames": "frames",
}


def _xyxy(rows: np.ndarray) -> np.ndarray:
    boxes = rows[:, 2:6].astype(np.float64)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def preprocess_frame(gt_rows: np.ndarray, pred_rows: np.ndarray, benchmark: Benchmark = BENCHMARKS["MOT17"]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """One frame's preprocessing (MOT17's by default): returns (target gt rows, kept prediction rows)."""
    if len(gt_rows) and len(pred_rows) and benchmark.distractors:
        scores = iou_matrix(_xyxy(gt_rows), _xyxy(pred_rows))
        scores[scores < IOU_THRESHOLD - _EPS] = 0.0
        rows, cols = linear_sum_assignment(-scores)
        matched = scores[rows, cols] > _EPS
        rows, cols = rows[matched], cols[matched]
        on_distractor = np.isin(gt_rows[rows, 7].astype(int), benchmark.distractors)
        pred_rows = np.delete(pred_rows, cols[on_distractor], axis=0)
    keep = gt_rows[:, 6] != 0
    if benchmark.pedestrians_only:
        keep &= gt_rows[:, 7] == PEDESTRIAN
    return gt_rows[keep], pred_rows


def _by_frame(rows: np.ndarray, first: int, last: int) -> list[np.ndarray]:
    """Rows grouped per frame first..last (empty arrays for frames without rows)."""
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    frames = np.arange(first, last + 2)
    bounds = np.searchsorted(rows[:, 0], frames - 0.5)
    return [rows[bounds[i]:bounds[i + 1]] for i in range(len(frames) - 1)]


def _accumulate(seq: EvalSequence, preds: np.ndarray, benchmark: Benchmark):
    """A motmetrics accumulator over every gt frame, fed our own IoU distances (NaN = no match)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    gt_frames = _by_frame(seq.gt, seq.first_frame, seq.last_frame)
    pred_frames = _by_frame(preds, seq.first_frame, seq.last_frame)
    for offset, (g, p) in enumerate(zip(gt_frames, pred_frames)):
        g, p = preprocess_frame(g, p, benchmark)
        dist = 1.0 - iou_matrix(_xyxy(g), _xyxy(p))
        dist[dist > 1.0 - IOU_THRESHOLD + _EPS] = np.nan
        acc.update(g[:, 1].astype(int).tolist(), p[:, 1].astype(int).tolist(), dist,
                   frameid=seq.first_frame + offset)
    return acc


def clear_table(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray],
                benchmark: str = "MOT17") -> pd.DataFrame:
    """CLEAR/identity figures per sequence plus an OVERALL row (merged events, not averages)."""
    import motmetrics as mm

    accs = [_accumulate(seq, results[seq.name], BENCHMARKS[benchmark]) for seq in sequences]
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
    """motmetrics' compute_many with an overall row named OVERALL."""
    summary = mm.metrics.create().compute_many(accs, metrics=metrics, names=names, generate_overall=True)
    summary.index = names + [OVERALL]
    return summary
