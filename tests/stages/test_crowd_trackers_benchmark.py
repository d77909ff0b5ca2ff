"""benchmarks/crowd_trackers.py runs its grid end to end (methods x cmc x gap filling) and reuses its cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "benchmarks/crowd_trackers.py", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300, check=False)


def test_every_configuration_gets_a_default_and_a_tuned_row_on_test(tiny_dataset, checkpoint, tmp_path):
    out, cache = tmp_path / "rows.json", tmp_path / "cache"
    args = ["--dataset", str(tiny_dataset), "--model", str(checkpoint), "--trials", "1", "--cache", str(cache),
            "--methods", "botsort", "--cmc", "sparse", "--interpolate", "none", "linear", "--out", str(out)]
    done = run(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(out.read_text())
    grid = [(m, c, i, p) for m in ("botsort",) for c in ("none", "sparse") for i in ("none", "linear")
            for p in ("default", "tuned")]
    assert [(r["method"], r["cmc"], r["interpolate"], r["params"]) for r in rows] == grid
    assert all(r["ms_per_frame"] > 0 and 0 <= r["HOTA"] <= 1 for r in rows)
    tuned = [r for r in rows if r["params"] == "tuned"]
    assert all(r["track"]["interpolate"] == r["interpolate"] and r["track"]["method"] == r["method"] for r in tuned)
    assert done.stdout.count("| botsort | sparse | linear |") == 2
    assert all(list((cache / split).glob("*.npz")) for split in ("val", "test"))
    again = run(*args[:-2])  # the caches (warps included) are reused, no network pass
    assert again.returncode == 0 and "val: detections read from" in again.stdout and "network pass" not in again.stdout
