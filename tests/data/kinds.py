"""Tiny sources of every dataset kind, written from code: a CVAT MOT 1.1 export, CrowdHuman, a jde folder.

Each has a few frames with the cases that matter: boxes past the image edge (clipped), boxes to
leave out (other labels, ignore flags, crowd masks), boxes without identity.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np


def jpg(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    ok, data = cv2.imencode(".jpg", rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    assert ok
    return data.tobytes()


# Datumaro's mot_seq_gt writer (what CVAT's "MOT 1.1" export runs): float boxes, class = line of
# gt/labels.txt, visibility 1 - occluded, track -1 for a box outside any track, no seqinfo.ini.
CVAT_GT = """\
1,1,10.5,8.0,10.0,20.0,1,1,1.0
2,1,12.5,8.0,10.0,20.0,1,1,0.0
3,1,60.0,30.0,10.0,20.0,1,1,1.0
1,2,30.0,10.0,8.0,16.0,1,2,1.0
2,-1,40.0,20.0,8.0,16.0,1,1,1.0
3,3,5.0,5.0,8.0,16.0,0,1,1.0
"""
CVAT_LABELS = "person\ncar"
# With ids from 1: track 1 is id 1; the trackless box is -1; frame 3 is cut to the 64x48 image;
# the car (label 2) and the ignored person (column 7 = 0) are left out.
CVAT_EXPECTED = {
    1: "0 1 0.242188 0.375000 0.156250 0.416667\n",
    2: "0 -1 0.687500 0.583333 0.125000 0.333333\n0 1 0.273438 0.375000 0.156250 0.416667\n",
    3: "0 1 0.968750 0.812500 0.062500 0.375000\n",
}


def cvat_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("gt/gt.txt", CVAT_GT)
        zf.writestr("gt/labels.txt", CVAT_LABELS)
        for frame in (1, 2, 3):
            zf.writestr(f"img1/{frame:06d}.jpg", jpg(64, 48, frame))
    return path


def cvat_folder(root: Path, gt: str, names: list[str], size: tuple[int, int] = (64, 48), labels: str = CVAT_LABELS) -> Path:
    """A CVAT MOT 1.1 export as a folder: gt/gt.txt, gt/labels.txt and img1/<name> for each name."""
    (root / "gt").mkdir(parents=True)
    (root / "gt" / "gt.txt").write_text(gt)
    (root / "gt" / "labels.txt").write_text(labels)
    (root / "img1").mkdir()
    for i, name in enumerate(names):
        (root / "img1" / name).write_bytes(jpg(*size, seed=i))
    return root


def mot_folder(root: Path, name: str, gt: str, length: int, size: tuple[int, int] = (64, 48)) -> Path:
    """A MOTChallenge-layout source (MOT20's): train/<name>/{seqinfo.ini, img1/, gt/gt.txt}."""
    seq = root / "train" / name
    (seq / "img1").mkdir(parents=True)
    (seq / "gt").mkdir()
    (seq / "gt" / "gt.txt").write_text(gt)
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nimDir=img1\nframeRate=25\nseqLength={length}\n"
                                     f"imWidth={size[0]}\nimHeight={size[1]}\nimExt=.jpg\n")
    for frame in range(1, length + 1):
        (seq / "img1" / f"{frame:06d}.jpg").write_bytes(jpg(*size, seed=frame))
    return root


CROWD_IDS = ("273271,c9db000d5146c15", "273275,4e9d1000623d0fb")
CROWD_ODGT = [
    {"ID": CROWD_IDS[0], "gtboxes": [
        {"tag": "person", "fbox": [10, 5, 20, 40], "extra": {"box_id": 0, "ignore": 0}},
        {"tag": "person", "fbox": [50, 10, 10, 20], "extra": {"box_id": 1, "ignore": 1}},
        {"tag": "mask", "fbox": [0, 0, 5, 5], "extra": {"box_id": 2, "ignore": 1}},
    ]},
    {"ID": CROWD_IDS[1], "gtboxes": [
        {"tag": "person", "fbox": [-5, 10, 20, 20], "extra": {"box_id": 0, "occ": 1}},
        {"tag": "person", "fbox": [50, 50, 10, 10], "extra": {"box_id": 1}},
    ]},
]
# Image 0 is 80x60, image 1 40x40: the ignore-flagged box and the mask are left out, the box
# past the left edge is cut, the one wholly outside dropped; no box has an identity.
CROWD_EXPECTED = {
    CROWD_IDS[0]: "0 -1 0.250000 0.416667 0.250000 0.666667\n",
    CROWD_IDS[1]: "0 -1 0.187500 0.500000 0.375000 0.500000\n",
}


def crowdhuman_folder(root: Path, records: list[dict] | None = None) -> Path:
    (root / "Images").mkdir(parents=True)
    (root / "Images" / f"{CROWD_IDS[0]}.jpg").write_bytes(jpg(80, 60, 1))
    (root / "Images" / f"{CROWD_IDS[1]}.jpg").write_bytes(jpg(40, 40, 2))
    records = CROWD_ODGT if records is None else records
    (root / "annotation_train.odgt").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


JDE_LIST = ["MOT17/images/train/S/img1/000001.jpg", "MOT17/images/train/S/img1/000002.jpg"]
JDE_LABELS = {
    "MOT17/labels_with_ids/train/S/img1/000001.txt": "0 0 0.5 0.5 0.25 0.5\n0 3 0.1 0.5 0.25 0.5\n",
    "MOT17/labels_with_ids/train/S/img1/000002.txt": "0 -1 0.5 0.5 0.25 0.5\n",
}


def jde_expected(first_id: int) -> dict[str, str]:
    """Ids 0 and 3 become first_id and first_id + 3; the box past the left edge of 64x32 is cut."""
    return {
        JDE_LIST[0]: f"0 {first_id} 0.500000 0.500000 0.250000 0.500000\n"
                     f"0 {first_id + 3} 0.112500 0.500000 0.225000 0.500000\n",
        JDE_LIST[1]: "0 -1 0.500000 0.500000 0.250000 0.500000\n",
    }


def jde_folder(root: Path, listed: list[str] | None = None) -> Path:
    for i, rel in enumerate(JDE_LIST):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(jpg(64, 32, 10 + i))
    for rel, text in JDE_LABELS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "mot17.train").write_text("".join(line + "\n" for line in (JDE_LIST if listed is None else listed)))
    return root


def zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()
