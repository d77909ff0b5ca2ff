"""Live sources of `fairmot track`: network streams (rtsp, http(s) MJPEG or HLS/MPEG-TS, udp, ...)
and cameras by index, read through OpenCV's FFmpeg backend, re-opened when they drop.

Why OpenCV's FFmpeg backend and not PyAV: measured on loopback (640x360, 150 frames, 2 cores), both
open a stream equally fast (MJPEG ~5 ms; MPEG-TS ~870 ms, FFmpeg's probing either way) but OpenCV
decodes to BGR faster (MPEG-TS 2,100 fps against PyAV's 780 with `to_ndarray("bgr24")`; MJPEG about
even), it reads video files and cameras through the same call, and ends a stream on EOF where PyAV
raises an I/O error and leaves the decoder's last frame unflushed. Its one drawback, FFmpeg options
only through the process-wide OPENCV_FFMPEG_CAPTURE_OPTIONS, is met by setting that variable under a
lock just for the open (`rtsp_transport=tcp` reaches FFmpeg that way; without options OpenCV asks
FFmpeg for `rtsp_flags=prefer_tcp`, RTP over TCP where the server offers it, and so does this module
when options are given that say nothing of the transport).

Numbering: within one connection a frame's number comes from its timestamp at the stream's frame rate
(or its arrival order where the stream has no usable timestamps); across a gap (a reconnection, or
timestamps that jump back or leap ahead of the wall clock) from the wall-clock time elapsed at that
rate, so numbers keep increasing and say roughly when each frame was seen, never how many were read.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from statistics import median
from urllib.parse import urlsplit

import numpy as np

from fairmot.errors import ConfigError, DataError

log = logging.getLogger(__name__)

SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "rtp", "srt")
DEFAULT_RECONNECT_S = 10.0
# Backoff between re-opening tries: first wait, growth, longest wait
BACKOFF = (0.2, 2.0, 2.0)
# A read that waits longer than this for a frame means the stream stalled
READ_TIMEOUT_S = 5.0
_ENV_LOCK = threading.Lock()
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def stream_kind(source: str) -> str | None:
    """'url' for a stream address, 'camera' for a camera index ('0'), None for a path or glob."""
    match = _SCHEME.match(source)
    if match:
        if match.group(1).lower() not in SCHEMES:
            raise DataError(f"{source}: {match.group(1)}:// is not a stream this reads ({', '.join(SCHEMES)}); "
                            f"a file needs no scheme")
        return "url"
    return "camera" if source.isdigit() else None


def stream_name(source: str) -> str:
    """A file name for a stream's outputs: `camera0`, or host, port and path without credentials
    (`rtsp://user:pw@cam:554/live/main` -> `cam-554-live-main`)."""
    if stream_kind(source) == "camera":
        return f"camera{int(source)}"
    parts = urlsplit(source)
    path = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", parts.path.strip("/"))
    words = [parts.hostname or "", str(parts.port or ""), *path.split("/")]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(w for w in words if w)).strip("._-")
    return name or "stream"


def parse_options(options: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` FFmpeg options (`rtsp_transport=tcp`) as a dict; a malformed one is a ConfigError."""
    parsed = {}
    for option in options or []:
        key, sep, value = option.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_]+", key) or not value or ";" in value or "|" in value:
            raise ConfigError(f"--stream-option {option!r}: write KEY=VALUE, an FFmpeg option such as rtsp_transport=tcp")
        parsed[key] = value
    return parsed


def open_capture(source: str, options: dict[str, str], timeout_s: float) -> object | None:
    """An opened cv2.VideoCapture of a stream or camera, or None; FFmpeg `options` apply to this open only.

    OpenCV's and FFmpeg's own messages about failed tries are silenced (FFmpeg's from the first open
    on, unless OPENCV_FFMPEG_LOGLEVEL is set): every try of a reconnection would print them, and the
    one line this module logs says what happened.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        if stream_kind(source) == "camera":
            cap = cv2.VideoCapture(int(source))
        else:
            ms = int(max(0.5, timeout_s) * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(READ_TIMEOUT_S * 1000)]
            if options and source.lower().startswith("rtsp") and not {"rtsp_transport", "rtsp_flags"} & set(options):
                options = {"rtsp_flags": "prefer_tcp", **options}  # OpenCV's own default, lost once options are given
            with _ENV_LOCK:
                saved = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS")
                if options:
                    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "|".join(f"{k};{v}" for k, v in options.items())
                try:
                    cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
                finally:
                    if saved is None:
                        os.environ.pop("OPENCV_FFMPEG_CAPTURE_OPTIONS", None)
                    else:
                        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = saved
    finally:
        cv2.utils.logging.setLogLevel(level)
    if cap.isOpened():
        return cap
    cap.release()
    return None


def quiet_read(cap: object) -> tuple[bool, np.ndarray | None]:
    """`cap.read()` without OpenCV's warning when a stalled read times out (the loss is logged on one line)."""
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        return cap.read()
    finally:
        cv2.utils.logging.setLogLevel(level)


