"""The network as an OpenVINO IR (fp32), its int8 quantization with NNCF, and the training frames that calibrate it.

Conversion goes straight from PyTorch (`openvino.convert_model`): its PyTorch frontend takes torchvision's
deformable convolution, its ONNX frontend cannot read DeformConv-19. The IR records the checkpoint's
sha256 in its rt_info, where the openvino engine checks it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fairmot.config import Params
from fairmot.data.formats.mot import read_seqinfo, sequence_folders
from fairmot.errors import ConfigError, DataError
from fairmot.evaluation import split_image_folder
from fairmot.export.onnx_graph import HeadOutputs, _check_size
from fairmot.inference.engines import INPUT_NAME, OUTPUT_NAMES
from fairmot.inference.engines.openvino_engine import IR_SOURCE_KEY
from fairmot.inference.runner import OnlineTracker
from fairmot.inference.sources import iter_images
from fairmot.models.fusion import fold_batchnorm

log = logging.getLogger(__name__)

# Names OpenVINO gives unnamed nodes carry a process-wide counter: renumbered, two exports are byte-identical
_COUNTED_NAME = re.compile(r"^(?P<base>.*?)_\d+$")


def convert_ir(model: nn.Module, *, input_w: int, input_h: int, source_sha256: str = "") -> Any:
    """`model` (batch-norm folded, eval mode, on the CPU) as an OpenVINO model of input (1, 3, H, W)
    and the four heads as named outputs."""
    import openvino as ov

    _check_size(input_w, input_h)
    wrapped = HeadOutputs(fold_batchnorm(model).cpu()).eval()
    example = torch.rand(1, 3, input_h, input_w)
    with torch.inference_mode(False), torch.no_grad():
        # traced here without the tracer's re-run check, which took most of the conversion's time
        traced = torch.jit.trace(wrapped, example, check_trace=False)
        ir = ov.convert_model(traced, example_input=example)
    ir.reshape({ir.inputs[0]: [1, 3, input_h, input_w]})
    ir.inputs[0].get_tensor().set_names({INPUT_NAME})
    for port, name in zip(ir.outputs, OUTPUT_NAMES, strict=True):
        port.get_tensor().set_names({name})
    if source_sha256:
        ir.set_rt_info(source_sha256, list(IR_SOURCE_KEY))
    return ir


def save_ir(ir: Any, xml: Path) -> Path:
    """Write `ir` as xml + bin (float32 weights), counted node names renumbered in graph order."""
    import openvino as ov

    counts: dict[str, int] = {}
    for op in ir.get_ordered_ops():
        match = _COUNTED_NAME.match(op.get_friendly_name())
        if match:
            base = match["base"]
            counts[base] = counts.get(base, 0) + 1
            op.set_friendly_name(f"{base}_{counts[base]}")
    ir.set_friendly_name("fairmot")  # default: Model<counter>
    ov.save_model(ir, str(xml), compress_to_fp16=False)
    return xml


def calibration_paths(dataset: Path, params: Params) -> list[Path]:
    """Up to export.calibration_frames training frames, evenly spaced: the frames of data.train_split
    (half: first halves) of the training sequences, never a frame of eval.split."""
    if params.eval.split == "train":
        raise ConfigError("eval.split: train scores every training frame, so no training frame is left to calibrate "
                          "the int8 IR on; use eval.split test or val")
    half = params.data.train_split == "half" or params.eval.split == "val"
    folder = split_image_folder(Path(dataset), "train")
    paths: list[Path] = []
    for seq_dir in sequence_folders(folder):
        info = read_seqinfo(seq_dir / "seqinfo.ini")
        last = info.seq_length // 2 if half else info.seq_length
        paths += [info.frame_path(seq_dir, f) for f in range(1, last + 1)]
    if not paths:
        raise DataError(f"{folder}: no training frames to calibrate the int8 IR on")
    limit = params.export.calibration_frames
    picks = np.unique(np.linspace(0, len(paths) - 1, min(limit, len(paths))).round().astype(int))
    return [paths[i] for i in picks]


def quantize_ir(ir: Any, frame_paths: list[Path], *, input_w: int, input_h: int) -> Any:
    """NNCF's post-training int8 quantization of `ir`, calibrated on `frame_paths` letterboxed exactly as
    inference does (`OnlineTracker.prepare`); fast bias correction, so the result depends on the frames only.
    The mixed preset (asymmetric activations) held the embedded model's MOTA within 0.003 of fp32, the
    symmetric default lost 0.007."""
    prepare = OnlineTracker(None, input_w=input_w, input_h=input_h).prepare
    blobs = [prepare(image)[0][None] for image in iter_images(frame_paths)]
    if len(blobs) != len(frame_paths):
        raise DataError(f"{len(frame_paths) - len(blobs)} of the {len(frame_paths)} calibration frames cannot be read")
    quantized = quantize_blobs(ir, blobs)
    log.info("int8 IR calibrated on %d training frames", len(blobs))
    return quantized


def quantize_blobs(ir: Any, blobs: list[np.ndarray]) -> Any:
    """`ir` quantized to int8 on prepared (1, 3, H, W) frames; the IR's recorded source carried over."""
    import nncf

    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.WARNING)
    try:
        quantized = nncf.quantize(ir, nncf.Dataset(blobs), subset_size=len(blobs), fast_bias_correction=True,
                                  preset=nncf.QuantizationPreset.MIXED)
    finally:
        nncf_log.setLevel(level)
    if ir.has_rt_info(list(IR_SOURCE_KEY)):
        quantized.set_rt_info(ir.get_rt_info(list(IR_SOURCE_KEY)).astype(str), list(IR_SOURCE_KEY))
    return quantized
