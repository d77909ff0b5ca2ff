"""Streams served on loopback by the test itself: every frame of a stream that ends, numbering on past
a 2 s drop, --live drops that keep latency bounded, clear errors for a silent URL and a missing camera;
globs and the names outputs get."""

import io
import logging
import os
import time

import cv2
import numpy as np
import pytest

from fairmot.errors import ConfigError, DataError
from fairmot.inference.readahead import ReadAhead
from fairmot.inference.sources import LIVE_QUEUE_SIZE, open_source, output_name
from fairmot.inference.streams import StreamClock, parse_options
from tests.inference.clips import gray, index_of, write_avi
from tests.inference.stream_servers import (
    HlsServer,
    MjpegServer,
    MpegTsServer,
    SilentServer,
    UdpSender,
    frame_index,
    mpegts_bytes,
    numbered_frames,
)


def test_an_mjpeg_stream_that_ends_gives_every_frame_numbered_in_order(caplog):
    caplog.set_level(logging.WARNING, "fairmot.inference.streams")
    with MjpegServer(numbered_frames(30), fps=30) as server:
        source = open_source(server.url, reconnect_s=0.5)
        frames = list(source)
    assert [(f.number, frame_index(f.image) + 1) for f in frames] == [(n, n) for n in range(1, 31)]
    assert all(b.timestamp > a.timestamp and b.captured > a.captured for a, b in zip(frames, frames[1:]))
    assert frames[0].timestamp == 0.0 and source.dropped == 0 and server.requests >= 2  # it tried to reconnect
    assert caplog.messages == [f"{server.url}: stream ended after frame 30 (no answer for 0.5 s)"]
    source.close()  # idempotent after the end


def test_an_mpegts_stream_over_http_is_numbered_by_its_timestamps():
    images = [np.full((48, 64, 3), 10 + 9 * i, np.uint8) for i in range(25)]
    import av

    reference = [f.to_ndarray(format="bgr24").mean() for f in av.open(io.BytesIO(mpegts_bytes(images, 25))).decode(video=0)]
    with MpegTsServer(images, fps=25, speed=2.0) as server:
        source = open_source(server.url, reconnect_s=0.3)
        frames = list(source)
    assert source.frame_rate == 25
    shown = [int(np.argmin([abs(f.image.mean() - r) for r in reference])) + 1 for f in frames]
    assert [f.number for f in frames] == list(range(1, 26)) and shown == list(range(1, 26))
    assert [round(f.timestamp, 3) for f in frames] == [round(i / 25, 3) for i in range(25)]  # the stream's clock


def test_an_hls_recording_is_read_once_like_a_file(tmp_path, caplog):
    """A VOD playlist knows its length: its end is the end, not a drop to reconnect after (that
    would play it again from the start)."""
    caplog.set_level(logging.WARNING, "fairmot.inference.streams")
    with HlsServer(numbered_frames(20), fps=25, folder=tmp_path) as server:
        start = time.monotonic()
        source = open_source(server.url, reconnect_s=5.0)
        frames = list(source)
        took = time.monotonic() - start
    assert [(f.number, frame_index(f.image) + 1) for f in frames] == [(n, n) for n in range(1, 21)]
    assert source.capture.recording and server.paths.count("/index.m3u8") == 1 and took < 3
    assert caplog.messages == []


def test_mpegts_over_udp_is_numbered_from_the_first_frame_received():
    """UDP has no start: the reader joins a looping broadcast wherever it is, numbers from there by
    the stream's timestamps (number and content advance together) and stops when closed."""
    with UdpSender(numbered_frames(100), fps=25) as sender:
        source = open_source(sender.url, reconnect_s=2.0)
        frames = []
        for frame in source:
            frames.append((frame.number, frame_index(frame.image) + 1, frame.timestamp))
            if len(frames) == 30:
                break
        source.close()
    offset = frames[0][1] - 1
    assert [(n, true - offset) for n, true, _ in frames] == [(n, n) for n in range(1, 31)]
    assert [round(t, 2) for *_, t in frames] == [round(i / 25, 2) for i in range(30)]
    assert source.frame_rate == 25 and not source._reader.thread.is_alive()


# Frames of slack for numbers across a gap (wall clock x arrival pace): on a loaded machine the test
# server's own thread falls behind its clock by a few frames (seen: 7 at load average 8 on 2 cores)
SLACK = 8


