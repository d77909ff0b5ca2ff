"""The box, offset and re-ID heads evaluated only at the cells decoding reads, for inference.

Decoding needs the heatmap everywhere (max-pool NMS, top-K) but `wh`, `reg` and `id` only at the
candidate centres that pass the score threshold: a few dozen cells of the H/4 x W/4 map. A head is
a 3x3 conv -> ReLU -> 1x1 conv (or one 1x1 conv), so its value at one cell is a function of the
3x3 feature window around it: gather those windows, then two matrix products. The result equals
the dense head at that cell (up to float summation order); on the embedded default this skips
about a sixth of the network's work, on DLA-34 about a tenth.

`HeadsAtCells` is what the lean engine returns: a read-only mapping with the dense `hm` (and every
other head as a full map on request, computed once), plus `at(name, batch, ys, xs)`, which
`fairmot.models.decode` prefers when it is there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from fairmot.models.heads import HEAD_NAMES


def _window_conv(conv: nn.Conv2d) -> bool:
    """A plain odd-kernel, stride-1, 'same'-padded convolution (what `make_head` builds)."""
    k = conv.kernel_size[0]
    return (conv.kernel_size == (k, k) and k % 2 == 1 and conv.stride == (1, 1) and conv.dilation == (1, 1)
            and conv.groups == 1 and conv.padding == (k // 2, k // 2) and conv.padding_mode == "zeros")


def _windows(feature: torch.Tensor, batch: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, k: int) -> torch.Tensor:
    """The k x k windows of `feature` (B, C, H, W) centred on the cells, zero outside: (N, k * k * C)."""
    if k == 1:
        return feature[batch, :, ys, xs]
    r = k // 2
    padded = F.pad(feature, (r, r, r, r))
    offsets = torch.arange(k, device=feature.device)
    rows = (ys[:, None, None] + offsets[None, :, None]).expand(-1, k, k)  # padded coordinates
    cols = (xs[:, None, None] + offsets[None, None, :]).expand(-1, k, k)
    window = padded[batch[:, None, None], :, rows, cols]  # (N, k, k, C)
    return window.reshape(len(ys), k * k * feature.shape[1])


def _conv_at(conv: nn.Conv2d, feature: torch.Tensor, batch: torch.Tensor, ys: torch.Tensor,
             xs: torch.Tensor) -> torch.Tensor:
    """conv(feature) at the cells, as (N, out_channels) in float32."""
    k = conv.kernel_size[0]
    weight = conv.weight.float().permute(0, 2, 3, 1).reshape(conv.out_channels, -1)  # (out, k, k, C) order
    out = _windows(feature, batch, ys, xs, k).float() @ weight.T
    return out + conv.bias.float() if conv.bias is not None else out


def head_at(head: nn.Module, feature: torch.Tensor, batch: torch.Tensor, ys: torch.Tensor,
            xs: torch.Tensor) -> torch.Tensor:
    """The head's output at cells (batch[i], ys[i], xs[i]) of its input map, as (N, channels) float32.

    Heads of another shape are run densely and read at the cells, so any head gives the right answer.
    """
    layers = list(head) if isinstance(head, nn.Sequential) else [head]
    convs_and_relus = [layer for layer in layers if not isinstance(layer, nn.Identity)]
    plain = (len(convs_and_relus) in (1, 3) and isinstance(convs_and_relus[0], nn.Conv2d)
             and _window_conv(convs_and_relus[0]))
    if plain and len(convs_and_relus) == 3:
        hidden, relu, last = convs_and_relus
        plain = isinstance(relu, nn.ReLU) and isinstance(last, nn.Conv2d) and last.kernel_size == (1, 1) \
            and _window_conv(last)
    if not plain:
        return _dense(head, feature)[batch, :, ys, xs].float()
    out = _conv_at(convs_and_relus[0], feature, batch, ys, xs)
    if len(convs_and_relus) == 3:
        last = convs_and_relus[2]
        out = F.relu(out) @ last.weight.float().reshape(last.out_channels, -1).T + last.bias.float()
    return out


def _dense(head: nn.Module, feature: torch.Tensor) -> torch.Tensor:
    """The head as a full map, its input cast to the head's dtype (an AMP feature map is fp16/bf16)."""
    with torch.inference_mode():
        return head(feature.to(next(head.parameters()).dtype))


class HeadsAtCells(Mapping[str, torch.Tensor]):
    """A network's outputs for one batch: `hm` dense, the other heads on demand (per cell or as maps)."""

    def __init__(self, model: nn.Module, feature: torch.Tensor, hm: torch.Tensor) -> None:
        self.model, self.feature = model, feature
        self.maps: dict[str, torch.Tensor] = {"hm": hm}

    def at(self, name: str, batch: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """Head `name` at the cells, (N, channels) float32; from the map when it was computed already."""
        if name in self.maps:
            return self.maps[name][batch, :, ys, xs].float()
        return head_at(getattr(self.model, name), self.feature, batch, ys, xs)

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in HEAD_NAMES:
            raise KeyError(name)
        if name not in self.maps:
            self.maps[name] = _dense(getattr(self.model, name), self.feature)
        return self.maps[name]

    def __iter__(self) -> Iterator[str]:
        return iter(HEAD_NAMES)

    def __len__(self) -> int:
        return len(HEAD_NAMES)
