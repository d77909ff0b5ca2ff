"""Temporary siblings named by host and pid, so a later write reaps what a killed process left."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
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
_TEMP_PART = re.compile(r"\..+\.[0-9a-f]{8}-\d+\.[0-9a-f]+\.tmp")


def _in_temp(path: Path) -> bool:
    """Whether `path` lies inside another atomic write's temporary (whose writer reports errors)."""
    return any(_TEMP_PART.fullmatch(part) for part in Path(path).parts[:-1])

def _create(target: Path, make) -> Path:
    for _ in range(100):
        tmp = temp_sibling(target)
        try:
            make(tmp)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))
