"""`fairmot track` writes as it goes: a killed run keeps every finished frame's rows, SIGTERM/SIGINT
stop cleanly, and the frames' tracks can be fed to stdout or a TCP consumer as JSON lines."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fairmot.config import TrackParams
from fairmot.data.formats.mot import result_line
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.settings import InferenceSettings
from fairmot.inference.sources import open_source
from stages.app import app
from tests.inference.clips import count_frames

REPO = Path(__file__).resolve().parents[2]
K = 6  # candidates per frame: a few rows per frame keep the tracker fast


@pytest.fixture
def few_params(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"gpus": -1, "eval": {"warmup_frames": 1}, "track": {"conf_thres": 0.3, "K": K}}))
    return path


def _folder(path: Path, frames: int) -> Path:
    path.mkdir()
    for f in range(frames):
        img = np.full((96, 160, 3), 90, np.uint8)
        cv2.rectangle(img, (10 + f % 120, 20), (26 + f % 120, 60), (0, 0, 220), -1)
        cv2.imwrite(str(path / f"{f + 1}.png"), img)
    return path


def _expected_lines(checkpoint, source: Path, last: int) -> list[str]:
    """The rows a run to completion writes for frames 1..last (the tracker is online: later frames change nothing)."""
    runner = OnlineTracker.from_checkpoint(checkpoint, TrackParams(conf_thres=0.3, K=K), InferenceSettings(device="cpu"))
    frames = [f for f in open_source(source) if f.number <= last]
    return [result_line(row) for _, tracks in runner.run_numbered(frames, 30) for row in tracks.rows()]


def _start(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "stages", "track", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_frames(path: Path, frames: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if path.exists() and len({line.split(",")[0] for line in path.read_text().splitlines()}) >= frames:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never held {frames} frames: {proc.poll()} {proc.stderr.read() if proc.poll() else ''}")


def _whole_frames(text: str) -> tuple[list[str], int]:
    lines = text.splitlines(keepends=True)
    assert all(line.endswith("\n") and len(line.split(",")) == 10 for line in lines)  # only whole lines
    return lines, max(int(line.split(",")[0]) for line in lines)


def test_a_killed_run_keeps_every_row_of_every_finished_frame(checkpoint, few_params, tmp_path):
    source = _folder(tmp_path / "shots", 200)
    out = tmp_path / "out"
    proc = _start(source, "--out", out, "--model", checkpoint, "--params", few_params, "--no-video")
    _wait_for_frames(out / "shots.txt.partial", 4, proc)
    proc.kill()
    proc.wait()
    assert not (out / "shots.txt").exists()  # a cut result never looks complete
    lines, last = _whole_frames((out / "shots.txt.partial").read_text())
    assert last < 200
    assert lines == _expected_lines(checkpoint, source, last)


def test_sigterm_stops_after_the_current_frame_with_every_file_valid(checkpoint, few_params, tmp_path):
    source = _folder(tmp_path / "shots", 200)
    out = tmp_path / "out"
    proc = _start(source, "--out", out, "--model", checkpoint, "--params", few_params, "--stats-json", out / "stats.json")
    _wait_for_frames(out / "shots.txt.partial", 3, proc)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["stopped_by"] == "SIGTERM" and 3 <= stats["frames"] < 200
    assert f"{stats['frames']} frames, " in stdout and ", stopped by SIGTERM: " in stdout
    assert not (out / "shots.txt.partial").exists()
    lines, last = _whole_frames((out / "shots.txt").read_text())
    assert last == stats["frames"] and lines == _expected_lines(checkpoint, source, last)
    assert count_frames(out / "shots.mp4") == stats["frames"] == stats["video_frames"]  # a playable mp4
    manifest = json.loads((out / ".fairmot-outputs.json").read_text())["files"]
    assert sorted(manifest) == ["shots.mp4", "shots.txt", "stats.json"]


def test_a_clean_run_leaves_what_a_one_shot_write_left(checkpoint, few_params, tmp_path):
    source = _folder(tmp_path / "shots", 5)
    done = CliRunner().invoke(app, ["track", str(source), "--out", str(tmp_path / "out"), "--model", str(checkpoint),
                                    "--params", str(few_params), "--stats-json", str(tmp_path / "stats.json")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "shots.txt").read_text() == "".join(_expected_lines(checkpoint, source, 5))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".fairmot-outputs.json", "shots.mp4", "shots.txt"]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames"] == 5 and stats["dropped"] == 0 and stats["unreadable"] == 0 and stats["stopped_by"] is None
    assert 0 < stats["latency_ms_p50"] <= stats["latency_ms_p95"]
    assert f"latency p50 {stats['latency_ms_p50']:.1f} ms p95 {stats['latency_ms_p95']:.1f} ms, 0 dropped: " in done.stdout


def _feed(lines: list[dict], frames: int) -> list[tuple]:
    return [(line["frame"], t["id"], *t["box"], t["score"]) for line in lines[:frames] for t in line["tracks"]]


def test_jsonl_on_stdout_one_object_per_frame_summary_on_stderr(checkpoint, few_params, tmp_path):
    source = _folder(tmp_path / "shots", 4)
    done = CliRunner().invoke(app, ["track", str(source), "--out", str(tmp_path / "out"), "--model", str(checkpoint),
                                    "--params", str(few_params), "--no-video", "--jsonl", "-"])
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["frame"] for line in lines] == [1, 2, 3, 4]
    assert [line["timestamp"] for line in lines] == pytest.approx([0, 1 / 30, 2 / 30, 3 / 30], abs=1e-6)
    rows = [tuple(map(float, line.split(",")[:7])) for line in (tmp_path / "out" / "shots.txt").read_text().splitlines()]
    np.testing.assert_allclose(np.array(_feed(lines, 4)), np.array(rows), atol=0.006)  # the file has 2 decimals
    assert done.stderr.startswith("4 frames, ")


def test_jsonl_to_a_tcp_consumer(checkpoint, few_params, tmp_path):
    source = _folder(tmp_path / "shots", 3)
    server = socket.create_server(("127.0.0.1", 0))
    received = bytearray()

    def consume():
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.extend(chunk)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    port = server.getsockname()[1]
    done = CliRunner().invoke(app, ["track", str(source), "--out", str(tmp_path / "out"), "--model", str(checkpoint),
                                    "--params", str(few_params), "--no-video", "--jsonl", f"tcp://127.0.0.1:{port}"])
    consumer.join(10)
    server.close()
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in received.decode().splitlines()]
    assert [line["frame"] for line in lines] == [1, 2, 3] and lines[0]["tracks"][0].keys() == {"id", "box", "score"}
    assert done.stdout.startswith("3 frames, ")


def test_jsonl_to_a_port_nobody_listens_on_is_one_line(checkpoint, few_params, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    done = CliRunner().invoke(app, ["track", str(_folder(tmp_path / "shots", 2)), "--out", str(tmp_path / "out"),
                                    "--model", str(checkpoint), "--params", str(few_params), "--jsonl", f"tcp://127.0.0.1:{port}"])
    assert done.exit_code == 1
    assert done.stderr.startswith(f"error: --jsonl tcp://127.0.0.1:{port}: cannot connect (")
    assert not (tmp_path / "out" / "shots.txt").exists() and not (tmp_path / "out" / "shots.txt.partial").exists()


def test_show_without_a_display_warns_once_and_tracks(checkpoint, few_params, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    done = CliRunner().invoke(app, ["track", str(_folder(tmp_path / "shots", 2)), "--out", str(tmp_path / "out"),
                                    "--model", str(checkpoint), "--params", str(few_params), "--no-video", "--show"])
    assert done.exit_code == 0, done.output
    assert done.stderr.splitlines() == ["warning: --show: no display (DISPLAY and WAYLAND_DISPLAY are unset); "
                                        "tracking without a window"]
    assert (tmp_path / "out" / "shots.txt").exists()


def test_show_with_a_display_nobody_serves_warns_instead_of_aborting(checkpoint, few_params, tmp_path, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":97")  # OpenCV's Qt would abort the process on it
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    done = CliRunner().invoke(app, ["track", str(_folder(tmp_path / "shots", 2)), "--out", str(tmp_path / "out"),
                                    "--model", str(checkpoint), "--params", str(few_params), "--no-video", "--show"])
    assert done.exit_code == 0, done.output
    assert done.stderr.startswith("warning: --show: no window can open here (") and len(done.stderr.splitlines()) == 1
    assert done.stdout.startswith("2 frames, ")


def test_a_tcp_consumer_that_goes_away_ends_the_feed_not_the_run(checkpoint, few_params, tmp_path):
    server = socket.create_server(("127.0.0.1", 0))

    def read_one_line_and_leave():
        conn, _ = server.accept()
        with conn:
            conn.recv(1)

    consumer = threading.Thread(target=read_one_line_and_leave, daemon=True)
    consumer.start()
    port = server.getsockname()[1]
    done = CliRunner().invoke(app, ["track", str(_folder(tmp_path / "shots", 8)), "--out", str(tmp_path / "out"),
                                    "--model", str(checkpoint), "--params", str(few_params), "--no-video",
                                    "--jsonl", f"tcp://127.0.0.1:{port}"])
    consumer.join(10)
    server.close()
    assert done.exit_code == 0, done.output
    assert done.stderr.startswith(f"warning: --jsonl tcp://127.0.0.1:{port}: the consumer went away at frame ")
    assert len(done.stderr.splitlines()) == 1 and "tracking went on without the feed" in done.stderr
    assert done.stdout.startswith("8 frames, ") and len((tmp_path / "out" / "shots.txt").read_text().splitlines()) > 8
