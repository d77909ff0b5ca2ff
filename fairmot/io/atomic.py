"""Atomic writes: into a temporary sibling, renamed over the target when complete, under the target's lock."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fairmot.errors import OutputError
from fairmot.io.ownership import (
    ANY,
    MANIFEST,
    MARKER,
    MARKER_TEXT,
    OURS,
    _locked,
    _read_manifest,
    _recorded,
    check_output_dir,
    check_output_file,
)
from fairmot.io.temps import _create, _in_temp, _remove, remove_stale_temps, temp_sibling

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
log = logging.getLogger(__name__)


_DISK_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}


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
        tmp = _new_temp(target, lambda path: os.mkdir(path, 0o777))  # umask applies, as for any mkdir
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


def _new_temp(target: Path, make: Any) -> Path:
    """A fresh temporary of `target` made by `make(path)`, after the ones killed writers left are reaped."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    return _create(target, make)


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
        fds: list[int] = []
        tmp = _new_temp(target, lambda path: fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
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
        tmp = _new_temp(target, lambda path: os.mkdir(path, 0o777))
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
        _write_manifest(manifest, files)


def _write_manifest(manifest: Path, files: dict[str, dict]) -> None:
    """Replace MANIFEST with `files` (its writer holds the manifest's lock)."""
    fds: list[int] = []
    staged = _create(manifest, lambda path: fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
    try:
        with os.fdopen(fds[0], "w") as handle:
            handle.write(json.dumps({"files": files}, indent=2, sort_keys=True) + "\n")
        os.replace(staged, manifest)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def write_text(target: Path, text: str, *, replace: str = ANY) -> None:
    with atomic_file(target, replace=replace) as handle:
        handle.write(text)


def write_json(target: Path, data: Any, *, replace: str = ANY) -> None:
    """Stable JSON (sorted keys, fixed indent, trailing newline) so reruns are byte-identical."""
    write_text(target, json.dumps(data, indent=2, sort_keys=True) + "\n", replace=replace)


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
