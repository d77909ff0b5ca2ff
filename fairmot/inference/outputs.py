"""What tracking a source writes: its MOTChallenge result file and, when asked, the annotated video.

Both are written through fairmot.io under one replace policy, so a file the user owns is never
replaced unless they say so (OVERWRITE).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from fairmot.data.formats.mot import write_results
from fairmot.errors import DataError
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.sources import Frame
from fairmot.inference.video import AnnotatedVideo
from fairmot.io import OURS


@dataclass
class Tracked:
    """What `track_to_files` did: the result rows, frames tracked, frames in the annotated video
    (those resized to its first frame's size among them)."""

    rows: list[tuple]
    frames: int = 0
    video_frames: int = 0
    resized: int = 0


def track_to_files(runner: OnlineTracker, frames: Iterable[Frame], frame_rate: float, result_path: Path,
                   video_path: Path | None, *, name: str, replace: str = OURS) -> Tracked:
    """Track every numbered frame; write the result rows (and the annotated video unless `video_path` is None)."""
    done = Tracked([])
    with AnnotatedVideo(video_path, frame_rate, replace=replace) if video_path else nullcontext() as writer, \
            tqdm(desc=name, unit="frame", disable=None) as progress:
        for img, tracks in runner.run_numbered(frames, frame_rate=frame_rate):
            done.rows += tracks.rows()
            done.frames += 1
            progress.update()
            if writer is not None:
                caption = f"frame {tracks.frame}  {runner.meter.fps:.1f} fps  {len(tracks.ids)} tracks"
                writer.write(img, tracks.tlwhs, tracks.ids, caption=caption)
        if done.frames == 0:
            raise DataError(f"{name}: no frame could be read")
        if writer is not None:
            done.video_frames, done.resized = writer.frames, writer.resized
    write_results(result_path, done.rows, replace=replace)
    return done
