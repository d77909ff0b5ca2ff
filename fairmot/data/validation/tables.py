"""The pandas tables the suites check (gt rows, label lines, label counts, images), each with its expectations.

Every row keeps where it came from (sequence, file, frame), so a failed expectation can quote the
offending rows. A mixed dataset (manifest "datasets", fairmot/data/mixed_checks.py) adds a
datasets table, its detection and jde sets' label lines and images, and labels with id -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairmot.config import DataParams
from fairmot.data.boxes import clip_xywh
from fairmot.data.classes import PEDESTRIAN, sequence_gt_classes
from fairmot.data.formats.mot import read_gt
from fairmot.data.index import label_path
from fairmot.data.labels import kept_rows, labelled_sequences
from fairmot.data.record import read_record
from fairmot.data.validation.classes import CLASSES_COLUMNS, CLASSES_EXPECTATIONS, classes_rows
from fairmot.data.validation.images import _image_table
from fairmot.data.validation.mixed import DATASETS_COLUMNS, DATASETS_EXPECTATIONS, datasets_rows, set_lines
from fairmot.errors import DataError

MOT_CLASSES = list(range(1, 13))
CENTRE_MARGIN = (-0.5, 1.5)
GT_COLUMNS = ["sequence", "frame", "id", "x", "y", "w", "h", "mark", "class", "visibility", "seq_length"]

Expectation = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class _Table:
    name: str
    frame: Any  # pandas.DataFrame
    index_columns: list[str]
    expectations: list[Expectation]


@dataclass
class _Rows:
    """What the sequences contribute, gathered before the tables are built."""

    gt_parts: list = field(default_factory=list)  # pandas.DataFrame per sequence
    labels: list = field(default_factory=list)  # [sequence, file, frame, cls, id, cx, cy, w, h]
    counts: list = field(default_factory=list)  # [sequence, label_rows, kept_gt_rows, label_files, frames]
    images: list = field(default_factory=list)  # (sequence, frame, path, expected width, expected height)


def build_tables(dataset_root: Path, labels_root: Path, manifest: dict, splits_dir: Path | None = None,
                 classes: Sequence[str] = (PEDESTRIAN,), data: DataParams | None = None) -> list[_Table]:
    """The pandas tables the suites check, and the expectations for each.

    A mixed dataset (manifest "datasets", fairmot/data/mixed_checks.py) adds a datasets table
    and its detection and jde sets' label lines and images; its labels may hold id -1. With
    `splits_dir`, a classes table checks every class of `classes` has boxes and ids to train on.
    """
    mixed, data = "datasets" in manifest, DataParams() if data is None else data
    sequences = labelled_sequences(dataset_root, allow_no_train=mixed)
    class_maps = {name: rule.targets for name, rule in sequence_gt_classes(dataset_root, data, classes, ()).items()}
    clipped = {e["name"] for e in read_record(dataset_root) or [] if e["clip"]}
    _check_labels_match(labels_root, manifest, sequences)
    rows = _Rows()
    for seq in sequences:
        _add_sequence(rows, seq, labels_root, manifest, clipped=clipped, class_map=class_maps.get(seq.name))
    extra_tables = []
    if mixed:
        extra_tables = _mixed_tables(dataset_root, labels_root, Path(splits_dir), manifest, rows.labels, rows.images)
    if splits_dir is not None:
        found = classes_rows(labels_root, Path(splits_dir), data.train_split, classes)
        extra_tables.append(_Table("classes", pd.DataFrame(found, columns=CLASSES_COLUMNS), ["class"], CLASSES_EXPECTATIONS))
    gt_frame = _gt_frame(rows.gt_parts, mixed)
    labels_frame = pd.DataFrame(rows.labels, columns=["sequence", "file", "frame", "cls", "id", "cx", "cy", "w", "h"])
    counts_frame = pd.DataFrame(rows.counts, columns=["sequence", "label_rows", "kept_gt_rows", "label_files", "frames"])
    images_frame = _image_table(rows.images, dataset_root)
    return [
        _Table("gt", gt_frame, ["sequence", "frame", "id"], _gt_expectations(mixed)),
        _Table("labels", labels_frame, ["sequence", "file"], _label_expectations(_max_nid(manifest), mixed, len(classes))),
        _Table("label_counts", counts_frame, ["sequence"], [
            ("ExpectColumnPairValuesToBeEqual", {"column_A": "label_rows", "column_B": "kept_gt_rows"}),
            ("ExpectColumnPairValuesToBeEqual", {"column_A": "label_files", "column_B": "frames"}),
        ]),
        _Table("images", images_frame, ["sequence", "file"], _image_expectations()),
        *extra_tables,
    ]


def _check_labels_match(labels_root: Path, manifest: dict, sequences: list) -> None:
    """DataError when the labels were made for other sequences than the dataset holds."""
    listed = set(manifest.get("sequences", {}))
    on_disk = {s.name for s in sequences}
    if listed != on_disk:
        raise DataError(
            f"{labels_root}: labels were made for {sorted(listed)} but the dataset holds {sorted(on_disk)}; "
            "run `fairmot labels` again"
        )


def _max_nid(manifest: dict) -> int:
    """The largest nID of any class: one class's ids run 1..nID-1 (several: each class its own)."""
    return max(manifest.get("class_nID") or [int(manifest["nID"])])


