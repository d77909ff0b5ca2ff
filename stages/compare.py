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
    committed = committed_text(rev, metrics)
    try:
        baseline = json.loads(committed) if committed is not None else {}  # None: no metrics at `rev` yet
    except json.JSONDecodeError as exc:
        raise FairMOTError(f"{rev}:{metrics.as_posix()}: not valid JSON ({exc}); fix the committed metrics") from None
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


def committed_text(rev: str, path: Path) -> str | None:
    """The file at `path` (from the repository's root) as committed at `rev`; None only when `rev` has no
    such file. Any other git failure (a bad revision, no repository, "dubious ownership") is an error:
    passing the gate for want of a baseline would hide it."""
    listed = _git("ls-tree", "--full-tree", "--name-only", rev, "--", path.as_posix())
    if not listed.strip():
        return None
    return _git("show", f"{rev}:{path.as_posix()}")


def _git(*args: str) -> str:
    from fairmot.errors import FairMOTError

    command = " ".join(("git", *args))
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise FairMOTError(f"{command}: git is not on PATH; the gate needs it to read the baseline metrics") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.strip().splitlines()] or [f"exit status {done.returncode}"]
        hint = [f"; {line}" for line in lines[1:] if "safe.directory" in line]  # dubious ownership (a CI container)
        raise FairMOTError(f"{command} failed: {lines[0]}{''.join(hint[:1])}")
    return done.stdout
