"""Inference engines: one interface from a preprocessed frame to the head maps, per backend.

`engine(blob)` takes one letterboxed CHW float32 frame (numpy, as `OnlineTracker.prepare` makes it),
or a stack of up to `engine.batch` of them (N, 3, H, W), and returns the heads {"hm", "wh", "reg",
"id"} as a mapping of (N, C, H/4, W/4) tensors on `engine.device`, ready for
`fairmot.models.decode.decode_detections` (which then decodes on that device). Batches are for
offline passes (`fairmot detect`, `eval.batch`): frames are independent for the network, and a
batch of four keeps two CPU cores busier than one frame at a time.

- `torch`: the lean PyTorch path. Batch norm folded into the convolutions, channels_last
  activations, on the CPU the dense part traced onto oneDNN's fused convolutions with prepacked
  weights (`fairmot.models.onednn`), one preallocated input tensor (pinned host memory + device
  copy on CUDA, copied without blocking), inference mode, AMP in the policy's dtype on CUDA, and
  for batch-1 CUDA inference at a fixed size a captured CUDA graph replayed per frame. Only the
  backbone and the heatmap run densely: the other heads are evaluated at the cells decoding reads
  (`fairmot.models.point_heads`). The outputs of a CUDA-graph engine are its static buffers,
  valid until the next call.
- `onnx`: ONNX Runtime on an exported graph (`fairmot.export`), CPU provider or CUDA where
  available, intra-op threads from params.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from fairmot.devices import resolve_amp
from fairmot.errors import ConfigError
from fairmot.export import INPUT_NAME, OUTPUT_NAMES, onnx_session
from fairmot.models.fusion import fold_batchnorm
from fairmot.models.onednn import onednn_available, onednn_graph
from fairmot.models.point_heads import HeadsAtCells

ENGINES = ("torch", "onnx")


class Engine(Protocol):
    name: str
    device: torch.device
    batch: int

    def __call__(self, blob: np.ndarray) -> Mapping[str, torch.Tensor]: ...


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


def as_batch(blob: np.ndarray, batch: int, size: tuple[int, int] | None) -> np.ndarray:
    """One frame (3, H, W) or a stack (N, 3, H, W) as a stack, checked against the engine's batch and
    (height, width) (None: a graph of dynamic size takes any)."""
    frames = blob[None] if blob.ndim == 3 else blob
    shape_ok = frames.ndim == 4 and frames.shape[1] == 3 and (size is None or frames.shape[2:] == size)
    if not shape_ok or not 1 <= len(frames) <= batch:
        expected = f"(3, {size[0]}, {size[1]})" if size else "(3, H, W)"
        raise ValueError(f"frame blob {blob.shape} != {expected} or up to {batch} of them, "
                         f"which this engine was built for")
    return frames


class OnnxEngine:
    """ONNX Runtime over an exported graph; head maps come back as CPU tensors (zero-copy).

    The exported graph takes one frame (its batch axis is fixed at 1), so a batch runs frame by frame.
    """

    name = "onnx"

    def __init__(self, path: Path | str, *, device: Any = "cpu", threads: int = 0, batch: int = 1) -> None:
        self.path = Path(path)
        self.batch = batch
        self.session = onnx_session(path, device=device, threads=threads)
        # Results are read back to the host, where decoding then runs
        self.device = torch.device("cpu")
        spec = self.session.get_inputs()[0]
        self.dtype = np.float16 if "float16" in spec.type else np.float32
        self.shape = tuple(spec.shape)
        # (height, width) of a fixed-size export; None for a dynamic one (names instead of numbers)
        self.size = tuple(self.shape[2:]) if all(isinstance(d, int) for d in self.shape) else None

    def __call__(self, blob: np.ndarray) -> dict[str, torch.Tensor]:
        frames = as_batch(blob, self.batch, self.size)
        runs = [self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: frame[None].astype(self.dtype, copy=False)})
                for frame in frames]
        return {name: torch.from_numpy(np.concatenate([run[i] for run in runs]) if len(runs) > 1 else runs[0][i])
                for i, name in enumerate(OUTPUT_NAMES)}


def make_engine(kind: str, model: nn.Module | None, *, input_w: int, input_h: int, device: Any = "cpu",
                amp: bool | str | None = None, onnx_path: Path | str | None = None,
                threads: int = 0, batch: int = 1) -> Engine:
    """The engine `eval.engine` / `--engine` names; `onnx` needs the exported graph's path."""
    if kind == "torch":
        if model is None:
            raise ConfigError("engine torch needs the PyTorch model")
        return TorchEngine(model, input_w=input_w, input_h=input_h, device=device, amp=amp, batch=batch)
    if kind == "onnx":
        if onnx_path is None:
            raise ConfigError("engine onnx needs the exported model (run `fairmot export`, give its path)")
        engine = OnnxEngine(onnx_path, device=device, threads=threads, batch=batch)
        if engine.size is not None and engine.shape != (1, 3, input_h, input_w):
            raise ConfigError(f"{onnx_path}: exported for input {engine.shape[3]}x{engine.shape[2]}, the checkpoint "
                              f"runs at {input_w}x{input_h}; re-run `fairmot export` for this checkpoint")
        return engine
    raise ConfigError(f"engine: {kind!r} is not an inference engine; choose one of {', '.join(ENGINES)}")

