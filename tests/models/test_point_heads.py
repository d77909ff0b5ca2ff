"""Heads evaluated at cells equal the dense heads read at those cells, and decode the same."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fairmot.models.decode import decode_detections
from fairmot.models.fusion import fold_batchnorm
from fairmot.models.heads import HEAD_NAMES, make_head
from fairmot.models.point_heads import HeadsAtCells, head_at
from tests.models.standins import trained_looking


def _cells(batch: int, height: int, width: int, n: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Random cells plus every corner of every image (where the 3x3 window leaves the map)."""
    g = torch.Generator().manual_seed(seed)
    image = torch.randint(batch, (n,), generator=g)
    ys, xs = torch.randint(height, (n,), generator=g), torch.randint(width, (n,), generator=g)
    corners = [(b, y, x) for b in range(batch) for y in (0, height - 1) for x in (0, width - 1)]
    extra = torch.tensor(corners).T
    return torch.cat([image, extra[0]]), torch.cat([ys, extra[1]]), torch.cat([xs, extra[2]])


@pytest.mark.parametrize("head_conv", [16, 0])
def test_head_at_cells_equals_the_dense_head_within_1e5(head_conv):
    torch.manual_seed(0)
    head = make_head(8, 5, head_conv, heatmap=False)
    for module in head.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.bias)
    feature = torch.randn(2, 8, 7, 11)
    image, ys, xs = _cells(2, 7, 11, 30, seed=1)
    with torch.no_grad():
        expected = head(feature)[image, :, ys, xs]
        got = head_at(head, feature, image, ys, xs)
    assert got.shape == (len(ys), 5) and got.dtype == torch.float32
    assert (got - expected).abs().max().item() < 1e-5


def test_head_at_cells_of_channels_last_input_and_no_cells():
    torch.manual_seed(2)
    head = make_head(4, 3, 8, heatmap=False)
    feature = torch.randn(1, 4, 5, 6).contiguous(memory_format=torch.channels_last)
    image, ys, xs = _cells(1, 5, 6, 10, seed=3)
    with torch.no_grad():
        assert (head_at(head, feature, image, ys, xs) - head(feature)[image, :, ys, xs]).abs().max() < 1e-5
        empty = torch.zeros(0, dtype=torch.long)
        assert head_at(head, feature, empty, empty, empty).shape == (0, 3)


def test_a_head_of_another_shape_is_run_densely_and_read_at_the_cells():
    torch.manual_seed(4)
    head = nn.Sequential(nn.Conv2d(4, 6, 3, padding=2, dilation=2), nn.Sigmoid(), nn.Conv2d(6, 2, 1))
    feature = torch.randn(1, 4, 6, 6)
    image, ys, xs = _cells(1, 6, 6, 8, seed=5)
    with torch.no_grad():
        assert torch.equal(head_at(head, feature, image, ys, xs), head(feature)[image, :, ys, xs])


@pytest.fixture(scope="module")
def network():
    model = fold_batchnorm(trained_looking("dla_tiny", affine=False))
    torch.nn.init.normal_(model.hm[-1].weight, std=2.0)  # plenty of candidates above the threshold
    torch.nn.init.constant_(model.hm[-1].bias, 0.0)
    return model


def test_heads_at_cells_is_a_mapping_of_the_dense_heads(network):
    x = torch.rand(1, 3, 64, 96)
    with torch.inference_mode():
        expected = network(x)
        feature = network.features(x)
        outputs = HeadsAtCells(network, feature, network.hm(feature))
    assert list(outputs) == list(HEAD_NAMES) and len(outputs) == 4
    for name in HEAD_NAMES:
        assert (outputs[name] - expected[name]).abs().max().item() < 1e-5, name
    with pytest.raises(KeyError):
        outputs["feature"]


def test_decoding_heads_at_cells_equals_decoding_the_dense_maps(network):
    x = torch.rand(2, 3, 64, 96)
    letterbox = [(0.5, 3.0, 1.0), (0.25, 0.0, 7.0)]
    with torch.inference_mode():
        dense = network(x)
        feature = network.features(x)
        sparse = HeadsAtCells(network, feature, network.hm(feature))
    expected = decode_detections(dense, K=100, conf_thres=0.3, letterbox=letterbox)
    got = decode_detections(sparse, K=100, conf_thres=0.3, letterbox=letterbox)
    assert min(len(d) for d in expected) > 5  # both images have detections: not a vacuous comparison
    for ref, dets in zip(expected, got):
        assert np.array_equal(ref.scores, dets.scores)
        assert np.abs(ref.boxes - dets.boxes).max() < 1e-3  # pixels, after dividing by the ratio
        assert np.abs(ref.embeddings - dets.embeddings).max() < 1e-5
    assert "id" not in sparse.maps and "wh" not in sparse.maps  # read at the cells, never as maps
