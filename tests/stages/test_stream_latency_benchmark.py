"""benchmarks/stream_latency.py tracks a loopback camera with and without --live and prints latency (it must not rot)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^(no --live|--live): (\d+) frames of 12 at 25 fps, tracker [\d.]+ fps, latency p50 ([\d.]+) ms, "
                 r"p95 ([\d.]+) ms, (\d+) dropped$", re.MULTILINE)


def test_both_runs_report_latency_and_drops(tiny_dataset, checkpoint):
    folder = next((tiny_dataset / "images" / "test").iterdir())
    done = subprocess.run([sys.executable, "benchmarks/stream_latency.py", "--frames", str(folder), "--model",
                           str(checkpoint), "--limit", "12"], capture_output=True, text=True, cwd=REPO, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = ROW.findall(done.stdout)
    assert [r[0] for r in rows] == ["no --live", "--live"], done.stdout
    plain, live = rows
    assert int(plain[1]) == 12 and int(plain[4]) == 0  # without --live every frame is tracked
    assert int(live[1]) + int(live[4]) == 12  # with it, tracked + dropped = served
    assert all(0 < float(r[2]) <= float(r[3]) for r in rows)
