"""Validation tables of a mixed dataset: the failures that mixing brings (ifzhang/FairMOT #240, #465).

One row per dataset, computed from what is on disk (the split indexes and the label files), not
from what the manifest claims, so a stale or hand-edited label set is caught:

- frames:        index lines of the dataset; 0 means it silently contributes nothing (#240);
- identities:    distinct ids >= 1 in its label files; mot and jde datasets need at least one
                 (a detection set has none by design);
- overlaps:      other datasets whose id range [min, max] of some class intersects this one's:
                 identities of two datasets sharing ids would be trained as the same people;
- missing_images: index lines naming an image that is not there (#465: list files with wrong paths).

Plus one row per label line of the detection and jde sets (appended to the labels table) and one
per image of theirs (appended to the images table), so they get the same line and image checks.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

from fairmot.data.index import label_path, read_split

NEEDS_IDENTITIES = {"mot": 1, "synthetic": 1, "visdrone": 1, "jde": 1, "detection": 0}


def dataset_of(line: str, manifest: dict) -> str | None:
    """The dataset an index line belongs to: sets/<name>/... or the dataset of images/<split>/<seq>."""
    parts = PurePosixPath(line).parts
    if parts[0] == "sets":
        return parts[1]
    seq = manifest["sequences"].get(parts[2]) if len(parts) > 2 else None
    return seq.get("dataset") if seq else None


def index_lines(splits_dir: Path) -> list[str]:
    """Every image the split indexes name (train and test; half and val are subsets of train)."""
    return read_split(Path(splits_dir) / "train.txt") + read_split(Path(splits_dir) / "test.txt")


def datasets_rows(dataset_root: Path, labels_root: Path, splits_dir: Path, manifest: dict) -> list[list[Any]]:
    """[dataset, kind, frames, identities, needs_identities, overlaps, missing_images] per dataset."""
    lines_of: dict[str, list[str]] = defaultdict(list)
    for line in index_lines(splits_dir):
        lines_of[dataset_of(line, manifest) or "?"].append(line)
    ids_of: dict[str, set[tuple[int, int]]] = {}
    for name in manifest["datasets"]:
        ids: set[tuple[int, int]] = set()
        for line in lines_of.get(name, []):
            path = label_path(labels_root, line)
            if path.is_file():
                values = path.read_text().split()
                ids.update(zip((int(float(v)) for v in values[0::6]), (int(float(v)) for v in values[1::6])))
        ids_of[name] = {(c, i) for c, i in ids if i >= 1}
    rows = []
    for name, entry in manifest["datasets"].items():
        overlaps = sum(1 for other in ids_of if other != name and _blocks_meet(ids_of[name], ids_of[other]))
        missing = sum(1 for line in lines_of.get(name, []) if not (Path(dataset_root) / line).is_file())
        rows.append([name, entry["kind"], len(lines_of.get(name, [])), len(ids_of[name]),
                     NEEDS_IDENTITIES[entry["kind"]], overlaps, missing])
    return rows


def _blocks_meet(a: set[tuple[int, int]], b: set[tuple[int, int]]) -> bool:
    """Whether the id ranges [min, max] of two datasets intersect in some class (ids are per class)."""
    for c in {c for c, _ in a} & {c for c, _ in b}:
        a_ids, b_ids = [i for k, i in a if k == c], [i for k, i in b if k == c]
        if min(a_ids) <= max(b_ids) and min(b_ids) <= max(a_ids):
            return True
    return False


def set_lines(splits_dir: Path) -> list[str]:
    """Index lines of the detection and jde sets (their images and labels are outside images/)."""
    return [line for line in index_lines(splits_dir) if line.startswith("sets/")]


DATASETS_COLUMNS = ["dataset", "kind", "frames", "identities", "needs_identities", "overlaps", "missing_images"]
DATASETS_EXPECTATIONS = [
    ("ExpectColumnValuesToBeBetween", {"column": "frames", "min_value": 1}),
    ("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": "identities", "column_B": "needs_identities",
                                                 "or_equal": True}),
    ("ExpectColumnValuesToBeInSet", {"column": "overlaps", "value_set": [0]}),
    ("ExpectColumnValuesToBeInSet", {"column": "missing_images", "value_set": [0]}),
]
