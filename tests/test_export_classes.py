"""A two-class network through ONNX export and the engines: every class reaches decoding, as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fairmot.errors import DataError
from fairmot.export.onnx_graph import export_onnx
from fairmot.inference.engines import make_engine
from fairmot.models import create_model
from fairmot.models.decode import decode_detections

W, H = 96, 64


def _two_class_net() -> torch.nn.Module:
    """dla_tiny with 2 heatmaps, batch-norm statistics and peaked heatmaps as a trained one has."""
    torch.manual_seed(3)
    model = create_model("dla_tiny", num_classes=2)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    torch.nn.init.normal_(model.hm[-1].weight, std=2.0)
    with torch.no_grad():
        model.hm[-1].weight[1] = -model.hm[-1].weight[0]  # the classes peak in different places
        model.hm[-1].bias.copy_(torch.tensor([1.0, -1.0]))
        model.wh[-1].bias.copy_(torch.tensor([3.0, 6.0, 3.0, 6.0]))
    return model.eval()


def _decode(engine, blob):
    return decode_detections(engine(blob), K=40, conf_thres=0.4, letterbox=[(1.0, 0.0, 0.0)])[0]


def test_a_two_class_graph_gives_the_classes_and_boxes_of_pytorch(tmp_path):
    model = _two_class_net()
    graph = export_onnx(model, tmp_path / "two.onnx", input_w=W, input_h=H)
    onnx_engine = make_engine("onnx", model, input_w=W, input_h=H, onnx_path=graph, threads=1)
    assert onnx_engine.channels["hm"] == 2
    torch_engine = make_engine("torch", model, input_w=W, input_h=H)
    blob = np.random.default_rng(0).random((3, H, W), dtype=np.float32)
    ours, theirs = _decode(torch_engine, blob), _decode(onnx_engine, blob)
    assert set(ours.classes.tolist()) == {0, 1}  # both classes detected
    assert np.array_equal(ours.classes, theirs.classes)
    np.testing.assert_allclose(theirs.boxes, ours.boxes, atol=1e-3)
    np.testing.assert_allclose(theirs.scores, ours.scores, atol=1e-4)


def test_a_graph_with_another_class_count_than_the_network_is_refused(tmp_path):
    graph = export_onnx(create_model("dla_tiny").eval(), tmp_path / "one.onnx", input_w=W, input_h=H)
    with pytest.raises(DataError, match=r"one.onnx: head channels hm 1 \(the network's 2\) differ; re-run"):
        make_engine("onnx", create_model("dla_tiny", num_classes=2), input_w=W, input_h=H, onnx_path=graph, threads=1)


@pytest.mark.openvino
def test_a_two_class_openvino_ir_gives_the_classes_and_boxes_of_pytorch(tmp_path):
    from fairmot.export.openvino_ir import convert_ir, save_ir
    from fairmot.inference.engines import OpenVinoEngine

    model = _two_class_net()
    engine = OpenVinoEngine(save_ir(convert_ir(model, input_w=W, input_h=H), tmp_path / "two.xml"), threads=1)
    assert engine.channels["hm"] == 2
    engine.check_heads({"hm": 2, "wh": 4, "id": 128, "reg": 2})
    blob = np.random.default_rng(0).random((3, H, W), dtype=np.float32)
    ours, theirs = _decode(make_engine("torch", model, input_w=W, input_h=H), blob), _decode(engine, blob)
    assert set(ours.classes.tolist()) == {0, 1} and np.array_equal(ours.classes, theirs.classes)
    np.testing.assert_allclose(theirs.boxes, ours.boxes, atol=1e-3)
