"""ONNX export of a FairMOT network (the four head maps as named outputs) and its parity check.

The exporter is `torch.onnx.export(..., dynamo=True)` at opset 19 or later: torchvision's
deformable convolution becomes ONNX `DeformConv` (opset 19), which the legacy TorchScript exporter
cannot emit. Batch norm is folded into the convolutions before export (`fold_batchnorm`), so the
graph carries no BatchNormalization nodes.

Input size: fixed by default, at the size the network was trained at (checkpoint/params
`input_w` x `input_h`). The tracker letterboxes every frame to that one size anyway, and a fixed
shape lets ONNX Runtime plan memory and pick kernels once; `dynamic=True` exports a graph whose
height and width are free (multiples of 32) for other uses. benchmarks/engines.py measures both.
"""

from __future__ import annotations

import logging
from pathlib import Path

import onnx
import torch
from torch import nn

from fairmot.errors import ConfigError
from fairmot.inference.engines import INPUT_NAME, OUTPUT_NAMES, SOURCE_KEY
from fairmot.io import atomic_file
from fairmot.models.fusion import fold_batchnorm

log = logging.getLogger(__name__)

MIN_OPSET = 19


class HeadOutputs(nn.Module):
    """The network with its head dict flattened into a tuple in OUTPUT_NAMES order (ONNX has no dicts)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(x)
        return tuple(outputs[name] for name in OUTPUT_NAMES)


def _check_size(input_w: int, input_h: int) -> None:
    if input_w <= 0 or input_h <= 0 or input_w % 32 or input_h % 32:
        raise ConfigError(f"input_w/input_h: {input_w}x{input_h} must be positive multiples of 32 for export")


def export_onnx(
    model: nn.Module,
    path: Path | str,
    *,
    input_w: int,
    input_h: int,
    dynamic: bool = False,
    fp16: bool = False,
    opset: int = MIN_OPSET,
    source_sha256: str = "",
) -> Path:
    """Write `model` (batch-norm folded, eval mode, on the CPU) as ONNX at `path`, atomically.

    fp16 exports half-precision weights and input/outputs, meant for ONNX Runtime's CUDA provider.
    `source_sha256` (the checkpoint's) goes into the graph's metadata, where the onnx engine checks it.
    """
    _check_size(input_w, input_h)
    if opset < MIN_OPSET:
        raise ConfigError(f"opset {opset}: DeformConv needs opset {MIN_OPSET} or later")
    path = Path(path)
    wrapped = HeadOutputs(fold_batchnorm(model).cpu()).eval()
    example = torch.rand(1, 3, input_h, input_w)
    if fp16:
        wrapped, example = wrapped.half(), example.half()
    dynamic_shapes = None
    if dynamic:
        # height and width in whole blocks of 32 pixels (the network's total stride)
        rows, cols = torch.export.Dim("rows32", min=1, max=128), torch.export.Dim("cols32", min=1, max=128)
        dynamic_shapes = {"x": {2: 32 * rows, 3: 32 * cols}}
    with torch.inference_mode(False), torch.no_grad():
        program = torch.onnx.export(
            wrapped, (example,), dynamo=True, opset_version=opset, input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES), dynamic_shapes=dynamic_shapes, verbose=False,
        )
    graph = program.model_proto
    _strip_node_metadata(graph.graph)
    for function in graph.functions:
        _strip_node_metadata(function)
    if source_sha256:
        graph.metadata_props.add(key=SOURCE_KEY, value=source_sha256)
    with atomic_file(path, "wb") as handle:
        handle.write(graph.SerializeToString())  # one self-contained file (weights inline below 2 GB)
    log.info("exported %s (%s, %dx%d%s, opset %d)", path, "fp16" if fp16 else "fp32", input_w, input_h,
             ", dynamic" if dynamic else "", opset)
    return path


def _strip_node_metadata(graph: onnx.GraphProto | onnx.FunctionProto) -> None:
    """Drop the exporter's per-node metadata: its stack traces hold this checkout's absolute paths, so
    the same checkpoint exported in two clones gave two different files (and dvc.lock hashes)."""
    for node in graph.node:
        del node.metadata_props[:]
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                _strip_node_metadata(attribute.g)
            for sub in attribute.graphs:
                _strip_node_metadata(sub)
