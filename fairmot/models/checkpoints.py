"""Checkpoints for tracking: ours (`fairmot train`) and the released FairMOT ones, loaded whole.

Two formats are read:
- ours: {"model": state dict, "arch", "reid_dim", "head_conv", "input_w", "input_h", ...};
- the reference's (ifzhang/FairMOT src/lib/models/model.py save_model): {"epoch", "state_dict"}
  (keys possibly prefixed "module."), or a bare state dict. It names no architecture, so it is
  recognised from the state dict (`recognise_arch`); `arch=` overrides.

Recognition, from key names and tensor shapes (our networks use the reference's key names):
- `stage2.0.branches.0.0.conv1.weight` present -> HRNet; its output channels are the width:
  18 -> hrnet18, 32 -> hrnet32;
- `base.base_layer.0.weight` present -> DLA; any `conv_offset_mask` key (the DCNv2 offsets of
  the IDA-up) -> dla34; otherwise the stem width: 16 -> dlaconv, 8 -> dla_tiny;
- reid_dim = output channels of `id.2.weight`, head_conv = output channels of `hm.0.weight`;
- the class count: the length of our checkpoints' recorded "classes", else the output channels of
  the heatmap's last layer `hm.2.weight` (1 in every released FairMOT checkpoint).
A tracking model must load whole: a missing, unexpected or shape-mismatched tensor is a
DataError that names it (training's `load_model` stays lenient and only reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from fairmot.errors import DataError
from fairmot.models.factory import ARCHITECTURES, create_model
from fairmot.models.heads import FairMOTNet
from fairmot.models.loading import extract_state_dict
from fairmot.weights import read_weights_only

HRNET_KEY = "stage2.0.branches.0.0.conv1.weight"
DLA_KEY = "base.base_layer.0.weight"
HRNET_WIDTHS = {18: "hrnet18", 32: "hrnet32"}
DLA_STEM_WIDTHS = {16: "dlaconv", 8: "dla_tiny"}
REFERENCE_FORMAT = "reference"


def recognise_arch(state: Mapping[str, torch.Tensor]) -> str | None:
    """The architecture a state dict was saved from (see the module docstring), or None."""
    if HRNET_KEY in state:
        return HRNET_WIDTHS.get(int(state[HRNET_KEY].shape[0]))
    if DLA_KEY in state:
        if any("conv_offset_mask" in key for key in state):
            return "dla34"
        return DLA_STEM_WIDTHS.get(int(state[DLA_KEY].shape[0]))
    return None


def head_sizes(state: Mapping[str, torch.Tensor], path: Path) -> tuple[int, int]:
    """(reid_dim, head_conv) from the id and heatmap heads' shapes."""
    for key in ("id.2.weight", "hm.0.weight"):
        if key not in state:
            raise DataError(f"{path}: no {key!r} in the state dict; not a FairMOT network with its heads")
    return int(state["id.2.weight"].shape[0]), int(state["hm.0.weight"].shape[0])


def class_count(checkpoint: Any, state: Mapping[str, torch.Tensor]) -> int:
    """How many heatmap channels the network has: len(recorded "classes"), else the heatmap's last layer."""
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("classes"), (list, tuple)) and checkpoint["classes"]:
        return len(checkpoint["classes"])
    last = state.get("hm.2.weight")
    return int(last.shape[0]) if last is not None and last.ndim == 4 else 1


def load_whole(model: torch.nn.Module, state: Mapping[str, torch.Tensor], path: Path, arch: str) -> None:
    """Copy every tensor or fail naming the first missing, unexpected and mismatched ones."""
    target = model.state_dict()
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    mismatched = [f"{k} {tuple(state[k].shape)} in the file, {tuple(target[k].shape)} in {arch}"
                  for k in target if k in state and state[k].shape != target[k].shape]
    problems = []
    for what, names in (("missing", missing), ("unexpected", unexpected), ("shape-mismatched", mismatched)):
        if names:
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            problems.append(f"{len(names)} {what}: {', '.join(names[:3])}{more}")
    if problems:
        raise DataError(f"{path}: weights do not fit arch {arch!r} ({'; '.join(problems)}); "
                        "check --arch or the file")
    model.load_state_dict(state)


def load_tracking_model(path: Path | str, *, arch: str | None = None,
                        map_location: Any = "cpu") -> tuple[FairMOTNet, dict[str, Any]]:
    """The network a checkpoint (ours or the reference's) holds, loaded whole, in eval mode.

    Returns (model, meta): meta has "arch", "reid_dim", "head_conv", "num_classes", "format" ("fairmot"
    or "reference") and every other entry of the file except the weights (ours: input_w/input_h,
    epoch, nID, classes, class_nID, ...; the reference's: epoch).
    """
    path = Path(path)
    checkpoint = read_weights_only(path, "cpu")
    ours = isinstance(checkpoint, Mapping) and "arch" in checkpoint and "model" in checkpoint
    state = extract_state_dict(checkpoint["model"] if ours else checkpoint, path)
    reid_dim, head_conv = head_sizes(state, path)
    if arch is None:
        arch = str(checkpoint["arch"]) if ours else recognise_arch(state)
        if arch is None:
            raise DataError(f"{path}: cannot tell the architecture from the state dict (neither DLA "
                            f"{DLA_KEY!r} nor HRNet {HRNET_KEY!r} of a known width); pass --arch "
                            f"({', '.join(ARCHITECTURES)})")
    num_classes = class_count(checkpoint if ours else None, state)
    model = create_model(arch, reid_dim, head_conv, num_classes)
    load_whole(model, state, path, arch)
    model.to(map_location if isinstance(map_location, (str, torch.device)) else "cpu")
    meta: dict[str, Any] = {}
    if ours:
        meta = {k: v for k, v in checkpoint.items() if k != "model"}
    elif isinstance(checkpoint, Mapping) and "state_dict" in checkpoint:
        meta = {k: v for k, v in checkpoint.items() if k not in ("state_dict", "optimizer")}
    meta.update(arch=arch, reid_dim=reid_dim, head_conv=head_conv, num_classes=num_classes,
                format="fairmot" if ours else REFERENCE_FORMAT)
    _check_input_size(meta, path)
    return model.eval(), meta


# The largest input side a checkpoint may ask for (8K video is 7680 wide); beyond it a corrupt
# value would have the tracker allocate hundreds of GB before anything else fails
MAX_INPUT_SIDE = 8192


def _check_input_size(meta: dict[str, Any], path: Path) -> None:
    """A stored input size must be whole multiples of 32 (the network's stride) within MAX_INPUT_SIDE."""
    for key in ("input_w", "input_h"):
        if key not in meta:
            continue
        value = meta[key]
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= MAX_INPUT_SIDE or value % 32:
            raise DataError(f"{path}: stored {key} = {value!r} is not a multiple of 32 between 32 and "
                            f"{MAX_INPUT_SIDE}; the checkpoint is damaged or not from `fairmot train`")
        meta[key] = value


def build_from_checkpoint(path: Path | str, map_location: Any = "cpu",
                          arch: str | None = None) -> tuple[FairMOTNet, dict[str, Any]]:
    """The network of a checkpoint for tracking, loaded whole: `load_tracking_model` under the name
    the training side and the tests know."""
    return load_tracking_model(path, arch=arch, map_location=map_location)
