"""Atomic writes: an interrupted stage never leaves a half-written output that looks complete.

Each write goes to a temporary sibling `.<name>.<host>-<pid>.<random>.tmp` and is renamed over
the target when complete. The pid in the name is what lets a later write of the same target
remove the temporaries of a process that was killed (`kill -9`, OOM, power loss) instead of
leaving them inside DVC-tracked folders forever; a temporary whose owner cannot be checked
(another host, or the older nameless `mkstemp` form) is removed once it is `STALE_AFTER` old.
Temporaries are created with `os.open`/`os.mkdir`, not `mkstemp`/`mkdtemp`, so outputs get the
modes the user's umask gives an ordinary write (0644/0755 under umask 022), not 0600/0700.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STALE_AFTER = 24 * 3600.0  # seconds: age past which a temporary whose owner is unknown is removed
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_OURS = re.compile(r"(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[0-9a-f]+")
_LEGACY = re.compile(r"[a-z0-9_]{8}")  # tempfile.mkstemp's random part (earlier versions of this module)


def temp_sibling(target: Path) -> Path:
    """A fresh temporary name next to `target` that records this host and process."""
    return Path(target).with_name(f".{Path(target).name}.{_HOST}-{os.getpid()}.{secrets.token_hex(4)}.tmp")


def remove_stale_temps(target: Path, *, now: float | None = None) -> list[Path]:
    """Remove the temporaries of `target` left by dead processes; return what was removed.

    Only names of the exact form this module (or its mkstemp-based predecessor) gives `target`
    are considered, so temporaries of other targets in the same folder, and those of live
    writers of this one, are never touched.
    """
    target = Path(target)
    prefix = f".{target.name}."
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        middle = entry.name[len(prefix):-len(".tmp")]
        ours = _OURS.fullmatch(middle)
        if ours is None and not _LEGACY.fullmatch(middle):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        if ours is not None and ours["host"] == _HOST:
            stale = not _pid_alive(int(ours["pid"])) or age > STALE_AFTER
        else:
            stale = age > STALE_AFTER
        if stale and _remove(Path(entry.path)):
            removed.append(Path(entry.path))
    old = target.with_name(f".{target.name}.old")
    if old.exists() and target.exists() and _remove(old):  # a replace interrupted after its first rename
        removed.append(old)
    if removed:
        log.info("removed %d stale temporary file(s) of %s left by interrupted runs", len(removed), target)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("%s: could not remove a stale temporary (%s); delete it by hand", path, exc)
        return False
    return True


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `target`; on success it replaces `target`, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = _create(target, lambda path: os.mkdir(path, 0o777))  # umask applies, as for any mkdir
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_file(target: Path, mode: str = "w") -> Iterator[Any]:
    """Open a temporary sibling of `target` for writing; rename it over `target` when closed cleanly."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    fds: list[int] = []
    tmp = _create(target, lambda path: fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
    try:
        with os.fdopen(fds[0], mode) as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _create(target: Path, make) -> Path:
    for _ in range(100):
        tmp = temp_sibling(target)
        try:
            make(tmp)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def write_text(target: Path, text: str) -> None:
    with atomic_file(target) as handle:
        handle.write(text)


def write_json(target: Path, data: Any) -> None:
    """Stable JSON (sorted keys, fixed indent, trailing newline) so reruns are byte-identical."""
    write_text(target, json.dumps(data, indent=2, sort_keys=True) + "\n")


def file_sha256(path: Path | str) -> str:
    """The sha256 of a file's bytes, read in chunks (checkpoints record what they came from by it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed), imported on first use (it is slow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path | str, *, dpi: int = 110) -> Path:
    """Write a matplotlib figure atomically (format from the suffix) and release it."""
    path = Path(path)
    with atomic_file(path, "wb") as handle:
        fig.savefig(handle, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    pyplot().close(fig)
    return path
