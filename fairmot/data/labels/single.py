"""Labels and splits of a single-source dataset: every sequence of the MOT17-layout root, one id space."""

from __future__ import annotations

from pathlib import Path

from fairmot.data.labels.common import SPLITS, label_sequence, labelled_sequences, write_splits
from fairmot.io import atomic_dir


def generate_single_labels(dataset_root: Path, labels_root: Path, splits_dir: Path) -> dict:
    """Write every sequence's labels, the split indexes and manifest.json; ids run on across sequences."""
    sequences = labelled_sequences(dataset_root)
    manifest_sequences: dict[str, dict] = {}
    index: dict[str, list[str]] = {name: [] for name in SPLITS}
    next_id = 1
    with atomic_dir(Path(labels_root)) as tmp_labels:
        for seq in sequences:
            manifest_sequences[seq.name], next_id, _ = label_sequence(seq, tmp_labels, next_id, index)
        manifest = {
            "nID": next_id,  # max global id + 1 (ids start at 1)
            "sequences": manifest_sequences,
            "splits": {name: len(index[name]) for name in SPLITS},
        }
        write_splits(Path(splits_dir), index, manifest)
    return manifest
