"""Atomic writes: permissions follow the umask, and temporaries of killed runs do not pile up."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fairmot import io
from fairmot.errors import OutputError
from fairmot.io import atomic_dir, atomic_file, remove_stale_temps, write_json
from fairmot.io import temps as temp_names


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


def test_a_replaced_folder_left_behind_by_an_interrupted_swap_is_removed_but_no_old_name_is(tmp_path):
    """The swap moves the replaced folder to a pid-named temporary (reaped once its writer is dead);
    `.<name>.old`, which earlier versions hid a user's file under and deleted later, is left alone."""
    target = tmp_path / "labels"
    target.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = tmp_path / f".labels.{temp_names._HOST}-{int(dead.stdout)}.0badcafe.tmp"
    left.mkdir()
    (left / "a.txt").write_text("old")
    (tmp_path / ".labels.old").write_text("the user's")
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".labels.old", "labels"]
    assert (tmp_path / ".labels.old").read_text() == "the user's"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def user_folder(path: Path) -> Path:
    path.mkdir()
    (path / "thesis.tex").write_text("\\\\section{mine}\n")
    (path / "sub").mkdir()
    (path / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return path


def test_a_folder_holding_user_files_is_refused_and_untouched(tmp_path):
    target = user_folder(tmp_path / "mine")
    before = tree(target)
    with pytest.raises(OutputError) as raised, atomic_dir(target) as tmp:
        (tmp / "x.npz").write_bytes(b"x")
    assert str(raised.value) == (f"{target}: holds files this tool did not write (sub/, thesis.tex); "
                                 "choose an empty or new folder for --out")
    assert tree(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary, no .mine.old


def test_a_folder_this_tool_wrote_is_replaced_and_an_empty_or_absent_one_is_written(tmp_path):
    target = tmp_path / "detections"
    with atomic_dir(target) as tmp:  # absent, as after DVC removed the stage's outputs
        (tmp / "a.npz").write_bytes(b"1")
    assert (target / io.MARKER).read_text() == io.MARKER_TEXT  # constant: no time, no pid
    with atomic_dir(target) as tmp:  # written by this tool: replaced on rerun
        (tmp / "b.npz").write_bytes(b"2")
    assert tree(target) == {io.MARKER: io.MARKER_TEXT.encode(), "b.npz": b"2"}
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_dir(empty) as tmp:
        (tmp / "c.npz").write_bytes(b"3")
    assert (empty / "c.npz").read_bytes() == b"3"
    with atomic_dir(user_folder(tmp_path / "mine"), replace=io.ANY) as tmp:  # a stage's explicit choice
        (tmp / "d").write_text("4")
    assert sorted(tree(tmp_path / "mine")) == [io.MARKER, "d"]


def test_an_existing_file_as_a_folder_output_is_refused_and_not_renamed(tmp_path):
    target = tmp_path / "afile"
    target.write_text("mine")
    with pytest.raises(OutputError, match=r"afile: is a file, not a folder; choose a new folder for --out"), atomic_dir(target):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"] and target.read_text() == "mine"


@pytest.mark.parametrize("where", [".", "..", "/", "~", "project"])
def test_the_current_folder_its_parents_root_home_and_a_project_are_never_replaced(tmp_path, monkeypatch, where):
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "params.yaml").write_text("seed: 0\n")
    monkeypatch.chdir(work)
    path = tmp_path / "project" if where == "project" else Path(where).expanduser()
    with pytest.raises(OutputError, match=r"^.*: (is the current folder or one above it|is the filesystem root|"
                       r"is the home folder|holds a project \(params.yaml\)); choose a new folder for --out$"):
        io.check_output_dir(path, replace=io.ANY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "work"]


def test_an_output_that_cannot_be_created_is_refused_before_any_work(tmp_path, monkeypatch):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=r"afile/out: .*afile is a file, so it cannot be created; choose another --out"):
        io.check_output_dir(blocker / "out")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: real_access(p, mode, **kw)
                        and not (Path(p) == read_only and mode & os.W_OK))
    with pytest.raises(OutputError, match=r"ro/results \(in .*ro\): not writable; choose another --results"):
        io.check_output_dir(read_only / "results", option="--results")
    with pytest.raises(OutputError, match=r"ro/clip.txt \(in .*ro\): not writable"), atomic_file(read_only / "clip.txt"):
        raise AssertionError("no write may start")


