"""Loading weights into a network for training: lenient, every skipped tensor logged by name.

`load_model` reads a local file only (never a URL), with `weights_only=True`, and accepts our
checkpoints ({"model": ...}), the official FairMOT/CenterNet ones ({"state_dict": ...}, possibly
"module."-prefixed) and bare state dicts (HRNet ImageNet weights). Tracking reads a model whole
instead: fairmot.models.checkpoints.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fairmot.errors import DataError
from fairmot.weights import read_weights_only

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    """What `load_model` did, key by key (names as in the model's state dict)."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)


def extract_state_dict(checkpoint: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(checkpoint, Mapping):
        for key in ("model", "state_dict"):
            if key in checkpoint and isinstance(checkpoint[key], Mapping):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, Mapping) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise DataError(f"{path}: no state dict found (expected a dict of tensors, or one under 'model'/'state_dict')")
    # DataParallel / DDP checkpoints prefix every key with "module."
    return {(k.removeprefix("module.")): v for k, v in checkpoint.items()}


def load_model(model: nn.Module, path: Path | str) -> LoadReport:
    """Copy every tensor of the checkpoint at `path` whose name and shape match into `model`.

    Missing, unexpected and shape-mismatched tensors are skipped and each logged by name (a
    warning), so a partially loaded model never goes unnoticed; the heatmap's last layer of a
    checkpoint with another class count is one line. Returns the LoadReport.
    """
    path = Path(path)
    source = extract_state_dict(read_weights_only(path, "cpu"), path)
    target = model.state_dict()
    report = LoadReport()
    usable = {}
    for name, tensor in source.items():
        if name not in target:
            report.unexpected.append(name)
            log.warning("%s: skipped %s (not in the model)", path.name, name)
        elif tensor.shape != target[name].shape:
            report.mismatched.append(name)
            if not _other_class_count(name, tensor, target[name]):
                log.warning(
                    "%s: skipped %s (shape %s in the checkpoint, %s in the model)",
                    path.name, name, tuple(tensor.shape), tuple(target[name].shape),
                )
        else:
            usable[name] = tensor
            report.loaded.append(name)
    heatmap = [name for name in report.mismatched if _other_class_count(name, source[name], target[name])]
    if heatmap:
        log.warning("%s: skipped %s (shape %s in the checkpoint, %s in the model: %d class(es) there, %d here; "
                    "the heatmap's last layer starts fresh)", path.name, ", ".join(heatmap),
                    tuple(source[heatmap[0]].shape), tuple(target[heatmap[0]].shape),
                    source[heatmap[0]].shape[0], target[heatmap[0]].shape[0])
    for name in target:
        if name not in source:
            report.missing.append(name)
            log.warning("%s: %s not in the checkpoint, keeps its initial value", path.name, name)
    model.load_state_dict(usable, strict=False)
    log.info(
        "%s: loaded %d tensors (%d missing, %d unexpected, %d shape-mismatched)",
        path.name, len(report.loaded), len(report.missing), len(report.unexpected), len(report.mismatched),
    )
    return report


def _other_class_count(name: str, source: torch.Tensor, target: torch.Tensor) -> bool:
    """A heatmap-head tensor that differs only in its output channels: a checkpoint of another class count."""
    return (name.startswith("hm.") and source.ndim == target.ndim and source.ndim >= 1
            and source.shape[1:] == target.shape[1:])
