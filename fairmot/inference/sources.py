"""Frame sources for tracking: a video file or a folder of images, read until the reader stops.

Never trusting a container's frame count; outputs that would overwrite a source are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from fairmot.errors import ConfigError, DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Only these are opened as videos: ffmpeg would also "decode" a text file (its tty demuxer).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


# ---------------------------------------------------------------------------------------------
# Frame sources: read until the reader stops, never trusting a container's frame count
# ---------------------------------------------------------------------------------------------
def read_image(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"{path}: cannot read this image (missing, empty or not an image)")
    return img


def image_files(folder: Path) -> list[Path]:
    """Images of a folder sorted by name; a MOT sequence folder means its img1/ subfolder."""
    folder = Path(folder)
    if (folder / "img1").is_dir():
        folder = folder / "img1"
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    return files


def iter_images(paths: Iterable[Path]) -> Iterator[np.ndarray]:
    for path in paths:
        yield read_image(path)


def iter_video(path: Path) -> Iterator[np.ndarray]:
    """Frames of a video file, until the decoder returns no more."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DataError(f"{path}: cannot open this video (unsupported container/codec or not a video)")
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            yield frame
    finally:
        cap.release()


def video_frame_rate(path: Path, default: float = 30.0) -> float:
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    cap.release()
    return fps if fps and 1.0 <= fps <= 240.0 else default


def open_source(source: Path) -> tuple[Iterator[np.ndarray], float]:
    """(frames, frame rate) of a video file or an image folder (seqinfo.ini's rate when present)."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such video file or image folder")
    if source.is_dir():
        rate = 30.0
        for ini in (source / "seqinfo.ini", source.parent / "seqinfo.ini"):
            if ini.exists():
                from fairmot.data.formats.mot import read_seqinfo

                rate = float(read_seqinfo(ini).frame_rate)
                break
        return iter_images(image_files(source)), rate
    if source.suffix.lower() not in VIDEO_EXTENSIONS:
        raise DataError(f"{source}: not a video file ({' '.join(VIDEO_EXTENSIONS)}) or a folder of images")
    return iter_video(source), video_frame_rate(source)


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
