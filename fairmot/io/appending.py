"""A file written as it goes, so a killed run keeps what it had written.

Lines go to `<name>.partial` beside the target, each `write` one write(2) call straight to the
operating system (no buffer in the process), so a `kill -9` leaves every write that returned. A
clean close renames the partial to the target through the same commit as `atomic_file` (MANIFEST
records it; replace=OURS still refuses a target someone else's file took meanwhile), so a finished
run leaves what a one-shot write leaves. A run that is killed or fails keeps the partial under
that name: it is never taken for a complete output (a `*.txt` glob does not pick it up) and it is
no temporary, so nothing reaps it; the next write of the same target replaces it.

Whose is a partial: it is recorded in MANIFEST as partial when created (its size keeps changing,
so size and time are not recorded), and replace=OURS replaces only such a one. The writer holds an
exclusive flock on it, so a second writer of the same target is refused while the first runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fairmot.errors import OutputError
from fairmot.io.atomic import _commit_file, _disk_errors_as_output_error, _write_manifest
from fairmot.io.ownership import ANY, MANIFEST, OURS, _locked, _read_manifest, check_output_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PARTIAL_SUFFIX = ".partial"


def partial_path(target: Path) -> Path:
    """Where `appending_file(target)` writes until it is closed cleanly."""
    return Path(target).with_name(Path(target).name + PARTIAL_SUFFIX)


class AppendingWriter:
    """`write(text)`: one write(2) of the encoded text, nothing held back in the process."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd, self.path = fd, path

    def write(self, text: str) -> None:
        view = memoryview(text.encode())
        while view:
            view = view[os.write(self.fd, view):]


@contextmanager
def appending_file(target: Path, *, replace: str = ANY) -> Iterator[AppendingWriter]:
    """Yield a writer into `partial_path(target)`; renamed to `target` on a clean exit. On an error
    the partial stays if anything was written (the rows so far), else it is removed."""
    target = Path(target)
    partial = partial_path(target)
    check_output_file(target, replace=replace)
    _check_partial(partial, replace)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _disk_errors_as_output_error(target, partial):
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT, 0o666)
        _lock(fd, partial)  # before anything is changed: it may be another live writer's
        try:
            os.ftruncate(fd, 0)  # a partial a killed run left: replaced, as any output of ours
            if replace != ANY:
                _record_partial(partial)
            yield AppendingWriter(fd, partial)
            _commit_file(partial, target, replace)
        except BaseException:
            if os.fstat(fd).st_size == 0:
                partial.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)


def _check_partial(partial: Path, replace: str) -> None:
    if replace != OURS or not partial.exists():
        return
    with _locked(partial.parent / MANIFEST):
        entry = _read_manifest(partial.parent / MANIFEST).get(partial.name)
    if not (isinstance(entry, dict) and entry.get("partial") is True):
        raise OutputError(f"{partial}: exists and was not written by this tool; choose another --out or pass --overwrite")


def _lock(fd: int, partial: Path) -> None:
    if fcntl is None:  # pragma: no cover - Windows: no flock, concurrent writers are not refused
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException as exc:
        os.close(fd)
        if not isinstance(exc, BlockingIOError):
            raise
        raise OutputError(f"{partial}: another run is writing it now; wait for it to end or choose another --out") from None


def _record_partial(partial: Path) -> None:
    manifest = partial.parent / MANIFEST
    with _locked(manifest):
        files = _read_manifest(manifest)
        files[partial.name] = {"partial": True}
        _write_manifest(manifest, files)
