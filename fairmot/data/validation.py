"""Great-expectations suites over the dataset, the labels and the images, with Data Docs.

Why a separate validation step: a bad gt row or a stale label file does not crash training, it
silently teaches the network the wrong thing. Four suites run on pandas tables built here:

- gt:           every gt.txt row (frame within 1..seqLength, w, h > 0, class 1..12, mark 0/1,
                visibility in [0, 1], unique (sequence, frame, id)).
- labels:       every label line (class 0, ids in 1..nID-1, w, h > 0, centres within [-0.5, 1.5]:
                boxes past the image edge are legitimate in MOT17, wild values are not).
- label_counts: per sequence, one label line per kept gt row and one label file per frame.
- images:       every frame 1..seqLength present, decodable, of the size seqinfo.ini states.
- datasets:     (mixed datasets only, fairmot/data/mixed_checks.py) frames, identities, id ranges
                and missing images per dataset; the detection and jde sets' label lines and
                images join the labels and images suites.

great_expectations is imported inside `validate_dataset` (with analytics off): it takes seconds.
Data Docs of identical inputs are byte-identical (run named after a hash of the tables, epoch run
time, render-time noise pinned), so `dvc repro` leaves dvc.lock alone. One module past ~350 lines
because tables, suites and the GX glue change together.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fairmot.data.boxes import clip_xywh
from fairmot.data.labels import kept_rows, labelled_sequences
from fairmot.data.mot import read_gt
from fairmot.data.record import read_record
from fairmot.errors import DataError
from fairmot.io import atomic_dir

log = logging.getLogger(__name__)

MOT_CLASSES = list(range(1, 13))
CENTRE_MARGIN = (-0.5, 1.5)
EXAMPLES = 5  # offending rows quoted per failed expectation
# Data Docs of identical inputs must be byte-identical (else every `dvc repro` changes dvc.lock):
# runs are named after a hash of what was validated and dated at the epoch, not at "now".
FIXED_RUN_TIME = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_WHERE = re.compile(r"(?P<file>[^\s:]+)(?::(?P<line>\d+))?: ")  # "path[:line]: what" of a DataError
_CACHE_BUSTER = re.compile(r"\?d=\d{8}T\d{6}\.\d{6}Z(&?)")
_TIMESTAMP = re.compile(r"\b\d{8}T\d{6}\.\d{6}Z\b")
_COLLAPSE_ID = re.compile(r"(-collapse-body-)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


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


@dataclass(frozen=True)
class _Table:
    name: str
    frame: Any  # pandas.DataFrame
    index_columns: list[str]
    expectations: list[tuple[str, dict[str, Any]]]


def validate_dataset(dataset_root: Path, labels_root: Path, splits_dir: Path, docs_dir: Path) -> ValidationResult:
    """Run the suites, build Data Docs into `docs_dir` (replaced atomically), return the result.

    Writes docs_dir/index.html (Data Docs) and docs_dir/results.json (every expectation's
    outcome and the failure messages). Missing inputs raise DataError; failing data does not:
    it comes back as a result with success False so the caller can write the report first.
    """
    dataset_root, labels_root, splits_dir = Path(dataset_root), Path(labels_root), Path(splits_dir)
    manifest_path = splits_dir / "manifest.json"
    if not manifest_path.exists():
        raise DataError(f"{manifest_path}: not found; run `fairmot labels` first")
    manifest = json.loads(manifest_path.read_text())
    tables = build_tables(dataset_root, labels_root, manifest, splits_dir)
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
        }
        if "datasets" in manifest:  # a mixed dataset (data.datasets)
            summary["datasets"] = len(manifest["datasets"])
            summary["clipped_boxes"] = sum(d["clipped"] for d in manifest["datasets"].values())
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


# ---------------------------------------------------------------------------------------------
# Tables


def build_tables(dataset_root: Path, labels_root: Path, manifest: dict, splits_dir: Path | None = None
                 ) -> list[_Table]:
    """The pandas tables the suites check, and the expectations for each.

    A mixed dataset (manifest "datasets", fairmot/data/mixed_checks.py) adds a datasets table
    and its detection and jde sets' label lines and images; its labels may hold id -1.
    """
    import pandas as pd

    mixed = "datasets" in manifest
    sequences = labelled_sequences(dataset_root, allow_no_train=mixed)
    clipped = {e["name"] for e in read_record(dataset_root) or [] if e["clip"]}
    listed = set(manifest.get("sequences", {}))
    on_disk = {s.name for s in sequences}
    if listed != on_disk:
        raise DataError(
            f"{labels_root}: labels were made for {sorted(listed)} but the dataset holds {sorted(on_disk)}; "
            "run `fairmot labels` again"
        )
    n_id = int(manifest["nID"])
    gt_parts, label_rows, counts, images = [], [], [], []
    for seq in sequences:
        gt = read_gt(seq.path / "gt" / "gt.txt")
        part = pd.DataFrame(gt, columns=["frame", "id", "x", "y", "w", "h", "mark", "class", "visibility"])
        part.insert(0, "sequence", seq.name)
        part["seq_length"] = seq.info.seq_length
        gt_parts.append(part)
        seq_labels = labels_root / seq.split / seq.name / seq.info.im_dir
        files, first_row = 0, len(label_rows)
        for frame in range(1, seq.info.seq_length + 1):
            path = seq_labels / f"{frame:06d}.txt"
            rel = str(path.relative_to(labels_root)) if path.is_relative_to(labels_root) else str(path)
            if not path.exists():
                continue
            files += 1
            for line in path.read_text().splitlines():
                if line.strip():
                    label_rows.append([seq.name, rel, frame, *_parse_label(line)])
        kept = kept_rows(gt)
        if manifest["sequences"].get(seq.name, {}).get("dataset") in clipped:  # wholly outside: dropped
            kept = [r for r in kept if clip_xywh(*r[2:6], seq.info.width, seq.info.height) is not None]
        counts.append([seq.name, len(label_rows) - first_row, len(kept), files, seq.info.seq_length])
        for frame in range(1, seq.info.seq_length + 1):
            images.append((seq.name, frame, seq.info.frame_path(seq.path, frame), seq.info.width, seq.info.height))

    extra_tables = []
    if mixed:
        extra_tables = _mixed_tables(dataset_root, labels_root, Path(splits_dir), manifest, label_rows, images)
    gt_columns = ["sequence", "frame", "id", "x", "y", "w", "h", "mark", "class", "visibility", "seq_length"]
    gt_frame = pd.concat(gt_parts, ignore_index=True) if gt_parts else pd.DataFrame(columns=gt_columns)
    for column in ("frame", "id", "mark", "class", "seq_length"):
        gt_frame[column] = gt_frame[column].astype(np.int64)
    if mixed:
        gt_frame["track"] = gt_frame["id"].where(gt_frame["id"] >= 1)
    labels_frame = pd.DataFrame(label_rows, columns=["sequence", "file", "frame", "cls", "id", "cx", "cy", "w", "h"])
    counts_frame = pd.DataFrame(counts, columns=["sequence", "label_rows", "kept_gt_rows", "label_files", "frames"])
    images_frame = _image_table(images, dataset_root)

    between = lambda col, lo=None, hi=None, strict=False: (  # noqa: E731
        "ExpectColumnValuesToBeBetween",
        {"column": col, "min_value": lo, "max_value": hi, "strict_min": strict},
    )
    return [
        _Table("gt", gt_frame, ["sequence", "frame", "id"], [
            between("frame", 1),
            ("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": "seq_length", "column_B": "frame", "or_equal": True}),
            between("w", 0, strict=True),
            between("h", 0, strict=True),
            ("ExpectColumnValuesToBeInSet", {"column": "class", "value_set": MOT_CLASSES}),
            ("ExpectColumnValuesToBeInSet", {"column": "mark", "value_set": [0, 1]}),
            between("visibility", 0, 1),
            ("ExpectCompoundColumnsToBeUnique", {"column_list": ["sequence", "frame", "id"]}) if not mixed else
            # CVAT writes track -1 for every box outside a track: only tracked rows must be unique
            ("ExpectCompoundColumnsToBeUnique", {"column_list": ["sequence", "frame", "track"],
                                                 "ignore_row_if": "any_value_is_missing"}),
        ]),
        _Table("labels", labels_frame, ["sequence", "file"], [
            *[("ExpectColumnValuesToNotBeNull", {"column": c}) for c in ("cls", "id", "cx", "cy", "w", "h")],
            ("ExpectColumnValuesToBeInSet", {"column": "cls", "value_set": [0]}),
            between("id", 1, n_id - 1) if not mixed else between("id", -1, n_id - 1),
            *([("ExpectColumnValuesToNotBeInSet", {"column": "id", "value_set": [0]})] if mixed else []),
            between("w", 0, strict=True),
            between("h", 0, strict=True),
            between("cx", *CENTRE_MARGIN),
            between("cy", *CENTRE_MARGIN),
        ]),
        _Table("label_counts", counts_frame, ["sequence"], [
            ("ExpectColumnPairValuesToBeEqual", {"column_A": "label_rows", "column_B": "kept_gt_rows"}),
            ("ExpectColumnPairValuesToBeEqual", {"column_A": "label_files", "column_B": "frames"}),
        ]),
        _Table("images", images_frame, ["sequence", "file"], [
            ("ExpectColumnValuesToBeInSet", {"column": "exists", "value_set": [True]}),
            ("ExpectColumnValuesToBeInSet", {"column": "readable", "value_set": [True]}),
            ("ExpectColumnPairValuesToBeEqual", {"column_A": "width", "column_B": "expected_width",
                                                 "ignore_row_if": "either_value_is_missing"}),
            ("ExpectColumnPairValuesToBeEqual", {"column_A": "height", "column_B": "expected_height",
                                                 "ignore_row_if": "either_value_is_missing"}),
        ]),
        *extra_tables,
    ]


def _mixed_tables(dataset_root: Path, labels_root: Path, splits_dir: Path, manifest: dict,
                  label_rows: list, images: list) -> list[_Table]:
    """The datasets table; the sets' label lines and images join the labels and images tables."""
    import pandas as pd

    from fairmot.data.index import label_path
    from fairmot.data.mixed_checks import (
        DATASETS_COLUMNS,
        DATASETS_EXPECTATIONS,
        datasets_rows,
        set_lines,
    )

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


