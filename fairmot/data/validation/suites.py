"""Running the tables' suites with great_expectations, and Data Docs that are a function of the inputs.

great_expectations is imported inside `_run_great_expectations` (with analytics off): it takes seconds. Data
Docs of identical inputs are byte-identical (run named after a hash of the tables, epoch run
time, render-time noise pinned), so `dvc repro` leaves dvc.lock alone.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from fairmot.data.validation.tables import _Table

EXAMPLES = 5  # offending rows quoted per failed expectation
# Data Docs of identical inputs must be byte-identical (else every `dvc repro` changes dvc.lock):
# runs are named after a hash of what was validated and dated at the epoch, not at "now".
FIXED_RUN_TIME = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_CACHE_BUSTER = re.compile(r"\?d=\d{8}T\d{6}\.\d{6}Z(&?)")
_TIMESTAMP = re.compile(r"\b\d{8}T\d{6}\.\d{6}Z\b")
_COLLAPSE_ID = re.compile(r"(-collapse-body-)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


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
        fixed = _number_collapse_ids(fixed)
        if fixed != text:
            page.write_text(fixed)



def _number_collapse_ids(page: str) -> str:
    """Replace each collapsible block's uuid4 by its number in page order (0001, 0002, ...)."""
    ids: dict[str, str] = {}
    return _COLLAPSE_ID.sub(lambda m: m.group(1) + ids.setdefault(m.group(2), f"{len(ids) + 1:04d}"), page)


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