def test_a_full_disk_is_one_line_naming_the_output_and_leaves_nothing(tmp_path):
    target = tmp_path / "detections"
    with pytest.raises(OutputError) as raised, atomic_dir(target) as tmp, atomic_file(tmp / "a.npz", "wb"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a nested write: the outer target is named
    assert str(raised.value) == (f"{target}: No space left on device while writing it; nothing was written "
                                 "(free some space, or choose a writable location)")
    with pytest.raises(OutputError, match=r"metrics.json: Read-only file system while writing it"), \
            atomic_file(tmp_path / "metrics.json"):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / "metrics.json"))
    with pytest.raises(FileNotFoundError), atomic_file(tmp_path / "x.json"):  # not a disk error: raised as it is
        raise FileNotFoundError(errno.ENOENT, "no such file", "/elsewhere/input.jpg")
    assert list(tmp_path.iterdir()) == []


def test_a_file_the_tool_did_not_write_is_replaced_only_with_overwrite(tmp_path):
    target = tmp_path / "clip.txt"
    target.write_text("the user's")
    with pytest.raises(OutputError, match=r"clip.txt: exists and was not written by this tool; choose another "
                                          r"--out or pass --overwrite"):
        io.write_text(target, "ours", replace=io.OURS)
    assert target.read_text() == "the user's"
    io.write_text(target, "ours", replace=io.OVERWRITE)
    io.write_text(target, "ours again", replace=io.OURS)  # now recorded as ours
    assert target.read_text() == "ours again"
    target.write_text("edited by the user")  # changed since: no longer ours
    with pytest.raises(OutputError):
        io.write_text(target, "ours", replace=io.OURS)
    assert target.read_text() == "edited by the user"
    io.write_text(tmp_path / "new.txt", "new", replace=io.OURS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [io.MANIFEST, "clip.txt", "new.txt"]


def test_atomic_path_gives_a_writer_a_named_file_and_reaps_a_killed_runs_folder(tmp_path):
    target = tmp_path / "clip.mp4"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".clip.mp4.{temp_names._HOST}-{int(dead.stdout)}.1234abcd.tmp"  # what kill -9 left
    stale.mkdir()
    (stale / "clip.mp4").write_bytes(b"half")
    with io.atomic_path(target) as path:
        assert path.name == "clip.mp4" and path.parent.name.endswith(".tmp")
        path.write_bytes(b"video")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"] and target.read_bytes() == b"video"
    with io.atomic_path(tmp_path / "none.mp4"):
        pass  # nothing written: nothing replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


_REPLACER = """
import sys, time
from pathlib import Path
from fairmot.io import atomic_dir, atomic_file
target, kind, n, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
time.sleep(max(0.0, start - time.time()))  # both writers begin together
for i in range(n):
    if kind == "dir":
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text(str(i))
    else:
        with atomic_file(target, replace="ours") as handle:
            handle.write(str(i))
"""


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_concurrent_writers_of_one_target_take_turns_without_errors_or_leaks(tmp_path, kind):
    target = tmp_path / ("out" if kind == "dir" else "clip.txt")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    start = str(time.time() + 2.0)  # past both interpreters' start-up
    procs = [subprocess.Popen([sys.executable, "-c", _REPLACER, str(target), kind, "200", start], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [proc.communicate(timeout=60)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == (["out"] if kind == "dir" else [io.MANIFEST, "clip.txt"])  # no temporary, no lock file
    if kind == "dir":
        assert sorted(p.name for p in target.iterdir()) == [io.MARKER, "a.txt"]
