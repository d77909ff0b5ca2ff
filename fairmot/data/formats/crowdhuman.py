"""The `detection` kind: CrowdHuman's .odgt annotations, boxes without identities (label id -1).

An .odgt file holds one JSON record per line: {"ID": "<image id>", "gtboxes": [{"tag": "person"
| "mask", "fbox": [x, y, w, h], "extra": {"ignore": 0 | 1, ...}, ...}]}. As the reference's
ifzhang/FairMOT src/gen_labels_crowd_id.py: the full-body box `fbox` is the label, "mask" (crowd
regions) and `extra.ignore == 1` boxes are left out (counted as ignored). Unlike it, no box gets
an identity: detection sets train the heatmap, size and offset heads only (the id loss ignores
-1, fairmot/models/losses.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fairmot.data.boxes import clip_xywh, label_line
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
        for lineno, line in enumerate(odgt.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            record = _parse(line, odgt, lineno)
            image = images.get(record["ID"])
            if image is None:
                raise DataError(f"{odgt}:{lineno}: image {record['ID']!r} not found under {root}; "
                                "unpack every CrowdHuman_*.zip part into the same folder")
            shutil.copyfile(image, target / "images" / f"{record['ID']}{image.suffix}")
            lines.append(json.dumps({"ID": record["ID"], "image": f"images/{record['ID']}{image.suffix}",
                                     "gtboxes": record.get("gtboxes", [])}, sort_keys=True))
    (target / ANNOTATIONS).write_text("".join(line + "\n" for line in lines))


def _parse(line: str, path: Path, lineno: int) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{lineno}: not a JSON record ({exc.msg})") from None
    if not isinstance(record, dict) or "ID" not in record:
        raise DataError(f"{path}:{lineno}: a record needs an \"ID\" (the image name without extension)")
    return record


def crowdhuman_labels(target: Path, clip: bool) -> tuple[dict[str, list[str]], dict[str, int]]:
    """({image path relative to target: label lines}, counts boxes/ignored/clipped/outside)."""
    from PIL import Image

    path = Path(target) / ANNOTATIONS
    labels: dict[str, list[str]] = {}
    counts = {"boxes": 0, "ignored": 0, "clipped": 0, "outside": 0}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        record = _parse(line, path, lineno)
        with Image.open(Path(target) / record["image"]) as img:
            width, height = img.size
        lines = []
        for box in record["gtboxes"]:
            if box.get("tag") != "person" or (box.get("extra") or {}).get("ignore", 0) == 1:
                counts["ignored"] += 1
                continue
            x, y, w, h = (float(v) for v in box["fbox"])
            if clip:
                fitted = clip_xywh(x, y, w, h, width, height)
                if fitted is None:
                    counts["outside"] += 1
                    continue
                counts["clipped"] += fitted != (x, y, w, h)
                x, y, w, h = fitted
            lines.append(label_line(-1, x, y, w, h, width, height))
        counts["boxes"] += len(lines)
        labels[record["image"]] = lines
    return labels, counts