def numbered_until(source, last: int) -> list[tuple[int, int]]:
    """(number given, true 1-based frame) of a source's frames up to number `last`; then the source is closed."""
    frames = []
    for frame in source:
        frames.append((frame.number, frame_index(frame.image) + 1))
        if frame.number >= last:
            break
    source.close()
    return frames


def test_a_stream_that_drops_for_two_seconds_reconnects_and_numbers_on_past_the_gap(caplog):
    """A 20 fps camera cut from 1 s to 3 s: the frames after the gap are numbered by the wall clock
    across it, close to their true place (a frame's gray level says which it is), not 21, 22, ..."""
    caplog.set_level(logging.WARNING, "fairmot.inference.streams")
    with MjpegServer(numbered_frames(100), fps=20, down=(1.0, 3.0)) as server:
        source = open_source(server.url, reconnect_s=4.0)
        frames = numbered_until(source, 95)
        assert not source._reader.thread.is_alive() and source.capture.cap is None  # stopped, released
    numbers = [n for n, _ in frames]
    assert numbers[:20] == list(range(1, 21)) and numbers == sorted(set(numbers))
    before, after = [f for f in frames if f[1] <= 20], [f for f in frames if f[1] > 20]
    assert len(before) == 20 and all(n == true for n, true in before)
    assert after[0][1] >= 60  # the camera went on while the network was down
    assert all(abs(n - true) <= SLACK for n, true in after), after[:5]
    [(last, first, seconds)] = source.capture.gaps
    assert last == 20 and abs(first - after[0][1]) <= SLACK and 2.0 <= seconds <= 4.0
    assert len(caplog.messages) == 1
    assert caplog.messages[0].startswith(f"{server.url}: stream lost after frame 20, back after ")
    assert caplog.messages[0].endswith(f" s at frame {first}")


def test_a_stream_that_hangs_is_taken_as_lost_after_the_read_timeout(monkeypatch, capfd):
    """Silent for 1 s (the read timeout, shortened here): lost, re-opened; the gap counts from the last
    frame, and OpenCV's own timeout warning stays off stderr."""
    monkeypatch.setattr("fairmot.inference.streams.READ_TIMEOUT_S", 1.0)
    with MjpegServer(numbered_frames(80), fps=20, stall_after=10) as server:
        source = open_source(server.url, reconnect_s=3.0)
        frames = numbered_until(source, 50)
    [(last, first, seconds)] = source.capture.gaps
    assert frames[:10] == [(n, n) for n in range(1, 11)] and last == 10 and 0.9 <= seconds < 2.5
    assert server.requests == 2 and all(abs(n - true) <= SLACK for n, true in frames[10:]), frames[10:15]
    assert "timeout" not in capfd.readouterr().err


def test_live_drops_stale_frames_when_the_consumer_is_slower_than_the_stream():
    """60 frames at 60 fps, consumed at 20 fps: the queue stays at LIVE_QUEUE_SIZE, every consumed
    frame is recent and keeps its true number; the others are counted as dropped."""
    with MjpegServer(numbered_frames(60), fps=60) as server:
        source = open_source(server.url, live=True, reconnect_s=0.2)
        consumed, ages, queued = [], [], []
        for frame in source:
            ages.append(time.monotonic() - frame.captured)
            queued.append(len(source._reader.queue))
            consumed.append((frame.number, frame_index(frame.image) + 1))
            time.sleep(0.05)
    assert all(n == true for n, true in consumed)
    assert source.dropped > 10 and len(consumed) + source.dropped == 60
    assert max(queued) <= LIVE_QUEUE_SIZE + 1  # + the end marker
    assert max(ages) < 0.3, ages  # at most the queue's frames ahead: 2 x 50 ms


def test_the_read_ahead_queue_of_a_file_waits_instead_of_dropping():
    reader = ReadAhead(iter(range(50)), size=3)
    time.sleep(0.2)
    assert len(reader.queue) == 3  # the reader waits for room
    assert list(reader) == list(range(50)) and reader.dropped == 0


def test_an_error_in_the_reader_reaches_the_consumer_after_the_frames_before_it():
    def items():
        yield 1
        raise DataError("x.avi: broken")

    got = []
    with pytest.raises(DataError, match="x.avi: broken"):
        for item in ReadAhead(items()):
            got.append(item)
    assert got == [1]


