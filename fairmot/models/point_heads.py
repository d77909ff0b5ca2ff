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


def _apply(conv: nn.Conv2d, columns: torch.Tensor) -> torch.Tensor:
    """conv on per-cell columns laid out (k, k, C) (a 1x1 conv: just C), as (N, out_channels) float32."""
    weight = conv.weight.float().permute(0, 2, 3, 1).reshape(conv.out_channels, -1)
    out = columns.float() @ weight.T
    return out + conv.bias.float() if conv.bias is not None else out


def _cell_local(layers: list[nn.Module]) -> bool:
    """A 'same' window conv, then only ReLUs and 1x1 convs: each cell's output needs only its window."""
    first, rest = layers[0], layers[1:]
    return (isinstance(first, nn.Conv2d) and _window_conv(first)
            and all(isinstance(layer, nn.ReLU)
                    or (isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1) and _window_conv(layer))
                    for layer in rest))


def head_at(head: nn.Module, feature: torch.Tensor, batch: torch.Tensor, ys: torch.Tensor,
            xs: torch.Tensor) -> torch.Tensor:
    """The head's output at cells (batch[i], ys[i], xs[i]) of its input map, as (N, channels) float32.

    Heads of another shape are run densely and read at the cells, so any head gives the right answer.
    """
    layers = [layer for layer in (head if isinstance(head, nn.Sequential) else [head])
              if not isinstance(layer, nn.Identity)]
    if not layers or not _cell_local(layers):
        return _dense(head, feature)[batch, :, ys, xs].float()
    out = _apply(layers[0], _windows(feature, batch, ys, xs, layers[0].kernel_size[0]))
    for layer in layers[1:]:
        out = F.relu(out) if isinstance(layer, nn.ReLU) else _apply(layer, out)
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
