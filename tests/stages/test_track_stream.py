"""`fairmot track URL`: a live MJPEG stream served on loopback by the test is tracked end to end, and a
URL that never answers or a camera that is not there is one line and exit 1."""

import cv2
import numpy as np
from typer.testing import CliRunner

from stages.app import app
from tests.inference.stream_servers import MjpegServer, SilentServer


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def walking_box(frames: int) -> list[np.ndarray]:
    images = []
    for f in range(frames):
        img = np.full((96, 160, 3), 90, np.uint8)
        cv2.rectangle(img, (10 + 4 * f, 20), (26 + 4 * f, 60), (0, 0, 220), -1)
        images.append(img)
    return images


def test_track_reads_an_mjpeg_stream_over_http(checkpoint, params_file, tmp_path):
    with MjpegServer(walking_box(12), fps=24) as server:
        done = invoke("track", server.url, "--out", tmp_path / "out", "--model", checkpoint, "--params", params_file,
                      "--reconnect-s", "0.3")
    port = server.url.split(":")[2].split("/")[0]
    result = tmp_path / "out" / f"127.0.0.1-{port}-stream.txt"
    assert done.exit_code == 0, done.output
    assert "12 frames" in done.output and f"{result}" in done.output
    rows = [line.split(",") for line in result.read_text().splitlines()]
    assert rows and {int(r[0]) for r in rows} <= set(range(1, 13))
    assert (tmp_path / "out" / f"127.0.0.1-{port}-stream.mp4").stat().st_size > 0


def test_track_of_a_url_that_never_answers_is_one_line(checkpoint, params_file, tmp_path):
    with SilentServer() as server:
        done = invoke("track", server.url, "--out", tmp_path / "out", "--model", checkpoint, "--params", params_file,
                      "--reconnect-s", "0.5")
    assert done.exit_code == 1
    assert done.output.strip() == (f"error: {server.url}: no stream could be opened in 0.5 s of trying; check the address "
                                   "and that the server or camera is up, or allow longer with --reconnect-s")
    assert not (tmp_path / "out").exists()


def test_track_of_a_missing_camera_and_of_live_on_a_file_are_one_line(checkpoint, params_file, tmp_path):
    done = invoke("track", "7", "--model", checkpoint, "--params", params_file, "--out", tmp_path / "out")
    assert done.exit_code == 1 and done.output.strip() == (
        "error: camera 7: cannot open it (no camera with this index, or it is busy)")
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"")
    done = invoke("track", clip, "--live", "--model", checkpoint, "--params", params_file, "--out", tmp_path / "out")
    assert done.exit_code == 1 and f"--live drops frames to keep up with a stream or camera; {clip} is a file" in done.output
