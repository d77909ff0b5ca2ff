"""What may enter the dataset from a zip or a local folder: safe extraction, size caps, no links out.

A source is untrusted input that ends up in data/dataset (and `dvc push` uploads that folder), so:
an archive member named `../x`, `/etc/x` or a symlink must never write outside the output
folder; a zip bomb (a 2 MB zip that inflates to 2 GB) is refused from its headers before a byte
is written, and the bytes actually written are counted too, in case the headers lie; a folder
source whose symbolic links point outside it (at /etc/passwd, at a home folder) is refused
before anything is copied. Every refusal is one line naming the member or link and what to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fairmot.config import DataParams
from fairmot.errors import DataError

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# Members smaller than this are not held to the ratio cap: small text files (gt.txt, seqinfo.ini)
# compress far better than 200:1 and are harmless
RATIO_FLOOR = 1 << 20


@dataclass(frozen=True)
class ExtractLimits:
    """data.max_extract_gb and data.max_compression_ratio (defaults: the schema's)."""

    max_gb: float = DataParams.max_extract_gb
    max_ratio: float = DataParams.max_compression_ratio

    @classmethod
    def of(cls, data: DataParams) -> ExtractLimits:
        return cls(data.max_extract_gb, data.max_compression_ratio)

    @property
    def max_bytes(self) -> int:
        return int(self.max_gb * 1e9)


def is_zip_name(path: Path) -> bool:
    return Path(path).suffix.lower() == ".zip"


def zip_problem(path: Path, *, crc: bool = True) -> tuple[str | None, bool]:
    """(what is wrong with the zip at `path` or None, whether fetching more bytes could fix it).

    A download cut short without a Content-Length looks complete to HTTP; a zip keeps its central
    directory at the end, so a truncated one has none, and testzip's CRCs (`crc`; skipped when a
    checksum will be verified anyway) catch damaged members.
    """
    with Path(path).open("rb") as handle:
        head = handle.read(4)
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):
        return f"not a zip archive (it starts with {head!r})", False
    if not zipfile.is_zipfile(path):
        return "a truncated or corrupt zip archive (no central directory at its end)", True
    if not crc:
        return None, False
    log.info("%s: checking every member's CRC (no checksum given)", path)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        return f"a corrupt zip archive ({exc})", False
    return (f"a corrupt zip archive (member {bad!r} fails its CRC check)", False) if bad else (None, False)


def extract_zip_safely(zip_path: Path, out_dir: Path, *, include: Callable[[str], bool] | None = None,
                       limits: ExtractLimits = ExtractLimits()) -> list[Path]:
    """Extract the members (those `include` accepts, default all) under `out_dir`.

    The whole archive is refused if any member could escape `out_dir`: absolute paths (`/x`,
    `C:\\x`), `..` components, symbolic links (the Unix mode kept in the member's external_attr);
    or if the members to extract declare more than `limits.max_gb` in all, or one of them (1 MiB
    or more) inflates above `limits.max_ratio`. Every member is checked before the first byte is
    written; while writing, each is held to its declared size, so the caps hold even if the
    headers lie. On any error while writing, the files and folders written so far are removed.
    """
    zip_path, out_dir = Path(zip_path), Path(out_dir)
    with open_zip(zip_path) as archive:
        members = [info for info in archive.infolist() if include is None or include(info.filename)]
        for info in archive.infolist():
            _check_member(zip_path, info)
        _check_sizes(zip_path, members, limits)
        created = [p for p in (out_dir, *out_dir.parents) if not p.exists()][::-1]
        out_dir.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        try:
            _write_members(archive, zip_path, members, out_dir.resolve(), written, created)
        except BaseException:
            _remove(written, created)
            raise
    return written


def _write_members(archive: zipfile.ZipFile, zip_path: Path, members: list[zipfile.ZipInfo], root: Path,
                   written: list[Path], created: list[Path]) -> None:
    """Write `members` under `root`, appending each file to `written` and each new folder to `created`."""
    for info in members:
        target = root.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
        if not target.resolve().is_relative_to(root):
            raise DataError(f"{zip_path}: member {info.filename!r} resolves outside the output folder; refusing it")
        folder = target if info.is_dir() else target.parent
        created.extend([p for p in (folder, *folder.parents) if not p.exists()][::-1])
        folder.mkdir(parents=True, exist_ok=True)
        if not info.is_dir():
            written.append(target)
            _copy_member(archive, zip_path, info, target)


def _copy_member(archive: zipfile.ZipFile, zip_path: Path, info: zipfile.ZipInfo, target: Path) -> None:
    """Stream one member to `target`, held to the size its header declares (the size the caps judged)."""
    size = 0
    with target.open("wb") as dst:
        try:
            with archive.open(info) as src:
                while chunk := src.read(CHUNK):
                    size += len(chunk)
                    if size > info.file_size:
                        raise DataError(f"{zip_path}: member {info.filename!r} inflates past the {info.file_size} "
                                        "bytes its header declares; refusing the archive (nothing of it was kept)")
                    dst.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise DataError(corrupt_archive(zip_path, f"member {info.filename!r} is damaged ({exc})")) from None


