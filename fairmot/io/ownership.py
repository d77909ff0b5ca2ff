"""Whose is an output: replace policies, the folder MARKER and the file MANIFEST, the checks made
before long work, and the lock writers of one target take turns on.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from fairmot.errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
log = logging.getLogger(__name__)


# Replace policies: what an existing target may be replaced by a write.
ANY = "any"  # whatever is there: a path the pipeline owns (reports/metrics.json, data/model/model.pt)
OURS = "ours"  # only what this tool wrote (a folder's MARKER, a file listed in its folder's MANIFEST)
OVERWRITE = "overwrite"  # whatever is there, recorded as ours from now on (`--overwrite`)
POLICIES = (ANY, OURS, OVERWRITE)
MARKER = ".fairmot-output"  # in every folder atomic_dir writes; constant, so data stages stay byte-identical
MARKER_TEXT = "written by fairmot; the stage that wrote this folder replaces it on its next run\n"
MANIFEST = ".fairmot-outputs.json"  # beside files written with OURS/OVERWRITE: name -> size, mtime_ns


def unsafe_folder(path: Path) -> str | None:
    """Why replacing the folder `path` would destroy more than an output, or None."""
    path = Path(path)
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        return "is the current folder or one above it"
    if resolved == Path(resolved.anchor):
        return "is the filesystem root"
    if resolved == Path.home().resolve():
        return "is the home folder"
    found = [name for name in ("params.yaml", "dvc.yaml", ".git") if (path / name).exists()]
    if found:
        return f"holds a project ({', '.join(found)})"
    return None


def foreign_entries(folder: Path) -> list[str]:
    """The entries of `folder` that make it not ours: none when it is absent, empty or holds MARKER."""
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    if not names or MARKER in names:
        return []
    return [name + ("/" if (Path(folder) / name).is_dir() else "") for name in names]


def _listing(names: list[str], shown: int = 3) -> str:
    more = f", and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def check_writable(path: Path, option: str = "--out") -> None:
    """Refuse, before any long work, a `path` that cannot be created or written (read-only, under a file)."""
    path = Path(path)
    for attempt in range(5):  # another writer may swap `path` away between the look and the access check
        probe = path if path.exists() else next((p for p in path.parents if p.exists()), Path("."))
        if probe != path and not probe.is_dir():
            raise OutputError(f"{path}: {probe} is a file, so it cannot be created; choose another {option}")
        if os.access(probe, os.W_OK | os.X_OK if probe.is_dir() else os.W_OK):
            return
        time.sleep(0.01 * attempt)
    where = path if probe == path else f"{path} (in {probe})"
    raise OutputError(f"{where}: not writable; choose another {option}")


def check_output_dir(path: Path, *, replace: str = OURS, option: str = "--out", hint: str = "") -> None:
    """Refuse, in one line, a folder output that must not or cannot be replaced; call it before long work."""
    path = Path(path)
    _check_policy(replace)
    try:  # one stat, not exists() then is_dir(): another writer may swap the folder in between
        is_file = not stat.S_ISDIR(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):  # absent, or under a file (check_writable says so)
        is_file = False
    if is_file:
        raise OutputError(f"{path}: is a file, not a folder; choose a new folder for {option}")
    reason = unsafe_folder(path)
    if reason:
        raise OutputError(f"{path}: {reason}; choose a new folder for {option}")
    foreign = foreign_entries(path) if replace == OURS else []
    if foreign:
        raise OutputError(f"{path}: holds files this tool did not write ({_listing(foreign)}); "
                          f"choose an empty or new folder for {option}{hint}")
    check_writable(path, option)


def check_output_file(path: Path, *, replace: str = ANY, option: str = "--out") -> None:
    """Refuse, in one line, a file output that must not or cannot be replaced; call it before long work."""
    path = Path(path)
    _check_policy(replace)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; choose another {option}")
    check_writable(path, option)
    if replace == OURS and path.exists():
        with _locked(path.parent / MANIFEST):  # not while another writer is between its rename and its record
            ours = _recorded(_read_manifest(path.parent / MANIFEST), path)
        if not ours:
            raise OutputError(f"{path}: exists and was not written by this tool; choose another {option} "
                              "or pass --overwrite")


def _check_policy(replace: str) -> None:
    if replace not in POLICIES:
        raise ValueError(f"replace={replace!r}: use one of {POLICIES}")


@contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Hold an exclusive lock on `.<name>.lock` beside `target`; the file is removed when released.

    A waiter that locked a lock file which was meanwhile removed (and maybe recreated) retries on
    the current one, so two writers are never both inside.
    """
    if fcntl is None:  # no flock (Windows): renames stay atomic, concurrent writers are not serialised
        yield
        return
    lock = Path(target).with_name(f".{Path(target).name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)
    try:
        yield
    finally:
        with suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def _read_manifest(manifest: Path) -> dict[str, dict]:
    try:
        files = json.loads(Path(manifest).read_text()).get("files", {})
    except (FileNotFoundError, NotADirectoryError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _recorded(files: dict[str, dict], path: Path) -> bool:
    """Whether `path` is the very file this tool wrote: listed, same size and modification time."""
    entry = files.get(path.name)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    return isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns
