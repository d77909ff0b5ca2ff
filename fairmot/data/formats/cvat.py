"""A `mot` source without a train/ split: a CVAT "MOT 1.1" export (or bare sequence folders).

CVAT exports MOT 1.1 through Datumaro's mot_seq_gt exporter
(openvinotoolkit/datumaro datumaro/plugins/data_formats/mot.py). Its gt.txt has MOT17's nine
columns, but three of them mean something else, and the folder differs:

- column 8 (class) is the 1-based line of the box's label in `gt/labels.txt`, not a MOT class
  (MOT17: 1 = pedestrian); here the rows whose label is in data.datasets[].classes become class
  1 and the others are dropped;
- column 9 (visibility) is the `visibility` attribute if the task has one, else 1 - occluded
  (0.0 or 1.0); it is kept as written (training does not read it);
- column 7 is 0 only for boxes with an `ignored` attribute (MOT17: the "consider" flag); kept;
- x, y, w, h are floats (MOT17: integers); boxes outside any track get track id -1 (label id -1);
- there is no seqinfo.ini: the frame count and size come from img1/ (frames must be 000001..N),
  the frame rate from data.datasets[].frame_rate.

A folder holding gt/gt.txt is one sequence: named after the dataset when there is one, else
`<dataset>-<folder>`. A sequence that has seqinfo.ini is taken as a MOTChallenge sequence.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from fairmot.config import DatasetParams
from fairmot.data.formats.mot import PEDESTRIAN, SeqInfo, read_gt, read_seqinfo, write_seqinfo
from fairmot.errors import DataError
from fairmot.io import atomic_file

log = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


def prepare_cvat(root: Path, tmp: Path, spec: DatasetParams) -> list[str]:
    """Write each sequence under tmp/images/train/<name> in MOTChallenge form; return the names."""
    seq_dirs = sorted({p.parent.parent for p in Path(root).rglob("gt/gt.txt")})
    if not seq_dirs:
        raise DataError(f"{spec.path or spec.url}: no gt/gt.txt found (data.datasets {spec.name!r}, kind mot); "
                        "expected MOTChallenge train/<seq>/ folders or a CVAT 'MOT 1.1' export (gt/gt.txt, img1/)")
    names = []
    for seq_dir in seq_dirs:
        name = spec.name if len(seq_dirs) == 1 else f"{spec.name}-{'-'.join(seq_dir.relative_to(root).parts)}"
        dest = tmp / "images" / "train" / name
        if dest.exists():
            raise DataError(f"{dest}: dataset {spec.name!r} gives a sequence name an earlier dataset already has; "
                            "rename the dataset")
        _normalise(seq_dir, dest, spec, name)
        names.append(name)
    return names


def _normalise(seq_dir: Path, dest: Path, spec: DatasetParams, name: str) -> None:
    if (seq_dir / "seqinfo.ini").is_file():
        info = read_seqinfo(seq_dir / "seqinfo.ini")
        shutil.copytree(seq_dir / info.im_dir, dest / info.im_dir)
        write_seqinfo(dest / "seqinfo.ini", info)
        (dest / "gt").mkdir()
        shutil.copyfile(seq_dir / "gt" / "gt.txt", dest / "gt" / "gt.txt")
        return
    info = _infer_seqinfo(seq_dir, spec, name)
    rows = read_gt(seq_dir / "gt" / "gt.txt")
    labels = seq_dir / "gt" / "labels.txt"
    if labels.is_file():
        rows = _pedestrian_rows(rows, labels, spec)
    (dest / "gt").mkdir(parents=True)
    shutil.copytree(seq_dir / "img1", dest / "img1")
    write_seqinfo(dest / "seqinfo.ini", info)
    with atomic_file(dest / "gt" / "gt.txt") as handle:
        for r in rows:
            handle.write(f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},"
                         f"{int(r[6])},{int(r[7])},{r[8]:.2f}\n")


def _pedestrian_rows(rows: np.ndarray, labels: Path, spec: DatasetParams) -> np.ndarray:
    """Rows whose labels.txt label is one of spec.classes, with class set to MOT's pedestrian."""
    names = [line.strip() for line in labels.read_text().splitlines()]
    wanted = {c.strip().lower() for c in spec.classes}
    ids = [i + 1 for i, label in enumerate(names) if label.lower() in wanted]
    if not ids:
        raise DataError(f"{labels}: none of the labels {names} is a pedestrian label {spec.classes}; "
                        f"set data.datasets[].classes for {spec.name!r} to the label names to train on")
    keep = rows[np.isin(rows[:, 7], ids)].copy()
    if len(keep) < len(rows):
        log.info("%s: %d of %d boxes have other labels than %s and are left out", labels.parent.parent.name,
                 len(rows) - len(keep), len(rows), spec.classes)
    keep[:, 7] = PEDESTRIAN
    return keep


def _infer_seqinfo(seq_dir: Path, spec: DatasetParams, name: str) -> SeqInfo:
    images = sorted(p for p in (seq_dir / "img1").glob("*") if p.suffix.lower() in IMAGE_EXTS)
    if not images:
        raise DataError(f"{seq_dir / 'img1'}: no images; a CVAT MOT 1.1 export must be made with 'save images' on")
    for expected, path in enumerate(images, start=1):
        if path.stem != f"{expected:06d}":
            raise DataError(f"{path}: expected frame {expected:06d}{path.suffix}; frames must be numbered "
                            "000001..N without gaps")
    exts = {p.suffix for p in images}
    if len(exts) > 1:
        raise DataError(f"{seq_dir / 'img1'}: images of several formats {sorted(exts)}; convert them to one")
    from PIL import Image

    with Image.open(images[0]) as first:
        width, height = first.size
    return SeqInfo(name=name, frame_rate=spec.frame_rate, seq_length=len(images), width=width, height=height,
                   im_dir="img1", im_ext=images[0].suffix)
