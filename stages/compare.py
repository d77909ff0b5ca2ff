"""compare: the CI metric gate. Prints `dvc metrics diff` as Markdown and fails on a quality drop."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from stages.common import ParamsFile, one_line_errors, read_params


def _dvc(*args: str) -> str:
    from fairmot.errors import FairMOTError

    try:
        done = subprocess.run(["dvc", *args], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise FairMOTError("dvc is not on PATH; activate the project's venv (make compare does)") from None
    except subprocess.CalledProcessError as exc:
        raise FairMOTError(f"dvc {' '.join(args)} failed: {exc.stderr.strip().splitlines()[-1:]}") from None
    return done.stdout


@one_line_errors
def compare(
    params_file: ParamsFile = Path("params.yaml"),
    rev: Annotated[str, typer.Option(help="Git revision holding the baseline metrics.")] = "HEAD",
    metrics: Annotated[Path, typer.Option(help="Tracking metrics file that is gated.")] = Path("reports/metrics.json"),
    tolerance: Annotated[float | None, typer.Option(help="Largest allowed drop (params: eval.gate_tolerance).")] = None,
    md: Annotated[Path | None, typer.Option("--md", help="Also write the gate's result and the diff as Markdown here.")] = None,
) -> None:
    """Show the metric diff against REV (Markdown) and fail if MOTA, IDF1 or HOTA dropped too far."""
    from fairmot.errors import FairMOTError
    from fairmot.reporting.gate import check_gate

    params = read_params(params_file, eval__gate_tolerance=("--tolerance", tolerance))
    table = _dvc("metrics", "diff", rev, "--md", "--all")
    print(table)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as handle:
            handle.write(f"### Metrics against {rev}\n\n{table}\n")
    if not metrics.exists():
        raise FairMOTError(f"{metrics}: not found; run the pipeline (dvc repro) before comparing")
    try:
        baseline = json.loads(_committed_text(rev, metrics))
    except json.JSONDecodeError:
        baseline = {}
    current = json.loads(metrics.read_text())
    results = check_gate(baseline, current, params.eval.gate_tolerance)
    for result in results:
        print(("ok    " if result.passed else "FAIL  ") + result.describe())
    if md is not None:  # written before a failing gate exits: the PR comment shows the failure too
        from fairmot.io import write_text
        from fairmot.reporting.gate import gate_markdown

        write_text(md, gate_markdown(rev, table, results, params.eval.gate_tolerance))
    failed = [r.metric for r in results if not r.passed]
    if failed:
        raise FairMOTError(
            f"{metrics}: {', '.join(failed)} dropped more than {params.eval.gate_tolerance} below {rev}"
        )


def _committed_text(rev: str, path: Path) -> str:
    """The baseline metrics file as committed at `rev` (empty JSON when it did not exist)."""
    try:
        return subprocess.run(["git", "show", f"{rev}:{path.as_posix()}"], check=True,
                              capture_output=True, text=True).stdout
    except subprocess.CalledProcessError:
        return "{}"