def _add_sequence(rows: _Rows, seq: Any, labels_root: Path, manifest: dict, *, clipped: set[str],
                  class_map: dict[int, int] | None) -> None:
    """One sequence's gt rows, label lines, counts and expected images."""
    gt = read_gt(seq.path / "gt" / "gt.txt")
    part = pd.DataFrame(gt, columns=["frame", "id", "x", "y", "w", "h", "mark", "class", "visibility"])
    part.insert(0, "sequence", seq.name)
    part["seq_length"] = seq.info.seq_length
    rows.gt_parts.append(part)
    first_row = len(rows.labels)
    files = _add_label_lines(rows.labels, seq, labels_root)
    kept = kept_rows(gt, class_map)
    if manifest["sequences"].get(seq.name, {}).get("dataset") in clipped:  # wholly outside: dropped
        kept = [r for r in kept if clip_xywh(*r[2:6], seq.info.width, seq.info.height) is not None]
    rows.counts.append([seq.name, len(rows.labels) - first_row, len(kept), files, seq.info.seq_length])
    for frame in range(1, seq.info.seq_length + 1):
        rows.images.append((seq.name, frame, seq.info.frame_path(seq.path, frame), seq.info.width, seq.info.height))


def _add_label_lines(label_rows: list, seq: Any, labels_root: Path) -> int:
    """Append the sequence's label lines (one row each); return how many label files exist."""
    seq_labels = labels_root / seq.split / seq.name / seq.info.im_dir
    files = 0
    for frame in range(1, seq.info.seq_length + 1):
        path = seq_labels / f"{frame:06d}.txt"
        rel = str(path.relative_to(labels_root)) if path.is_relative_to(labels_root) else str(path)
        if not path.exists():
            continue
        files += 1
        for line in path.read_text().splitlines():
            if line.strip():
                label_rows.append([seq.name, rel, frame, *_parse_label(line)])
    return files


def _gt_frame(gt_parts: list, mixed: bool):
    """All sequences' gt rows in one table, integer columns as int64 (and `track`: tracked ids, mixed only)."""
    gt_frame = pd.concat(gt_parts, ignore_index=True) if gt_parts else pd.DataFrame(columns=GT_COLUMNS)
    for column in ("frame", "id", "mark", "class", "seq_length"):
        gt_frame[column] = gt_frame[column].astype(np.int64)
    if mixed:
        gt_frame["track"] = gt_frame["id"].where(gt_frame["id"] >= 1)
    return gt_frame


