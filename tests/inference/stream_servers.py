"""Live streams served on loopback by the tests themselves: MJPEG over HTTP (multipart/x-mixed-replace)
and MPEG-TS over HTTP (written with PyAV), each from a thread on 127.0.0.1 and a free port.

The MJPEG server plays like a camera: frame i is due `i / fps` seconds after the first request, and a
connection that starts late begins at the frame due then. `down=(a, b)` cuts the stream from a to b
seconds (open connections are closed, new ones refused), as a camera whose network drops;
`stall_after=k` holds the first connection open without a byte more after k frames (a hung link).
"""

from __future__ import annotations

import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

BOUNDARY = "frame"


def numbered_frames(count: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    """Frames that say their 0-based index (up to 255): its high and low 4 bits as the gray levels
    of the left and right halves (`frame_index` reads it back, through JPEG)."""
    frames = []
    for i in range(count):
        image = np.full((size[1], size[0], 3), 8 + 16 * (i >> 4), np.uint8)
        image[:, size[0] // 2:] = 8 + 16 * (i & 15)
        frames.append(image)
    return frames


def frame_index(image: np.ndarray) -> int:
    w = image.shape[1]
    high, low = (round((float(np.median(half)) - 8) / 16) for half in (image[:, : w // 2 - 4], image[:, w // 2 + 4:]))
    return 16 * high + low


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class LoopbackServer:
    """A thread serving one stream at http://127.0.0.1:<free port>/<path>; a context manager."""

    path = "/stream"

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.requests += 1
                owner.agents.append(self.headers.get("User-Agent", ""))
                owner.handle(self)

            def log_message(self, *args) -> None:
                pass

        self.requests = 0
        self.agents: list[str] = []  # the User-Agent of every request
        self.stopped = threading.Event()
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class MjpegServer(LoopbackServer):
    """A camera of `frames` at `fps` as multipart JPEG parts; the response ends after the last frame."""

    path = "/stream.mjpg"

    def __init__(self, frames: list[np.ndarray], fps: float, down: tuple[float, float] | None = None,
                 stall_after: int | None = None) -> None:
        super().__init__()
        self.stall_after = stall_after
        self.parts = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes() for f in frames]
        self.fps, self.down, self.t0 = fps, down, None
        self.sent: list[int] = []  # indices of the frames sent, in order

    def _clock(self) -> float:
        self.t0 = time.monotonic() if self.t0 is None else self.t0
        return time.monotonic() - self.t0

    def _is_down(self, at: float) -> bool:
        return self.down is not None and self.down[0] <= at < self.down[1]

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        now = self._clock()
        start = int(now * self.fps)
        if self._is_down(now) or start >= len(self.parts):
            request.send_error(503 if self._is_down(now) else 404)
            return
        request.send_response(200)
        request.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        request.end_headers()
        for i in range(start, len(self.parts)):
            wait = self.t0 + i / self.fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if self.stopped.is_set() or self._is_down(time.monotonic() - self.t0):
                break
            if len(self.sent) == self.stall_after and self.requests == 1:
                self.stopped.wait(30)  # silent, the connection left open
                return
            part = self.parts[i]
            head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(part)}\r\n\r\n".encode()
            try:
                request.wfile.write(head + part + b"\r\n")
                request.wfile.flush()
            except OSError:
                return
            self.sent.append(i)
        request.close_connection = True


def mpegts_bytes(frames: list[np.ndarray], fps: int) -> bytes:
    """The frames as an MPEG-2 video in an MPEG-TS container, encoded with PyAV."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mpegts") as container:
        stream = container.add_stream("mpeg2video", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"qmin": "1", "qmax": "2", "bf": "0"}  # fine and in order: every frame keeps its gray level
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


class MpegTsServer(LoopbackServer):
    """An MPEG-TS stream over HTTP, sent once in 188-byte packets paced to play at about `speed` times real time."""

    path = "/stream.ts"

    def __init__(self, frames: list[np.ndarray], fps: int, speed: float = 1.0) -> None:
        super().__init__()
        self.data, self.seconds = mpegts_bytes(frames, fps), len(frames) / fps / speed

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        if self.requests > 1:  # played once, like a live source: over when it ends
            request.send_error(404)
            return
        request.send_response(200)
        request.send_header("Content-Type", "video/mp2t")
        request.end_headers()
        chunk = 188 * 32
        pieces = range(0, len(self.data), chunk)
        t0 = time.monotonic()
        for k, at in enumerate(pieces):
            wait = t0 + self.seconds * k / len(pieces) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if self.stopped.is_set():
                return
            try:
                request.wfile.write(self.data[at:at + chunk])
            except OSError:
                return
        request.close_connection = True


class HlsServer(LoopbackServer):
    """An HLS recording (a VOD playlist of MPEG-TS segments written with PyAV into `folder`), served
    as static files; `paths` lists what was asked for."""

    path = "/index.m3u8"

    def __init__(self, frames: list[np.ndarray], fps: int, folder: Path) -> None:
        import av

        super().__init__()
        self.folder, self.paths = Path(folder), []
        options = {"hls_time": "0.4", "hls_list_size": "0", "hls_playlist_type": "vod"}
        with av.open(str(self.folder / "index.m3u8"), "w", format="hls", options=options) as container:
            stream = container.add_stream("mpeg2video", rate=fps)
            stream.height, stream.width = frames[0].shape[:2]
            stream.pix_fmt, stream.options = "yuv420p", {"qmin": "1", "qmax": "2", "bf": "0"}
            for image in [*frames, None]:
                for packet in stream.encode(None if image is None else av.VideoFrame.from_ndarray(image, format="bgr24")):
                    container.mux(packet)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        self.paths.append(request.path)
        file = self.folder / request.path.lstrip("/")
        if "/" in request.path.lstrip("/") or not file.is_file():
            request.send_error(404)
            return
        data = file.read_bytes()
        request.send_response(200)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


class UdpSender:
    """MPEG-TS in 1316-byte datagrams to udp://127.0.0.1:<free port>, the clip looped at real time
    from a thread until the context ends (UDP has no end of stream)."""

    def __init__(self, frames: list[np.ndarray], fps: int) -> None:
        self.data, self.seconds = mpegts_bytes(frames, fps), len(frames) / fps
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.url = f"udp://127.0.0.1:{self.port}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        pieces = range(0, len(self.data), 1316)
        while not self.stopped.is_set():
            t0 = time.monotonic()
            for k, at in enumerate(pieces):
                wait = t0 + self.seconds * k / len(pieces) - time.monotonic()
                if self.stopped.wait(wait) if wait > 0 else self.stopped.is_set():
                    break
                sock.sendto(self.data[at:at + 1316], ("127.0.0.1", self.port))
        sock.close()

    def __enter__(self) -> UdpSender:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(5)


class SilentServer:
    """A port that accepts connections and never answers (a stream URL that hangs); a context manager."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/stream.mjpg"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
