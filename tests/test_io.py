"""Atomic writes: permissions follow the umask, and temporaries of killed runs do not pile up."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fairmot import io
from fairmot.io import atomic_dir, atomic_file, remove_stale_temps, write_json


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set a umask for one test and restore the caller's afterwards."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize("mask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775),
                                                        (0o077, 0o600, 0o700)])
def test_outputs_get_the_modes_the_umask_gives_an_ordinary_write(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    write_json(tmp_path / "metrics.json", {"a": 1})
    with atomic_file(tmp_path / "model.pt", "wb") as handle:
        handle.write(b"\x00" * 10)
    with atomic_dir(tmp_path / "dataset") as tmp:
        (tmp / "seq").mkdir()
        (tmp / "seq" / "gt.txt").write_text("1\n")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert mode_of(plain) == file_mode  # the reference: what an ordinary write gets
    assert mode_of(tmp_path / "metrics.json") == file_mode
    assert mode_of(tmp_path / "model.pt") == file_mode
    assert mode_of(tmp_path / "dataset") == dir_mode
    assert mode_of(tmp_path / "dataset" / "seq") == dir_mode


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


_WRITER = """
import sys, time
from pathlib import Path
from fairmot.io import atomic_dir, atomic_file
target, kind = Path(sys.argv[1]), sys.argv[2]
if kind == "file":
    with atomic_file(target, "wb") as handle:
        handle.write(b"x" * 100000); handle.flush()
        print("ready", flush=True); time.sleep(60)
else:
    with atomic_dir(target) as tmp:
        (tmp / "img.jpg").write_bytes(b"x" * 1000)
        print("ready", flush=True); time.sleep(60)
"""


def start_writer(target: Path, kind: str) -> subprocess.Popen:
    """A process stopped in the middle of an atomic write of `target`."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target), kind], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path, kind):
    target = tmp_path / ("model_last.pt" if kind == "file" else "dataset")
    kill9(start_writer(target, kind))
    first = temps(tmp_path)
    assert len(first) == 1  # what `kill -9` used to leave behind forever
    kill9(start_writer(target, kind))
    second = temps(tmp_path)
    assert len(second) == 1 and second != first  # the second run removed the first's
    if kind == "file":
        with atomic_file(target, "wb") as handle:
            handle.write(b"done")
    else:
        with atomic_dir(target) as tmp:
            (tmp / "ok").write_text("done")
    assert temps(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_live_writer_and_other_targets_keep_their_temporaries(tmp_path):
    target = tmp_path / "model_last.pt"
    live = start_writer(target, "file")
    other = start_writer(tmp_path / "model_last.pt.bak", "file")  # a name that starts like the target's
    dead = start_writer(tmp_path / "model.pt", "file")
    kill9(dead)
    try:
        before = temps(tmp_path)
        assert len(before) == 3
        with atomic_file(target, "wb") as handle:
            handle.write(b"done")
        assert temps(tmp_path) == before  # the live writer's, the other target's and model.pt's remain
        assert target.read_bytes() == b"done"
    finally:
        for proc in (live, other):
            kill9(proc)


def test_temporaries_of_unknown_owners_go_only_once_past_the_age_bound(tmp_path):
    target = tmp_path / "model_last.pt"
    legacy = tmp_path / ".model_last.pt.k2j4_x9q.tmp"  # tempfile.mkstemp's naming, before pids were recorded
    foreign = tmp_path / ".model_last.pt.0123abcd-4242.deadbeef.tmp"  # another host: its pid cannot be checked
    fresh_legacy = tmp_path / ".model_last.pt.a1b2c3d4.tmp"
    for path in (legacy, foreign, fresh_legacy):
        path.write_bytes(b"x")
    old = time.time() - io.STALE_AFTER - 60
    os.utime(legacy, (old, old))
    os.utime(foreign, (old, old))
    removed = remove_stale_temps(target)
    assert sorted(removed) == sorted([legacy, foreign])
    assert temps(tmp_path) == [fresh_legacy.name]


def test_a_replaced_folder_left_behind_by_an_interrupted_swap_is_removed(tmp_path):
    target = tmp_path / "labels"
    target.mkdir()
    (tmp_path / ".labels.old").mkdir()
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels"]
