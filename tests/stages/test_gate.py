import math

from fairmot.reporting.gate import check_gate


def by_metric(results):
    return {r.metric: r.passed for r in results}


def test_drop_within_tolerance_passes_and_beyond_fails():
    baseline = {"MOTA": 0.70, "IDF1": 0.65, "HOTA": 0.55}
    current = {"MOTA": 0.66, "IDF1": 0.59, "HOTA": 0.80}
    assert by_metric(check_gate(baseline, current, tolerance=0.05)) == {"MOTA": True, "IDF1": False, "HOTA": True}


def test_missing_or_nan_current_metric_fails():
    baseline = {"MOTA": 0.7, "IDF1": 0.6, "HOTA": 0.5}
    current = {"MOTA": math.nan, "IDF1": 0.6}
    assert by_metric(check_gate(baseline, current, tolerance=0.05)) == {"MOTA": False, "IDF1": True, "HOTA": False}


def test_no_baseline_passes_when_the_metric_is_now_reported():
    results = check_gate({}, {"MOTA": 0.1, "IDF1": 0.2, "HOTA": 0.3}, tolerance=0.0)
    assert all(r.passed for r in results)
    assert "no baseline" in results[0].describe()


def test_compare_md_writes_the_gate_line_and_the_diff_table(tmp_path, monkeypatch):
    """`fairmot compare --md FILE` in a git + DVC repo; the file is written although the gate fails."""
    import json
    import os
    import subprocess
    import sys

    from typer.testing import CliRunner

    from stages.app import app

    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")  # dvc
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*cmd):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *cmd]
                       if cmd[0] != "dvc" else list(cmd), check=True, capture_output=True)

    run("init", "-q")
    run("dvc", "init", "-q")
    (tmp_path / "dvc.yaml").write_text("metrics:\n  - reports/metrics.json\n")
    (tmp_path / "params.yaml").write_text("eval:\n  gate_tolerance: 0.05\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "metrics.json").write_text(json.dumps({"MOTA": 0.8, "IDF1": 0.7, "HOTA": 0.6}))
    run("add", "-A")
    run("commit", "-qm", "baseline")
    (tmp_path / "reports" / "metrics.json").write_text(json.dumps({"MOTA": 0.81, "IDF1": 0.6, "HOTA": 0.6}))
    done = CliRunner().invoke(app, ["compare", "--rev", "HEAD", "--md", "out/gate.md"])
    assert done.exit_code == 1  # IDF1 dropped 0.1 > 0.05
    text = (tmp_path / "out" / "gate.md").read_text()
    assert text.startswith("### Metric gate against `HEAD`: FAILED\n")
    assert "- **FAIL** IDF1: 0.7000 -> 0.6000 (-0.1000)" in text and "- ok MOTA: 0.8000 -> 0.8100 (+0.0100)" in text
    assert "| reports/metrics.json | IDF1     | 0.7    | 0.6         | -0.1     |" in text
