"""Export: the trained network as an ONNX graph (onnx_graph), and the check that it tracks as PyTorch does
(parity). Export builds on inference (it runs the graph through the onnx engine); inference never
imports export."""

from fairmot.export.onnx_graph import MIN_OPSET, export_onnx
from fairmot.export.parity import HEAD_TOLERANCE, check_engine, compare_tracks, export_and_check, head_differences

__all__ = ["HEAD_TOLERANCE", "MIN_OPSET", "check_engine", "compare_tracks", "export_and_check", "export_onnx",
           "head_differences"]
