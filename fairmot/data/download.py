"""Fetch and unpack MOT17: resumable HTTP download, checksum, MOT17 -> images/ layout.

Why not just `urlretrieve` + `extractall`: the MOT17 zip is 5.5 GB, so an interrupted download
must resume (HTTP Range on a `.part` file) instead of starting over; a corrupted or tampered file
must be caught (sha256/md5) before anything is built from it; extraction goes through
archives.py (no member outside the output folder, no zip bomb, no folder link out of the tree).
The dataset is assembled in a temporary sibling and renamed into place, so a failure leaves no
half-dataset. A truncated or damaged zip (a server that stops early without a Content-Length, a
bad CRC) never becomes the cached archive, and every such error names the file to delete.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import shutil
import time
import urllib.error
import urllib.request
import zipfile
from http.client import HTTPException
from pathlib import Path, PurePosixPath

from fairmot.data.archives import (
    CHUNK,
    ExtractLimits,
    extract_zip_safely,
    is_zip_name,
    open_zip,
    refuse_links_out,
    user_paths,
    zip_problem,
)
from fairmot.data.formats.mot import read_gt, read_seqinfo
from fairmot.errors import DataError
from fairmot.io import atomic_dir

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
# Split folders a source may have, and where they go: DanceTrack's val/ (public gt) is held out
# as our test split, so eval.split=test scores it (its test/ has no gt and is skipped there)
SOURCE_SPLITS = {"train": "train", "val": "test", "test": "test"}
_MOT17_COPIES = ("-SDP", "-FRCNN", "-DPM")


# ---------------------------------------------------------------------------------------------
# Download


def download_file(url: str, dest: Path, *, sha256: str = "", md5: str = "", progress: bool = True,
                  retries: int = 5, timeout: float = 60.0) -> Path:
    """Download `url` to `dest`, resuming from `dest.part`; verify sha256/md5 when given.

    A dropped connection is retried (up to `retries` times) from where it stopped with an HTTP
    Range request; a server that ignores Range (200 instead of 206) is read again from the start.
    On a checksum mismatch the downloaded file is deleted and DataError raised: nothing is left
    in place. Without a checksum a `.zip` is renamed to `dest` only once it opens as a whole
    archive with sound CRCs (a short read without Content-Length is resumed, not kept). An
    existing `dest` that passes the checksum (or, without one, looks like a whole zip) is reused
    without touching the network.
    """
    dest = Path(dest)
    checked = bool(sha256 or md5)
    if _reusable(dest, sha256, md5):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    attempt, size_at_last_check = 0, -1
    while True:
        try:
            if not _fetch(url, part, progress=progress, timeout=timeout):
                reason = "connection closed before the end of the file"
            elif not is_zip_name(dest):
                break  # the checksum below, if any, is the integrity check
            else:  # maybe no Content-Length: the archive's central directory says whether it is whole
                size, (reason, resumable) = part.stat().st_size, zip_problem(part, crc=not checked)
                if reason is None:
                    break
                if not resumable or size == size_at_last_check:
                    raise DataError(
                        f"{url}: the download is {reason}; it was kept out of {dest}. Delete {part} and run "
                        "the command again; if it happens again, check data.url or set data.sha256"
                    )
                size_at_last_check = size
        except (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError, OSError) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code not in (408, 429, 500, 502, 503, 504):
                raise DataError(f"{url}: HTTP {exc.code} {exc.reason}; check data.url") from None
            reason = str(getattr(exc, "reason", exc))
        attempt += 1
        if attempt > retries:
            raise DataError(
                f"{url}: download failed after {retries} retries ({reason}); the partial file "
                f"{part} is kept, run the command again to resume (delete {part} to start over)"
            )
        log.warning("%s: %s; resuming (retry %d/%d)", url, reason, attempt, retries)
        time.sleep(min(0.2 * 2**attempt, 10.0))
    error = _checksum_error(part, sha256, md5)
    if error is not None:
        part.unlink()
        raise DataError(f"{url}: {error}; the downloaded file was deleted. Check data.sha256/data.md5 or data.url")
    os.replace(part, dest)
    return dest


def _reusable(dest: Path, sha256: str, md5: str) -> bool:
    """True when `dest` is already there and sound; a file that is not is deleted."""
    if not dest.exists():
        return False
    if (sha256 or md5) and _checksum_error(dest, sha256, md5) is not None:
        log.warning("%s: checksum does not match, downloading it again", dest)
    elif not (sha256 or md5) and is_zip_name(dest) and not zipfile.is_zipfile(dest):
        log.warning("%s: not a complete zip archive (no central directory), downloading it again", dest)
    else:
        log.info("%s: already downloaded", dest)
        return True
    dest.unlink()
    return False


def _fetch(url: str, part: Path, *, progress: bool, timeout: float) -> bool:
    """One HTTP request appending to `part`; True when the file is complete."""
    from tqdm import tqdm

    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "fairmot-pipeline"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: `part` may already be complete
            total = _total_from_content_range(exc.headers.get("Content-Range", ""))
            if total == have:
                return True
            part.unlink()  # our partial file is longer than the remote one: start over
            raise ConnectionError("remote file changed size (HTTP 416); starting over") from None
        raise
    with response:
        if have and response.status == 206:
            start = _start_from_content_range(response.headers.get("Content-Range", ""))
            if start != have:
                part.unlink()
                raise ConnectionError(f"server resumed at byte {start}, expected {have}; starting over")
            mode, total = "ab", _total_from_content_range(response.headers.get("Content-Range", ""))
        else:  # 200: a fresh download, or a server that ignores Range
            have, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        received = have
        with part.open(mode) as out, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
            desc=part.name.removesuffix(".part"), disable=None if progress else True,
        ) as bar:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    return total is None or received >= total


def _start_from_content_range(value: str) -> int | None:
    # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _total_from_content_range(value: str) -> int | None:
    try:
        total = value.rsplit("/", 1)[1]
        return int(total) if total != "*" else None
    except (IndexError, ValueError):
        return None


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checksum_error(path: Path, sha256: str, md5: str) -> str | None:
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected:
            actual = file_digest(path, algorithm)
            if actual.lower() != expected.strip().lower():
                return f"{algorithm} mismatch (expected {expected.strip().lower()}, got {actual})"
    return None


# ---------------------------------------------------------------------------------------------
# MOT17 layout


def prepare_mot17(source: Path, out_dir: Path, sequences: list[str], *, limits: ExtractLimits = ExtractLimits()) -> None:
    """Build out_dir/images/{train,test}/<seq> from a MOT17 zip or folder.

    The source may use the official layout (`MOT17/train/<seq>`, or `train/<seq>` at the top) or
    ours (`images/train/<seq>`); a `val/` folder (DanceTrack) goes to images/test. `sequences`
    holds names or glob patterns (`MOT17-*-SDP`) of the sequences to keep, in either split; empty
    keeps all, except that of MOT17's three copies of each sequence only the SDP one is kept. From a
    zip only the kept sequences are extracted, within `limits`; a folder with a symbolic link
    out of it is refused. Everything is assembled in a temporary sibling of `out_dir` and renamed into place.
    """
    source, out_dir = Path(source), Path(out_dir)
    if not source.exists():
        raise DataError(f"{source}: not found; set data.path to a MOT17-layout folder or zip")
    with atomic_dir(out_dir) as tmp:
        if source.is_file():
            with open_zip(source) as archive:
                root, found = _layout_in_zip(archive.namelist(), source)
            keep = _select(found, sequences, source)
            wanted = {(*root, split, name) for split, names in keep.items() for name in names}
            extracted = tmp / ".extract"
            extract_zip_safely(source, extracted, include=lambda member: _sequence_key(member, len(root)) in wanted,
                               limits=limits)
            base = extracted.joinpath(*root)
            with user_paths({extracted: source}):  # errors name the member inside the user's zip
                for split, names in keep.items():
                    for name in names:
                        _place(base / split / name, tmp / "images" / SOURCE_SPLITS[split] / name, source, split, move=True)
            shutil.rmtree(extracted)
        else:
            refuse_links_out(source)
            base = _find_layout_root(source, source)
            found = {split: sorted(p.name for p in (base / split).iterdir() if p.is_dir())
                     for split in SOURCE_SPLITS if (base / split).is_dir()}
            for split, names in _select(found, sequences, source).items():
                for name in names:
                    _place(base / split / name, tmp / "images" / SOURCE_SPLITS[split] / name, source, split, move=False)


def _sequence_key(member: str, depth: int) -> tuple[str, ...]:
    """(*root, split, sequence) of an archive member `depth` folders below the archive top."""
    return tuple(PurePosixPath(member.replace("\\", "/")).parts[: depth + 2])


def _layout_in_zip(names: list[str], source: Path) -> tuple[tuple[str, ...], dict[str, list[str]]]:
    """The folder holding train/ inside the archive, and the sequences under train/ and test/."""
    layouts: dict[tuple[str, ...], dict[str, set[str]]] = {}
    for member in names:
        parts = PurePosixPath(member.replace("\\", "/")).parts
        for i, part in enumerate(parts[:-2]):
            if part in SOURCE_SPLITS:
                layouts.setdefault(parts[:i], {}).setdefault(part, set()).add(parts[i + 1])
                break
    roots = sorted((r for r, splits in layouts.items() if "train" in splits), key=lambda r: (len(r), r))
    if not roots:
        raise DataError(
            f"{source}: no train/<sequence>/ folders found; expected MOT17 layout "
            "(MOT17/train/<seq>/{seqinfo.ini,img1/,gt/gt.txt}) or images/train/<seq>/..."
        )
    return roots[0], {split: sorted(layouts[roots[0]][split]) for split in SOURCE_SPLITS if split in layouts[roots[0]]}


def _find_layout_root(folder: Path, source: Path) -> Path:
    """The folder holding train/ (and maybe test/) with sequence folders inside."""
    candidates = [folder / "images", folder, folder / "MOT17"]
    candidates += sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    candidates += [p / "images" for p in candidates[3:]]
    for root in candidates:
        if (root / "train").is_dir() and any(p.is_dir() for p in (root / "train").iterdir()):
            return root
    raise DataError(
        f"{source}: no train/<sequence>/ folders found; expected MOT17 layout "
        "(MOT17/train/<seq>/{seqinfo.ini,img1/,gt/gt.txt}) or images/train/<seq>/..."
    )


def _select(found: dict[str, list[str]], patterns: list[str], source: Path) -> dict[str, list[str]]:
    """The sequences of each split that match `patterns` (see prepare_mot17)."""
    everything = [name for names in found.values() for name in names]
    if patterns:
        exact = [p for p in patterns if not any(c in p for c in "*?[")]
        missing = [p for p in exact if p not in everything]
        if missing:
            raise DataError(
                f"{source}: sequences not found: {', '.join(missing)} (available: {', '.join(everything) or 'none'}); "
                "fix data.sequences"
            )
    elif any(name.endswith(_MOT17_COPIES) for name in everything):
        patterns = ["*-SDP"] + [n for n in everything if not n.endswith(_MOT17_COPIES)]
    keep = {split: [n for n in names if not patterns or any(fnmatch.fnmatchcase(n, p) for p in patterns)]
            for split, names in found.items()}
    if not any(keep.values()):
        raise DataError(f"{source}: none of the sequences {', '.join(everything)} match data.sequences {patterns}")
    return keep


def _place(src: Path, dst: Path, source: Path, split: str, *, move: bool) -> None:
    _check_sequence(src, source, needs_gt=split in ("train", "val"))
    if dst.exists():
        raise DataError(f"{src}: a sequence named {dst.name!r} is in two split folders of {source}; rename one")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if move:
        src.rename(dst)
    else:
        shutil.copytree(src, dst)  # a copy, not links: DVC makes its cached files read-only


def _check_sequence(seq: Path, source: Path, *, needs_gt: bool) -> None:
    required = ["seqinfo.ini", "img1"] + (["gt/gt.txt"] if needs_gt else [])
    missing = [name for name in required if not (seq / name).exists()]
    if missing:
        raise DataError(f"{seq}: missing {', '.join(missing)} (in {source}); "
                        "a MOT17 sequence needs seqinfo.ini, img1/ and, for training, gt/gt.txt")
    # read here, where the path is the user's, not later inside the assembled temporary
    read_seqinfo(seq / "seqinfo.ini")
    if (seq / "gt" / "gt.txt").exists():
        read_gt(seq / "gt" / "gt.txt")
