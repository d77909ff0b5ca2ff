import math

import pytest

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


def test_with_several_classes_the_class_average_is_gated():
    """The overall figures hold, but the cyclists' HOTA falls 0.3: the class average drops 0.1 and fails."""
    classes = {"pedestrian": {"MOTA": 0.8, "IDF1": 0.7, "HOTA": 0.6}, "car": {"MOTA": 0.7, "IDF1": 0.6, "HOTA": 0.6},
               "cyclist": {"MOTA": 0.6, "IDF1": 0.5, "HOTA": 0.6}}
    baseline = {"MOTA": 0.75, "IDF1": 0.65, "HOTA": 0.6, "classes": classes,
                "class_average": {"MOTA": 0.7, "IDF1": 0.6, "HOTA": 0.6}}
    current = {**baseline, "classes": {**classes, "cyclist": {"MOTA": 0.6, "IDF1": 0.5, "HOTA": 0.3}},
               "class_average": {"MOTA": 0.7, "IDF1": 0.6, "HOTA": 0.5}}
    results = check_gate(baseline, current, tolerance=0.05)
    assert by_metric(results) == {"MOTA": True, "IDF1": True, "HOTA": False}
    assert results[2].describe() == "HOTA: 0.6000 -> 0.5000 (-0.1000)"
    # the pooled overall figures are not gated while a class average is there
    assert all(r.passed for r in check_gate(baseline, {**baseline, "HOTA": 0.1}, tolerance=0.05))


# `fairmot compare` in a throwaway git repository: how the baseline metrics are read at --rev.
METRICS = {"MOTA": 0.70, "IDF1": 0.65, "HOTA": 0.55}


def _git(repo, *args):
    import subprocess

    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository whose first commit has no reports/metrics.json and whose second has METRICS;
    the working tree's metrics dropped HOTA by 0.1. `dvc metrics diff` is left out (no DVC project here)."""
    import json

    import stages.compare

    root = tmp_path / "repo"
    (root / "reports").mkdir(parents=True)
    _git(root, "init", "-q")
    (root / "README").write_text("x\n")
    _git(root, "add", "README")
    _git(root, "commit", "-q", "-m", "no metrics yet")
    (root / "reports" / "metrics.json").write_text(json.dumps(METRICS))
    _git(root, "add", "reports/metrics.json")
    _git(root, "commit", "-q", "-m", "metrics")
    (root / "reports" / "metrics.json").write_text(json.dumps({**METRICS, "HOTA": 0.45}))
    (tmp_path / "params.yaml").write_text("eval:\n  gate_tolerance: 0.05\n")
    monkeypatch.chdir(root)
    monkeypatch.setattr(stages.compare, "_dvc", lambda *args: "| Path | Metric |")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above tmp_path is found
    return root


def compare(*args):
    from typer.testing import CliRunner

    from stages.app import app

    return CliRunner().invoke(app, ["compare", "--params", "../params.yaml", *args], catch_exceptions=False)


def test_compare_gates_against_the_metrics_committed_at_rev(repo):
    done = compare("--rev", "HEAD")
    assert done.exit_code == 1 and "FAIL  HOTA: 0.5500 -> 0.4500 (-0.1000)" in done.output
    assert done.output.strip().splitlines()[-1] == "error: reports/metrics.json: HOTA dropped more than 0.05 below HEAD"


def test_a_revision_without_the_metrics_file_is_no_baseline(repo):
    done = compare("--rev", "HEAD~1")
    assert done.exit_code == 0, done.output
    assert "ok    HOTA: no baseline, current 0.45" in done.output


@pytest.mark.parametrize("setup, rev, message", [
    # each of these passed the gate as "no baseline" (git show failed, exit 128, and was taken for a missing file)
    (None, "nosuch", "error: git ls-tree --full-tree --name-only nosuch -- reports/metrics.json failed: "
                     "fatal: Not a valid object name nosuch"),
    ("no repository", "HEAD", "error: git ls-tree --full-tree --name-only HEAD -- reports/metrics.json failed: "
                              "fatal: not a git repository (or any of the parent directories): .git"),
    ("dubious ownership", "HEAD", "error: git ls-tree --full-tree --name-only HEAD -- reports/metrics.json failed: "
                                  "fatal: detected dubious ownership in repository at '{repo}'; "
                                  "git config --global --add safe.directory {repo}"),
])
def test_a_failing_git_is_an_error_not_a_missing_baseline(repo, monkeypatch, setup, rev, message):
    import shutil

    if setup == "no repository":
        shutil.rmtree(repo / ".git")
    elif setup == "dubious ownership":  # as in a CI container whose checkout another user owns
        monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
    done = compare("--rev", rev)
    assert done.exit_code == 1
    assert done.output.strip().splitlines()[-1] == message.format(repo=repo)
    assert "no baseline" not in done.output


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