def _check_sizes(zip_path: Path, members: list[zipfile.ZipInfo], limits: ExtractLimits) -> None:
    """Refuse a zip bomb from its headers: total declared size and each member's compression ratio."""
    total = 0
    for info in members:
        total += info.file_size
        if total > limits.max_bytes:
            raise DataError(
                f"{zip_path}: member {info.filename!r} ({info.file_size} bytes uncompressed) takes the archive to "
                f"{total} bytes, above data.max_extract_gb = {limits.max_gb:g} GB; refusing it before extraction: "
                "raise data.max_extract_gb if it is genuine"
            )
        if info.file_size >= RATIO_FLOOR and info.file_size > limits.max_ratio * info.compress_size:
            ratio = info.file_size / info.compress_size if info.compress_size else float("inf")
            raise DataError(
                f"{zip_path}: member {info.filename!r} inflates {info.compress_size} bytes to {info.file_size} "
                f"({ratio:.0f}:1), above data.max_compression_ratio = {limits.max_ratio:g}; refusing the archive "
                "before extraction (a zip bomb?): raise data.max_compression_ratio if it is genuine"
            )


def _remove(written: list[Path], created: list[Path]) -> None:
    """Undo a failed extraction: the files written, then the folders it created (deepest first)."""
    for path in written:
        path.unlink(missing_ok=True)
    for folder in reversed(created):
        with contextlib.suppress(OSError):  # not empty (something else is in it) or already gone
            folder.rmdir()


def corrupt_archive(path: Path, detail: str) -> str:
    """The one message for a damaged archive: what is wrong, and which file to delete."""
    return (f"{path}: {detail}; the archive looks truncated or corrupt: delete {path} and download it again "
            "(or replace it with a good copy)")


def open_zip(path: Path) -> zipfile.ZipFile:
    """ZipFile(path), with a DataError that tells a damaged zip from a file that is no zip at all."""
    path = Path(path)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        with path.open("rb") as handle:
            head = handle.read(4)
        if head.startswith(b"PK"):
            raise DataError(corrupt_archive(path, f"not a readable zip archive ({exc})")) from None
        raise DataError(f"{path}: neither a folder nor a zip archive (it starts with {head!r}); "
                        "point data.path at a MOT17 folder or zip") from None


def _check_member(zip_path: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"{zip_path}: member {info.filename!r} has an absolute path; refusing the archive")
    if ".." in PurePosixPath(name).parts:
        raise DataError(f"{zip_path}: member {info.filename!r} contains '..'; refusing the archive")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DataError(f"{zip_path}: member {info.filename!r} is a symbolic link; refusing the archive")


def refuse_links_out(source: Path) -> None:
    """Refuse a folder source holding a symbolic link that resolves outside it, before anything is copied.

    Copying follows links, so a link to /etc/passwd would become a frame and a link to a home
    folder would be copied into data/dataset (and uploaded by `dvc push`). Links inside the tree
    are fine. The walk does not descend into linked folders: a link is judged by where it points.
    """
    source = Path(source)
    root = source.resolve()
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder) / name
            if path.is_symlink():
                target = _resolved(source / path.relative_to(root))
                if not target.is_relative_to(root):
                    raise DataError(f"{source / path.relative_to(root)}: a symbolic link to {target}, outside "
                                    f"{source}; copy the file into the dataset instead")


def _resolved(path: Path) -> Path:
    """path.resolve(), with a link loop as a DataError naming the path."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as exc:
        raise DataError(f"{path}: cannot follow its symbolic links ({exc}); replace it with the file itself") from None


@contextlib.contextmanager
def user_paths(mapping: dict[Path, Path]) -> Iterator[None]:
    """DataErrors raised inside say `user` where they would say `temp`, for each temp -> user pair.

    A source is read where it was extracted or copied to (a `.tmp` folder the user never sees and
    that is gone once the error is shown); its errors must name the zip or folder the user gave:
    `/exports/shop.zip/gt/gt.txt:3`, not `.dataset.<rand>.tmp/.src-shop/gt/gt.txt:3`.
    """
    try:
        yield
    except DataError as exc:
        message = str(exc)
        for temp, user in sorted(mapping.items(), key=lambda pair: -len(str(pair[0]))):
            for form in dict.fromkeys((str(temp), str(Path(temp).absolute()), os.path.realpath(temp))):
                message = re.sub(re.escape(form) + r"(?![\w.-])", str(user).replace("\\", "\\\\"), message)
        if message == str(exc):
            raise
        raise DataError(message) from None
