"""The four FairMOT heads on one stride-4 feature map, and the base class every network shares.

Heads are registered as top-level attributes (`hm`, `wh`, `id`, `reg`) so parameter names match the
official checkpoints (`hm.0.weight`, `hm.2.bias`, ...), whatever the backbone.
"""

from __future__ import annotations

import torch
from torch import nn

HEAD_NAMES = ("hm", "wh", "id", "reg")
# Initial heatmap logit: sigmoid(-2.19) ~= 0.1, so the focal loss starts near its background value
HM_BIAS = -2.19


def head_channels(reid_dim: int, num_classes: int = 1) -> dict[str, int]:
    """Output channels per head: one heatmap per class, ltrb box sizes, the re-ID embedding, centre offset."""
    return {"hm": num_classes, "wh": 4, "id": reid_dim, "reg": 2}


def make_head(in_channels: int, out_channels: int, head_conv: int, heatmap: bool) -> nn.Module:
    """3x3 conv -> head_conv -> ReLU -> 1x1 conv (or a single 1x1 conv when head_conv is 0).

    The heatmap's last bias starts at -2.19; every other conv bias in a non-heatmap head starts at 0,
    as in the reference.
    """
    if head_conv > 0:
        head: nn.Module = nn.Sequential(
            nn.Conv2d(in_channels, head_conv, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_conv, out_channels, kernel_size=1, bias=True),
        )
        last = head[-1]
    else:
        head = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=True)
        last = head
    if heatmap:
        nn.init.constant_(last.bias, HM_BIAS)
    else:
        for module in head.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.zeros_(module.bias)
    return head


class FairMOTNet(nn.Module):
    """A backbone producing one stride-4 map, plus the heads; forward returns the dict of head maps.

    Subclasses build their layers, call `add_heads(channels)` and implement `features(x)`.
    """

    down_ratio = 4

    def __init__(self, arch: str, reid_dim: int, head_conv: int, num_classes: int = 1) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes = {num_classes}: a network detects at least one class")
        self.arch = arch
        self.reid_dim = reid_dim
        self.head_conv = head_conv
        self.num_classes = num_classes

    def add_heads(self, in_channels: int) -> None:
        for name, channels in head_channels(self.reid_dim, self.num_classes).items():
            setattr(self, name, make_head(in_channels, channels, self.head_conv, heatmap=name == "hm"))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feature = self.features(x)
        return {name: getattr(self, name)(feature) for name in HEAD_NAMES}
