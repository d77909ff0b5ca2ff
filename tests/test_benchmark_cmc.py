"""benchmarks/cmc.py runs end to end on a small frame and prints a row per camera motion method (it must not rot)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^(sparse|ecc|orb)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)$", re.MULTILINE)


def test_cmc_benchmark_prints_time_and_corner_error_for_every_method():
    done = subprocess.run([sys.executable, "benchmarks/cmc.py", "--width", "640", "--height", "360", "--frames", "6"],
                          capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = ROW.findall(done.stdout)
    assert [r[0] for r in rows] == ["sparse", "ecc", "orb"]
    assert all(float(r[1]) > 0 for r in rows)
    assert float(rows[0][4]) < 0.5  # sparse's median corner error on the known camera path, pixels
