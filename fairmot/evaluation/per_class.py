"""Scoring several classes: every (sequence, class) pair is scored as one more single-class sequence.

For class c of a sequence, the gt rows whose number its GtClasses gives c are the targets (those
with mark != 0), the rows of its distractor numbers are distractors, every other row (another
class's) is neither, and the predictions are the rows of class c. The pair is handed to the same
scorers as a single-class sequence (clear, hota) with its gt numbers rewritten to MOT17's (1 a
target, 8 a distractor, 3 neither), so the benchmark's preprocessing runs unchanged: predictions
matched at IoU >= 0.5 to a distractor are dropped. A class's figures pool its sequences; the overall
figures pool every pair (TrackEval's detection average); the class average is the mean of the
classes' figures (the sum for counts), over the classes with gt or predictions, as TrackEval
averages classes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fairmot.config import DataParams
from fairmot.data.classes import GtClasses, sequence_gt_classes, single_source_rule
from fairmot.data.formats.mot import BENCHMARKS, PEDESTRIAN
from fairmot.errors import DataError
from fairmot.evaluation.sequences import CLASS, OVERALL, EvalSequence

# MOT17 class numbers the pairs are rewritten to: a target, a distractor of MOT17 and MOT20, neither
TARGET, DISTRACTOR, NEITHER = PEDESTRIAN, 8, 3
SCORED_AS = "MOT17"  # whose preprocessing scores the rewritten pairs (the distractors come from GtClasses)
ALL_CLASSES, CLASS_AVERAGE = "all", "class average"  # the `class` of the pooled and the averaged OVERALL rows

Scorer = Callable[[Sequence[EvalSequence], Mapping[str, np.ndarray], str], pd.DataFrame]


def class_rules(root: Path, data: DataParams, classes: Sequence[str], benchmark: str, sequences: Sequence[EvalSequence]
                ) -> dict[str, GtClasses]:
    """{sequence: GtClasses}: which gt numbers of each sequence are which of `classes` (its dataset's
    class_map or recorded numbering; data.class_map where the folder has no record of it), with the
    benchmark's distractors. `root`: a dataset root or a folder of sequences."""
    distractors = BENCHMARKS[benchmark].distractors
    found = sequence_gt_classes(root, data, classes, distractors)
    fallback = single_source_rule(data, classes, distractors)
    return {s.name: found.get(s.name, fallback) for s in sequences}


def benchmark_rule(benchmark: str) -> GtClasses:
    """The GtClasses that scores as `benchmark` does on its own (pedestrians, its distractors)."""
    return GtClasses({PEDESTRIAN: 0}, BENCHMARKS[benchmark].distractors)


def is_benchmark_scoring(classes: Sequence[str], gt_classes: Mapping[str, GtClasses] | None, benchmark: str) -> bool:
    """One class whose gt rule is the default one (number 1, the benchmark's distractors): scored by the
    benchmark's own rules, as before classes existed (DanceTrack: every marked row a target)."""
    if len(classes) > 1:
        return False
    rule = benchmark_rule(benchmark)
    return gt_classes is None or all(r.targets == rule.targets and set(r.distractors) == set(rule.distractors)
                                     for r in gt_classes.values())


def class_rows(rows: np.ndarray, class_index: int) -> np.ndarray:
    """The result rows of one class (frame..score); rows of 7 columns are all class 0."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] <= CLASS:
        return rows.reshape(-1, CLASS) if class_index == 0 else np.zeros((0, CLASS))
    return rows[rows[:, CLASS] == class_index, :CLASS]


def single_class_rows(rows: np.ndarray) -> np.ndarray:
    """Every result row (frame..score) whatever its class column: a single-class run scores them all."""
    rows = np.asarray(rows, dtype=np.float64)
    return rows.reshape(-1, rows.shape[1] if rows.ndim == 2 else CLASS)[:, :CLASS]


def class_sequence(seq: EvalSequence, rule: GtClasses, class_index: int, name: str | None = None) -> EvalSequence:
    """`seq` as one class sees it: gt numbers rewritten to TARGET / DISTRACTOR / NEITHER."""
    gt = seq.gt.copy()
    numbers = gt[:, 7].astype(np.int64)
    gt[:, 7] = np.where(np.isin(numbers, rule.numbers_of(class_index)), TARGET,
                        np.where(np.isin(numbers, rule.distractors), DISTRACTOR, NEITHER))
    return dataclasses.replace(seq, name=name or seq.name, gt=gt)


def rule_of(gt_classes: Mapping[str, GtClasses], seq: EvalSequence) -> GtClasses:
    """`seq`'s gt class rule; a sequence without one is an error (its rows could not be scored)."""
    if seq.name not in gt_classes:
        raise DataError(f"{seq.name}: no gt class rule for this sequence; its dataset record or data.class_map "
                        "must say which gt numbers are which class")
    return gt_classes[seq.name]


def check_classes(results: Mapping[str, np.ndarray], classes: Sequence[str]) -> None:
    """Refuse result rows of a class the run does not have (they would silently go unscored)."""
    for name, rows in results.items():
        rows = np.asarray(rows)
        if rows.ndim == 2 and rows.shape[1] > CLASS and len(rows) and rows[:, CLASS].max() >= len(classes):
            found = int(rows[:, CLASS].max())
            raise DataError(f"{name}: result rows of class {found + 1} (column 8), but classes has {len(classes)} "
                            f"({', '.join(classes)}); score with the classes the results were tracked with")


def score_classes(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray], classes: Sequence[str],
                  gt_classes: Mapping[str, GtClasses], score: Scorer, counts: Sequence[str]) -> pd.DataFrame:
    """The table of every class: each class's sequence rows and OVERALL, the class average, the pooled
    OVERALL (`class` column: the class name, CLASS_AVERAGE, ALL_CLASSES). `score(sequences, results,
    benchmark)` is the single-class scorer: a table with a `sequence` column and an OVERALL row."""
    rules = {s.name: rule_of(gt_classes, s) for s in sequences}
    check_classes(results, classes)
    parts = []
    for c, cname in enumerate(classes):
        seqs = [class_sequence(s, rules[s.name], c) for s in sequences]
        table = score(seqs, {s.name: class_rows(results[s.name], c) for s in sequences}, SCORED_AS)
        table.insert(1, "class", cname)
        parts.append(table)
    pairs = [(s, c, f"{s.name}.{c}") for c in range(len(classes)) for s in sequences]
    pooled = score([class_sequence(s, rules[s.name], c, name=name) for s, c, name in pairs],
                   {name: class_rows(results[s.name], c) for s, c, name in pairs}, SCORED_AS)
    pooled.insert(1, "class", ALL_CLASSES)
    per_class = pd.concat([t[t["sequence"] == OVERALL] for t in parts])
    return pd.concat([*parts, class_average(per_class, counts), pooled[pooled["sequence"] == OVERALL]], ignore_index=True)


def class_average(rows: pd.DataFrame, counts: Sequence[str]) -> pd.DataFrame:
    """One OVERALL row: the mean of the classes' figures, the sum of their counts (GT, FP, ...); classes
    with neither gt nor false positives (nothing to score) are left out, as TrackEval leaves empty classes."""
    scored = rows[(rows["GT"] > 0) | (rows["FP"] > 0)]
    scored = scored if len(scored) else rows
    figures = {}
    for column in rows.columns:
        if column in ("sequence", "class"):
            continue
        values = scored[column].astype(float)
        figures[column] = values.sum() if column in counts else values.mean()
    return pd.DataFrame([{"sequence": OVERALL, "class": CLASS_AVERAGE, **figures}])
