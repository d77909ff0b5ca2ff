"""Frame sources for tracking: a video file, a folder or glob of images, a stream or a camera
(fairmot.inference.streams), every frame numbered by where it is.

A video's frames are numbered by their timestamps (a damaged stretch leaves a gap, not a shift of
every later number); a folder's or glob's by their place in natural order (`2.jpg` before `10.jpg`).
Frames that cannot be read are counted and named in one warning line instead of ending the run.
Outputs that would overwrite a source are refused. A reader thread decodes a few frames ahead
(fairmot.inference.readahead); only a stream or camera opened `live` drops frames, never a file.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path

import numpy as np

from fairmot.data.formats.mot import read_seqinfo
from fairmot.data.images import read_bgr
from fairmot.data.names import natural_key
from fairmot.errors import ConfigError, DataError
from fairmot.inference.readahead import ReadAhead
from fairmot.inference.streams import DEFAULT_RECONNECT_S, StreamCapture, stream_kind, stream_name

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Frames decoded ahead of the tracker: a file's reader waits for room, a live stream's drops the oldest
QUEUE_SIZE, LIVE_QUEUE_SIZE = 4, 2
# Only these are opened as videos: ffmpeg would also "decode" a text file (its tty demuxer).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
# Failed reads in a row tried before a video is taken to end (a bogus frame count must not loop for long)
MAX_FAILED_READS = 10_000


# ---------------------------------------------------------------------------------------------
# Image folders (natural order) and the strict reader of MOT sequences
# ---------------------------------------------------------------------------------------------
def read_image(path: Path) -> np.ndarray:
    img = read_bgr(path)
    if img is None:
        raise DataError(f"{path}: cannot read this image (missing, empty or not an image)")
    return img


def image_files(folder: Path) -> list[Path]:
    """Images of a folder in natural order of their names; a MOT sequence folder means its img1/ subfolder."""
    folder = Path(folder)
    if (folder / "img1").is_dir():
        folder = folder / "img1"
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS), key=lambda p: natural_key(p.name))
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    return files


def iter_images(paths: Iterable[Path]) -> Iterator[np.ndarray]:
    """Every image, or a DataError at the first unreadable one (a dataset's sequence must be whole)."""
    for path in paths:
        yield read_image(path)


# ---------------------------------------------------------------------------------------------
# Numbered frame sources of `fairmot track`
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """One frame of a source: its 1-based number there (the number its result rows carry) and its BGR image.

    `timestamp`: seconds since the source's first frame; `captured`: `time.monotonic()` when the reader
    decoded it (latency is measured from there; None: from when the frame was handed over).
    """

    number: int
    image: np.ndarray
    timestamp: float | None = None
    captured: float | None = None


class FrameSource:
    """The frames of one source, numbered by where they are; iterate once.

    Frames that cannot be read are skipped with their numbers left free: afterwards `unreadable`
    lists those numbers and `warning()` says so on one line. A reader thread decodes `_frames()`
    ahead; `dropped` counts the frames a live source let go; `close()` stops the reader.
    """

    live = False

    def __init__(self, path: Path | str, frame_rate: float) -> None:
        self.path = path if isinstance(path, str) else Path(path)
        self.frame_rate = frame_rate
        self.unreadable: list[int] = []
        self.note = ""  # what the warning adds after the frame numbers
        self.dropped = 0  # frames a live source skipped to stay current (a file never drops any)
        self._reader: ReadAhead | None = None

    def _frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        self._reader = ReadAhead(self._frames(), LIVE_QUEUE_SIZE if self.live else QUEUE_SIZE, live=self.live)
        try:
            for frame in self._reader:
                self.dropped = self._reader.dropped
                yield frame
        finally:
            self.close()

    def close(self) -> None:
        """Stop the reader thread and release what it reads (idempotent)."""
        if self._reader is not None:
            self._reader.close()
            self.dropped = self._reader.dropped

    def warning(self) -> str | None:
        """One line naming the frames that could not be read, or None when every frame was."""
        if not self.unreadable:
            return None
        n = len(self.unreadable)
        return f"{self.path}: {n} frame{'s' if n > 1 else ''} could not be read and {'have' if n > 1 else 'has'} " \
               f"no result rows (frame {number_ranges(self.unreadable)}){self.note}"


class ImageFolder(FrameSource):
    """A folder's images in natural order, numbered 1..N; an unreadable image is skipped (one bad
    JPEG among thousands should not end the run) and keeps its number free."""

    def __init__(self, folder: Path | str, frame_rate: float, files: list[Path] | None = None) -> None:
        super().__init__(folder, frame_rate)
        self.files = image_files(Path(folder)) if files is None else files

    def _frames(self) -> Iterator[Frame]:
        for number, path in enumerate(self.files, 1):
            image = read_bgr(path)
            if image is None:
                self.unreadable.append(number)
                self.note = self.note or f"; the first is {path.name}"
                continue
            yield Frame(number, image, (number - 1) / self.frame_rate, time.monotonic())


class VideoFile(FrameSource):
    """A video's frames, numbered by their timestamps at the container's frame rate.

    A read that fails before the container's frame count is reached is tried again (each try
    moves past one damaged packet), up to the frames the container still lists, so the frames
    after a damaged stretch are read and keep their true numbers. The position OpenCV reports
    as CAP_PROP_POS_FRAMES is only a count of decoded frames, so timestamps are used; where the
    backend gives none, or they go backwards or past the frame count, a running count. Damage the
    demuxer skips without an error (a garbled AVI chunk header) keeps the timestamps counting on;
    only the shortfall against the container's frame count shows it, as unreadable frames at the end.
    """

    def __init__(self, path: Path) -> None:
        import cv2

        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise DataError(f"{path}: cannot open this video (unsupported container/codec or not a video)")
        fps, count = usable_rate(cap.get(cv2.CAP_PROP_FPS)), cap.get(cv2.CAP_PROP_FRAME_COUNT)
        cap.release()
        self.fps = fps or 0.0  # 0: no usable rate to number by
        self.count = int(count) if count and count > 0 else 0  # 0: unknown
        super().__init__(path, self.fps or 30.0)

    def _frames(self) -> Iterator[Frame]:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        last, last_ms, failures, trouble = 0, -1.0, 0, None  # trouble: the last frame read before the first failure
        first_ms = None
        try:
            while True:
                ok, image = cap.read()
                if not ok or image is None:
                    failures += 1
                    trouble = last if trouble is None else trouble
                    if last + failures < self.count and failures <= MAX_FAILED_READS:
                        continue  # a damaged stretch: the next read goes on after it
                    break
                ms = cap.get(cv2.CAP_PROP_POS_MSEC)
                number = self._number(ms, last, last_ms)
                self.unreadable += range(last + 1, number)
                last, last_ms, failures = number, ms, 0
                first_ms = ms if first_ms is None and ms >= 0 else first_ms
                seconds = (ms - first_ms) / 1000 if first_ms is not None and ms >= 0 else (number - 1) / self.frame_rate
                yield Frame(number, image, seconds, time.monotonic())
        finally:
            cap.release()
        if last < self.count:
            self.unreadable += range(last + 1, self.count + 1)
            self.note = f"; the video ends at frame {last} of the {self.count} its container lists"
            if trouble is not None and trouble < last:  # the demuxer may have resynced, counting on
                self.note += f", so the numbers after frame {trouble} may be up to {self.count - last} too low"
            else:
                self.note += " (frames lost mid-way without a decoding error would leave later numbers too low)"

    def _number(self, ms: float, last: int, last_ms: float) -> int:
        if not self.fps or not ms >= 0 or ms <= last_ms:
            return last + 1
        number = round(ms * self.fps / 1000) + 1
        if self.count and number > self.count:
            return last + 1
        return max(number, last + 1)


def number_ranges(numbers: list[int], most: int = 5) -> str:
    """`3, 7-9, 12` for [3, 7, 8, 9, 12]; the first `most` runs, then `...`."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = [str(a) if a == b else f"{a}-{b}" for a, b in runs[:most]]
    return ", ".join(text + (["..."] if len(runs) > most else []))


def usable_rate(fps: float) -> float | None:
    """A container's frame rate, or None where it reports none or a nonsensical one."""
    return fps if fps and 1.0 <= fps <= 240.0 else None


def video_frame_rate(path: Path, default: float = 30.0) -> float:
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    cap.release()
    return usable_rate(fps) or default


class Stream(FrameSource):
    """A network stream or camera (fairmot.inference.streams.StreamCapture), opened now, so that a
    wrong address fails before a model is loaded; `live` drops stale frames to keep up."""

    def __init__(self, source: str, live: bool = False, reconnect_s: float = DEFAULT_RECONNECT_S,
                 options: dict[str, str] | None = None) -> None:
        self.capture = StreamCapture(source, reconnect_s, options)
        super().__init__(source, self.capture.fps or 30.0)
        self.live = live

    def _frames(self) -> Iterator[Frame]:
        for number, image, timestamp, captured in self.capture.frames():
            yield Frame(number, image, timestamp, captured)

    def close(self) -> None:
        super().close()
        if self._reader is None:  # never iterated: no reader thread holds the capture
            self.capture.release()


def is_glob(source: str) -> bool:
    return any(c in source for c in "*?[") and not Path(source).exists()


def glob_files(pattern: str) -> list[Path]:
    """The images a glob matches, in natural order of their paths."""
    files = [Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).suffix.lower() in IMAGE_EXTENSIONS]
    if not files:
        raise DataError(f"{pattern}: this pattern matches no images ({', '.join(IMAGE_EXTENSIONS)}); quote it so "
                        f"that the shell passes it on")
    return sorted(files, key=lambda p: natural_key(str(p)))


