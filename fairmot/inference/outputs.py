"""What tracking a source writes, as it goes: its MOTChallenge result file, the annotated video when
asked, and whatever sinks the caller adds (a JSON-lines feed, a window).

Each frame's result rows are appended to `<name>.txt.partial` in one write as soon as the frame is
tracked, so a killed run keeps every row of every finished frame there; the end of the source (or
a stop on SIGINT/SIGTERM, after the current frame) renames it to `<name>.txt`, exactly the file a
one-shot write would leave (fairmot.io.appending). The video is encoded frame by frame into a
temporary and appears under its name when the run ends or is stopped (an mp4 without its closing
index is unplayable, so a killed run leaves none). Everything goes through fairmot.io under one
replace policy, so a file the user owns is never replaced unless they say so (OVERWRITE).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from fairmot.data.formats.mot import result_line
from fairmot.errors import DataError
from fairmot.inference.live import Latency, StopRequest
from fairmot.inference.runner import FrameTracks, OnlineTracker
from fairmot.inference.sources import Frame
from fairmot.inference.video import AnnotatedVideo
from fairmot.io import OURS, appending_file

Sink = Callable[[Frame, FrameTracks], None]


@dataclass
class Tracked:
    """What `track_to_files` did: frames tracked, the identities seen, frames in the annotated video
    (those resized to its first frame's size among them), the latency from capture to result, and
    the signal that stopped the run early (None: the source ended)."""

    frames: int = 0
    identities: set[int] = field(default_factory=set)
    video_frames: int = 0
    resized: int = 0
    latency: Latency = field(default_factory=Latency)
    stopped_by: str | None = None


def track_to_files(runner: OnlineTracker, frames: Iterable[Frame], frame_rate: float, result_path: Path,
                   video_path: Path | None, *, name: str, replace: str = OURS, sinks: Sequence[Sink] = (),
                   stop: StopRequest | None = None) -> Tracked:
    """Track every numbered frame, writing the result rows (and the annotated video unless `video_path`
    is None) as it goes and handing each frame's tracks to `sinks`; `stop.reason` set ends the run
    after the current frame, with every file closed as at the source's end."""
    done = Tracked()
    with appending_file(result_path, replace=replace) as results, \
            AnnotatedVideo(video_path, frame_rate, replace=replace) if video_path else nullcontext() as writer, \
            tqdm(desc=name, unit="frame", disable=None) as progress:
        for frame, tracks in runner.run_frames(frames, frame_rate=frame_rate):
            done.latency.add(time.monotonic() - frame.captured)
            results.write("".join(result_line(row, len(tracks.names)) for row in tracks.rows()))
            done.frames += 1
            done.identities.update(int(i) for i in tracks.ids)
            progress.update()
            if writer is not None:
                caption = f"frame {tracks.frame}  {runner.meter.fps:.1f} fps  {len(tracks.ids)} tracks"
                writer.write(frame.image, tracks.tlwhs, tracks.ids, caption=caption, classes=tracks.classes,
                             names=tracks.names)
            for sink in sinks:
                sink(frame, tracks)
            if stop is not None and stop.reason:
                done.stopped_by = stop.reason
                break
        if done.frames == 0:
            stopped = f"stopped ({stop.reason}) before the first frame" if stop is not None and stop.reason else None
            raise DataError(f"{name}: {stopped or 'no frame could be read'}")
        if writer is not None:
            done.video_frames, done.resized = writer.frames, writer.resized
    return done
