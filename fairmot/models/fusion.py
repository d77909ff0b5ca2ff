"""Batch norm folded into the convolution before it, for inference.

In eval mode a BatchNorm2d is an affine map per channel, y = s * (conv(x) - mean) + beta with
s = gamma / sqrt(var + eps); it folds exactly into the convolution that feeds it (weight scaled
per output channel, bias shifted), which removes one full pass over every feature map.

The pairs are found by name, the way every network here is built: consecutive (conv, BN) in an
`nn.Sequential`, `convN`/`bnN` siblings (ResNet-style blocks, DLA's Root), and the DLA neck's
`conv` followed by `actf[0]`. Every such pair is a conv whose only consumer is that BN; the tests
check every architecture's head maps against the unfolded network.
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn

from fairmot.models.dla import DCN

FOLDABLE = (nn.Conv2d, DCN)
SIBLING_PAIRS = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), ("conv", "bn"))


def _fold_into(conv: nn.Module, bn: nn.BatchNorm2d) -> None:
    """Scale conv's weight and set its bias so that conv alone computes bn(conv(x))."""
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        conv.weight.mul_(scale.view(-1, *([1] * (conv.weight.dim() - 1))))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        new_bias = (bias - bn.running_mean) * scale + bn.bias
        if conv.bias is None:
            conv.bias = nn.Parameter(new_bias)
        else:
            conv.bias.copy_(new_bias)


def _foldable(conv: nn.Module | None, bn: nn.Module | None) -> bool:
    """A conv (any groups: the scale is per output channel) or DCN feeding a BN with running stats."""
    return (isinstance(conv, FOLDABLE) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats
            and conv.weight.shape[0] == bn.num_features)


def _fold_module(module: nn.Module) -> int:
    """Fold the pairs directly under `module`; returns how many were folded."""
    folded = 0
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for first, second in itertools.pairwise(names):
            if _foldable(module._modules[first], module._modules[second]):
                _fold_into(module._modules[first], module._modules[second])
                module._modules[second] = nn.Identity()
                folded += 1
    for conv_name, bn_name in SIBLING_PAIRS:
        conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
        if _foldable(conv, bn):
            _fold_into(conv, bn)
            setattr(module, bn_name, nn.Identity())
            folded += 1
    actf = getattr(module, "actf", None)  # DLA neck: conv -> actf = (BN, ReLU)
    if isinstance(actf, nn.Sequential) and len(actf) and _foldable(getattr(module, "conv", None), actf[0]):
        _fold_into(module.conv, actf[0])
        actf[0] = nn.Identity()
        folded += 1
    return folded


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of `model` (eval mode) with every batch norm folded into its convolution.

    The original is left untouched (it may still be trained); the copy is for inference only.
    """
    fused = copy.deepcopy(model).eval()
    count = sum(_fold_module(module) for module in list(fused.modules()))
    fused.folded_batchnorms = count
    return fused


def count_batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
