"""Inference engines: one interface from a preprocessed frame to the head maps, per backend.

`engine(blob)` takes one letterboxed CHW float32 frame (numpy, as `OnlineTracker.prepare` makes it)
and returns the heads {"hm", "wh", "reg", "id"} as a mapping of tensors on `engine.device`, ready
for `fairmot.models.decode.decode_detections` (which then decodes on that device).

- `torch`: the lean PyTorch path. Batch norm folded into the convolutions, channels_last
  activations, one preallocated input tensor (pinned host memory + device copy on CUDA, copied
  without blocking), inference mode, AMP in the policy's dtype on CUDA, and for batch-1 CUDA
  inference at a fixed size a captured CUDA graph replayed per frame. Only the backbone and the
  heatmap run densely: the other heads are evaluated at the cells decoding reads
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
from fairmot.models.point_heads import HeadsAtCells

ENGINES = ("torch", "onnx")


class Engine(Protocol):
    name: str
    device: torch.device

    def __call__(self, blob: np.ndarray) -> Mapping[str, torch.Tensor]: ...


class TorchEngine:
    """The lean PyTorch path over a copy of `model` (the caller's model is left as it is)."""

    name = "torch"

    def __init__(self, model: nn.Module, *, input_w: int, input_h: int, device: Any = "cpu",
                 amp: bool | str | None = None, cuda_graph: bool = True) -> None:
        self.device = torch.device(device)
        self.input_w, self.input_h = input_w, input_h
        self.amp = resolve_amp(amp, self.device)
        self.model = fold_batchnorm(model).to(self.device).to(memory_format=torch.channels_last).eval()
        # CUDA: frames go through one pinned host buffer so the upload can run asynchronously
        self.host = torch.empty((1, 3, input_h, input_w), pin_memory=True) if self.device.type == "cuda" else None
        self.input = torch.empty((1, 3, input_h, input_w), device=self.device).contiguous(
            memory_format=torch.channels_last)
        self.graph: Any = None
        self.graph_outputs: tuple[torch.Tensor, torch.Tensor] | None = None
        if cuda_graph and self.device.type == "cuda":
            self._capture()

    def _forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The stride-4 feature map and the heatmap (the one head decoding needs everywhere)."""
        with torch.inference_mode(), self.amp.autocast(self.device):
            feature = self.model.features(self.input)
            return feature, self.model.hm(feature)

    def _capture(self) -> None:
        """Record one forward into a CUDA graph; later frames copy into `self.input` and replay it."""
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            for _ in range(3):  # warm-up on a side stream, as CUDA graph capture requires
                self._forward()
        torch.cuda.current_stream(self.device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.graph_outputs = self._forward()

    def _check(self, blob: np.ndarray) -> None:
        if blob.shape != (3, self.input_h, self.input_w):
            raise ValueError(f"frame blob {blob.shape} != (3, {self.input_h}, {self.input_w}) this engine was built for")

    def __call__(self, blob: np.ndarray) -> HeadsAtCells:
        self._check(blob)
        with torch.inference_mode():
            if self.host is None:
                self.input[0].copy_(torch.from_numpy(blob))
            else:
                self.host[0].copy_(torch.from_numpy(blob))
                self.input.copy_(self.host, non_blocking=True)
        if self.graph is not None:
            self.graph.replay()
            feature, hm = self.graph_outputs
        else:
            feature, hm = self._forward()
        return HeadsAtCells(self.model, feature, hm)


class OnnxEngine:
    """ONNX Runtime over an exported graph; head maps come back as CPU tensors (zero-copy)."""

    name = "onnx"

    def __init__(self, path: Path | str, *, device: Any = "cpu", threads: int = 0) -> None:
        self.path = Path(path)
        self.session = onnx_session(path, device=device, threads=threads)
        # Results are read back to the host, where decoding then runs
        self.device = torch.device("cpu")
        spec = self.session.get_inputs()[0]
        self.dtype = np.float16 if "float16" in spec.type else np.float32
        self.shape = tuple(spec.shape)

    def __call__(self, blob: np.ndarray) -> dict[str, torch.Tensor]:
        batch = blob[None] if self.dtype == np.float32 else blob[None].astype(self.dtype)
        outputs = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: batch})
        return {name: torch.from_numpy(value) for name, value in zip(OUTPUT_NAMES, outputs)}


def make_engine(kind: str, model: nn.Module | None, *, input_w: int, input_h: int, device: Any = "cpu",
                amp: bool | str | None = None, onnx_path: Path | str | None = None,
                threads: int = 0) -> Engine:
    """The engine `eval.engine` / `--engine` names; `onnx` needs the exported graph's path."""
    if kind == "torch":
        if model is None:
            raise ConfigError("engine torch needs the PyTorch model")
        return TorchEngine(model, input_w=input_w, input_h=input_h, device=device, amp=amp)
    if kind == "onnx":
        if onnx_path is None:
            raise ConfigError("engine onnx needs the exported model (run `fairmot export`, give its path)")
        engine = OnnxEngine(onnx_path, device=device, threads=threads)
        fixed = all(isinstance(d, int) for d in engine.shape)
        if fixed and engine.shape != (1, 3, input_h, input_w):
            raise ConfigError(f"{onnx_path}: exported for input {engine.shape[3]}x{engine.shape[2]}, the checkpoint "
                              f"runs at {input_w}x{input_h}; re-run `fairmot export` for this checkpoint")
        return engine
    raise ConfigError(f"engine: {kind!r} is not an inference engine; choose one of {', '.join(ENGINES)}")