def test_file_frames_carry_their_timestamp_and_live_is_refused_for_files(tmp_path):
    source = open_source(write_avi(tmp_path / "clip.avi", frames=5))
    frames = list(source)
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4]) and all(f.captured for f in frames)
    assert source.dropped == 0
    with pytest.raises(ConfigError, match=f"{tmp_path / 'clip.avi'} is a file or folder, every frame of which is tracked"):
        open_source(tmp_path / "clip.avi", live=True)


def test_a_glob_reads_its_images_in_natural_order(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for n in range(1, 13):
        cv2.imwrite(str(folder / f"f{n}.jpg"), np.full((24, 32, 3), gray(n), np.uint8))
    (folder / "notes.txt").write_text("not a frame")
    pattern = f"{folder}/f*.jpg"
    frames = list(open_source(pattern))
    assert [(f.number, index_of(f.image)) for f in frames] == [(n, n) for n in range(1, 13)]
    assert output_name(pattern) == "frames" and output_name(f"{tmp_path}/seq*/img1/*.jpg") == tmp_path.name
    with pytest.raises(DataError, match=r"f\*\.png: this pattern matches no images"):
        open_source(f"{folder}/f*.png")


@pytest.mark.parametrize(("source", "name"), [
    ("http://127.0.0.1:8080/stream.mjpg", "127.0.0.1-8080-stream"),
    ("rtsp://user:secret@cam.local:554/live/main", "cam.local-554-live-main"),
    ("udp://@239.0.0.1:1234", "239.0.0.1-1234"),
    ("https://example.com/hls/index.m3u8", "example.com-hls-index"),
    ("0", "camera0"),
])
def test_streams_and_cameras_get_file_names_without_credentials(source, name):
    assert output_name(source) == name


def test_stream_options_reach_ffmpeg_for_that_open_only():
    with MjpegServer(numbered_frames(30), fps=30) as server:
        source = open_source(server.url, reconnect_s=0, options={"user_agent": "fairmot-test/1"})
        open_source(server.url, reconnect_s=0).close()
        assert len(list(source)) == 30
    assert server.agents[0] == "fairmot-test/1" and server.agents[1] != "fairmot-test/1"
    assert "OPENCV_FFMPEG_CAPTURE_OPTIONS" not in os.environ


def test_an_unknown_scheme_and_a_bad_stream_option_are_one_line():
    with pytest.raises(DataError, match=r"ftp://x/a.mp4: ftp:// is not a stream this reads \(rtsp, "):
        open_source("ftp://x/a.mp4")
    assert parse_options(["rtsp_transport=tcp", "stimeout=5000000"]) == {"rtsp_transport": "tcp", "stimeout": "5000000"}
    with pytest.raises(ConfigError, match="--stream-option 'rtsp_transport': write KEY=VALUE"):
        parse_options(["rtsp_transport"])


def test_a_camera_index_without_a_camera_is_one_line():
    if cv2.VideoCapture(7).isOpened():
        pytest.skip("this machine has a camera 7")
    with pytest.raises(DataError) as err:
        open_source("7")
    assert str(err.value) == "camera 7: cannot open it (no camera with this index, or it is busy)"


def test_a_url_that_never_answers_fails_after_the_reconnect_time():
    with SilentServer() as server:
        start = time.monotonic()
        with pytest.raises(DataError) as err:
            open_source(server.url, reconnect_s=1.0)
        took = time.monotonic() - start
    assert str(err.value) == (f"{server.url}: no stream could be opened in 1 s of trying; check the address and that "
                              "the server or camera is up, or allow longer with --reconnect-s")
    assert 0.9 <= took < 4


def test_the_stream_clock_numbers_by_timestamps_and_by_wall_clock_across_gaps():
    clock = StreamClock(fps=10)
    assert [clock.place(ms, wall) for ms, wall in [(0, 100.0), (100, 100.1), (300, 100.3)]] == \
        [(1, 0.0), (2, 0.1), (4, 0.3)]  # a frame the stream skipped keeps its number free
    clock.restart()  # reconnected 2 s later: timestamps from 0 again
    assert clock.place(0, 102.3) == (24, 2.3)
    assert clock.place(100, 102.4) == (25, 2.4)
    assert clock.place(50, 102.5)[0] == 26  # timestamps went back: a new origin, still increasing
    assert clock.place(None, 102.6)[0] == 27  # no timestamp: arrival order
