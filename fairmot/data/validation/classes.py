"""The classes table: every class of params `classes` has boxes to train on, and identities where it is tracked.

A class the class maps leave without a single box (a class_map naming the wrong label, a source
without that class) would train a heatmap channel on nothing and never be detected; one without
identities would train its re-ID classifier on nothing. Counted from the label files of the
training split's images (data.train_split), not from the manifest, so stale labels are caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fairmot.data.index import label_path, read_split

CLASSES_COLUMNS = ["class", "index", "train_boxes", "identities", "tracked"]
CLASSES_EXPECTATIONS = [
    ("ExpectColumnValuesToBeBetween", {"column": "train_boxes", "min_value": 1}),
    ("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": "identities", "column_B": "tracked", "or_equal": True}),
]


def classes_rows(labels_root: Path, splits_dir: Path, train_split: str, classes: Sequence[str]) -> list[list[Any]]:
    """[class, index, boxes in the training split, distinct ids >= 1 there, 1 (every class is tracked)] per class."""
    boxes = [0] * len(classes)
    ids: list[set[int]] = [set() for _ in classes]
    for line in read_split(Path(splits_dir) / f"{train_split}.txt"):
        path = label_path(labels_root, line)
        values = path.read_text().split() if path.is_file() else []
        for cls, gid in zip(values[0::6], values[1::6]):
            try:
                c, i = int(float(cls)), int(float(gid))
            except ValueError:
                continue  # the labels table flags unreadable lines
            if 0 <= c < len(classes):
                boxes[c] += 1
                if i >= 1:
                    ids[c].add(i)
    return [[name, c, boxes[c], len(ids[c]), 1] for c, name in enumerate(classes)]
