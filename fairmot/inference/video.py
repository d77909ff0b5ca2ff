"""The demo's annotated video: boxes, ids (and classes), short trails and a caption on every frame.

The mp4 is encoded into the pid-named temporary folder `fairmot.io.atomic_path` gives (so a
later run removes what a killed one left) and renamed over the target only when the whole stream
was written, so an interrupted run never leaves a truncated video under the final name. Its size
is the first frame's: a later frame of another size is resized to it, boxes along, since the
writer would drop it without a word.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from fairmot.errors import DataError
from fairmot.inference.draw import draw_tracks
from fairmot.io import ANY, atomic_path

TRAIL_LENGTH = 20  # frames of centre history drawn behind each box


class Trails:
    """The last TRAIL_LENGTH bottom-centre points of every currently visible track."""

    def __init__(self, length: int = TRAIL_LENGTH) -> None:
        self.length = length
        self.points: dict[int, deque] = {}

    def update(self, tlwhs: Sequence[Sequence[float]], ids: Sequence[int]) -> dict[int, deque]:
        for (x, y, w, h), tid in zip(tlwhs, ids):
            self.points.setdefault(int(tid), deque(maxlen=self.length)).append((x + w / 2, y + h))
        visible = {int(t) for t in ids}
        self.points = {tid: pts for tid, pts in self.points.items() if tid in visible}
        return self.points


class AnnotatedVideo:
    """`with AnnotatedVideo(path, fps) as video: video.write(img, tlwhs, ids, caption)`.

    On a clean exit with at least one frame, `path` is replaced (under `replace`, a
    `fairmot.io` policy); otherwise nothing is written.
    """

    def __init__(self, path: Path, frame_rate: float, *, replace: str = ANY) -> None:
        self.path = Path(path)
        self.frame_rate = float(frame_rate)
        self.replace = replace
        self.trails = Trails()
        self.frames = 0
        self.resized = 0  # frames of another size than the first, resized to it
        self.size: tuple[int, int] | None = None  # (width, height) of the video: its first frame's
        self._writer: Any = None
        self._stack = ExitStack()
        self._tmp: Path | None = None

    def __enter__(self) -> Self:
        self._tmp = self._stack.enter_context(atomic_path(self.path, replace=self.replace))
        return self

    @property
    def _tmp_video(self) -> Path:
        assert self._tmp is not None, "use AnnotatedVideo as a context manager"
        return self._tmp

    def write(self, image: np.ndarray, tlwhs: np.ndarray, ids: np.ndarray, caption: str | None = None, *,
              classes: np.ndarray | None = None, names: Sequence[str] = ()) -> None:
        """Draw one frame's tracks (and their trails) on `image` (BGR) and append it; with several class
        `names`, coloured by class and labelled with it (fairmot.inference.draw)."""
        import cv2

        if self._writer is None:
            self.size = (image.shape[1], image.shape[0])
            self._writer = cv2.VideoWriter(str(self._tmp_video), cv2.VideoWriter_fourcc(*"mp4v"),
                                           self.frame_rate, self.size)
            if not self._writer.isOpened():
                raise DataError(f"{self.path}: OpenCV cannot write an mp4v video here; pass --no-video")
        if (image.shape[1], image.shape[0]) != self.size:
            image, tlwhs = self._fit(image, tlwhs)
        trails = self.trails.update(tlwhs, ids)
        self._writer.write(draw_tracks(image, tlwhs, ids, trails=trails, caption=caption, classes=classes, names=names))
        self.frames += 1

    def _fit(self, image: np.ndarray, tlwhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A frame of another size, resized to the video's (the writer drops such frames without a word),
        with its boxes scaled along so they stay on their objects."""
        import cv2

        (w, h), (iw, ih) = self.size, (image.shape[1], image.shape[0])
        self.resized += 1
        scale = np.array([w / iw, h / ih, w / iw, h / ih])
        return cv2.resize(image, self.size, interpolation=cv2.INTER_AREA), np.asarray(tlwhs, float).reshape(-1, 4) * scale

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._writer is not None:
                self._writer.release()
            if exc_type is None and not self.frames:
                self._tmp_video.unlink(missing_ok=True)  # no frame: nothing replaces `path`
        finally:
            self._stack.__exit__(exc_type, exc, tb)
