"""DLA backbones with the DLAUp/IDAUp up-sampling neck (CenterNet's "DLASeg"), at stride 4.

Three members of the family share one implementation:

- `dla34`: DLA-34 whose neck uses modulated deformable 3x3 convs (DCNv2), computed by
  `fairmot.models.dcn` (library kernels on the CPU, torchvision's op on CUDA) so nothing needs
  compiling. Parameter names follow the public
  `ctdet_coco_dla_2x.pth` / `fairmot_dla34.pth` layout (`base.level3.tree1.root.conv.weight`,
  `dla_up.ida_0.proj_1.conv.conv_offset_mask.weight`, `ida_up.up_2.weight`, `hm.0.weight`, ...).
- `dlaconv`: the same network with ordinary 3x3 convs in the neck (FairMOT's pose_dla_conv);
  much cheaper on CPU and exportable to ONNX.
- `dla_tiny`: a narrower DLA of the same shape with the plain-conv neck, sized so the embedded
  pipeline trains in minutes on two CPU cores.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from fairmot.models.dcn import modulated_deform_conv
from fairmot.models.heads import FairMOTNet

BN_MOMENTUM = 0.1
DLA34_LEVELS = (1, 1, 1, 2, 2, 1)
DLA34_CHANNELS = (16, 32, 64, 128, 256, 512)
# dla_tiny: same levels, narrower and with a lighter top level (most DLA-34 weights sit at stride 32)
DLA_TINY_CHANNELS = (8, 16, 32, 48, 64, 96)
# The neck starts at level 2 (stride 4) and the output map has channels[2] channels
FIRST_LEVEL = 2


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual; the residual may come from outside (the Tree's projection)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = _bn(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = _bn(out_channels)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        residual = x if residual is None else residual
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Root(nn.Module):
    """Aggregation node: 1x1 conv over the concatenated children."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False)
        self.bn = _bn(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, *children: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(torch.cat(children, 1))))


class Tree(nn.Module):
    """Hierarchical deep aggregation tree (DLA's `Tree`, same attribute names)."""

    def __init__(
        self,
        levels: int,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        level_root: bool = False,
        root_dim: int = 0,
    ) -> None:
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1: nn.Module = BasicBlock(in_channels, out_channels, stride)
            self.tree2: nn.Module = BasicBlock(out_channels, out_channels, 1)
            self.root = Root(root_dim, out_channels)
        else:
            self.tree1 = Tree(levels - 1, in_channels, out_channels, stride, root_dim=0)
            self.tree2 = Tree(levels - 1, out_channels, out_channels, root_dim=root_dim + out_channels)
        self.levels = levels
        self.level_root = level_root
        self.downsample = nn.MaxPool2d(stride, stride=stride) if stride > 1 else None
        # A deeper tree's projection is never used at run time (its first subtree projects again),
        # but it is part of the checkpoint layout, so it exists.
        self.project = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False), _bn(out_channels))
            if in_channels != out_channels
            else None
        )

    def forward(self, x: torch.Tensor, children: list[torch.Tensor] | None = None) -> torch.Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x) if self.downsample is not None else x
        if self.level_root:
            children.append(bottom)
        if self.levels == 1:
            residual = self.project(bottom) if self.project is not None else bottom
            x1 = self.tree1(x, residual)
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        x1 = self.tree1(x)
        children.append(x1)
        return self.tree2(x1, children=children)


class DLA(nn.Module):
    """DLA backbone returning the six level outputs (strides 1, 2, 4, 8, 16, 32)."""

    def __init__(self, levels: tuple[int, ...], channels: tuple[int, ...]) -> None:
        super().__init__()
        self.channels = list(channels)
        self.base_layer = nn.Sequential(
            nn.Conv2d(3, channels[0], 7, stride=1, padding=3, bias=False), _bn(channels[0]), nn.ReLU(inplace=True)
        )
        self.level0 = self._conv_level(channels[0], channels[0], levels[0])
        self.level1 = self._conv_level(channels[0], channels[1], levels[1], stride=2)
        self.level2 = Tree(levels[2], channels[1], channels[2], 2, level_root=False)
        self.level3 = Tree(levels[3], channels[2], channels[3], 2, level_root=True)
        self.level4 = Tree(levels[4], channels[3], channels[4], 2, level_root=True)
        self.level5 = Tree(levels[5], channels[4], channels[5], 2, level_root=True)

    @staticmethod
    def _conv_level(in_channels: int, out_channels: int, convs: int, stride: int = 1) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i in range(convs):
            layers += [
                nn.Conv2d(in_channels, out_channels, 3, stride=stride if i == 0 else 1, padding=1, bias=False),
                _bn(out_channels),
                nn.ReLU(inplace=True),
            ]
            in_channels = out_channels
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.base_layer(x)
        outputs = []
        for i in range(6):
            x = getattr(self, f"level{i}")(x)
            outputs.append(x)
        return outputs


