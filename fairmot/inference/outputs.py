"""What tracking a source writes: its MOTChallenge result file and, when asked, the annotated video.

Both are written through fairmot.io under one replace policy, so a file the user owns is never
replaced unless they say so (OVERWRITE).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fairmot.data.formats.mot import write_results
from fairmot.errors import DataError
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.video import AnnotatedVideo
from fairmot.io import OURS


def track_to_files(runner: OnlineTracker, frames: Iterable[np.ndarray], frame_rate: float, result_path: Path,
                   video_path: Path | None, *, name: str, replace: str = OURS) -> list[tuple]:
    """Track every frame; write the result rows (and the annotated video unless `video_path` is None)."""
    rows: list[tuple] = []
    with AnnotatedVideo(video_path, frame_rate, replace=replace) if video_path else nullcontext() as writer, \
            tqdm(desc=name, unit="frame", disable=None) as progress:
        for img, tracks in runner.run(frames, frame_rate=frame_rate):
            rows += tracks.rows()
            progress.update()
            if writer is not None:
                caption = f"frame {tracks.frame}  {runner.meter.fps:.1f} fps  {len(tracks.ids)} tracks"
                writer.write(img, tracks.tlwhs, tracks.ids, caption=caption)
        if runner.frame == 0:
            raise DataError(f"{name}: no frame could be read")
    write_results(result_path, rows, replace=replace)
    return rows