def _between(col: str, lo: float | None = None, hi: float | None = None, strict: bool = False) -> Expectation:
    return "ExpectColumnValuesToBeBetween", {"column": col, "min_value": lo, "max_value": hi, "strict_min": strict}


def _gt_expectations(mixed: bool) -> list[Expectation]:
    # a mixed dataset may hold VisDrone's categories (0 = ignored region .. 11) and CVAT's renumbered labels
    return [
        _between("frame", 1),
        ("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": "seq_length", "column_B": "frame", "or_equal": True}),
        _between("w", 0, strict=True),
        _between("h", 0, strict=True),
        ("ExpectColumnValuesToBeInSet", {"column": "class", "value_set": MOT_CLASSES if not mixed else [0, *MOT_CLASSES]}),
        ("ExpectColumnValuesToBeInSet", {"column": "mark", "value_set": [0, 1]}),
        _between("visibility", 0, 1),
        ("ExpectCompoundColumnsToBeUnique", {"column_list": ["sequence", "frame", "id"]}) if not mixed else
        # CVAT writes track -1 for every box outside a track: only tracked rows must be unique
        ("ExpectCompoundColumnsToBeUnique", {"column_list": ["sequence", "frame", "track"],
                                             "ignore_row_if": "any_value_is_missing"}),
    ]


def _label_expectations(n_id: int, mixed: bool, num_classes: int = 1) -> list[Expectation]:
    return [
        *[("ExpectColumnValuesToNotBeNull", {"column": c}) for c in ("cls", "id", "cx", "cy", "w", "h")],
        ("ExpectColumnValuesToBeInSet", {"column": "cls", "value_set": list(range(num_classes))}),
        _between("id", 1, n_id - 1) if not mixed else _between("id", -1, n_id - 1),
        *([("ExpectColumnValuesToNotBeInSet", {"column": "id", "value_set": [0]})] if mixed else []),
        _between("w", 0, strict=True),
        _between("h", 0, strict=True),
        _between("cx", *CENTRE_MARGIN),
        _between("cy", *CENTRE_MARGIN),
    ]


def _image_expectations() -> list[Expectation]:
    return [
        ("ExpectColumnValuesToBeInSet", {"column": "exists", "value_set": [True]}),
        ("ExpectColumnValuesToBeInSet", {"column": "readable", "value_set": [True]}),
        ("ExpectColumnPairValuesToBeEqual", {"column_A": "width", "column_B": "expected_width",
                                             "ignore_row_if": "either_value_is_missing"}),
        ("ExpectColumnPairValuesToBeEqual", {"column_A": "height", "column_B": "expected_height",
                                             "ignore_row_if": "either_value_is_missing"}),
    ]


def _mixed_tables(dataset_root: Path, labels_root: Path, splits_dir: Path, manifest: dict,
                  label_rows: list, images: list) -> list[_Table]:
    """The datasets table; the sets' label lines and images join the labels and images tables."""

    for i, line in enumerate(set_lines(splits_dir), start=1):
        group = "/".join(line.split("/")[:2])
        path = label_path(labels_root, line)
        if path.is_file():
            rel = str(path.relative_to(labels_root))
            label_rows.extend([group, rel, i, *_parse_label(row)] for row in path.read_text().splitlines() if row.strip())
        images.append((group, i, dataset_root / line, None, None))
    rows = datasets_rows(dataset_root, labels_root, splits_dir, manifest)
    return [_Table("datasets", pd.DataFrame(rows, columns=DATASETS_COLUMNS), ["dataset"], DATASETS_EXPECTATIONS)]


def _parse_label(line: str) -> list[float]:
    """class, id, cx, cy, w, h; NaN for what cannot be read, so the not-null expectations catch it."""
    parts = line.split()
    values = []
    for i in range(6):
        try:
            values.append(float(parts[i]))
        except (IndexError, ValueError):
            values.append(float("nan"))
    if len(parts) > 6:
        values[0] = float("nan")  # trailing garbage: flag the line
    return values
