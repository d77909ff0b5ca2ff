"""Labels and splits of a single-source dataset: every sequence of the MOT17-layout root, one id space per class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from fairmot.data.labels.common import SPLITS, label_sequence, labelled_sequences, write_splits
from fairmot.io import atomic_dir


def generate_single_labels(dataset_root: Path, labels_root: Path, splits_dir: Path, classes: Sequence[str],
                           class_map: Mapping[int, int]) -> dict:
    """Write every sequence's labels, the split indexes and manifest.json; ids run on across sequences."""
    sequences = labelled_sequences(dataset_root)
    manifest_sequences: dict[str, dict] = {}
    index: dict[str, list[str]] = {name: [] for name in SPLITS}
    next_ids = [1] * len(classes)
    with atomic_dir(Path(labels_root)) as tmp_labels:
        for seq in sequences:
            manifest_sequences[seq.name], next_ids, _ = label_sequence(seq, tmp_labels, next_ids, index, class_map=class_map)
        manifest = {
            "nID": sum(next_ids) if len(classes) > 1 else next_ids[0],  # one class: max global id + 1 (ids start at 1)
            "classes": list(classes),
            "class_nID": next_ids,  # per class: max id of the class + 1
            "sequences": manifest_sequences,
            "splits": {name: len(index[name]) for name in SPLITS},
        }
        write_splits(Path(splits_dir), index, manifest)
    return manifest
