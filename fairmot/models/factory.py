"""The network factory: `create_model(arch)` is the one place an `arch` name becomes a network."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from fairmot.architectures import DEFAULT_HEAD_CONV
from fairmot.errors import ConfigError
from fairmot.models.dla import dla34, dla_tiny, dlaconv
from fairmot.models.heads import FairMOTNet
from fairmot.models.hrnet import hrnet18, hrnet32

_BUILDERS: dict[str, Callable[[int, int, int], FairMOTNet]] = {
    "dla34": dla34,
    "dlaconv": dlaconv,
    "dla_tiny": dla_tiny,
    "hrnet18": hrnet18,
    "hrnet32": hrnet32,
}

# arch name -> (builder(reid_dim, head_conv, num_classes), default head_conv); names and widths from fairmot.architectures
ARCHITECTURES: dict[str, tuple[Callable[[int, int, int], FairMOTNet], int]] = {
    name: (_BUILDERS[name], head_conv) for name, head_conv in DEFAULT_HEAD_CONV.items()
}


def _check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise ConfigError(f"arch: {arch!r} is not a known network; choose one of {', '.join(ARCHITECTURES)}")


def resolve_head_conv(arch: str, head_conv: int = -1) -> int:
    """-1 means the architecture's default head width (256 for DLA-34 and HRNet, 64 for dla_tiny)."""
    _check_arch(arch)
    return ARCHITECTURES[arch][1] if head_conv < 0 else head_conv


def create_model(arch: str, reid_dim: int = 128, head_conv: int = -1, num_classes: int = 1) -> FairMOTNet:
    """Build `arch` with freshly initialised weights; forward(x) -> {"hm", "wh", "id", "reg"} at stride 4,
    "hm" with one channel per class."""
    _check_arch(arch)
    if reid_dim <= 0:
        raise ConfigError(f"reid_dim: {reid_dim} must be positive")
    if num_classes < 1:
        raise ConfigError(f"classes: {num_classes} classes; list at least one")
    builder, _ = ARCHITECTURES[arch]
    return builder(reid_dim, resolve_head_conv(arch, head_conv), num_classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
