"""The network factory and checkpoint loading.

`create_model(arch)` is the one place an `arch` name becomes a network. `load_model` reads a local
file only (never a URL), with `weights_only=True`, and accepts our checkpoints ({"model": ...}),
the official FairMOT/CenterNet ones ({"state_dict": ...}, possibly "module."-prefixed) and bare
state dicts (HRNet ImageNet weights). Tensors that do not fit are skipped and logged by name.
Tracking reads a model whole instead: `build_from_checkpoint` (fairmot/models/checkpoints.py).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fairmot.architectures import DEFAULT_HEAD_CONV
from fairmot.errors import ConfigError, DataError
from fairmot.models.dla import dla34, dla_tiny, dlaconv
from fairmot.models.heads import HEAD_NAMES, FairMOTNet
from fairmot.models.hrnet import hrnet18, hrnet32

__all__ = [
    "ARCHITECTURES",
    "HEAD_NAMES",
    "FairMOTNet",
    "LoadReport",
    "build_from_checkpoint",
    "count_parameters",
    "create_model",
    "load_model",
    "resolve_head_conv",
]

log = logging.getLogger(__name__)

_BUILDERS: dict[str, Callable[[int, int], FairMOTNet]] = {
    "dla34": dla34,
    "dlaconv": dlaconv,
    "dla_tiny": dla_tiny,
    "hrnet18": hrnet18,
    "hrnet32": hrnet32,
}

# arch name -> (builder(reid_dim, head_conv), default head_conv); names and widths from fairmot.architectures
ARCHITECTURES: dict[str, tuple[Callable[[int, int], FairMOTNet], int]] = {
    name: (_BUILDERS[name], head_conv) for name, head_conv in DEFAULT_HEAD_CONV.items()
}


def _check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise ConfigError(f"arch: {arch!r} is not a known network; choose one of {', '.join(ARCHITECTURES)}")


def resolve_head_conv(arch: str, head_conv: int = -1) -> int:
    """-1 means the architecture's default head width (256 for DLA-34 and HRNet, 64 for dla_tiny)."""
    _check_arch(arch)
    return ARCHITECTURES[arch][1] if head_conv < 0 else head_conv


def create_model(arch: str, reid_dim: int = 128, head_conv: int = -1) -> FairMOTNet:
    """Build `arch` with freshly initialised weights; forward(x) -> {"hm", "wh", "id", "reg"} at stride 4."""
    _check_arch(arch)
    if reid_dim <= 0:
        raise ConfigError(f"reid_dim: {reid_dim} must be positive")
    builder, _ = ARCHITECTURES[arch]
    return builder(reid_dim, resolve_head_conv(arch, head_conv))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class LoadReport:
    """What `load_model` did, key by key (names as in the model's state dict)."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)


def _read_checkpoint(path: Path, map_location: Any) -> Any:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: checkpoint not found; give a local file path (weights are never downloaded)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{path}: not a loadable PyTorch checkpoint with weights_only=True ({first_line}); "
            "re-save it as a plain state dict"
        ) from None


def _extract_state_dict(checkpoint: Any, path: Path) -> dict[str, torch.Tensor]:
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
    warning), so a partially loaded model never goes unnoticed. Returns the LoadReport.
    """
    path = Path(path)
    source = _extract_state_dict(_read_checkpoint(path, "cpu"), path)
    target = model.state_dict()
    report = LoadReport()
    usable = {}
    for name, tensor in source.items():
        if name not in target:
            report.unexpected.append(name)
            log.warning("%s: skipped %s (not in the model)", path.name, name)
        elif tensor.shape != target[name].shape:
            report.mismatched.append(name)
            log.warning(
                "%s: skipped %s (shape %s in the checkpoint, %s in the model)",
                path.name, name, tuple(tensor.shape), tuple(target[name].shape),
            )
        else:
            usable[name] = tensor
            report.loaded.append(name)
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


def build_from_checkpoint(
    path: Path | str, map_location: Any = "cpu", arch: str | None = None
) -> tuple[FairMOTNet, dict[str, Any]]:
    """The network of a checkpoint for tracking, loaded whole: ours or a released FairMOT one.

    See `fairmot.models.checkpoints.load_tracking_model` (architecture recognition, strictness).
    Returns (model in eval mode, every other entry of the checkpoint plus arch/reid_dim/head_conv/format).
    """
    from fairmot.models.checkpoints import load_tracking_model

    return load_tracking_model(path, arch=arch, map_location=map_location)
