"""Atomic writes: an interrupted stage never leaves a half-written output that looks complete.

Each write goes to a temporary sibling `.<name>.<host>-<pid>.<random>.tmp` and is renamed over
the target when complete. The pid in the name is what lets a later write of the same target
remove the temporaries of a process that was killed (`kill -9`, OOM, power loss) instead of
leaving them inside DVC-tracked folders forever; a temporary whose owner cannot be checked
(another host, or the older nameless `mkstemp` form) is removed once it is `STALE_AFTER` old.
Temporaries are created with `os.open`/`os.mkdir`, not `mkstemp`/`mkdtemp`, so outputs get the
modes the user's umask gives an ordinary write (0644/0755 under umask 022), not 0600/0700.

Nothing a user owns is replaced: a folder is replaced only when it is absent, empty or holds
MARKER (written into every folder `atomic_dir` makes), and with replace=OURS a file only when
MANIFEST beside it lists it as written here; the current folder, its parents, the root, the home
folder and a project folder are never replaced. Callers check an output (`check_output_dir`,
`check_output_file`) before long work, and the swap itself runs under a lock file
`.<name>.lock`, so concurrent writers of one target take turns and the last one wins. A full
disk or a read-only place while writing becomes one OutputError line naming the target.
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
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from fairmot.errors import OutputError

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


# Replace policies: what an existing target may be replaced by a write.
ANY = "any"  # whatever is there: a path the pipeline owns (reports/metrics.json, data/model/model.pt)
OURS = "ours"  # only what this tool wrote (a folder's MARKER, a file listed in its folder's MANIFEST)
OVERWRITE = "overwrite"  # whatever is there, recorded as ours from now on (`--overwrite`)
POLICIES = (ANY, OURS, OVERWRITE)
MARKER = ".fairmot-output"  # in every folder atomic_dir writes; constant, so data stages stay byte-identical
MARKER_TEXT = "written by fairmot; the stage that wrote this folder replaces it on its next run\n"
MANIFEST = ".fairmot-outputs.json"  # beside files written with OURS/OVERWRITE: name -> size, mtime_ns
_DISK_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}
_TEMP_PART = re.compile(r"\..+\.[0-9a-f]{8}-\d+\.[0-9a-f]+\.tmp")


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
    probe = path if path.exists() else next((p for p in path.parents if p.exists()), Path("."))
    where = path if probe == path else f"{path} (in {probe})"
    if probe != path and not probe.is_dir():
        raise OutputError(f"{path}: {probe} is a file, so it cannot be created; choose another {option}")
    if not os.access(probe, os.W_OK | os.X_OK if probe.is_dir() else os.W_OK):
        raise OutputError(f"{where}: not writable; choose another {option}")


def check_output_dir(path: Path, *, replace: str = OURS, option: str = "--out", hint: str = "") -> None:
    """Refuse, in one line, a folder output that must not or cannot be replaced; call it before long work."""
    path = Path(path)
    _check_policy(replace)
    if path.exists() and not path.is_dir():
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


def _in_temp(path: Path) -> bool:
    """Whether `path` lies inside another atomic write's temporary (whose writer reports errors)."""
    return any(_TEMP_PART.fullmatch(part) for part in Path(path).parts[:-1])


@contextmanager
def _disk_errors_as_output_error(target: Path, tmp: Path) -> Iterator[None]:
    """A full disk, a read-only or forbidden place while writing `target`: one line naming it."""
    try:
        yield
    except OSError as exc:
        name = Path(exc.filename) if exc.filename else None
        ours = name is None or name == target or tmp in (name, *name.parents) or name.name.startswith(f".{target.name}.")
        if exc.errno not in _DISK_ERRORS or not ours or _in_temp(target):
            raise
        raise OutputError(f"{target}: {exc.strerror} while writing it; nothing was written "
                          "(free some space, or choose a writable location)") from None


