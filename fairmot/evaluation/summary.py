"""The per-sequence table and the flat metrics dict that the evaluate stage writes.

Figures are fractions (MOTA 0.73, not 73).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairmot.data.classes import PEDESTRIAN, GtClasses
from fairmot.data.classes import gt_classes as gt_rule
from fairmot.data.formats.mot import BENCHMARKS
from fairmot.errors import DataError
from fairmot.evaluation.clear import clear_table
from fairmot.evaluation.hota import hota_table
from fairmot.evaluation.per_class import (
    ALL_CLASSES,
    CLASS_AVERAGE,
    SCORED_AS,
    class_sequence,
    is_benchmark_scoring,
    rule_of,
    score_classes,
    single_class_rows,
)
from fairmot.evaluation.sequences import (
    OVERALL,
    EvalSequence,
    find_eval_sequences,
    load_results,
)
from fairmot.io import atomic_file, write_json

# Column order of the per-sequence table (after "sequence")
METRIC_COLUMNS = (
    "MOTA", "IDF1", "HOTA", "DetA", "AssA", "LocA", "MOTP", "IDP", "IDR", "precision", "recall",
    "IDs", "FP", "FN", "MT", "PT", "ML", "Frag", "GT", "frames",
)
COUNT_COLUMNS = ("IDs", "FP", "FN", "MT", "PT", "ML", "Frag", "GT", "frames")


@dataclass
class EvalReport:
    """Per-sequence rows plus an OVERALL row; `trackeval` keeps TrackEval's raw results (of one class).

    Scored with several classes, the table has a `class` column: each class's sequence rows and
    OVERALL row, then the class average (class CLASS_AVERAGE) and every class pooled (ALL_CLASSES).
    """

    table: pd.DataFrame
    trackeval: dict = field(repr=False, default_factory=dict)

    def _figures(self, class_name: str | None) -> dict[str, float | int]:
        rows = self.table[self.table["sequence"] == OVERALL]
        if "class" in rows.columns:
            rows = rows[rows["class"] == class_name]
        row = rows.iloc[0]
        return {k: (int(row[k]) if k in COUNT_COLUMNS else float(row[k])) for k in METRIC_COLUMNS}

    @property
    def overall(self) -> dict[str, float | int]:
        """Every sequence (and with several classes every class) pooled."""
        return self._figures(ALL_CLASSES)

    @property
    def class_names(self) -> list[str]:
        """The scored classes, in order; [] when scored as one class."""
        if "class" not in self.table.columns:
            return []
        return [c for c in dict.fromkeys(self.table["class"]) if c not in (ALL_CLASSES, CLASS_AVERAGE)]

    def class_figures(self) -> dict[str, dict[str, float | int]]:
        """{class: its sequences pooled}; {} when scored as one class."""
        return {name: self._figures(name) for name in self.class_names}

    @property
    def class_average(self) -> dict[str, float | int] | None:
        return self._figures(CLASS_AVERAGE) if self.class_names else None

    @property
    def headline(self) -> dict[str, float | int]:
        """The figures a run is judged by: the class average with several classes, else the overall ones."""
        return self.class_average or self.overall


def score_results(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray], benchmark: str = "MOT17", *,
                  classes: Sequence[str] = (PEDESTRIAN,), gt_classes: Mapping[str, GtClasses] | None = None) -> EvalReport:
    """Score result rows (per sequence name, (N, 7) frame,id,x,y,w,h,score, or (N, 8) with the class index
    as load_results reads them) against the gt.

    `benchmark` (eval.benchmark: MOT17, MOT20, DanceTrack) picks the official preprocessing. `gt_classes`
    ({sequence: GtClasses}) says which gt numbers are which of `classes`; each class is then scored on
    its own (fairmot.evaluation.per_class). One class under the benchmark's own rules (no gt_classes, or
    pedestrians and its distractors) is scored as it always was.
    """
    if not sequences:
        raise DataError("no sequences to evaluate")
    if is_benchmark_scoring(classes, gt_classes, benchmark):
        table, raw = _score_table(sequences, {k: single_class_rows(v) for k, v in results.items()}, benchmark)
        return EvalReport(table=table, trackeval=raw)
    if gt_classes is None:  # MOT class numbers (fairmot.data.classes' default for kind mot)
        rule = gt_rule("mot", {}, classes, BENCHMARKS[benchmark].distractors, key="data.class_map")
        gt_classes = dict.fromkeys((s.name for s in sequences), rule)
    if len(classes) == 1:
        table, raw = _score_table([class_sequence(s, rule_of(gt_classes, s), 0) for s in sequences],
                                  {k: single_class_rows(v) for k, v in results.items()}, SCORED_AS)
        return EvalReport(table=table, trackeval=raw)
    table = score_classes(sequences, results, classes, gt_classes, lambda *a: _score_table(*a)[0], COUNT_COLUMNS)
    for column in COUNT_COLUMNS:
        table[column] = table[column].astype(int)
    return EvalReport(table=table)


def _score_table(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray], benchmark: str
                 ) -> tuple[pd.DataFrame, dict]:
    """One class's table (a row per sequence, then OVERALL) and TrackEval's raw results."""
    mm_table = clear_table(sequences, results, benchmark)
    te_table, raw = hota_table(sequences, results, benchmark)
    table = mm_table.join(te_table)
    for column in COUNT_COLUMNS:
        table[column] = table[column].astype(int)
    return table.reset_index(names="sequence")[["sequence", *METRIC_COLUMNS]], raw


def evaluate_results_dir(results_dir: Path, gt_root: Path, split: str, benchmark: str = "MOT17", *,
                         classes: Sequence[str] = (PEDESTRIAN,), gt_classes: Mapping[str, GtClasses] | None = None
                         ) -> EvalReport:
    """Score the result files in `results_dir` against a dataset root or folder of sequences."""
    sequences = find_eval_sequences(gt_root, split)
    results = load_results(results_dir, sequences, num_classes=len(classes))
    return score_results(sequences, results, benchmark, classes=classes, gt_classes=gt_classes)


def format_table(table: pd.DataFrame) -> str:
    """A fixed-width text table for the terminal (fractions with 3 decimals)."""
    shown = table.copy()
    for column in shown.columns:
        if column not in ("sequence", "class") and column not in COUNT_COLUMNS:
            shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    return shown.to_string(index=False)


def tracking_metrics(report: EvalReport) -> dict[str, Any]:
    """The overall tracking figures (6 decimals; None where undefined), without the GT count; scored with
    several classes, also `classes` ({name: the same figures}) and `class_average`."""
    out = _rounded(report.overall)
    if report.class_names:
        out["classes"] = {name: _rounded(figures) for name, figures in report.class_figures().items()}
        out["class_average"] = _rounded(report.class_average or {})
    return out


def _rounded(figures: Mapping[str, float | int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in figures.items():
        if key == "GT":
            continue
        out[key] = value if isinstance(value, int) else (round(value, 6) if math.isfinite(value) else None)
    return out


def write_reports(report: EvalReport, metrics: Mapping[str, Any], reports_dir: Path, *, replace: str = "any") -> None:
    """reports_dir/per_sequence.csv and reports_dir/metrics.json, each written atomically (`replace`: a
    fairmot.io policy; "ours" where reports_dir may hold the user's own files)."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    with atomic_file(reports_dir / "per_sequence.csv", replace=replace) as handle:
        report.table.to_csv(handle, index=False, float_format="%.6f")
    write_json(reports_dir / "metrics.json", dict(metrics), replace=replace)