def _image_table(images: list[tuple[str, int, Path, int, int]], dataset_root: Path):
    import pandas as pd

    def check(item: tuple[str, int, Path, int, int]) -> list[Any]:
        seq, frame, path, width, height = item
        exists = path.exists()
        size = _image_size(path) if exists else None
        # None (missing) where an earlier check already failed, so one fault is reported once
        readable = (size is not None and _decodes(path)) if exists else None
        w, h = size if size else (None, None)
        rel = str(path.relative_to(dataset_root)) if path.is_relative_to(dataset_root) else str(path)
        return [seq, frame, rel, exists, readable, w, h, width, height]

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        rows = list(pool.map(check, images))
    return pd.DataFrame(rows, columns=["sequence", "frame", "file", "exists", "readable", "width", "height",
                                       "expected_width", "expected_height"])


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header without decoding it; other formats via OpenCV."""
    with path.open("rb") as handle:
        data = handle.read(2)
        if data != b"\xff\xd8":
            return _decoded_size(path)
        while True:
            marker = handle.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                return None
            kind = marker[1]
            if kind == 0xFF:  # fill byte
                handle.seek(-1, 1)
                continue
            if kind in (0x01, *range(0xD0, 0xD8)):
                continue
            length_bytes = handle.read(2)
            if len(length_bytes) < 2:
                return None
            (length,) = struct.unpack(">H", length_bytes)
            if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
                header = handle.read(5)
                if len(header) < 5:
                    return None
                _, h, w = struct.unpack(">BHH", header)
                return w, h
            handle.seek(length - 2, 1)


def _decoded_size(path: Path) -> tuple[int, int] | None:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return None if image is None else (image.shape[1], image.shape[0])


def _decodes(path: Path) -> bool:
    """Decodes (at 1/8 scale, fast even for 1080p) and, for JPEG, is not truncated."""
    import cv2

    with path.open("rb") as handle:
        head = handle.read(2)
        handle.seek(-2, os.SEEK_END)
        tail = handle.read(2)
    if head == b"\xff\xd8" and tail != b"\xff\xd9":
        return False
    return cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_8) is not None


# ---------------------------------------------------------------------------------------------
# great_expectations


def _run_great_expectations(tables: list[_Table], docs_dir: Path) -> list[dict[str, Any]]:
    """Validate each table against its suite; Data Docs go to `docs_dir` (an absolute path)."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # it logs its plumbing at INFO
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)  # pins INFO itself
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.update_data_docs_site("local_site", {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    source = context.data_sources.add_pandas("dataset")
    run_id = RunIdentifier(run_name=f"inputs-{_tables_digest(tables)[:16]}", run_time=FIXED_RUN_TIME)
    checks: list[dict[str, Any]] = []
    for table in tables:
        suite = context.suites.add(gx.ExpectationSuite(name=table.name))
        for kind, kwargs in table.expectations:
            suite.add_expectation(getattr(gxe, kind)(**{k: v for k, v in kwargs.items() if v is not None}))
        batch = source.add_dataframe_asset(table.name).add_batch_definition_whole_dataframe("all")
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=table.name, data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=table.name,
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            result_format={
                "result_format": "SUMMARY",
                "unexpected_index_column_names": table.index_columns,
                "partial_unexpected_count": EXAMPLES,
            },
        ))
        run = checkpoint.run(batch_parameters={"dataframe": table.frame}, run_id=run_id)
        for validation in run.run_results.values():
            for outcome in validation.results:
                checks.append(_describe(table, outcome))
    _pin_render_noise(docs_dir)
    return checks


