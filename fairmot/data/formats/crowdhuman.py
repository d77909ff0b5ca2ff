"""The `detection` kind: CrowdHuman's .odgt annotations, boxes without identities (label id -1).

An .odgt file holds one JSON record per line: {"ID": "<image id>", "gtboxes": [{"tag": "person"
| "mask", "fbox": [x, y, w, h], "extra": {"ignore": 0 | 1, ...}, ...}]}. As the reference's
ifzhang/FairMOT src/gen_labels_crowd_id.py: the full-body box `fbox` is the label, "mask" (crowd
regions) and `extra.ignore == 1` boxes are left out (counted as ignored, tags the class map does
not take as other_classes; by default person is the main class). Every record is checked
before use (types of ID, gtboxes, tag, fbox, extra), so a malformed one is one error naming
file:line. Unlike the reference, no box gets an identity: detection sets train the heatmap, size and offset heads only (the id loss ignores
-1, fairmot/models/losses.py).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from fairmot.data.boxes import fit_box, label_line
from fairmot.errors import DataError

ANNOTATIONS = "annotations.odgt"
IMAGE_EXTS = (".jpg", ".jpeg", ".png")


def prepare_crowdhuman(root: Path, target: Path, name: str) -> None:
    """Copy every annotated image to target/images/<ID><ext> and the records to target/annotations.odgt."""
    odgts = sorted(Path(root).rglob("*.odgt"))
    if not odgts:
        raise DataError(f"{root}: no .odgt annotation file (data.datasets {name!r}, kind detection); "
                        "expected CrowdHuman's annotation_train.odgt next to its Images/ folder")
    images = {p.stem: p for p in sorted(Path(root).rglob("*")) if p.suffix.lower() in IMAGE_EXTS}
    (target / "images").mkdir(parents=True)
    lines = []
    for odgt in odgts:
        for lineno, record in records(odgt):
            image = images.get(record["ID"])
            if image is None:
                raise DataError(f"{odgt}:{lineno}: image {record['ID']!r} not found under {root}; "
                                "unpack every CrowdHuman_*.zip part into the same folder")
            shutil.copyfile(image, target / "images" / f"{record['ID']}{image.suffix}")
            lines.append(json.dumps({"ID": record["ID"], "image": f"images/{record['ID']}{image.suffix}",
                                     "gtboxes": record["gtboxes"]}, sort_keys=True))
    (target / ANNOTATIONS).write_text("".join(line + "\n" for line in lines))


def records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) of each non-blank line, every record checked: DataError naming path:line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); an .odgt file holds one JSON record per line") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield lineno, _parse(line, path, lineno)


def _parse(line: str, path: Path, lineno: int) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{lineno}: not a JSON record ({exc.msg})") from None
    except RecursionError:
        raise DataError(f"{path}:{lineno}: not a CrowdHuman record (JSON nested too deeply)") from None
    problem = _record_problem(record)
    if problem:
        raise DataError(f"{path}:{lineno}: {problem}; a record is {{\"ID\": \"<image name>\", \"gtboxes\": "
                        "[{\"tag\": \"person\", \"fbox\": [x, y, w, h], \"extra\": {...}}, ...]}")
    return record


def _record_problem(record: object) -> str | None:
    """What is wrong with a decoded record (None when nothing is): the types the labels rely on."""
    if not isinstance(record, dict):
        return f"the record is a JSON {type(record).__name__}, not an object"
    for key in ("ID", "gtboxes"):
        if key not in record:
            return f"the record has no {key!r}"
    if not isinstance(record["ID"], str) or not record["ID"]:
        return f"\"ID\" is {record['ID']!r}, not an image name (a non-empty string)"
    if not isinstance(record["gtboxes"], list):
        return f"\"gtboxes\" is a JSON {type(record['gtboxes']).__name__}, not a list of boxes"
    for i, box in enumerate(record["gtboxes"]):
        problem = _box_problem(box)
        if problem:
            return f"gtboxes[{i}]: {problem}"
    return None


def _box_problem(box: object) -> str | None:
    if not isinstance(box, dict):
        return f"a JSON {type(box).__name__}, not an object"
    for key in ("tag", "fbox"):
        if key not in box:
            return f"no {key!r}"
    if not isinstance(box["tag"], str):
        return f"\"tag\" is {box['tag']!r}, not a string"
    fbox = box["fbox"]
    if not (isinstance(fbox, list) and len(fbox) == 4 and all(_finite_number(v) for v in fbox)):
        return f"\"fbox\" is {_short(fbox)}, not a list of 4 finite numbers [x, y, w, h]"
    if "extra" in box and not isinstance(box["extra"], dict):
        return f"\"extra\" is {_short(box['extra'])}, not an object"
    return None


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def crowdhuman_labels(target: Path, clip: bool, class_map: Mapping[str, int] | None = None, num_classes: int = 1
                      ) -> tuple[dict[str, list[str]], dict]:
    """({image path relative to target: label lines}, counts as fairmot.data.boxes.COUNT_DEFINITIONS
    plus "class_boxes"); `class_map`: {tag: class index} (default: person is class 0)."""
    from PIL import Image

    class_map = {"person": 0} if class_map is None else class_map
    labels: dict[str, list[str]] = {}
    counts = {"boxes": 0, "ignored": 0, "other_classes": 0, "clipped": 0, "outside": 0, "class_boxes": [0] * num_classes}
    for _, record in records(Path(target) / ANNOTATIONS):
        with Image.open(Path(target) / record["image"]) as img:
            width, height = img.size
        lines = []
        for box in record["gtboxes"]:
            if box["tag"] not in class_map and box["tag"] != "mask":
                counts["other_classes"] += 1
                continue
            if box["tag"] == "mask" or box.get("extra", {}).get("ignore", 0) == 1:
                counts["ignored"] += 1
                continue
            x, y, w, h = (float(v) for v in box["fbox"])
            if clip:
                fitted = fit_box(x, y, w, h, width, height, counts)
                if fitted is None:
                    continue
                x, y, w, h = fitted
            lines.append(label_line(-1, x, y, w, h, width, height, cls=class_map[box["tag"]]))
            counts["class_boxes"][class_map[box["tag"]]] += 1
        counts["boxes"] += len(lines)
        labels[record["image"]] = lines
    return labels, counts
