"""Batch norm folding: no batch norm left, the same head maps, the original model untouched."""

from __future__ import annotations

import pytest
import torch

from fairmot.models.fusion import count_batchnorms, fold_batchnorm
from tests.models.standins import trained_looking as _trained_looking


@pytest.mark.parametrize(("arch", "height", "width"), [
    ("dla_tiny", 64, 96), ("dla34", 64, 64), ("dlaconv", 32, 64), ("hrnet18", 64, 64),
])
def test_folded_network_gives_the_same_head_maps_within_1e4(arch, height, width):
    model = _trained_looking(arch)
    before = count_batchnorms(model)
    fused = fold_batchnorm(model)
    assert before > 0 and count_batchnorms(fused) == 0 and fused.folded_batchnorms == before
    x = torch.rand(1, 3, height, width)
    with torch.inference_mode():
        expected, got = model(x), fused(x)
    for name in expected:
        assert (expected[name] - got[name]).abs().max().item() < 1e-4, name


def test_folding_leaves_the_original_model_and_its_state_dict_keys_alone():
    model = _trained_looking("dla_tiny")
    keys = list(model.state_dict())
    weight = model.base.base_layer[0].weight.clone()
    fold_batchnorm(model)
    assert list(model.state_dict()) == keys
    assert torch.equal(model.base.base_layer[0].weight, weight)
    assert count_batchnorms(model) == 55