def _tables_digest(tables: list[_Table]) -> str:
    """sha256 of every table and expectation validated: the Data Docs are a function of these alone."""
    digest = hashlib.sha256()
    for table in tables:
        digest.update(json.dumps([table.name, table.index_columns, table.expectations], sort_keys=True).encode())
        digest.update(table.frame.to_csv(index=False).encode())
    return digest.hexdigest()


def _pin_render_noise(docs_dir: Path) -> None:
    """Make the Data Docs pages a function of the inputs: GX has no option for these three.

    It adds `?d=<now>` to its logo URL, shows the batch's load time (`ge_load_time`) and gives
    every collapsible block a random uuid4 id; the first goes, times become FIXED_RUN_TIME and
    the ids are numbered in page order (each link still finds its block).
    """
    stamp = FIXED_RUN_TIME.strftime("%Y%m%dT%H%M%S.%fZ")
    for page in sorted(Path(docs_dir).rglob("*.html")):
        text = page.read_text()
        fixed = _CACHE_BUSTER.sub(lambda m: "?" if m.group(1) else "", text)
        fixed = _TIMESTAMP.sub(stamp, fixed)
        ids: dict[str, str] = {}
        fixed = _COLLAPSE_ID.sub(lambda m: m.group(1) + ids.setdefault(m.group(2), f"{len(ids) + 1:04d}"), fixed)
        if fixed != text:
            page.write_text(fixed)


