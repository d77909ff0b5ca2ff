"""A `mot` source without a train/ split: a CVAT "MOT 1.1" export (or bare sequence folders).

CVAT exports MOT 1.1 through Datumaro's mot_seq_gt exporter
(openvinotoolkit/datumaro datumaro/plugins/data_formats/mot.py). Its gt.txt has MOT17's nine
columns, but three of them mean something else, and the folder differs:

- column 8 (class) is the 1-based line of the box's label in `gt/labels.txt`, not a MOT class
  (MOT17: 1 = pedestrian); here each label name goes through data.datasets[].class_map (label
  name -> class; {} = the names in data.datasets[].classes are pedestrians), the rows are
  renumbered class index + 1 (so one pedestrian class writes MOT's 1), and rows of other labels
  are dropped; datasets.json records that numbering ("gt_classes") for scoring;
- column 9 (visibility) is the `visibility` attribute if the task has one, else 1 - occluded
  (0.0 or 1.0); it is kept as written (training does not read it);
- column 7 is 0 only for boxes with an `ignored` attribute (MOT17: the "consider" flag); kept;
- x, y, w, h are floats (MOT17: integers); boxes outside any track get track id -1 (label id -1);
- there is no seqinfo.ini: the frame count and size come from img1/, the frame rate from
  data.datasets[].frame_rate;
- frames: the images of img1/ in natural order (digit runs compared as numbers) become frames
  1..N, copied as 000001..N. gt.txt's frame column is the export's own index: Datumaro names each
  image after the frame id it writes (`%06d` of it), so when every image is named by a number
  that number is the image's gt frame (an export numbered from 000000 has gt frames from 0);
  otherwise (`frame_0001.png`, ...) gt frame k is the k-th image. A gt frame without an image is
  an error naming the line.

A folder holding gt/gt.txt is one sequence: named after the dataset when there is one, else
`<dataset>-<folder>`. A sequence that has seqinfo.ini is taken as a MOTChallenge sequence.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fairmot.config import DatasetParams
from fairmot.data.classes import PEDESTRIAN as PEDESTRIAN_CLASS
from fairmot.data.classes import resolve_class_map
from fairmot.data.formats.mot import SeqInfo, read_gt, read_seqinfo, write_seqinfo
from fairmot.data.names import natural_key
from fairmot.errors import ConfigError, DataError
from fairmot.io import atomic_file

log = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


def prepare_cvat(root: Path, tmp: Path, spec: DatasetParams, classes: Sequence[str] = (PEDESTRIAN_CLASS,)
                 ) -> tuple[list[str], int, dict[str, str] | None]:
    """Write each sequence under tmp/images/train/<name> in MOTChallenge form.

    Returns the sequence names, how many gt rows of labels no class takes were left out (the
    manifest's other_classes: they never reach the dataset's gt.txt), and the gt.txt numbering
    of the converted exports ({"1": classes[0], ...}; None when no sequence had gt/labels.txt).
    """
    seq_dirs = sorted({p.parent.parent for p in Path(root).rglob("gt/gt.txt")})
    if not seq_dirs:
        raise DataError(f"{spec.path or spec.url}: no gt/gt.txt found (data.datasets {spec.name!r}, kind mot); "
                        "expected MOTChallenge train/<seq>/ folders or a CVAT 'MOT 1.1' export (gt/gt.txt, img1/)")
    names, other, mapped = [], 0, False
    label_classes = cvat_class_map(spec, classes)
    for seq_dir in seq_dirs:
        name = spec.name if len(seq_dirs) == 1 else f"{spec.name}-{'-'.join(seq_dir.relative_to(root).parts)}"
        dest = tmp / "images" / "train" / name
        if dest.exists():
            raise DataError(f"{seq_dir}: dataset {spec.name!r} gives a sequence name ({name!r}) an earlier dataset "
                            "already has; rename the dataset")
        left_out, converted = _normalise(seq_dir, dest, spec, name, label_classes)
        other, mapped = other + left_out, mapped or converted
        names.append(name)
    numbering = {str(c + 1): classes[c] for c in sorted(set(label_classes.values()))} if mapped else None
    return names, other, numbering


def cvat_class_map(spec: DatasetParams, classes: Sequence[str]) -> dict[str, int]:
    """{lower-cased CVAT label name: class index}: spec.class_map (label names -> classes), else the
    names in spec.classes are the pedestrian class (with one class: that class, whatever its name)."""
    key = f"data.datasets {spec.name!r} class_map"
    if spec.class_map:
        return {label.strip().lower(): c for label, c in resolve_class_map("mot", spec.class_map, classes, key=key).items()}
    main = 0 if len(classes) == 1 else (list(classes).index(PEDESTRIAN_CLASS) if PEDESTRIAN_CLASS in classes else None)
    if main is None:
        raise ConfigError(f"{key}: classes {list(classes)} has no {PEDESTRIAN_CLASS!r} for the label names {spec.classes}; "
                          "set class_map to map the export's label names onto classes")
    return {name.strip().lower(): main for name in spec.classes}


def _normalise(seq_dir: Path, dest: Path, spec: DatasetParams, name: str, label_classes: dict[str, int]) -> tuple[int, bool]:
    """Write the sequence at dest; (rows of other labels left out, whether labels.txt renumbered it)."""
    if (seq_dir / "seqinfo.ini").is_file():
        info = read_seqinfo(seq_dir / "seqinfo.ini")
        shutil.copytree(seq_dir / info.im_dir, dest / info.im_dir)
        write_seqinfo(dest / "seqinfo.ini", info)
        (dest / "gt").mkdir()
        shutil.copyfile(seq_dir / "gt" / "gt.txt", dest / "gt" / "gt.txt")
        return 0, False
    images = _frames(seq_dir / "img1", name)
    info = _infer_seqinfo(images, spec, name)
    rows = _renumber(read_gt(seq_dir / "gt" / "gt.txt"), images, seq_dir / "gt" / "gt.txt")
    labels = seq_dir / "gt" / "labels.txt"
    total = len(rows)
    if labels.is_file():
        rows = _class_rows(rows, labels, spec, label_classes)
    (dest / "img1").mkdir(parents=True)
    for frame, image in enumerate(images, start=1):
        shutil.copyfile(image, dest / "img1" / f"{frame:06d}{info.im_ext}")
    write_seqinfo(dest / "seqinfo.ini", info)
    (dest / "gt").mkdir()
    with atomic_file(dest / "gt" / "gt.txt") as handle:
        for r in rows:
            handle.write(f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},"
                         f"{int(r[6])},{int(r[7])},{r[8]:.2f}\n")
    return total - len(rows), labels.is_file()


def _frames(folder: Path, name: str) -> list[Path]:
    """The images of an export's img1/ in natural order; the i-th becomes frame i (from 1)."""
    images = sorted((p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS), key=lambda p: natural_key(p.name))
    if not images:
        raise DataError(f"{folder}: no images; a CVAT MOT 1.1 export must be made with 'save images' on")
    exts = {p.suffix for p in images}
    if len(exts) > 1:
        raise DataError(f"{folder}: images of several formats {sorted(exts)}; convert them to one")
    log.info("%s: img1/ holds %d frames, numbered in natural name order: %s -> 1 ... %s -> %d", name, len(images),
             images[0].name, images[-1].name, len(images))
    return images


