"""gt.txt -> FairMOT's labels_with_ids and the split index files, for a single source or a mixed dataset.

`generate_labels` is the one entry: a root with datasets.json (fairmot.data.record) is a mixed
dataset (labels.mixed: one id block per dataset), anything else a single MOT17-layout source
(labels.single); both write through labels.common.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fairmot.config import DataParams
from fairmot.data.classes import PEDESTRIAN, numbered, single_source_class_map
from fairmot.data.index import label_path, read_split
from fairmot.data.labels.common import SPLITS, kept_rows, label_lines, labelled_sequences
from fairmot.data.labels.mixed import generate_mixed_labels
from fairmot.data.labels.single import generate_single_labels
from fairmot.data.record import read_record

__all__ = ["SPLITS", "generate_labels", "kept_rows", "label_lines", "label_path", "labelled_sequences", "read_split"]


def generate_labels(dataset_root: Path, labels_root: Path, splits_dir: Path, classes: Sequence[str] = (PEDESTRIAN,),
                    data: DataParams | None = None) -> dict:
    """Write labels_root/<split>/<seq>/img1/%06d.txt, the split indexes and manifest.json.

    `classes` and the class maps of `data` (data.class_map, data.datasets[].class_map) decide which
    rows become labels of which class. Returns the manifest: {"nID", "classes", "class_nID",
    "sequences": {name: {...}}, "splits": {split: n_images}}; a mixed dataset (datasets.json)
    adds "datasets" with per-dataset counts.
    """
    dataset_root, data = Path(dataset_root), DataParams() if data is None else data
    if read_record(dataset_root) is not None:
        return generate_mixed_labels(dataset_root, Path(labels_root), Path(splits_dir), list(classes), data)
    class_map = numbered(single_source_class_map(data, classes), "data.class_map")
    return generate_single_labels(dataset_root, Path(labels_root), Path(splits_dir), list(classes), class_map)