def open_source(source: Path | str, *, live: bool = False, reconnect_s: float = DEFAULT_RECONNECT_S,
                options: dict[str, str] | None = None) -> FrameSource:
    """The numbered frames of a video file, an image folder or glob, a stream URL or a camera index.

    `.frame_rate` is the video's or stream's rate, a folder's seqinfo.ini's when present, else 30.
    `live` (streams and cameras only: a file's every frame is tracked) drops frames the consumer is
    too slow for; `reconnect_s` and FFmpeg `options` apply to streams.
    """
    text = str(source)
    if stream_kind(text):
        return Stream(text, live=live, reconnect_s=reconnect_s, options=options)
    if live:
        raise ConfigError(f"--live drops frames to keep up with a stream or camera; {text} is a file or folder, every "
                          f"frame of which is tracked: leave out --live")
    if is_glob(text):
        return ImageFolder(text, 30.0, files=glob_files(text))
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such video file or image folder")
    if source.is_dir():
        rate = 30.0
        for ini in (source / "seqinfo.ini", source.parent / "seqinfo.ini"):
            if ini.exists():
                rate = float(read_seqinfo(ini).frame_rate)
                break
        return ImageFolder(source, rate)
    if source.suffix.lower() not in VIDEO_EXTENSIONS:
        raise DataError(f"{source}: not a video file ({' '.join(VIDEO_EXTENSIONS)}) or a folder of images")
    return VideoFile(source)


def output_name(source: Path | str) -> str:
    """A video's stem, the sequence name for `<seq>/img1` folders, a glob's folder (`frames/*.jpg` ->
    `frames`), `camera0` for a camera and host-port-path for a URL."""
    text = str(source)
    if stream_kind(text):
        return stream_name(text)
    if is_glob(text):
        fixed = list(takewhile(lambda part: not any(c in part for c in "*?["), Path(text).parts))
        folder = Path(*fixed).resolve() if fixed else Path.cwd()
        return (folder.parent if folder.name == "img1" else folder).name or "frames"
    source = Path(source)
    if source.is_dir() and source.name == "img1":
        return source.parent.name
    return source.stem if source.is_file() else source.name


def check_outputs_spare_source(source: Path | str, outputs: Iterable[Path]) -> None:
    """Refuse an output path that is the source video or one of a source folder's or glob's frames."""
    text = str(source)
    if stream_kind(text):
        return
    source = Path(source)
    files = glob_files(text) if is_glob(text) else image_files(source) if source.is_dir() else [source]
    protected = {p.resolve() for p in files}
    for path in outputs:
        if Path(path).resolve() in protected:
            raise ConfigError(
                f"{path}: writing it would overwrite the source {source}; pass --out with another folder"
            )
