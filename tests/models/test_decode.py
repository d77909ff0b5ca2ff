"""Decoding: heatmap NMS, thresholds, embeddings, and the exact round trip through the letterbox."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fairmot.data.dataset import JointDataset, letterbox
from fairmot.models.decode import decode_detections, gather_feat, heatmap_nms


def _write_frame(root: Path, image: np.ndarray, boxes_xywh: np.ndarray) -> tuple[Path, Path, Path]:
    """One PNG frame of a sequence with its label file and split index, in the pipeline's layout."""
    rel = "images/train/SEQ/img1/000001.png"
    img_path = root / "dataset" / rel
    img_path.parent.mkdir(parents=True)
    cv2.imwrite(str(img_path), image)
    h, w = image.shape[:2]
    lines = [
        f"0 {i + 1} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}\n"
        for i, (x, y, bw, bh) in enumerate(boxes_xywh)
    ]
    label = root / "labels" / "train" / "SEQ" / "img1" / "000001.txt"
    label.parent.mkdir(parents=True)
    label.write_text("".join(lines))
    split = root / "train.txt"
    split.write_text(rel + "\n")
    return root / "dataset", root / "labels", split


def _perfect_outputs(sample: dict[str, torch.Tensor], reid_dim: int = 8) -> dict[str, torch.Tensor]:
    """What a perfect network would output for these targets (heatmap in logit space)."""
    hm = sample["hm"].clamp(1e-6, 1 - 1e-6)
    _, h, w = hm.shape
    maps = {name: torch.zeros(c, h * w) for name, c in (("wh", 4), ("reg", 2), ("id", reid_dim))}
    valid = sample["reg_mask"] > 0
    ind = sample["ind"][valid]
    maps["wh"][:, ind] = sample["wh"][valid].T
    maps["reg"][:, ind] = sample["reg"][valid].T
    maps["id"][:, ind] = torch.eye(reid_dim)[: len(ind)].T * 3.0
    outputs = {name: m.view(1, -1, h, w) for name, m in maps.items()}
    outputs["hm"] = torch.log(hm / (1 - hm)).unsqueeze(0)
    return outputs


def test_perfect_outputs_decode_to_the_original_boxes_through_the_letterbox(tmp_path):
    # 411x300 into 320x192: ratio 0.64, 28 px of grey on the left and 29 on the right
    boxes = np.array(
        [[40.3, 60.7, 35.2, 90.9], [200.0, 120.5, 44.4, 120.0], [330.5, 10.0, 50.0, 140.0], [150.0, -30.0, 40.0, 100.0]]
    )
    image = np.full((300, 411, 3), 60, np.uint8)
    ds = JointDataset(*_write_frame(tmp_path, image, boxes), width=320, height=192, augment=False)
    sample = ds[0]
    assert sample["reg_mask"].sum() == 4
    _, ratio, pad_w, pad_h = letterbox(image, 320, 192)
    (dets,) = decode_detections(_perfect_outputs(sample), K=500, conf_thres=0.4, letterbox=[(ratio, pad_w, pad_h)])
    assert len(dets) == 4
    order = np.argsort(dets.embeddings.argmax(1))  # identity i has embedding e_i
    expected = np.stack([boxes[:, 0], boxes[:, 1], boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]], axis=1)
    # the last box starts above the image: its centre is clipped, its edges are not
    # (the spec asks for 1 px; only the 6-decimal label rounding remains, a few 1e-4 px)
    np.testing.assert_allclose(dets.boxes[order], expected, atol=0.01)
    np.testing.assert_allclose(dets.scores, 1 - 1e-6, atol=1e-6)


def test_nms_keeps_only_3x3_local_maxima():
    heat = torch.tensor(
        [[0.1, 0.9, 0.2, 0.0], [0.3, 0.8, 0.0, 0.5], [0.0, 0.0, 0.0, 0.4], [0.7, 0.0, 0.0, 0.0]]
    ).view(1, 1, 4, 4)
    kept = heatmap_nms(heat)[0, 0]
    expected = torch.zeros(4, 4)
    expected[0, 1], expected[1, 3], expected[3, 0] = 0.9, 0.5, 0.7
    assert torch.equal(kept, expected)


