"""Export: the trained network as an ONNX graph (onnx_graph) and an OpenVINO IR in fp32 and int8 (openvino_ir),
and the checks that they track as PyTorch does (parity, precision_check). Export builds on inference (it
runs the graph through the onnx and openvino engines); inference never imports export."""

from fairmot.export.onnx_graph import MIN_OPSET, export_onnx
from fairmot.export.openvino_ir import calibration_paths, convert_ir, quantize_ir, save_ir
from fairmot.export.parity import HEAD_TOLERANCE, check_engine, compare_tracks, export_and_check, head_differences
from fairmot.export.precision_check import OV_HEAD_TOLERANCE, export_ir_and_check, split_figures

__all__ = ["HEAD_TOLERANCE", "MIN_OPSET", "OV_HEAD_TOLERANCE", "calibration_paths", "check_engine", "compare_tracks",
           "convert_ir", "export_and_check", "export_ir_and_check", "export_onnx", "head_differences", "quantize_ir",
           "save_ir", "split_figures"]
