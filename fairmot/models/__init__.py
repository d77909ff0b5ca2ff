"""FairMOT's networks (DLA-34 and its CPU-sized kin, HRNet-W18/W32) with their heads, and how weights reach them.

- factory: `create_model(arch)`, the one place an `arch` name becomes a network;
- loading: `load_model`, lenient loading for training (skipped tensors logged by name);
- checkpoints: `build_from_checkpoint`, a tracking model loaded whole (ours or a released FairMOT one).
"""

from __future__ import annotations

from fairmot.models.checkpoints import build_from_checkpoint
from fairmot.models.factory import ARCHITECTURES, count_parameters, create_model, resolve_head_conv
from fairmot.models.heads import HEAD_NAMES, FairMOTNet
from fairmot.models.loading import LoadReport, load_model

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