class StreamClock:
    """Numbers (from 1) and timestamps (s since the first frame) of a stream's frames; see the module."""

    def __init__(self, fps: float) -> None:
        self.fps = self.rate = fps  # rate: frames per wall-clock second, as measured over the stream
        self.pace: deque[float] = deque(maxlen=64)  # wall seconds per frame number, of the latest frames
        self.last, self.last_time, self.last_wall, self.last_ms = 0, 0.0, 0.0, -1.0
        self.base: tuple[int, float, float | None, float] | None = None  # a connection's first (number, time, ms, wall)

    def restart(self) -> None:
        """The next frame comes over a new connection, its timestamps on a new origin. The gap is
        numbered at the rate frames arrived at (the median pace, which the burst of frames FFmpeg reads
        while opening does not skew); MJPEG over HTTP has no rate of its own, FFmpeg says 25."""
        if len(self.pace) >= 5 and median(self.pace) > 0:
            self.rate = 1 / median(self.pace)
        self.base = None

    def place(self, ms: float | None, wall: float) -> tuple[int, float]:
        ms = ms if ms is not None and math.isfinite(ms) and ms >= 0 else None
        if self.base is None:
            gap = wall - self.last_wall
            number, at = (1, 0.0) if self.last == 0 else (self.last + max(1, round(gap * self.rate)), self.last_time + gap)
            self.base = (number, at, ms, wall)
        else:
            first, at0, ms0, wall0 = self.base
            if ms0 is None or ms is None:  # no timestamps: arrival order
                number, at = self.last + 1, at0 + wall - wall0
            else:
                at = at0 + (ms - ms0) / 1000
                number = first + round((ms - ms0) / 1000 * self.fps)
                if ms <= self.last_ms or number - self.last > self.fps * (wall - self.last_wall + 2):
                    self.restart()  # timestamps went back or leapt ahead of the clock: a new origin
                    return self.place(ms, wall)
        number = max(number, self.last + 1)
        if self.base[0] != number:  # not a connection's first frame
            self.pace.append((wall - self.last_wall) / (number - self.last))
        self.last, self.last_time, self.last_wall, self.last_ms = number, at, wall, ms if ms else -1.0
        return self.last, at


class StreamCapture:
    """A stream or camera, opened now (a URL is tried for `reconnect_s` with backoff, a camera once)
    and re-opened for up to `reconnect_s` whenever it stops or errs; `frames()` yields
    (number, image, timestamp, captured) until it stays away that long. `reconnect_s=0` never re-opens."""

    def __init__(self, source: str, reconnect_s: float = DEFAULT_RECONNECT_S, options: dict[str, str] | None = None) -> None:
        import cv2

        if not (math.isfinite(reconnect_s) and reconnect_s >= 0):
            raise ConfigError(f"--reconnect-s = {reconnect_s} must be a number of seconds >= 0")
        self.source, self.reconnect_s, self.options = source, reconnect_s, dict(options or {})
        self.camera = stream_kind(source) == "camera"
        self.gaps: list[tuple[int, int, float]] = []  # (last frame before, first frame after, seconds)
        self.cap = open_capture(source, self.options, reconnect_s) if self.camera else self._reopen(time.monotonic())
        if self.cap is None and self.camera:
            raise DataError(f"camera {source}: cannot open it (no camera with this index, or it is busy)")
        if self.cap is None:
            raise DataError(f"{source}: no stream could be opened in {reconnect_s:g} s of trying; check the address and "
                            f"that the server or camera is up, or allow longer with --reconnect-s")
        fps, count = self.cap.get(cv2.CAP_PROP_FPS), self.cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.fps = fps if fps and 1.0 <= fps <= 240.0 else 0.0  # 0: none usable
        # A recording (its length known: a video over HTTP, an HLS VOD playlist) is read once, like a
        # file: re-opening it would play it again from the start
        self.recording = 0 < count < 1e9

    def _reopen(self, since: float) -> object | None:
        """A new capture, tried with backoff until `reconnect_s` after `since`; None when none came."""
        wait, deadline = BACKOFF[0], since + self.reconnect_s
        while True:
            cap = open_capture(self.source, self.options, min(10.0, deadline - time.monotonic()))
            if cap is not None or time.monotonic() + wait > deadline:
                return cap
            time.sleep(wait)
            wait = min(wait * BACKOFF[1], BACKOFF[2])

    def frames(self) -> Iterator[tuple[int, np.ndarray, float, float]]:
        import cv2

        clock, lost = StreamClock(self.fps or 30.0), None  # lost: (last frame, its arrival, when the loss was seen)
        try:
            while self.cap is not None:
                ok, image = quiet_read(self.cap)
                now = time.monotonic()
                if ok and image is not None:
                    number, at = clock.place(self.cap.get(cv2.CAP_PROP_POS_MSEC) if not self.camera else None, now)
                    if lost is not None:
                        self.gaps.append((lost[0], number, now - lost[1]))
                        log.warning(f"{self.source}: stream lost after frame {lost[0]}, back after {now - lost[1]:.1f} s "
                                    f"at frame {number}")
                        lost = None
                    yield number, image, at, now
                    continue
                self.cap.release()
                lost = lost or (clock.last, clock.last_wall, now)
                self.cap = self._reopen(lost[2]) if self.reconnect_s > 0 and not self.recording else None
                clock.restart()
            if lost is not None and self.reconnect_s > 0 and not self.recording:
                log.warning(f"{self.source}: stream ended after frame {lost[0]} (no answer for {self.reconnect_s:g} s)")
        finally:
            self.release()

    def release(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None