@contextmanager
def atomic_dir(target: Path, *, replace: str = OURS) -> Iterator[Path]:
    """Yield a temporary sibling of `target`; on success it replaces `target`, on error it is removed.

    The folder gets MARKER, so a later write with replace=OURS (the default) knows it may replace
    it; a folder holding anything else is refused (OutputError) before and again at the swap.
    """
    target = Path(target)
    check_output_dir(target, replace=replace)
    tmp = target
    with _disk_errors_as_output_error(target, tmp):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        tmp = _create(target, lambda path: os.mkdir(path, 0o777))  # umask applies, as for any mkdir
        try:
            with _disk_errors_as_output_error(target, tmp):
                yield tmp
                (tmp / MARKER).write_text(MARKER_TEXT)
                with _locked(target):
                    if replace == OURS:
                        check_output_dir(target, replace=replace)  # someone else's files landed meanwhile
                    old = _swap(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if old is not None:
        _remove(old)


def _swap(tmp: Path, target: Path) -> Path | None:
    """Rename `tmp` to `target`; the replaced folder is moved to a pid-named temporary and returned."""
    if not (target.exists() or target.is_symlink()):
        tmp.rename(target)
        return None
    old = temp_sibling(target)  # reaped by the next write if this process dies before removing it
    target.rename(old)
    try:
        tmp.rename(target)
    except BaseException:
        old.rename(target)
        raise
    return old


@contextmanager
def atomic_file(target: Path, mode: str = "w", *, replace: str = ANY) -> Iterator[Any]:
    """Open a temporary sibling of `target` for writing; rename it over `target` when closed cleanly.

    replace=OURS refuses an existing `target` this tool did not write (OutputError); OURS and
    OVERWRITE record the written file in MANIFEST beside it.
    """
    target = Path(target)
    check_output_file(target, replace=replace)
    tmp = target
    with _disk_errors_as_output_error(target, tmp):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        fds: list[int] = []
        tmp = _create(target, lambda path: fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
        try:
            with _disk_errors_as_output_error(target, tmp):
                with os.fdopen(fds[0], mode) as handle:
                    yield handle
                _commit_file(tmp, target, replace)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


@contextmanager
def atomic_path(target: Path, *, replace: str = ANY) -> Iterator[Path]:
    """Yield a path (same name as `target`, in a pid-named temporary folder beside it) for a writer
    that needs a file name, such as OpenCV's VideoWriter; if it was written it replaces `target`
    (under the rules of `atomic_file`), and the temporary folder is removed either way."""
    target = Path(target)
    check_output_file(target, replace=replace)
    with _disk_errors_as_output_error(target, target):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        tmp = _create(target, lambda path: os.mkdir(path, 0o777))
        try:
            with _disk_errors_as_output_error(target, tmp):
                yield tmp / target.name
                if (tmp / target.name).exists():
                    _commit_file(tmp / target.name, target, replace)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _commit_file(tmp: Path, target: Path, replace: str) -> None:
    if replace == ANY:
        os.replace(tmp, target)  # atomic: concurrent writers need no lock, the last one wins
        return
    manifest = target.parent / MANIFEST
    with _locked(manifest):
        files = _read_manifest(manifest)
        if replace == OURS and target.exists() and not _recorded(files, target):
            raise OutputError(f"{target}: exists and was not written by this tool; choose another --out "
                              "or pass --overwrite")
        os.replace(tmp, target)
        stat = target.stat()
        files = {name: entry for name, entry in files.items() if (target.parent / name).is_file()}
        files[target.name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        fds: list[int] = []
        staged = _create(manifest, lambda path: fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
        try:
            with os.fdopen(fds[0], "w") as handle:
                handle.write(json.dumps({"files": files}, indent=2, sort_keys=True) + "\n")
            os.replace(staged, manifest)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise


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

def _create(target: Path, make) -> Path:
    for _ in range(100):
        tmp = temp_sibling(target)
        try:
            make(tmp)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def write_text(target: Path, text: str, *, replace: str = ANY) -> None:
    with atomic_file(target, replace=replace) as handle:
        handle.write(text)


def write_json(target: Path, data: Any, *, replace: str = ANY) -> None:
    """Stable JSON (sorted keys, fixed indent, trailing newline) so reruns are byte-identical."""
    write_text(target, json.dumps(data, indent=2, sort_keys=True) + "\n", replace=replace)
