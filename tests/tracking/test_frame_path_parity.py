"""The per-frame path around the tracker against the reference's own functions (tests/fixtures/frame_path.npz).

Letterbox (size rounding, INTER_AREA, grey 127.5 padding), network input (BGR -> RGB, CHW,
float32 / 255), decoding and the mapping of boxes back to the original image; the fixture was
made by running ifzhang/FairMOT's letterbox, LoadImages normalisation, mot_decode and
JDETracker.post_process (ctdet_post_process with centre/scale) on images of odd sizes.
"""

import numpy as np
import pytest
import torch

from benchmarks.parity.fixtures import (
    FIXTURES,
    maps_from_map_detections,
    sha256,
    synthetic_image,
    tie_logits,
)
from fairmot.data.dataset import letterbox
from fairmot.inference.runner import OnlineTracker
from fairmot.models.decode import decode_detections, heatmap_nms, topk_like_reference


@pytest.fixture(scope="module")
def fixture():
    with np.load(FIXTURES / "frame_path.npz") as data:
        return {k: data[k] for k in data.files}


def _cases(fixture):
    return range(len(fixture["case"]))


def test_letterbox_and_network_input_are_byte_identical_to_the_reference(fixture):
    for i in _cases(fixture):
        w0, h0, inp_w, inp_h, seed = fixture["case"][i]
        img0 = synthetic_image(int(w0), int(h0), int(seed))
        padded, ratio, pad_w, pad_h = letterbox(img0, int(inp_w), int(inp_h))
        assert padded.shape == (inp_h, inp_w, 3)
        assert sha256(padded) == fixture["letterbox_sha"][i], f"letterbox differs for {w0}x{h0} -> {inp_w}x{inp_h}"
        ref_ratio, dw, dh = fixture["ratio_pad"][i]
        assert ratio == ref_ratio and (pad_w, pad_h) == (round(dw - 0.1), round(dh - 0.1))  # left/top padding
        runner = OnlineTracker(torch.nn.Identity(), input_w=int(inp_w), input_h=int(inp_h))
        blob, _ = runner.prepare(img0)
        assert blob.dtype == np.float32 and sha256(blob) == fixture["blob_sha"][i]


def test_boxes_map_back_like_the_reference_up_to_the_documented_padding_offset(fixture):
    # The reference maps back through its centre/scale affine, which amounts to an unrounded
    # padding (W - w0 * ratio) / 2 around an unrounded resized size; we use the padding actually
    # applied, round((W - round(w0 * ratio)) / 2 - 0.1). Boxes differ by exactly that padding
    # difference / ratio (x and y separately): under 0.85 input pixel, 0.99 px for 1920x1080.
    largest = 0.0
    for i in _cases(fixture):
        w0, h0, inp_w, inp_h, seed = (int(v) for v in fixture["case"][i])
        ratio = fixture["ratio_pad"][i][0]
        dw, dh = (inp_w - w0 * ratio) / 2, (inp_h - h0 * ratio) / 2
        _, _, pad_w, pad_h = letterbox(synthetic_image(w0, h0, seed), inp_w, inp_h)
        dets = fixture["map_dets"][i]
        maps = maps_from_map_detections(dets, inp_w // 4, inp_h // 4)
        (ours,) = decode_detections(maps, K=len(dets), conf_thres=0.0, letterbox=[(ratio, pad_w, pad_h)])
        expected = fixture["boxes"][i]
        np.testing.assert_allclose(ours.scores, expected[:, 4], rtol=0, atol=1e-6)  # same order
        offset = np.array([dw - pad_w, dh - pad_h, dw - pad_w, dh - pad_h]) / ratio
        np.testing.assert_allclose(ours.boxes - expected[:, :4], np.broadcast_to(offset, expected[:, :4].shape),
                                   rtol=0, atol=1e-3)
        assert np.all(np.abs([dw - pad_w, dh - pad_h]) <= 0.85)
        largest = max(largest, float(np.abs(offset).max()))
    assert 0 < largest < 1.0  # 0.987 original px for 1920x1080 at 1088x608 (README)


def test_topk_orders_exact_ties_as_the_reference(fixture):
    logits = tie_logits()
    width = logits.shape[3]
    _, inds = topk_like_reference(heatmap_nms(torch.sigmoid(logits)).reshape(1, -1), 500)
    np.testing.assert_array_equal(inds.numpy(), fixture["tie_order"])
    _, plain = torch.topk(heatmap_nms(torch.sigmoid(logits)).reshape(1, -1), 500)
    assert not np.array_equal(plain.numpy(), fixture["tie_order"])  # a single topk orders ties otherwise
    zeros = torch.zeros((1, 4) + logits.shape[2:])
    maps = {"hm": logits, "wh": zeros, "reg": zeros[:, :2], "id": zeros}
    (dets,) = decode_detections(maps, K=500, conf_thres=0.4, letterbox=[(1.0, 0.0, 0.0)])
    assert len(dets) == 300
    kept = fixture["tie_order"][0][:300]
    np.testing.assert_array_equal(dets.boxes[:, 0] / 4, kept % width)
    np.testing.assert_array_equal(dets.boxes[:, 1] / 4, kept // width)
