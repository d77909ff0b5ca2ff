"""HRNetV2-W18 / W32 backbones for FairMOT: four parallel branches fused repeatedly, then all four
upsampled to stride 4 and concatenated (270 channels for W18, 480 for W32) under the heads.

Attribute names follow the HRNet layout (`conv1`, `layer1.0.conv1`, `transition1.1.0.0`,
`stage3.2.branches.1.3.conv2`, `stage4.0.fuse_layers.0.3.0`, ...), so ImageNet HRNetV2 weights and
FairMOT's own HRNet checkpoints load by name; the heads sit on the concatenation directly, as in
FairMOT's pose_hrnet (no extra fusion layer), which keeps `hm.0.weight` at 270/480 input channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fairmot.models.heads import FairMOTNet

BN_MOMENTUM = 0.1


@dataclass(frozen=True)
class StageSpec:
    modules: int
    blocks: int  # BasicBlocks per branch
    channels: tuple[int, ...]  # one width per branch


def hrnet_stages(width: int) -> tuple[StageSpec, StageSpec, StageSpec]:
    """HRNetV2-W<width>: stages 2/3/4 with 1/4/3 modules, 2/3/4 branches, widths w, 2w, 4w, 8w."""
    w = (width, 2 * width, 4 * width, 8 * width)
    return StageSpec(1, 4, w[:2]), StageSpec(4, 4, w[:3]), StageSpec(3, 4, w)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = _bn(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = _bn(channels)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = _bn(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = _bn(channels)
        self.conv3 = nn.Conv2d(channels, channels * self.expansion, 1, bias=False)
        self.bn3 = _bn(channels * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


def _branch(in_channels: int, channels: int, blocks: int) -> nn.Sequential:
    downsample = None
    if in_channels != channels:
        downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, bias=False), _bn(channels))
    layers = [BasicBlock(in_channels, channels, 1, downsample)]
    layers += [BasicBlock(channels, channels) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    conv = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def _fuse(in_channels: int, out_channels: int, steps: int) -> nn.Module:
    """Path from branch j to branch i: steps > 0 upsamples 2**steps, steps < 0 downsamples by 3x3/2 convs."""
    if steps > 0:
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.Upsample(scale_factor=2**steps, mode="nearest"),
        )
    if steps == 0:
        return nn.Identity()
    convs: list[nn.Module] = []
    for k in range(-steps):
        if k == -steps - 1:
            convs.append(
                nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 2, 1, bias=False), nn.BatchNorm2d(out_channels))
            )
        else:
            convs.append(_conv_bn_relu(in_channels, in_channels, stride=2))
    return nn.Sequential(*convs)


class HighResolutionModule(nn.Module):
    """Parallel branches of BasicBlocks, then every output branch sums all inputs (resampled)."""

    def __init__(self, in_channels: list[int], spec: StageSpec) -> None:
        super().__init__()
        n = len(spec.channels)
        self.branches = nn.ModuleList(_branch(in_channels[i], spec.channels[i], spec.blocks) for i in range(n))
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(_fuse(spec.channels[j], spec.channels[i], j - i) for j in range(n)) for i in range(n)
        )
        self.relu = nn.ReLU(inplace=False)
        self.out_channels = list(spec.channels)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        fused = []
        for i, paths in enumerate(self.fuse_layers):
            y = xs[i]
            for j, path in enumerate(paths):
                if j != i:
                    y = y + path(xs[j])
            fused.append(self.relu(y))
        return fused


class HRNet(FairMOTNet):
    """HRNetV2 with the four branches concatenated at stride 4 under the FairMOT heads."""

    def __init__(self, arch: str, width: int, reid_dim: int, head_conv: int, num_classes: int = 1) -> None:
        super().__init__(arch, reid_dim, head_conv, num_classes)
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = _bn(64)
        self.conv2 = nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = _bn(64)
        self.relu = nn.ReLU(inplace=True)
        downsample = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), _bn(256))
        self.layer1 = nn.Sequential(Bottleneck(64, 64, 1, downsample), *(Bottleneck(256, 64) for _ in range(3)))

        stage2, stage3, stage4 = hrnet_stages(width)
        pre = [256]
        for index, spec in ((1, stage2), (2, stage3), (3, stage4)):
            # The transition brings the previous branches to this stage's widths (and adds one branch)
            setattr(self, f"transition{index}", self._transition(pre, list(spec.channels)))
            modules = [HighResolutionModule(list(spec.channels), spec) for _ in range(spec.modules)]
            setattr(self, f"stage{index + 1}", nn.Sequential(*modules))
            pre = list(spec.channels)
        self._init_backbone()
        self.out_channels = sum(pre)
        self.add_heads(self.out_channels)

    @staticmethod
    def _transition(pre: list[int], cur: list[int]) -> nn.ModuleList:
        """Adapt existing branches whose width changes; grow a new branch by a 3x3/2 conv from the last."""
        layers: list[nn.Module] = []
        for i, channels in enumerate(cur):
            if i < len(pre):
                if channels != pre[i]:
                    layers.append(_conv_bn_relu(pre[i], channels, stride=1))
                else:
                    layers.append(nn.Identity())
            else:
                convs = []
                for k in range(i + 1 - len(pre)):
                    out = channels if k == i - len(pre) else pre[-1]
                    convs.append(_conv_bn_relu(pre[-1], out, stride=2))
                layers.append(nn.Sequential(*convs))
        return nn.ModuleList(layers)

    def _init_backbone(self) -> None:
        # HRNet's own initialisation (before the heads exist, so their bias init stays as set)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, std=0.001)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        ys = [self.layer1(x)]
        for index in (1, 2, 3):
            transition = getattr(self, f"transition{index}")
            # Existing branches pass through (or are adapted); a new branch grows from the lowest one
            xs = [layer(ys[i] if i < len(ys) else ys[-1]) for i, layer in enumerate(transition)]
            ys = getattr(self, f"stage{index + 1}")(xs)
        size = ys[0].shape[-2:]
        ups = [ys[0]] + [F.interpolate(y, size=size, mode="bilinear", align_corners=False) for y in ys[1:]]
        return torch.cat(ups, 1)


def hrnet18(reid_dim: int = 128, head_conv: int = 256, num_classes: int = 1) -> HRNet:
    return HRNet("hrnet18", 18, reid_dim, head_conv, num_classes)


def hrnet32(reid_dim: int = 128, head_conv: int = 256, num_classes: int = 1) -> HRNet:
    return HRNet("hrnet32", 32, reid_dim, head_conv, num_classes)
