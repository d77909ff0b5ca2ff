"""`fairmot labels`: gt.txt -> labels_with_ids/ and the split indexes (train, half, val, test) + manifest."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from stages.common import DatasetOption, LabelsOption, ParamsFile, SplitsOption, one_line_errors, read_params

log = logging.getLogger("fairmot.labels")


@one_line_errors
def labels(
    params_file: ParamsFile = Path("params.yaml"),
    dataset: DatasetOption = Path("data/dataset"),
    labels: LabelsOption = Path("data/labels_with_ids"),
    splits: SplitsOption = Path("data/splits"),
) -> None:
    """Write one label file per frame (`cls id cx cy w h`, normalised) with ids unique across sequences within each class."""
    from fairmot.data.labels import generate_labels

    params = read_params(params_file)  # classes and the class maps (data.class_map, data.datasets[].class_map)
    started = time.perf_counter()
    manifest = generate_labels(dataset, labels, splits, params.classes, params.data)
    seqs = manifest["sequences"].values()
    split_sizes = ", ".join(f"{k} {v}" for k, v in manifest["splits"].items())
    log.info("%d sequences, %d frames, %d boxes, %d identities (nID %d); split images: %s; %.1f s",
             len(seqs), sum(s["frames"] for s in seqs), sum(s["boxes"] for s in seqs),
             sum(s["identities"] for s in seqs), manifest["nID"], split_sizes, time.perf_counter() - started)
    if len(manifest["classes"]) > 1:
        log.info("ids per class (nID): %s", ", ".join(f"{c} {n}" for c, n in zip(manifest["classes"], manifest["class_nID"])))
