"""The lean PyTorch engine: batch norm folded, channels_last, oneDNN graph on the CPU, CUDA graph on a GPU."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from fairmot.devices import resolve_amp
from fairmot.inference.engines.base import as_batch
from fairmot.models.fusion import fold_batchnorm
from fairmot.models.onednn import onednn_available, onednn_graph
from fairmot.models.point_heads import HeadsAtCells


class DenseOutputs(nn.Module):
    """What the lean engine runs densely: the stride-4 feature map and the heatmap."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.model.features(x)
        return feature, self.model.hm(feature)


class TorchEngine:
    """The lean PyTorch path over a copy of `model` (the caller's model is left as it is).

    `onednn=False` keeps the dense part in eager PyTorch on the CPU too (for benchmarks' attribution).
    """

    name = "torch"

    def __init__(self, model: nn.Module, *, input_w: int, input_h: int, device: Any = "cpu",
                 amp: bool | str | None = None, cuda_graph: bool = True, batch: int = 1, onednn: bool = True) -> None:
        self.device = torch.device(device)
        self.input_w, self.input_h, self.batch = input_w, input_h, batch
        self.amp = resolve_amp(amp, self.device)
        self.model = fold_batchnorm(model).to(self.device).to(memory_format=torch.channels_last).eval()
        shape = (batch, 3, input_h, input_w)
        # CUDA: frames go through one pinned host buffer so the upload can run asynchronously
        self.host = torch.empty(shape, pin_memory=True) if self.device.type == "cuda" else None
        self.input = torch.zeros(shape, device=self.device).contiguous(memory_format=torch.channels_last)
        self.dense: nn.Module = DenseOutputs(self.model)
        if onednn and self.device.type == "cpu" and onednn_available():
            self.dense = onednn_graph(self.dense, self.input)
        self.graph: Any = None
        self.graph_outputs: tuple[torch.Tensor, torch.Tensor] | None = None
        if cuda_graph and self.device.type == "cuda":
            self._capture()

    def _forward(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The stride-4 feature map and the heatmap (the one head decoding needs everywhere) of the
        first n frames of the input buffer."""
        with torch.inference_mode(), self.amp.autocast(self.device):
            return self.dense(self.input[:n])

    def _capture(self) -> None:
        """Record one forward into a CUDA graph; later frames copy into `self.input` and replay it."""
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            for _ in range(3):  # warm-up on a side stream, as CUDA graph capture requires
                self._forward(self.batch)
        torch.cuda.current_stream(self.device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.graph_outputs = self._forward(self.batch)

    def __call__(self, blob: np.ndarray) -> HeadsAtCells:
        frames = as_batch(blob, self.batch, (self.input_h, self.input_w))
        n = len(frames)
        with torch.inference_mode():
            if self.host is None:
                self.input[:n].copy_(torch.from_numpy(frames))
            else:
                self.host[:n].copy_(torch.from_numpy(frames))
                self.input[:n].copy_(self.host[:n], non_blocking=True)
        if self.graph is not None and n == self.batch:
            self.graph.replay()
            feature, hm = self.graph_outputs
        else:  # no graph, or the last, shorter batch of a sequence
            feature, hm = self._forward(n)
        return HeadsAtCells(self.model, feature, hm)
