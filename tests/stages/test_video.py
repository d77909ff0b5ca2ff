"""The demo's annotated video: written whole or not at all; trails follow visible tracks."""

import cv2
import numpy as np
import pytest

from fairmot.errors import DataError
from fairmot.inference.video import AnnotatedVideo, Trails


def test_an_interrupted_video_leaves_no_file_behind(tmp_path):
    frame = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(KeyboardInterrupt), AnnotatedVideo(tmp_path / "v.mp4", 10) as video:
        video.write(frame, np.array([[5.0, 5, 10, 20]]), np.array([1]))
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_finished_video_holds_every_frame(tmp_path):
    frame = np.zeros((48, 64, 3), np.uint8)
    with AnnotatedVideo(tmp_path / "v.mp4", 10) as video:
        for _ in range(5):
            video.write(frame, np.array([[5.0, 5, 10, 20]]), np.array([1]), caption="x")
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    assert count == 5 and [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_a_video_without_frames_writes_nothing(tmp_path):
    with AnnotatedVideo(tmp_path / "v.mp4", 10):
        pass
    assert list(tmp_path.iterdir()) == []


def test_trails_keep_the_last_points_of_visible_tracks_only():
    trails = Trails(length=3)
    for step in range(5):
        points = trails.update([[10.0 * step, 0, 4, 8], [0, 0, 2, 2]], [1, 2] if step < 4 else [1])
    assert list(points) == [1]
    assert list(points[1]) == [(22.0, 8.0), (32.0, 8.0), (42.0, 8.0)]


def test_unwritable_video_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot write"), AnnotatedVideo(tmp_path / "v.mp4", 10) as video:
        video._tmp = tmp_path / "missing" / "deeper" / "v.mp4"  # OpenCV cannot open a file there
        video.write(np.zeros((48, 64, 3), np.uint8), np.zeros((0, 4)), np.zeros(0, int))


_KILLED = """
import sys, time
import numpy as np
from fairmot.inference.video import AnnotatedVideo
with AnnotatedVideo(sys.argv[1], 10) as video:
    video.write(np.zeros((48, 64, 3), np.uint8), np.array([[5.0, 5, 10, 20]]), np.array([1]))
    print("ready", flush=True)
    time.sleep(60)
"""


def test_what_a_killed_run_left_is_removed_by_the_next_video(tmp_path):
    """The temporary is pid-named (fairmot.io), so what `kill -9` left is reaped, not kept for a day."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(tmp_path / "v.mp4")], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]) == 1
    with AnnotatedVideo(tmp_path / "v.mp4", 10) as video:
        video.write(np.zeros((48, 64, 3), np.uint8), np.array([[5.0, 5, 10, 20]]), np.array([1]))
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_a_frame_of_another_size_is_resized_with_its_boxes(tmp_path):
    """cv2.VideoWriter drops a frame of another size without a word; it is resized, boxes along."""
    with AnnotatedVideo(tmp_path / "v.mp4", 10) as video:
        video.write(np.zeros((48, 64, 3), np.uint8), np.array([[5.0, 5, 10, 20]]), np.array([1]))
        video.write(np.zeros((96, 128, 3), np.uint8), np.array([[20.0, 20, 40, 40]]), np.array([1]))
        video.write(np.zeros((24, 16, 3), np.uint8), np.zeros((0, 4)), np.zeros(0, int))
    assert (video.frames, video.resized, video.size) == (3, 2, (64, 48))
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == 3


def test_boxes_of_a_resized_frame_are_scaled_with_it(tmp_path):
    with AnnotatedVideo(tmp_path / "v.mp4", 10) as video:
        video.write(np.zeros((48, 64, 3), np.uint8), np.array([[5.0, 5, 10, 20]]), np.array([1]))
        video.write(np.zeros((96, 128, 3), np.uint8), np.array([[20.0, 20, 40, 40]]), np.array([1]))
        assert list(video.trails.points[1]) == [(10.0, 25.0), (20.0, 30.0)]  # bottom centres in the video's pixels
