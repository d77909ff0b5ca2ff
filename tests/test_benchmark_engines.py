"""benchmarks/engines.py runs end to end on a tiny size and prints every engine's row (it must not rot)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^(\S+(?: b\d+)?)\s+(\d+\.\d+)\s+.*\d+\.\d+x$", re.MULTILINE)  # engine, first figure, ratio


def test_engine_benchmark_prints_a_figure_for_every_engine():
    done = subprocess.run(
        [sys.executable, "benchmarks/engines.py", "--arch", "dla_tiny", "--width", "64", "--height", "64",
         "--repeats", "1", "--frames", "4", "--warmup", "2", "--batch", "2", "--threads", "1"],
        capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    network, end_to_end = done.stdout.split("end to end:")
    network_rows, end_to_end_rows = ROW.findall(network), ROW.findall(end_to_end)
    from fairmot.inference.engines.openvino_engine import cpu_capabilities

    ov = ["openvino-fp32", "openvino-bf16", "openvino-int8"] if "BF16" in cpu_capabilities() else ["openvino-fp32", "openvino-int8"]
    assert [name for name, _ in network_rows] == ["baseline", "lean-eager", "torch-lean", "onnx", *ov]  # s/img
    assert [name for name, _ in end_to_end_rows] == ["baseline", "lean-eager", "torch-lean", "onnx",
                                                    "torch-lean b2", *ov, *(f"{name} b2" for name in ov)]  # fps
    assert "reference row skipped: it runs DLA-34 on the CPU only" in network  # one line, no failure
    assert all(float(value) > 0 for _, value in network_rows + end_to_end_rows)
