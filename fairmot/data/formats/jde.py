"""The `jde` kind: the reference's own prepared layout, taken without conversion.

A data root holds images and, beside them, `labels_with_ids` label files (the image path with
its `images` folder renamed `labels_with_ids` and the extension `.txt`, as ifzhang/FairMOT
src/lib/datasets/dataset/jde.py derives them), plus a list file (`mot17.train`, ...) naming one
image per line relative to that root. Label lines are `class id cx cy w h`, normalised, with
ids from 0 (-1: no identity); the class column goes through the dataset's class_map. An
image without a label file has no boxes, as in the reference. A list line naming a missing
image is an error here, not a silently smaller dataset (ifzhang/FairMOT issue #465: list files
with wrong paths).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np

from fairmot.config import DatasetParams
from fairmot.data.boxes import fit_box, label_line
from fairmot.data.classes import numbered
from fairmot.errors import DataError

LIST = "list.txt"
EXAMPLES = 3


def label_rel(image_rel: str) -> str:
    """images/.../x.jpg -> labels_with_ids/.../x.txt (the last `images` folder is renamed)."""
    parts = list(PurePosixPath(image_rel).parts)
    folders = [i for i, part in enumerate(parts[:-1]) if part == "images"]
    if not folders:
        raise DataError(f"{image_rel}: a jde list line must name an image inside an 'images' folder "
                        "(its labels live in the matching 'labels_with_ids' folder)")
    parts[folders[-1]] = "labels_with_ids"
    return str(PurePosixPath(*parts).with_suffix(".txt"))


def prepare_jde(root: Path, target: Path, spec: DatasetParams) -> None:
    """Copy the listed images and their label files under target, and the list as target/list.txt.

    The list file and every file it names must lie inside `root` once links are followed: a list
    file outside it is refused before it is read (its lines would be echoed in errors), and a
    listed path through a link out of the tree is refused before anything is copied.
    """
    list_path = Path(root) / spec.list_file
    where = _outside(list_path, root)
    if where is not None:
        raise DataError(f"{list_path}: the list file resolves to {where}, outside {root} (data.datasets "
                        f"{spec.name!r}, list_file); name a list file inside the dataset")
    if not list_path.is_file():
        raise DataError(f"{list_path}: list file not found (data.datasets {spec.name!r}, list_file); it must be "
                        "relative to the folder or zip given as path/url")
    listed = [line.strip() for line in list_path.read_text().splitlines() if line.strip()]
    for rel in listed:
        if rel.startswith("/") or ".." in PurePosixPath(rel).parts:
            raise DataError(f"{list_path}: {rel!r} leaves the data root; list paths must be relative, without '..'")
    missing = [(i, rel) for i, rel in enumerate(listed, start=1) if not (Path(root) / rel).is_file()]
    if missing:
        examples = ", ".join(f"line {i}: {rel}" for i, rel in missing[:EXAMPLES])
        raise DataError(f"{list_path}: {len(missing)} of {len(listed)} listed images are missing ({examples}); "
                        f"list lines are paths relative to {root}: fix the list or the dataset path")
    for i, rel in enumerate(listed, start=1):
        for name in (rel, label_rel(rel)):
            where = _outside(Path(root) / name, root)
            if where is not None:
                raise DataError(f"{Path(root) / name}: a symbolic link to {where}, outside {root} "
                                f"(line {i} of {list_path}); copy the file into the dataset instead")
    for rel in listed:
        for name in (rel, label_rel(rel)):
            src = Path(root) / name
            if src.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target / name)
    target.mkdir(parents=True, exist_ok=True)
    (target / LIST).write_text("".join(rel + "\n" for rel in listed))


def _outside(path: Path, root: Path) -> Path | None:
    """Where `path` leads once links are followed, when that is outside `root` (a link loop counts)."""
    try:
        target = path.resolve()
    except (RuntimeError, OSError):  # a loop of links (RuntimeError before Python 3.13)
        return path
    return None if target.is_relative_to(Path(root).resolve()) else target


def jde_labels(target: Path, first_ids: list[int], clip: bool, class_map: Mapping[str, int] | None = None
               ) -> tuple[dict[str, list[str]], list[int], dict]:
    """({listed image: label lines with global ids}, next free id per class, counts).

    The class column goes through `class_map` ({class number: class index}; default: 0 is class
    0), rows of other numbers are left out (other_classes). Ids are offset by the class's
    first_ids entry (the reference offsets each dataset by the ids before it); the range reserved
    is max id + 1, so identities numbered with gaps keep their numbers.
    """
    from PIL import Image

    target = Path(target)
    class_map = {0: 0} if class_map is None else numbered(class_map, f"{target.name}: class_map")
    labels: dict[str, list[str]] = {}
    counts = {"boxes": 0, "clipped": 0, "outside": 0, "ignored": 0, "other_classes": 0, "identities": 0,
              "class_boxes": [0] * len(first_ids)}
    max_ids, used = [-1] * len(first_ids), set()
    for rel in (target / LIST).read_text().split():
        path = target / label_rel(rel)
        rows = _read_rows(path) if path.is_file() else np.zeros((0, 6))
        with Image.open(target / rel) as img:
            width, height = img.size
        lines = []
        for number, tid, cx, cy, w, h in rows:
            c = class_map.get(int(number)) if number == int(number) else None
            if c is None:
                counts["other_classes"] += 1
                continue
            x, y, w, h = (cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height
            if clip:
                fitted = fit_box(x, y, w, h, width, height, counts)
                if fitted is None:
                    continue
                x, y, w, h = fitted
            tid = int(tid)
            if tid >= 0:
                max_ids[c] = max(max_ids[c], tid)
                used.add((c, tid))
            lines.append(label_line(first_ids[c] + tid if tid >= 0 else -1, x, y, w, h, width, height, cls=c))
            counts["class_boxes"][c] += 1
        counts["boxes"] += len(lines)
        labels[rel] = lines
    counts["identities"] = len(used)
    counts["class_identities"] = [sum(1 for c, _ in used if c == k) for k in range(len(first_ids))]
    return labels, [first + top + 1 for first, top in zip(first_ids, max_ids)], counts



def _read_rows(path: Path) -> np.ndarray:
    try:
        values = np.array(path.read_text().split(), dtype=np.float64)
    except ValueError:
        raise DataError(f"{path}: non-numeric value; jde label lines are `class id cx cy w h`") from None
    if values.size % 6:
        raise DataError(f"{path}: {values.size} values is not a multiple of 6; lines must be `class id cx cy w h`")
    return values.reshape(-1, 6)
