"""`fairmot history`: the committed metrics read back at each commit that changed them."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairmot.errors import DataError
from fairmot.io import pyplot
from fairmot.reporting.history import _plot_by_device, history_markdown, read_history, sparkline
from stages.app import app

# (subject, MOTA, IDF1, HOTA, detect fps, detect memory, device, train memory)
RUNS = [("first run", 0.5, 0.4, 0.3, 12.0, 110.0, "CPU x", 900.0),
        ("on the GPU", 0.6, 0.5, 0.4, 250.0, 1500.0, "CUDA H100", 4000.0),
        ("third", 0.7, 0.6, 0.5, 14.0, 120.0, "CPU x", 950.0)]


def git(repo, *args, date="2024-01-01T12:00:00+00:00"):
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
                          cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def write_run(repo, run):
    _, mota, idf1, hota, fps, memory, device, train_memory = run
    reports = Path(repo) / "reports"
    reports.mkdir(exist_ok=True)
    metrics = {"MOTA": mota, "IDF1": idf1, "HOTA": hota, "fps": fps - 1, "peak_memory_mb": memory - 1, "device": device}
    (reports / "metrics.json").write_text(json.dumps(metrics))
    (reports / "detect.json").write_text(json.dumps({"fps": fps, "peak_memory_mb": memory, "device": device}))
    (reports / "train.json").write_text(json.dumps({"peak_memory_mb": train_memory, "device": device.lower()}))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """Three commits of metrics, then one that changes none of them; the commits' hashes in order."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    hashes = []
    for day, run in enumerate(RUNS, start=1):
        write_run(root, run)
        git(root, "add", "-A")
        git(root, "commit", "-qm", run[0], date=f"2024-01-0{day}T12:00:00+00:00")
        hashes.append(git(root, "rev-parse", "HEAD"))
    (root / "README.md").write_text("no metrics here\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "docs only", date="2024-01-09T12:00:00+00:00")
    return root, hashes


def test_one_row_per_commit_that_changed_the_metrics_in_commit_order(repo):
    root, hashes = repo
    found = read_history(root)
    rows = found.rows
    assert rows["commit"].tolist() == [h[:8] for h in hashes]  # not the docs-only commit, no working-tree row
    assert rows["subject"].tolist() == ["first run", "on the GPU", "third"]
    assert rows["date"].tolist() == ["2024-01-01 12:00", "2024-01-02 12:00", "2024-01-03 12:00"]
    assert rows["MOTA"].tolist() == [0.5, 0.6, 0.7] and rows["HOTA"].tolist() == [0.3, 0.4, 0.5]
    # the network pass from detect.json, the training memory from train.json
    assert rows["fps"].tolist() == [12.0, 250.0, 14.0] and rows["memory_mb"].tolist() == [110.0, 1500.0, 120.0]
    assert rows["device"].tolist() == ["CPU x", "CUDA H100", "CPU x"]
    assert rows["train_memory_mb"].tolist() == [900.0, 4000.0, 950.0]
    assert (found.visible, found.shallow) == (4, False)
    assert found.note().startswith("4 commits visible; 3 of them changed reports/metrics.json")
    text = history_markdown(found)
    assert f"| {hashes[1][:8]} | 2024-01-02 12:00 | on the GPU | 60.0 | 50.0 | 40.0 | 250 | 1500 | 4000 | CUDA H100 |" in text
    assert "MOTA `▁▅█` 50.0 → 70.0" in text


def test_since_and_max_keep_the_newest_commits(repo):
    root, hashes = repo
    assert read_history(root, since=hashes[0]).rows["subject"].tolist() == ["on the GPU", "third"]
    assert read_history(root, max_count=1).rows["subject"].tolist() == ["third"]
    assert read_history(root, since=hashes[0], max_count=5).rows["subject"].tolist() == ["on the GPU", "third"]


def test_the_command_writes_the_table_and_a_png(repo, monkeypatch):
    root, hashes = repo
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["history", "--since", hashes[0], "--max", "1", "--table", "out/h.md",
                                    "--out", "out/h.png"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    table = [line for line in (root / "out" / "h.md").read_text().splitlines() if line.startswith("| ")]
    assert len(table) == 2 and table[1].startswith(f"| {hashes[2][:8]} | 2024-01-03 12:00 | third | 70.0 |")
    assert (root / "out" / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_shallow_clone_says_how_many_commits_it_could_see(repo, tmp_path):
    root, _ = repo
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{root}", str(clone)], check=True, capture_output=True)
    found = read_history(clone)
    # the one commit there holds the files (a shallow root counts as adding them): the third run's figures
    assert found.rows["MOTA"].tolist() == [0.7] and found.rows["subject"].tolist() == ["docs only"]
    assert found.shallow and found.note().startswith("1 commit visible (shallow clone")


@pytest.mark.parametrize("commit_first", [True, False], ids=["commits-without-metrics", "no-commit-at-all"])
def test_without_committed_metrics_the_working_tree_is_the_one_point(tmp_path, monkeypatch, commit_first):
    """Chosen: the working tree's files are a point ("working tree") whenever they differ from HEAD's."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    git(tmp_path, "init", "-q")
    if commit_first:
        (tmp_path / "README.md").write_text("x\n")
        git(tmp_path, "add", "-A")
        git(tmp_path, "commit", "-qm", "readme")
    write_run(tmp_path, RUNS[1])
    found = read_history(tmp_path)
    assert found.rows[["commit", "subject", "MOTA", "device"]].values.tolist() == [
        ["working tree", "(not committed)", 0.6, "CUDA H100"]]
    assert found.note() == (f"{int(commit_first)} commit{'' if commit_first else 's'} visible; 0 of them changed "
                            "reports/metrics.json, reports/detect.json, reports/train.json, plus the working tree.")


def test_an_uncommitted_run_follows_the_committed_ones(repo):
    root, _ = repo
    write_run(root, ("x", 0.9, 0.8, 0.7, 20.0, 130.0, "CPU x", 960.0))
    rows = read_history(root).rows
    assert rows["subject"].tolist() == ["first run", "on the GPU", "third", "(not committed)"]
    assert rows["MOTA"].iloc[-1] == 0.9


def test_a_failing_git_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(DataError, match=r"^git rev-parse failed in .*: fatal: not a git repository"):
        read_history(tmp_path)
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["history"])
    assert done.exit_code == 1
    assert done.output.startswith("error: git rev-parse failed in .: fatal: not a git repository")
    assert len(done.output.strip().splitlines()) == 1


def test_an_unknown_since_names_the_revision(repo):
    root, _ = repo
    with pytest.raises(DataError, match="git log failed in .*nope"):
        read_history(root, since="nope")


def test_cpu_and_gpu_points_are_never_joined_by_a_line():
    fig, ax = pyplot().subplots()
    devices = pd.Series(["CPU x", "CUDA H100", "CPU x", "CPU x"])
    values = pd.Series([0.5, 0.6, 0.7, np.nan])
    _plot_by_device(ax, np.arange(4), values, devices, ["CPU x", "CUDA H100"], "C0", "MOTA")
    assert [(line.get_xdata().tolist(), line.get_marker()) for line in ax.lines] == [([0, 2], "o"), ([1], "s")]
    assert ax.get_legend_handles_labels()[1] == ["MOTA"]  # one legend entry per series
    pyplot().close(fig)


def test_sparkline_scales_between_the_smallest_and_largest_value():
    assert sparkline([0.0, 0.5, 1.0, float("nan"), 1.0]) == "▁▅█ █"
    assert sparkline([float("nan")]) == ""
