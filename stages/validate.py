"""`fairmot validate`: great-expectations suites over gt, labels and images; Data Docs + a metrics JSON.

reports/validation.json is written even when an expectation fails (success: false), so the
failure can be inspected; the command then exits non-zero naming the failed expectations. An input
that cannot be read at all (a malformed gt.txt line, a missing manifest) is recorded there too,
with its file, line and message.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from stages.common import DatasetOption, LabelsOption, ParamsFile, SplitsOption, one_line_errors, read_params

log = logging.getLogger("fairmot.validate")


@one_line_errors
def validate(
    params_file: ParamsFile = Path("params.yaml"),
    dataset: DatasetOption = Path("data/dataset"),
    labels: LabelsOption = Path("data/labels_with_ids"),
    splits: SplitsOption = Path("data/splits"),
    docs: Annotated[Path, typer.Option(help="Folder for Data Docs (index.html) and results.json.")] = Path("reports/validation"),
    metrics: Annotated[Path, typer.Option(help="Summary JSON that DVC tracks as a metric.")] = Path("reports/validation.json"),
) -> None:
    """Check every gt row, label line and image; fail with the offending rows if anything is off."""
    from fairmot.data.validation import input_error_summary, validate_dataset
    from fairmot.errors import DataError
    from fairmot.io import write_json

    params = read_params(params_file)  # classes, their class maps and the training split
    started = time.perf_counter()
    try:
        result = validate_dataset(dataset, labels, splits, docs, params.classes, params.data)
    except DataError as exc:  # unreadable input: the report still says what failed, and where
        write_json(metrics, input_error_summary(exc))
        raise
    write_json(metrics, result.summary)
    s = result.summary
    log.info("%d sequences, %d images, %d gt rows, %d label lines: %s; Data Docs in %s; %.1f s",
             s["sequences"], s["images"], s["gt_rows"], s["label_rows"], result.headline(),
             docs / "index.html", time.perf_counter() - started)
    if not result.success:
        print(result.message(), file=sys.stderr)
        raise DataError(f"{dataset}: {s['failed']} of {s['expectations']} expectations failed (listed above); "
                        f"details in {docs / 'index.html'} and {metrics}")
