"""Test clips whose frames say which frame they are (a gray level per frame), and how to damage them."""

from pathlib import Path

import cv2
import numpy as np

FRAMES = 40


def gray(index: int) -> int:
    """The gray level of 0-based frame `index`: a frame's content says which frame it is."""
    return 10 + 6 * index


def index_of(image: np.ndarray) -> int:
    return round((float(image.mean()) - 10) / 6)


def write_avi(path: Path, frames: int = FRAMES) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), gray(i), np.uint8))
    writer.release()
    return path


def damage_avi(clean: Path, damaged: Path, numbers: range) -> Path:
    """Garble the JPEG data (past the headers) of the 1-based frames `numbers`, chunks left intact."""
    data = bytearray(clean.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i:i + 2] == b"\xff\xd8"]  # one JPEG SOI per frame
    rng = np.random.default_rng(0)
    for number in numbers:
        start = starts[number - 1] + 20
        # up to the next frame's chunk header, or the last frame's end-of-image marker
        end = starts[number] - 8 if number < len(starts) else data.index(b"\xff\xd9", start) - 2
        data[start:end] = rng.integers(0, 256, end - start, dtype=np.uint8).tobytes()
    damaged.write_bytes(bytes(data))
    return damaged


def write_clip(path: Path, frames: int = 4, fourcc: str = "mp4v") -> Path:
    """A short 160x96 clip of a red box walking right (what the track-stage tests feed `fairmot track`)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (160, 96))
    for f in range(frames):
        img = np.full((96, 160, 3), 90, np.uint8)
        cv2.rectangle(img, (10 + 4 * f, 20), (26 + 4 * f, 60), (0, 0, 220), -1)
        writer.write(img)
    writer.release()
    return path


def count_frames(path: Path) -> int:
    """Frames a video file holds, counted by reading it through."""
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    return count