def _outputs_with_peaks(peaks: dict[tuple[int, int], float], reid_dim: int = 3) -> dict[str, torch.Tensor]:
    h, w = 6, 8
    hm = torch.full((1, 1, h, w), -10.0)
    wh = torch.zeros(1, 4, h, w)
    reg = torch.zeros(1, 2, h, w)
    emb = torch.zeros(1, reid_dim, h, w)
    for (y, x), prob in peaks.items():
        hm[0, 0, y, x] = logit(prob)
        wh[0, :, y, x] = torch.tensor([1.0, 2.0, 3.0, 4.0])
        reg[0, :, y, x] = torch.tensor([0.25, 0.5])
        emb[0, :, y, x] = torch.tensor([3.0, 0.0, 4.0])
    return {"hm": hm, "wh": wh, "reg": reg, "id": emb}


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_scores_threshold_boxes_and_normalised_embeddings_by_hand():
    outputs = _outputs_with_peaks({(2, 3): 0.9, (4, 6): 0.3})
    (dets,) = decode_detections(outputs, conf_thres=0.4, letterbox=[(0.5, 10.0, 2.0)])
    assert len(dets) == 1 and dets.scores[0] == pytest.approx(0.9, abs=1e-6)
    # centre (3.25, 2.5) cells; box (x-1, y-2, x+3, y+4) * 4 = (9, 2, 25, 26); minus pad, / 0.5
    expected = [(9 - 10) / 0.5, (2 - 2) / 0.5, (25 - 10) / 0.5, (26 - 2) / 0.5]
    np.testing.assert_allclose(dets.boxes[0], expected, atol=1e-5)
    np.testing.assert_allclose(dets.embeddings[0], [0.6, 0.0, 0.8], atol=1e-6)
    assert dets.boxes.dtype == np.float32 and dets.embeddings.dtype == np.float32


def test_batch_decodes_each_image_with_its_own_letterbox_and_k_larger_than_the_map():
    a = _outputs_with_peaks({(1, 1): 0.8})
    b = _outputs_with_peaks({(1, 1): 0.8, (4, 5): 0.7})
    outputs = {k: torch.cat([a[k], b[k]]) for k in a}
    dets = decode_detections(outputs, K=500, conf_thres=0.4, letterbox=[(1.0, 0.0, 0.0), (2.0, 0.0, 0.0)])
    assert [len(d) for d in dets] == [1, 2]
    np.testing.assert_allclose(dets[1].boxes[0], dets[0].boxes[0] / 2, atol=1e-5)
    with pytest.raises(ValueError, match="letterbox"):
        decode_detections(outputs, letterbox=[(1.0, 0.0, 0.0)])


def test_gather_feat_reads_flat_indices_y_times_w_plus_x():
    feature = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    ind = torch.tensor([[0, 7], [19, 12]])
    reference = feature.permute(0, 2, 3, 1).reshape(2, 20, 3)
    expected = torch.stack([reference[0, [0, 7]], reference[1, [19, 12]]])
    assert torch.equal(gather_feat(feature, ind), expected)
    assert gather_feat(feature, ind)[1, 0].tolist() == feature[1, :, 3, 4].tolist()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_decoding_on_cuda_matches_cpu():
    outputs = _outputs_with_peaks({(2, 3): 0.9, (4, 6): 0.6})
    (cpu,) = decode_detections(outputs, letterbox=[(0.5, 10.0, 2.0)])
    (gpu,) = decode_detections({k: v.cuda() for k, v in outputs.items()}, letterbox=[(0.5, 10.0, 2.0)])
    np.testing.assert_allclose(gpu.boxes, cpu.boxes, atol=1e-5)
    np.testing.assert_allclose(gpu.embeddings, cpu.embeddings, atol=1e-6)


def test_two_classes_keep_the_top_k_over_both_with_their_class():
    """A peak in each channel: both kept, in score order, each with its channel as class."""
    hm = torch.full((1, 2, 8, 8), -9.0)
    hm[0, 0, 2, 3] = 2.0  # class 0, lower score
    hm[0, 1, 5, 6] = 4.0  # class 1, higher score
    hm[0, 1, 2, 3] = 1.0  # class 1 at class 0's cell: still a candidate of its own class
    outputs = {"hm": hm, "wh": torch.ones(1, 4, 8, 8), "reg": torch.zeros(1, 2, 8, 8), "id": torch.ones(1, 4, 8, 8)}
    (dets,) = decode_detections(outputs, K=2, conf_thres=0.5, letterbox=[(1.0, 0.0, 0.0)])
    assert dets.classes.tolist() == [1, 0]
    np.testing.assert_allclose(dets.scores, torch.sigmoid(torch.tensor([4.0, 2.0])).numpy(), rtol=1e-6)
    np.testing.assert_allclose(dets.boxes[0], [(6 - 1) * 4, (5 - 1) * 4, (6 + 1) * 4, (5 + 1) * 4])


def test_one_class_decodes_every_candidate_as_class_zero():
    hm = torch.full((1, 1, 8, 8), -9.0)
    hm[0, 0, 2, 3] = 2.0
    outputs = {"hm": hm, "wh": torch.ones(1, 4, 8, 8), "reg": torch.zeros(1, 2, 8, 8), "id": torch.ones(1, 4, 8, 8)}
    (dets,) = decode_detections(outputs, K=5, conf_thres=0.5, letterbox=[(1.0, 0.0, 0.0)])
    assert dets.classes.dtype == np.int64 and dets.classes.tolist() == [0]
