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

from fairmot.errors import DataError
from fairmot.evaluation.clear import clear_table
from fairmot.evaluation.hota import hota_table
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
    """Per-sequence rows plus an OVERALL row; `trackeval` keeps TrackEval's raw results."""

    table: pd.DataFrame
    trackeval: dict = field(repr=False, default_factory=dict)

    @property
    def overall(self) -> dict[str, float | int]:
        row = self.table[self.table["sequence"] == OVERALL].iloc[0]
        return {k: (int(row[k]) if k in COUNT_COLUMNS else float(row[k])) for k in METRIC_COLUMNS}


def score_results(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray],
                  benchmark: str = "MOT17") -> EvalReport:
    """Score result rows (per sequence name, (N, 7) frame,id,x,y,w,h,score) against the gt.

    `benchmark` (eval.benchmark: MOT17, MOT20, DanceTrack) picks the official preprocessing.
    """
    if not sequences:
        raise DataError("no sequences to evaluate")
    mm_table = clear_table(sequences, results, benchmark)
    te_table, raw = hota_table(sequences, results, benchmark)
    table = mm_table.join(te_table)
    for column in COUNT_COLUMNS:
        table[column] = table[column].astype(int)
    table = table.reset_index(names="sequence")[["sequence", *METRIC_COLUMNS]]
    return EvalReport(table=table, trackeval=raw)


def evaluate_results_dir(results_dir: Path, gt_root: Path, split: str, benchmark: str = "MOT17") -> EvalReport:
    """Score the result files in `results_dir` against a dataset root or folder of sequences."""
    sequences = find_eval_sequences(gt_root, split)
    return score_results(sequences, load_results(results_dir, sequences), benchmark)


def format_table(table: pd.DataFrame) -> str:
    """A fixed-width text table for the terminal (fractions with 3 decimals)."""
    shown = table.copy()
    for column in shown.columns:
        if column != "sequence" and column not in COUNT_COLUMNS:
            shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    return shown.to_string(index=False)


def tracking_metrics(report: EvalReport) -> dict[str, Any]:
    """The overall tracking figures (6 decimals; None where undefined), without the GT count."""
    out: dict[str, Any] = {}
    for key, value in report.overall.items():
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
