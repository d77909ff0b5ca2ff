"""What a live run adds around the tracking loop: latency percentiles in bounded memory, a stop on
SIGINT/SIGTERM that lets the current frame finish, a JSON-lines feed for a downstream consumer and
an optional window.

Every per-frame quantity is folded into a fixed-size summary as it comes, so a run of days keeps
flat memory.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from types import FrameType
from typing import Any

from fairmot.errors import ConfigError
from fairmot.inference.draw import draw_tracks
from fairmot.inference.runner import FrameTracks
from fairmot.inference.sources import Frame
from fairmot.inference.video import Trails

_LOG_STEP = math.log(1.01)  # latency bins 1 % wide: percentiles within 0.5 %


class Latency:
    """Per-frame latencies (seconds) in 1 %-wide logarithmic bins: percentiles of the whole run in
    memory bounded by the spread of the values, not by the number of frames."""

    def __init__(self) -> None:
        self.bins: Counter[int] = Counter()
        self.count = 0

    def add(self, seconds: float) -> None:
        self.bins[math.floor(math.log(max(seconds, 1e-6)) / _LOG_STEP)] += 1
        self.count += 1

    def percentile_ms(self, q: float) -> float | None:
        """The q-th percentile (0-100) in milliseconds (a bin's geometric middle), None before any frame."""
        if not self.count:
            return None
        rank, seen = q / 100 * self.count, 0
        for key in sorted(self.bins):
            seen += self.bins[key]
            if seen >= rank:
                break
        return math.exp((key + 0.5) * _LOG_STEP) * 1000


class StopRequest:
    """`with StopRequest() as stop:` SIGINT and SIGTERM set `stop.reason` ("SIGINT"/"SIGTERM") and call
    the `on_stop` callbacks (closing a source that may block); the loop ends after its current frame.
    A second signal stops at once (KeyboardInterrupt). Outside the main thread no handler is installed."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.reason: str | None = None
        self.on_stop: list[Callable[[], Any]] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            for callback in self.on_stop:
                with suppress(Exception):  # a failing close must not hide the stop
                    callback()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.reason is not None:
            raise KeyboardInterrupt
        self.request(signal.Signals(signum).name)


def frame_json(frame: Frame, tracks: FrameTracks) -> str:
    """One line: {"frame", "timestamp" (seconds since the first frame), "tracks": [{"id", "box": [x, y, w, h], "score"}]};
    a run of several classes adds each track's "class" (its name)."""
    timestamp = None if frame.timestamp is None else round(frame.timestamp, 6)
    objects = [{"id": int(i), "box": [round(float(v), 2) for v in box], "score": round(float(s), 4)}
               for box, i, s in zip(tracks.tlwhs, tracks.ids, tracks.scores)]
    if len(tracks.names) > 1:
        for record, cls in zip(objects, tracks.classes):
            record["class"] = tracks.names[int(cls)]
    return json.dumps({"frame": tracks.frame, "timestamp": timestamp, "tracks": objects}, separators=(",", ":")) + "\n"


class JsonLines:
    """The feed of `--jsonl`: `-` writes to standard output, `tcp://HOST:PORT` connects to a consumer
    that listens there (this run is the client). A consumer that goes away ends the feed, not the run:
    `warning` says so."""

    def __init__(self, target: str, timeout: float = 5.0) -> None:
        self.target = target
        self.warning: str | None = None
        self._socket: socket.socket | None = None
        if target == "-":
            return
        host, _, port = target.removeprefix("tcp://").rpartition(":")
        if not target.startswith("tcp://") or not host or not port.isdigit():
            raise ConfigError(f"--jsonl {target}: use - (standard output) or tcp://HOST:PORT")
        try:
            self._socket = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        except OSError as exc:
            raise ConfigError(f"--jsonl {target}: cannot connect ({exc.strerror or exc}); start the consumer first "
                              f"(it listens, this run connects: e.g. nc -l {port})") from None

    def __call__(self, frame: Frame, tracks: FrameTracks) -> None:
        if self.warning is not None:
            return
        line = frame_json(frame, tracks)
        try:
            if self._socket is None:
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                self._socket.sendall(line.encode())
        except OSError as exc:
            self.warning = f"--jsonl {self.target}: the consumer went away at frame {tracks.frame} " \
                           f"({exc.strerror or type(exc).__name__}); tracking went on without the feed"
            if self._socket is None:  # later writes (and the flush at exit) to a closed pipe go nowhere
                with suppress(OSError, ValueError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


_PROBE = "import cv2; cv2.namedWindow('probe'); cv2.waitKey(1); cv2.destroyAllWindows()"


def no_display() -> str | None:
    """Why no window can open here, or None. A window is tried in a child process first: OpenCV's Qt
    aborts the whole process (no exception) when DISPLAY names a display it cannot reach."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "opening a window did not finish in 30 s"
    if probe.returncode != 0:
        said = next((line for line in probe.stderr.splitlines() if "display" in line.lower()), "")
        return f"no window can open here ({said.strip() or f'exit code {probe.returncode}'})"
    return None


class Window:
    """`--show`: each frame with its tracks in a window; q or Esc there asks the run to stop."""

    TITLE = "fairmot track"

    def __init__(self, stop: StopRequest) -> None:
        import cv2

        self.stop, self.trails = stop, Trails()
        cv2.namedWindow(self.TITLE, cv2.WINDOW_NORMAL)

    @classmethod
    def open(cls, stop: StopRequest) -> tuple[Window | None, str | None]:
        """The window, or None and the one-line reason it cannot open (the run goes on without it)."""
        import cv2

        reason = no_display()
        if reason is None:
            try:
                return cls(stop), None
            except cv2.error:
                reason = "this OpenCV has no GUI (opencv-python-headless?)"
        return None, f"--show: {reason}; tracking without a window"

    def __call__(self, frame: Frame, tracks: FrameTracks) -> None:
        import cv2

        trails = self.trails.update(tracks.tlwhs, tracks.ids)
        cv2.imshow(self.TITLE, draw_tracks(frame.image, tracks.tlwhs, tracks.ids, trails=trails,
                                           caption=f"frame {tracks.frame}  {len(tracks.ids)} tracks",
                                           classes=tracks.classes, names=tracks.names))
        if (cv2.waitKey(1) & 0xFF) in (ord("q"), 27):
            self.stop.request("window")

    def close(self) -> None:
        import cv2

        cv2.destroyWindow(self.TITLE)
