"""Frame sources for tracking: a video file or a folder of images, every frame numbered by where it is.

A video's frames are numbered by their timestamps (a damaged stretch leaves a gap, not a shift of
every later number); a folder's by their place in natural order (`2.jpg` before `10.jpg`). Frames
that cannot be read are counted and named in one warning line instead of ending the run. Outputs
that would overwrite a source are refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fairmot.data.formats.mot import read_seqinfo
from fairmot.data.names import natural_key
from fairmot.errors import ConfigError, DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Only these are opened as videos: ffmpeg would also "decode" a text file (its tty demuxer).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
# Failed reads in a row tried before a video is taken to end (a bogus frame count must not loop for long)
MAX_FAILED_READS = 10_000


# ---------------------------------------------------------------------------------------------
# Image folders (natural order) and the strict reader of MOT sequences
# ---------------------------------------------------------------------------------------------
def read_image(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
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
    lists those numbers and `warning()` says so on one line.
    """

    def __init__(self, path: Path, frame_rate: float) -> None:
        self.path = Path(path)
        self.frame_rate = frame_rate
        self.unreadable: list[int] = []
        self.note = ""  # what the warning adds after the frame numbers
        self.dropped = 0  # frames a live source skipped to stay current (a file never drops any)

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds (a reader, a connection); safe to call again."""

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

    def __init__(self, folder: Path, frame_rate: float) -> None:
        super().__init__(folder, frame_rate)
        self.files = image_files(folder)

    def __iter__(self) -> Iterator[Frame]:
        import cv2

        for number, path in enumerate(self.files, 1):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
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

    def __iter__(self) -> Iterator[Frame]:
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


def open_source(source: Path) -> FrameSource:
    """The numbered frames of a video file or an image folder; `.frame_rate` is the video's rate, a
    folder's seqinfo.ini's when present, else 30."""
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


def output_name(source: Path) -> str:
    """A video's stem, or the sequence name for `<seq>/img1` folders."""
    source = Path(source)
    if source.is_dir() and source.name == "img1":
        return source.parent.name
    return source.stem if source.is_file() else source.name


def check_outputs_spare_source(source: Path, outputs: Iterable[Path]) -> None:
    """Refuse an output path that is the source video or one of a source folder's frames."""
    source = Path(source)
    protected = {p.resolve() for p in (image_files(source) if source.is_dir() else [source])}
    for path in outputs:
        if Path(path).resolve() in protected:
            raise ConfigError(
                f"{path}: writing it would overwrite the source {source}; pass --out with another folder"
            )