def _describe(table: _Table, outcome: Any) -> dict[str, Any]:
    config = outcome.expectation_config
    kwargs = {k: _plain(v) for k, v in config.kwargs.items() if k != "batch_id"}
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    name = f"{table.name}: {config.type}({args})"
    result = outcome.result or {}
    check = {
        "suite": table.name,
        "expectation": config.type,
        "kwargs": kwargs,
        "success": bool(outcome.success),
        "unexpected_count": int(result.get("unexpected_count") or 0),
        "element_count": int(result.get("element_count") or len(table.frame)),
    }
    if outcome.success:
        check["message"] = name + " passed"
        return check
    info = outcome.exception_info or {}
    if info.get("raised_exception"):
        check["message"] = f"{name} could not run: {info.get('exception_message')}"
        return check
    examples = [_format_row(row) for row in (result.get("partial_unexpected_index_list") or [])[:EXAMPLES]]
    check["examples"] = examples
    check["message"] = (
        f"{name} failed for {check['unexpected_count']} of {check['element_count']} rows, e.g. " + "; ".join(examples)
        if examples else f"{name} failed ({result.get('observed_value', 'see Data Docs')})"
    )
    return check


def _format_row(row: Any) -> str:
    if isinstance(row, dict):
        return "(" + ", ".join(f"{k}={_plain(v)}" for k, v in row.items()) + ")"
    return str(_plain(row))


def _plain(value: Any) -> Any:
    """numpy scalars and containers -> plain Python, for JSON and readable messages."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