class DCN(nn.Module):
    """Modulated deformable 3x3 conv (DCNv2): a zero-initialised conv predicts 18 offsets + 9 masks.

    Same parameters as the DCNv2 extension's `DCN` (weight, bias, conv_offset_mask.*); the offsets
    are (dy, dx) pairs per kernel position, which is also torchvision's layout.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.padding = padding
        self.kernel_positions = kernel_size * kernel_size
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        bound = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        nn.init.uniform_(self.weight, -bound, bound)
        self.conv_offset_mask = nn.Conv2d(
            in_channels, 3 * self.kernel_positions, kernel_size, stride=1, padding=padding, bias=True
        )
        nn.init.zeros_(self.conv_offset_mask.weight)
        nn.init.zeros_(self.conv_offset_mask.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        offset_mask = self.conv_offset_mask(x)
        offset = offset_mask[:, : 2 * self.kernel_positions]
        mask = torch.sigmoid(offset_mask[:, 2 * self.kernel_positions :])
        return modulated_deform_conv(x, offset, self.weight, self.bias, self.padding, mask)


class NeckConv(nn.Module):
    """3x3 conv (deformable or plain) -> BatchNorm -> ReLU; named `conv` and `actf` as in the reference."""

    def __init__(self, in_channels: int, out_channels: int, deformable: bool) -> None:
        super().__init__()
        self.actf = nn.Sequential(_bn(out_channels), nn.ReLU(inplace=True))
        self.conv: nn.Module = (
            DCN(in_channels, out_channels)
            if deformable
            else nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.actf(self.conv(x))


def bilinear_upsampling_kernel(up: nn.ConvTranspose2d) -> None:
    """Initialise a depthwise transposed conv as bilinear interpolation (every channel the same)."""
    weight = up.weight.data
    size = weight.shape[2]
    f = math.ceil(size / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    coords = torch.arange(size, dtype=torch.float64)
    profile = 1 - (coords / f - c).abs()
    weight.copy_((profile[:, None] * profile[None, :]).to(weight.dtype).expand_as(weight))


class IDAUp(nn.Module):
    """Iterative deep aggregation: bring layers 1..n to layer 0's resolution, merging one at a time.

    `proj_i` maps layer i to `out_channels`, `up_i` upsamples it by `factors[i]`, and `node_i` fuses
    it with the already merged layer i-1.
    """

    def __init__(self, out_channels: int, channels: list[int], factors: list[int], deformable: bool) -> None:
        super().__init__()
        for i in range(1, len(channels)):
            f = int(factors[i])
            setattr(self, f"proj_{i}", NeckConv(channels[i], out_channels, deformable))
            up = nn.ConvTranspose2d(
                out_channels, out_channels, f * 2, stride=f, padding=f // 2, output_padding=0,
                groups=out_channels, bias=False,
            )
            bilinear_upsampling_kernel(up)
            setattr(self, f"up_{i}", up)
            setattr(self, f"node_{i}", NeckConv(out_channels, out_channels, deformable))
        self.count = len(channels)

    def forward(self, layers: list[torch.Tensor]) -> list[torch.Tensor]:
        merged = [layers[0]]
        for i in range(1, self.count):
            up = getattr(self, f"up_{i}")(getattr(self, f"proj_{i}")(layers[i]))
            merged.append(getattr(self, f"node_{i}")(up + merged[i - 1]))
        return merged


class DLAUp(nn.Module):
    """Deep layer aggregation up-sampling over levels 2..5: `ida_0` merges the two deepest levels,
    `ida_1` the three deepest, `ida_2` all four; returns [stride 4, 8, 16, 32] maps."""

    def __init__(self, channels: list[int], deformable: bool) -> None:
        super().__init__()
        channels = list(channels)
        in_channels = list(channels)
        scales = [2**i for i in range(len(channels))]
        for i in range(len(channels) - 1):
            j = len(channels) - i - 2
            factors = [s // scales[j] for s in scales[j:]]
            setattr(self, f"ida_{i}", IDAUp(channels[j], in_channels[j:], factors, deformable))
            for k in range(j + 1, len(channels)):
                scales[k] = scales[j]
                in_channels[k] = channels[j]
        self.count = len(channels) - 1

    def forward(self, layers: list[torch.Tensor]) -> list[torch.Tensor]:
        layers = list(layers)
        out = [layers[-1]]
        for i in range(self.count):
            start = len(layers) - i - 2
            layers[start:] = getattr(self, f"ida_{i}")(layers[start:])
            out.insert(0, layers[-1])
        return out


class DLASeg(FairMOTNet):
    """DLA backbone + DLAUp + IDAUp -> one stride-4 map with channels[2] channels -> heads."""

    def __init__(
        self,
        arch: str,
        levels: tuple[int, ...],
        channels: tuple[int, ...],
        deformable: bool,
        reid_dim: int,
        head_conv: int,
        last_level: int = 5,
        num_classes: int = 1,
    ) -> None:
        super().__init__(arch, reid_dim, head_conv, num_classes)
        self.base = DLA(levels, channels)
        neck_channels = list(channels[FIRST_LEVEL:])
        self.dla_up = DLAUp(neck_channels, deformable)
        n_merge = last_level - FIRST_LEVEL
        self.ida_up = IDAUp(
            channels[FIRST_LEVEL], list(channels[FIRST_LEVEL:last_level]), [2**i for i in range(n_merge)], deformable
        )
        self.n_merge = n_merge
        self.add_heads(channels[FIRST_LEVEL])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        levels = self.base(x)
        ups = self.dla_up(levels[FIRST_LEVEL:])
        return self.ida_up(ups[: self.n_merge])[-1]


def dla34(reid_dim: int = 128, head_conv: int = 256, num_classes: int = 1) -> DLASeg:
    return DLASeg("dla34", DLA34_LEVELS, DLA34_CHANNELS, True, reid_dim, head_conv, num_classes=num_classes)


def dlaconv(reid_dim: int = 128, head_conv: int = 256, num_classes: int = 1) -> DLASeg:
    return DLASeg("dlaconv", DLA34_LEVELS, DLA34_CHANNELS, False, reid_dim, head_conv, num_classes=num_classes)


def dla_tiny(reid_dim: int = 128, head_conv: int = 64, num_classes: int = 1) -> DLASeg:
    return DLASeg("dla_tiny", DLA34_LEVELS, DLA_TINY_CHANNELS, False, reid_dim, head_conv, num_classes=num_classes)
