"""The README's Python example runs as written: in a folder holding params.yaml, data/model/model.pt and
video.mp4 (here a tiny checkpoint and a short synthetic clip), it prints result rows."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _python_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    assert len(blocks) == 1, "the README shows one Python example"
    return blocks[0]


def test_the_readme_python_example_tracks_a_video(checkpoint, params_file, tmp_path, monkeypatch):
    (tmp_path / "data" / "model").mkdir(parents=True)
    shutil.copy(checkpoint, tmp_path / "data" / "model" / "model.pt")
    writer = cv2.VideoWriter(str(tmp_path / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 96))
    rng = np.random.default_rng(0)
    for _ in range(6):
        writer.write(rng.integers(0, 255, (96, 160, 3), dtype=np.uint8))
    writer.release()
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_python_example(), "README.md", "exec"), {})
    rows = [line.split() for line in printed.getvalue().splitlines()]
    assert rows, "the random checkpoint fires on every frame, so the example prints tracks"
    assert {int(row[0]) for row in rows} <= set(range(1, 7)) and all(len(row) == 7 for row in rows)
