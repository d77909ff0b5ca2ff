"""A run's state and settings as plain values: where training stands, what it trains on, where figures go.

Kept apart from the modules that act on them (loop, checkpoint, runlog, parts) so each of those
imports this and none of them imports another for a type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fairmot.config import Params


@dataclass
class Progress:
    """Where training stands; saved in the checkpoint so a resumed run continues exactly."""

    epoch: int = 0          # completed epochs
    step: int = 0           # optimiser steps done in epoch `epoch + 1` (non-zero only after Ctrl-C)
    global_step: int = 0
    sums: dict[str, float] = field(default_factory=dict)  # running stat sums of the current epoch
    last_epoch: dict[str, float] = field(default_factory=dict)  # averages of the last completed epoch


class MetricsLog(Protocol):
    """A sink for training figures (the train stage gives dvclive); opened on rank 0 only."""

    def open(self, resume: bool) -> None: ...
    def log(self, step: int, values: Mapping[str, float]) -> None: ...
    def summary(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class TrainConfig:
    """The typed params plus where the data and outputs are (pickled into spawned workers)."""

    params: Params
    dataset_root: Path
    labels_root: Path
    split_file: Path
    out_dir: Path
    # Where rank 0 sends the per-step and per-epoch figures (picklable, opened in the worker);
    # None = progress bar and log lines only
    metrics_log: MetricsLog | None = None
    resume: bool = False
    # Recorded in checkpoints so a later run can tell whether it may resume (fairmot.training.resume)
    data_fingerprint: str = ""
    # Builds model, loss and dataset (None: fairmot.training.parts.build_parts, the real thing); a
    # module-level function so spawned workers can unpickle it
    build: Callable[[TrainConfig], Any] | None = None


def config_from_params(params: Params, *, dataset_root: Path, labels_root: Path, splits_dir: Path,
                       out_dir: Path, **options: Any) -> TrainConfig:
    """A TrainConfig over the standard layout: the split file is `<splits_dir>/<data.train_split>.txt`."""
    return TrainConfig(params, Path(dataset_root), Path(labels_root),
                       Path(splits_dir) / f"{params.data.train_split}.txt", Path(out_dir), **options)
