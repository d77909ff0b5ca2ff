"""Labels and splits of a mixed dataset (datasets.json): identity spaces kept apart, counts per dataset.

Datasets are walked in data.datasets order and each takes the next block of global ids, so the
classifier's nID is the sum of the blocks and no two datasets share an identity (the reference's
JointDataset offsets each dataset by the ids before it, ifzhang/FairMOT
src/lib/datasets/dataset/jde.py). Detection sets take no block: their boxes carry id -1.
mot sequences split as in the single-source case (train / half / val / test); every image of a
detection or jde set is a training image (train and half), never evaluated.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fairmot.data.boxes import COUNT_DEFINITIONS
from fairmot.data.formats.crowdhuman import crowdhuman_labels
from fairmot.data.formats.jde import jde_labels
from fairmot.data.labels.common import SPLITS, label_sequence, labelled_sequences, write_splits
from fairmot.data.record import read_record
from fairmot.errors import DataError
from fairmot.io import atomic_dir

log = logging.getLogger(__name__)


def generate_mixed_labels(dataset_root: Path, labels_root: Path, splits_dir: Path) -> dict:
    """Write every dataset's labels, the split indexes and manifest.json (with "datasets")."""
    record = read_record(dataset_root)
    sequences = {seq.name: seq for seq in labelled_sequences(dataset_root, allow_no_train=True)}
    index: dict[str, list[str]] = {name: [] for name in SPLITS}
    manifest_sequences: dict[str, dict] = {}
    datasets: dict[str, dict] = {}
    next_id = 1
    with atomic_dir(labels_root) as tmp_labels:
        for entry in record:
            first_id, before = next_id, len(index["train"]) + len(index["test"])
            if entry["kind"] in ("mot", "synthetic"):
                # rows of other labels that a CVAT export's sequences lost at download (datasets.json)
                counts = {"boxes": 0, **dict.fromkeys(COUNT_DEFINITIONS, 0), "other_classes": entry.get("other_classes", 0)}
                for name in _ordered(entry["sequences"], sequences, dataset_root, entry["name"]):
                    seq_entry, next_id, seq_counts = label_sequence(sequences[name], tmp_labels, next_id, index,
                                                                    clip=entry["clip"])
                    manifest_sequences[name] = {**seq_entry, "dataset": entry["name"]}
                    counts["boxes"] += seq_entry["boxes"]
                    for key in COUNT_DEFINITIONS:
                        counts[key] += seq_counts[key]
            else:
                counts, next_id = _label_set(dataset_root, tmp_labels, entry, next_id, index)
            datasets[entry["name"]] = {
                "kind": entry["kind"],
                "frames": len(index["train"]) + len(index["test"]) - before,
                "boxes": counts["boxes"],
                "identities": next_id - first_id if entry["kind"] != "jde" else counts["identities"],
                "ids": [first_id, next_id - 1] if next_id > first_id else None,
                **{key: counts[key] for key in COUNT_DEFINITIONS},
            }
            log.info("%s (%s): %d frames, %d boxes, %d identities", entry["name"], entry["kind"],
                     datasets[entry["name"]]["frames"], counts["boxes"], datasets[entry["name"]]["identities"])
        manifest = {
            "nID": next_id,
            "sequences": manifest_sequences,
            "datasets": datasets,
            "count_definitions": COUNT_DEFINITIONS,  # what clipped / outside / ignored / other_classes of "datasets" mean
            "splits": {name: len(index[name]) for name in SPLITS},
        }
        write_splits(splits_dir, index, manifest)
    return manifest


def _ordered(names: list[str], sequences: dict, dataset_root: Path, dataset: str) -> list[str]:
    """The dataset's labelled sequences in walk order (train first, then test with gt)."""
    missing = [n for n in names if not (Path(dataset_root) / "images" / "train" / n).is_dir()
               and not (Path(dataset_root) / "images" / "test" / n).is_dir()]
    if missing:
        raise DataError(f"{dataset_root}: sequences {missing} of dataset {dataset!r} are missing; "
                        "run `fairmot download` again")
    wanted = set(names)
    return [name for name in sequences if name in wanted]


def _label_set(dataset_root: Path, tmp_labels: Path, entry: dict, first_id: int,
               index: dict[str, list[str]]) -> tuple[dict[str, int], int]:
    """Labels of a detection or jde set under labels_root/sets/<name>/; (counts, next id)."""
    target = Path(dataset_root) / "sets" / entry["name"]
    if entry["kind"] == "detection":
        labels, counts = crowdhuman_labels(target, entry["clip"])
        next_id = first_id
    else:
        labels, next_id, counts = jde_labels(target, first_id, entry["clip"])
    out = tmp_labels / "sets" / entry["name"]
    lines = []
    for rel, rows in labels.items():
        path = (out / rel).with_suffix(".txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(row + "\n" for row in rows))
        lines.append(f"sets/{entry['name']}/{rel}")
    index["train"] += lines
    index["half"] += lines
    return counts, next_id
