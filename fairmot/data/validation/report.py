"""`validate_dataset`: build the tables, run the suites, write results.json next to the Data Docs, and the summary.

A failing expectation is a result (success False), not an exception, so the caller can write the
report first; inputs that cannot be read raise DataError, and `input_error_summary` turns one
into a report with the same keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairmot.config import DataParams
from fairmot.data.classes import PEDESTRIAN
from fairmot.data.validation.suites import _run_great_expectations
from fairmot.data.validation.tables import build_tables
from fairmot.errors import DataError
from fairmot.io import atomic_dir

_WHERE = re.compile(r"(?P<file>[^\s:]+)(?::(?P<line>\d+))?: ")  # "path[:line]: what" of a DataError


@dataclass
class ValidationResult:
    """Outcome of the four suites: a flat summary for DVC metrics, and one line per failure."""

    success: bool
    summary: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)

    def headline(self) -> str:
        if self.success:
            return f"all {self.summary['expectations']} expectations passed"
        return f"{len(self.failures)} of {self.summary['expectations']} expectations failed"

    def message(self) -> str:
        """The headline, then one line per failed expectation with a few offending rows."""
        return "\n".join([self.headline() + (":" if self.failures else "")] + [f"  - {f}" for f in self.failures])


def validate_dataset(dataset_root: Path, labels_root: Path, splits_dir: Path, docs_dir: Path,
                     classes: Sequence[str] = (PEDESTRIAN,), data: DataParams | None = None) -> ValidationResult:
    """Run the suites, build Data Docs into `docs_dir` (replaced atomically), return the result.

    `classes` and the class maps of `data` are the ones `fairmot labels` used; every class must
    have boxes and identities in the training split (data.train_split).

    Writes docs_dir/index.html (Data Docs) and docs_dir/results.json (every expectation's
    outcome and the failure messages). Missing inputs raise DataError; failing data does not:
    it comes back as a result with success False so the caller can write the report first.
    """
    dataset_root, labels_root, splits_dir = Path(dataset_root), Path(labels_root), Path(splits_dir)
    manifest_path = splits_dir / "manifest.json"
    if not manifest_path.exists():
        raise DataError(f"{manifest_path}: not found; run `fairmot labels` first")
    manifest = json.loads(manifest_path.read_text())
    tables = build_tables(dataset_root, labels_root, manifest, splits_dir, classes, data)
    with atomic_dir(Path(docs_dir)) as tmp:
        checks = _run_great_expectations(tables, tmp.resolve())
        failures = [c["message"] for c in checks if not c["success"]]
        counts = {t.name: len(t.frame) for t in tables}
        summary = {
            "success": not failures,
            "expectations": len(checks),
            "failed": len(failures),
            "sequences": counts["label_counts"],
            "gt_rows": counts["gt"],
            "label_rows": counts["labels"],
            "images": counts["images"],
            "nID": int(manifest["nID"]),
            # per class: label lines and distinct ids in the training split
            "classes": {row["class"]: {"train_boxes": int(row["train_boxes"]), "identities": int(row["identities"])}
                        for row in next(t for t in tables if t.name == "classes").frame.to_dict("records")},
        }
        if "datasets" in manifest:  # a mixed dataset (data.datasets)
            summary["datasets"] = len(manifest["datasets"])
            for key in ("clipped", "outside", "ignored", "other_classes"):  # fairmot.data.boxes.COUNT_DEFINITIONS
                summary[f"{key}_boxes"] = sum(d.get(key, 0) for d in manifest["datasets"].values())
        (tmp / "results.json").write_text(
            json.dumps({"summary": summary, "failures": failures, "expectations": checks}, indent=2, sort_keys=True) + "\n"
        )
    return ValidationResult(success=not failures, summary=summary, failures=failures, expectations=checks)


def input_error_summary(error: DataError) -> dict[str, Any]:
    """validation.json for inputs that could not be read: success false, with the file and line.

    The keys of a normal summary are kept (counts 0) so `dvc metrics diff` lines up.
    """
    message = str(error)
    where = _WHERE.match(message)
    return {
        "success": False, "expectations": 0, "failed": 0, "sequences": 0, "gt_rows": 0, "label_rows": 0,
        "images": 0, "nID": 0, "error": message,
        "file": where["file"] if where else None,
        "line": int(where["line"]) if where and where["line"] else None,
    }
