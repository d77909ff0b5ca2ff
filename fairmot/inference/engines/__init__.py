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
- `openvino`: OpenVINO on the CPU over the IR `fairmot export` writes beside the ONNX graph, in
  `eval.precision` fp32, bf16 (the fp32 IR compiled with a bf16 hint, CPUs with BF16) or int8
  (NNCF's post-training quantization, calibrated on training frames), threads from params.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from fairmot.errors import ConfigError
from fairmot.inference.engines.base import Engine, as_batch
from fairmot.inference.engines.onnx_engine import INPUT_NAME, OUTPUT_NAMES, SOURCE_KEY, OnnxEngine, onnx_session
from fairmot.inference.engines.openvino_engine import PRECISIONS, OpenVinoEngine, ir_path
from fairmot.inference.engines.torch_engine import TorchEngine
from fairmot.io import file_sha256
from fairmot.models.heads import head_channels

__all__ = ["ENGINES", "INPUT_NAME", "OUTPUT_NAMES", "PRECISIONS", "SOURCE_KEY", "Engine", "OnnxEngine", "OpenVinoEngine",
           "TorchEngine", "as_batch", "ir_path", "make_engine", "onnx_session"]

ENGINES = ("torch", "onnx", "openvino")


def make_engine(kind: str, model: nn.Module | None, *, input_w: int, input_h: int, device: Any = "cpu",
                amp: bool | str | None = None, onnx_path: Path | str | None = None,
                threads: int = 0, batch: int = 1, checkpoint: Path | str | None = None, precision: str = "fp32") -> Engine:
    """The engine `eval.engine` / `--engine` names; `onnx` and `openvino` need the exported graph's path
    (the IR lies beside it), and are checked to come from `checkpoint` when that is given."""
    if precision != "fp32" and kind != "openvino":
        raise ConfigError(f"eval.precision: {precision} runs on engine openvino only (engine is {kind}); "
                          "set eval.engine to openvino or eval.precision to fp32")
    if kind == "openvino":
        if onnx_path is None:
            raise ConfigError("engine openvino needs the exported model (run `fairmot export`, give the ONNX path)")
        engine: Any = OpenVinoEngine(ir_path(onnx_path, precision), precision=precision, threads=threads, batch=batch)
        return _checked(engine, model, checkpoint, input_w, input_h)
    if kind == "torch":
        if model is None:
            raise ConfigError("engine torch needs the PyTorch model")
        return TorchEngine(model, input_w=input_w, input_h=input_h, device=device, amp=amp, batch=batch)
    if kind == "onnx":
        if onnx_path is None:
            raise ConfigError("engine onnx needs the exported model (run `fairmot export`, give its path)")
        return _checked(OnnxEngine(onnx_path, device=device, threads=threads, batch=batch), model, checkpoint,
                        input_w, input_h)
    raise ConfigError(f"engine: {kind!r} is not an inference engine; choose one of {', '.join(ENGINES)}")


def _checked(engine: Any, model: nn.Module | None, checkpoint: Path | str | None, input_w: int, input_h: int) -> Any:
    """An exported engine, refused when it came from another checkpoint, has other heads or another input size."""
    if checkpoint is not None:
        engine.check_source(file_sha256(checkpoint), checkpoint)
    if model is not None:
        engine.check_heads(head_channels(model.reid_dim, getattr(model, "num_classes", 1)))
    if engine.size is not None and engine.shape != (1, 3, input_h, input_w):
        raise ConfigError(f"{engine.path}: exported for input {engine.shape[3]}x{engine.shape[2]}, the checkpoint "
                          f"runs at {input_w}x{input_h}; re-run `fairmot export` for this checkpoint")
    return engine
