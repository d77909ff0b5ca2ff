"""Labels and splits of a mixed dataset (datasets.json): identity spaces kept apart, counts per dataset.

Datasets are walked in data.datasets order and each takes the next block of ids of each class,
so a class's nID is the sum of its blocks and no two datasets share an identity (the reference's
JointDataset offsets each dataset by the ids before it, ifzhang/FairMOT
src/lib/datasets/dataset/jde.py). Detection sets take no block: their boxes carry id -1.
mot sequences split as in the single-source case (train / half / val / test); every image of a
detection or jde set is a training image (train and half), never evaluated.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fairmot.config import DataParams
from fairmot.data.boxes import COUNT_DEFINITIONS
from fairmot.data.classes import entry_class_map, numbered
from fairmot.data.formats.crowdhuman import crowdhuman_labels
from fairmot.data.formats.jde import jde_labels
from fairmot.data.labels.common import SPLITS, label_sequence, labelled_sequences, write_splits
from fairmot.data.record import read_record
from fairmot.errors import DataError
from fairmot.io import atomic_dir

log = logging.getLogger(__name__)

# Kinds whose datasets are MOT-layout sequences (images/<split>/<seq>, gt.txt numbering its classes)
SEQUENCE_KINDS = ("mot", "synthetic", "visdrone")


def generate_mixed_labels(dataset_root: Path, labels_root: Path, splits_dir: Path, classes: list[str],
                          data: DataParams) -> dict:
    """Write every dataset's labels, the split indexes and manifest.json (with "datasets")."""
    record = read_record(dataset_root)
    sequences = {seq.name: seq for seq in labelled_sequences(dataset_root, allow_no_train=True)}
    index: dict[str, list[str]] = {name: [] for name in SPLITS}
    manifest_sequences: dict[str, dict] = {}
    datasets: dict[str, dict] = {}
    next_ids = [1] * len(classes)
    with atomic_dir(labels_root) as tmp_labels:
        for entry in record:
            first_ids, before = next_ids, len(index["train"]) + len(index["test"])
            class_map = entry_class_map(entry, data, classes)
            if entry["kind"] in SEQUENCE_KINDS:
                counts, next_ids = _label_sequences(entry, sequences, dataset_root, tmp_labels, next_ids, index,
                                                    numbered(class_map, f"{entry['name']}: class_map"), manifest_sequences)
            else:
                counts, next_ids = _label_set(dataset_root, tmp_labels, entry, next_ids, index, class_map)
            frames = len(index["train"]) + len(index["test"]) - before
            datasets[entry["name"]] = _dataset_entry(entry, frames, counts, first_ids, next_ids)
            log.info("%s (%s): %d frames, %d boxes, %d identities", entry["name"], entry["kind"], frames,
                     counts["boxes"], datasets[entry["name"]]["identities"])
        manifest = {
            "nID": sum(next_ids) if len(classes) > 1 else next_ids[0],
            "classes": classes,
            "class_nID": next_ids,
            "sequences": manifest_sequences,
            "datasets": datasets,
            "count_definitions": COUNT_DEFINITIONS,  # what clipped / outside / ignored / other_classes of "datasets" mean
            "splits": {name: len(index[name]) for name in SPLITS},
        }
        write_splits(splits_dir, index, manifest)
    return manifest


def _label_sequences(entry: dict, sequences: dict, dataset_root: Path, tmp_labels: Path, next_ids: list[int],
                     index: dict[str, list[str]], class_map: dict[int, int], manifest_sequences: dict
                     ) -> tuple[dict, list[int]]:
    """Labels of a mot, synthetic or visdrone dataset's sequences; (counts, next ids per class)."""
    # rows of other labels that a CVAT export's sequences lost at download (datasets.json)
    counts = {"boxes": 0, **dict.fromkeys(COUNT_DEFINITIONS, 0), "other_classes": entry.get("other_classes", 0),
              "class_boxes": [0] * len(next_ids)}
    for name in _ordered(entry["sequences"], sequences, dataset_root, entry["name"]):
        seq_entry, next_ids, seq_counts = label_sequence(sequences[name], tmp_labels, next_ids, index,
                                                         clip=entry["clip"], class_map=class_map)
        manifest_sequences[name] = {**seq_entry, "dataset": entry["name"]}
        counts["boxes"] += seq_entry["boxes"]
        counts["class_boxes"] = [a + b for a, b in zip(counts["class_boxes"], seq_counts["class_boxes"])]
        for key in COUNT_DEFINITIONS:
            counts[key] += seq_counts[key]
    return counts, next_ids


def _dataset_entry(entry: dict, frames: int, counts: dict, first_ids: list[int], next_ids: list[int]) -> dict:
    """The manifest's "datasets" entry: counts, and the id block it took ("ids": the main class's)."""
    blocks = [[first, after - 1] if after > first else None for first, after in zip(first_ids, next_ids)]
    identities = [after - first for first, after in zip(first_ids, next_ids)]
    found = {
        "kind": entry["kind"],
        "frames": frames,
        "boxes": counts["boxes"],
        "identities": sum(identities) if entry["kind"] != "jde" else counts["identities"],
        "ids": blocks[0],
        **{key: counts[key] for key in COUNT_DEFINITIONS},
    }
    if len(first_ids) > 1:
        found.update(class_boxes=counts["class_boxes"], class_ids=blocks,
                     class_identities=identities if entry["kind"] != "jde" else counts["class_identities"])
    return found


def _ordered(names: list[str], sequences: dict, dataset_root: Path, dataset: str) -> list[str]:
    """The dataset's labelled sequences in walk order (train first, then test with gt)."""
    missing = [n for n in names if not (Path(dataset_root) / "images" / "train" / n).is_dir()
               and not (Path(dataset_root) / "images" / "test" / n).is_dir()]
    if missing:
        raise DataError(f"{dataset_root}: sequences {missing} of dataset {dataset!r} are missing; "
                        "run `fairmot download` again")
    wanted = set(names)
    return [name for name in sequences if name in wanted]


def _label_set(dataset_root: Path, tmp_labels: Path, entry: dict, first_ids: list[int],
               index: dict[str, list[str]], class_map: dict[str, int]) -> tuple[dict, list[int]]:
    """Labels of a detection or jde set under labels_root/sets/<name>/; (counts, next ids per class)."""
    target = Path(dataset_root) / "sets" / entry["name"]
    if entry["kind"] == "detection":
        labels, counts = crowdhuman_labels(target, entry["clip"], class_map, len(first_ids))
        next_ids = first_ids
    else:
        labels, next_ids, counts = jde_labels(target, first_ids, entry["clip"], class_map)
    out = tmp_labels / "sets" / entry["name"]
    lines = []
    for rel, rows in labels.items():
        path = (out / rel).with_suffix(".txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(row + "\n" for row in rows))
        lines.append(f"sets/{entry['name']}/{rel}")
    index["train"] += lines
    index["half"] += lines
    return counts, next_ids
