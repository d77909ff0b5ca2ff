"""gt.txt -> FairMOT's labels_with_ids and the split index files, for a single source or a mixed dataset.

`generate_labels` is the one entry: a root with datasets.json (fairmot.data.record) is a mixed
dataset (labels.mixed: one id block per dataset), anything else a single MOT17-layout source
(labels.single); both write through labels.common.
"""

from __future__ import annotations

from pathlib import Path

from fairmot.data.index import label_path, read_split
from fairmot.data.labels.common import SPLITS, kept_rows, label_lines, labelled_sequences
from fairmot.data.labels.mixed import generate_mixed_labels
from fairmot.data.labels.single import generate_single_labels
from fairmot.data.record import read_record

__all__ = ["SPLITS", "generate_labels", "kept_rows", "label_lines", "label_path", "labelled_sequences", "read_split"]


def generate_labels(dataset_root: Path, labels_root: Path, splits_dir: Path) -> dict:
    """Write labels_root/<split>/<seq>/img1/%06d.txt, the split indexes and manifest.json.

    Returns the manifest: {"nID", "sequences": {name: {...}}, "splits": {split: n_images}}; a
    mixed dataset (datasets.json) adds "datasets" with per-dataset counts.
    """
    dataset_root = Path(dataset_root)
    if read_record(dataset_root) is not None:
        return generate_mixed_labels(dataset_root, Path(labels_root), Path(splits_dir))
    return generate_single_labels(dataset_root, Path(labels_root), Path(splits_dir))
