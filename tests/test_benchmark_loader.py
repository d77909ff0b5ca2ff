"""benchmarks/loader.py runs end to end on a tiny size and prints both decoders' figures (it must not rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_loader_benchmark_prints_both_decoders_for_every_row(tmp_path):
    done = subprocess.run(
        [sys.executable, "benchmarks/loader.py", "--frame-width", "160", "--frame-height", "96", "--width", "64",
         "--height", "64", "--frames", "2", "--decodes", "2", "--samples", "2", "--rounds", "1",
         "--json", str(tmp_path / "loader.json")],
        capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads((tmp_path / "loader.json").read_text())
    assert list(figures) == ["decode 160x96, img/s", "decode 64x64, img/s", "training sample 64x64 (augmented), samples/s"]
    assert all(set(row) == {"opencv", "read_bgr"} and min(row.values()) > 0 for row in figures.values())
    assert all(what in done.stdout for what in figures)
