"""The `visdrone` kind: VisDrone2019-MOT (sequences/<seq>/0000001.jpg, annotations/<seq>.txt) into the MOT layout.

An annotation row is `frame,id,x,y,w,h,score,category,truncation,occlusion` (frames from 1). In the
ground truth `score` is a flag: 0 = ignore the box (it becomes gt.txt's mark, as MOT17's consider
flag). Categories: 0 ignored region, 1 pedestrian, 2 people, 3 bicycle, 4 car, 5 van, 6 truck,
7 tricycle, 8 awning-tricycle, 9 bus, 10 motor, 11 others. gt.txt keeps the category in its class
column, so the class map decides later which of them train and score (0 and 11 are scored as
distractors); occlusion (0 none, 1 partial 1-50%, 2 heavy 50-100%) becomes visibility 1.0, 0.75
or 0.25. A folder with sequences/ and annotations/ whose name holds "val" or "test"
(VisDrone2019-MOT-val, -test-dev) goes to images/test, any other to images/train.
"""

from __future__ import annotations

import fnmatch
import logging
import shutil
from pathlib import Path

import numpy as np

from fairmot.config import DatasetParams
from fairmot.data.formats.mot import SeqInfo, write_gt, write_seqinfo
from fairmot.errors import DataError

log = logging.getLogger(__name__)

CATEGORIES = tuple(range(12))
DISTRACTORS = (0, 11)  # ignored regions and "others"
_VISIBILITY = {0: 1.0, 1: 0.75, 2: 0.25}  # occlusion level -> the middle of its visible fraction
_FIELDS = "frame,id,x,y,w,h,score,category,truncation,occlusion"


def visdrone_roots(root: Path) -> list[Path]:
    """Folders under `root` (itself included) holding both sequences/ and annotations/, sorted."""
    found = [p.parent for p in Path(root).rglob("annotations") if p.is_dir() and (p.parent / "sequences").is_dir()]
    return sorted(set(found))


def prepare_visdrone(root: Path, out: Path, spec: DatasetParams) -> None:
    """Write every (selected) sequence as out/images/<train|test>/<seq>/{seqinfo.ini, img1/, gt/gt.txt}."""
    roots = visdrone_roots(root)
    if not roots:
        raise DataError(f"{spec.path or spec.url}: no VisDrone2019-MOT layout (a folder with sequences/ and annotations/) "
                        f"found (data.datasets {spec.name!r}, kind visdrone)")
    chosen = 0
    for base in roots:
        split = "test" if any(w in base.name.lower() for w in ("val", "test")) else "train"
        for seq in sorted(p for p in (base / "sequences").iterdir() if p.is_dir()):
            if spec.sequences and not any(fnmatch.fnmatchcase(seq.name, pat) for pat in spec.sequences):
                continue
            _convert(seq, base / "annotations" / f"{seq.name}.txt", out / "images" / split / seq.name, spec)
            chosen += 1
    if not chosen:
        raise DataError(f"{spec.path or spec.url}: no sequence matches data.datasets {spec.name!r} sequences {spec.sequences}")


def _convert(seq: Path, annotations: Path, dest: Path, spec: DatasetParams) -> None:
    if dest.exists():
        raise DataError(f"{seq}: a sequence named {seq.name!r} is in two VisDrone folders of {spec.path or spec.url}; keep one")
    if not annotations.is_file():
        raise DataError(f"{annotations}: not found; every VisDrone sequence needs its annotations/<sequence>.txt")
    images = _images(seq)
    rows = read_annotations(annotations, len(images))
    from PIL import Image

    with Image.open(images[0]) as first:
        width, height = first.size
    (dest / "img1").mkdir(parents=True)
    for frame, image in enumerate(images, start=1):
        shutil.copyfile(image, dest / "img1" / f"{frame:06d}{image.suffix.lower()}")
    write_seqinfo(dest / "seqinfo.ini", SeqInfo(seq.name, spec.frame_rate, len(images), width, height,
                                                im_ext=images[0].suffix.lower()))
    (dest / "gt").mkdir()
    write_gt(dest / "gt" / "gt.txt", rows)
    log.info("%s: %d frames of %dx%d, %d boxes", seq.name, len(images), width, height, len(rows))


def _images(seq: Path) -> list[Path]:
    """The sequence's frames 0000001.jpg .. N in order; numbered otherwise is an error naming the image."""
    images = sorted((p for p in seq.iterdir() if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg", ".png")),
                    key=lambda p: (not p.stem.isdigit(), int(p.stem) if p.stem.isdigit() else 0, p.name))
    if not images:
        raise DataError(f"{seq}: no images; a VisDrone sequence folder holds its frames 0000001.jpg, 0000002.jpg, ...")
    for frame, image in enumerate(images, start=1):
        if not image.stem.isdigit() or int(image.stem) != frame:
            raise DataError(f"{image}: expected frame {frame} here ({frame:07d}{image.suffix}); VisDrone frames are "
                            "numbered 1..N without gaps")
    return images


def read_annotations(path: Path, frames: int) -> np.ndarray:
    """An annotation file as MOT gt rows (frame, id, x, y, w, h, mark, class, visibility); errors name file:line."""
    rows, seen = [], {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().rstrip(",").split(",")
        if len(parts) < 10:
            raise DataError(f"{path}:{lineno}: expected 10 values ({_FIELDS}), got {len(parts)}: {line.strip()!r}")
        try:
            values = [float(v) for v in parts[:10]]
        except ValueError:
            raise DataError(f"{path}:{lineno}: non-numeric value in {line.strip()!r} ({_FIELDS})") from None
        frame, tid, x, y, w, h, score, category, _, occlusion = values
        problem = _row_problem(frame, tid, score, category, frames)
        if problem:
            raise DataError(f"{path}:{lineno}: {problem}")
        if tid >= 1 and (frame, tid) in seen:
            raise DataError(f"{path}:{lineno}: id {tid:g} is in frame {frame:g} twice (also line {seen[frame, tid]}); "
                            "an id names one object per frame")
        seen[frame, tid] = lineno
        rows.append([frame, tid, x, y, w, h, score, category, _VISIBILITY.get(int(occlusion), 1.0)])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 9)


def _row_problem(frame: float, tid: float, score: float, category: float, frames: int) -> str | None:
    if not frame.is_integer() or not 1 <= frame <= frames:
        return f"frame {frame:g} is not one of the sequence's frames 1..{frames}"
    if not tid.is_integer() or tid < 0:
        return f"id {tid:g} is not a whole number >= 0"
    if score not in (0, 1):
        return f"score {score:g} is not the ground truth's flag 0 (ignore) or 1; use the annotations, not detections"
    if category not in CATEGORIES:
        return f"category {category:g} is not a VisDrone category 0..11"
    return None