def _export_frames(images: list[Path]) -> dict[int, int]:
    """{the export's frame index (gt.txt's frame column): frame 1..N} (see the module docstring)."""
    if not all(re.fullmatch(r"[0-9]+", p.stem) for p in images):
        return {i: i for i in range(1, len(images) + 1)}
    index = {int(p.stem): i for i, p in enumerate(images, start=1)}
    if len(index) < len(images):
        same = [p.name for p in images if sum(int(q.stem) == int(p.stem) for q in images) > 1]
        raise DataError(f"{images[0].parent}: images {same[:2]} have the same frame number; keep one of them")
    return index


def _renumber(rows: np.ndarray, images: list[Path], gt_path: Path) -> np.ndarray:
    """gt rows with the export's frame index replaced by frame 1..N; a frame without image names its line."""
    index = _export_frames(images)
    frames = np.array([index.get(int(f), 0) if float(f).is_integer() else 0 for f in rows[:, 0]], dtype=np.float64)
    if len(rows) and (frames == 0).any():
        bad = int(np.argmax(frames == 0))
        lineno = [i for i, line in enumerate(gt_path.read_text().split("\n"), start=1) if line.strip()][bad]
        lo, hi = min(index), max(index)
        raise DataError(f"{gt_path}:{lineno}: frame {rows[bad, 0]:g} has no image; {images[0].parent} holds "
                        f"{len(images)} images ({images[0].name} .. {images[-1].name}), gt frames {lo}..{hi}")
    out = rows.copy()
    out[:, 0] = frames
    return out


def _class_rows(rows: np.ndarray, labels: Path, spec: DatasetParams, label_classes: dict[str, int]) -> np.ndarray:
    """Rows whose labels.txt label a class takes, with column 8 set to that class index + 1."""
    names = [line.strip() for line in labels.read_text().splitlines()]
    number = {i + 1: label_classes[label.lower()] + 1 for i, label in enumerate(names) if label.lower() in label_classes}
    if not number:
        raise DataError(f"{labels}: none of the labels {names} is one the class map takes {sorted(label_classes)}; "
                        f"set data.datasets[].class_map (or classes) for {spec.name!r} to the label names to train on")
    keep = rows[np.isin(rows[:, 7], list(number))].copy()
    if len(keep) < len(rows):
        log.info("%s: %d of %d boxes have labels no class takes (%s) and are left out", labels.parent.parent.name,
                 len(rows) - len(keep), len(rows), sorted(label_classes))
    keep[:, 7] = [number[int(n)] for n in keep[:, 7]]
    return keep


def _infer_seqinfo(images: list[Path], spec: DatasetParams, name: str) -> SeqInfo:
    from PIL import Image

    with Image.open(images[0]) as first:
        width, height = first.size
    return SeqInfo(name=name, frame_rate=spec.frame_rate, seq_length=len(images), width=width, height=height,
                   im_dir="img1", im_ext=images[0].suffix)
