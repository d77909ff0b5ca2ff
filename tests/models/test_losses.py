"""Losses against hand-computed values, the id-loss edge case, and a model that learns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fairmot.data.dataset import build_targets
from fairmot.errors import DataError
from fairmot.models import create_model
from fairmot.models.losses import FairMOTLoss, clamped_sigmoid, focal_loss, reg_l1_loss


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_focal_loss_equals_hand_computation():
    gt = torch.tensor([1.0, 0.5, 0.0]).view(1, 1, 1, 3)
    pred = clamped_sigmoid(torch.tensor([logit(0.8), logit(0.3), logit(0.1)]).view(1, 1, 1, 3))
    # -(1/1) * [(1-.8)^2 ln .8 + (1-.5)^4 .3^2 ln .7 + (1-0)^4 .1^2 ln .9]
    hand = -(0.04 * math.log(0.8) + 0.0625 * 0.09 * math.log(0.7) + 0.01 * math.log(0.9))
    assert hand == pytest.approx(0.0119857, abs=1e-7)
    assert focal_loss(pred, gt).item() == pytest.approx(hand, rel=1e-5)


def test_focal_loss_without_positives_is_the_negative_sum():
    gt = torch.zeros(1, 1, 1, 2)
    pred = clamped_sigmoid(torch.tensor([logit(0.2), logit(0.5)]).view(1, 1, 1, 2))
    assert focal_loss(pred, gt).item() == pytest.approx(-(0.04 * math.log(0.8) + 0.25 * math.log(0.5)), rel=1e-5)


def test_sigmoid_clamp_keeps_focal_loss_finite_for_saturated_logits():
    pred = clamped_sigmoid(torch.tensor([100.0, 100.0]).view(1, 1, 1, 2))
    assert pred.max().item() == pytest.approx(1 - 1e-4)
    # the wrong certainty: -(1 - 1e-4)^2 ln(1e-4) for the background cell
    loss = focal_loss(pred, torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)).item()
    assert loss == pytest.approx((1 - 1e-4) ** 2 * -math.log(1e-4), rel=1e-3)


def test_reg_l1_loss_is_normalised_by_masked_values():
    output = torch.cat([torch.arange(6.0), torch.arange(6.0) + 10]).view(1, 2, 2, 3)
    ind = torch.tensor([[4, 0, 2]])
    mask = torch.tensor([[1, 1, 0]], dtype=torch.uint8)
    target = torch.tensor([[[4.5, 13.0], [1.0, 10.0], [100.0, 100.0]]])
    # |4-4.5| + |14-13| + |0-1| + |10-10| = 2.5 over 2 objects x 2 channels
    assert reg_l1_loss(output, mask, ind, target).item() == pytest.approx(2.5 / (4 + 1e-4), rel=1e-6)


def _id_batch(ids: list[int]) -> tuple[dict, dict]:
    id_map = torch.tensor([[3.0, 0.0], [4.0, -2.0]]).view(1, 2, 1, 2)  # embeddings (3, 4) and (0, -2)
    outputs = {
        "hm": torch.zeros(1, 1, 1, 2),
        "wh": torch.zeros(1, 4, 1, 2),
        "reg": torch.zeros(1, 2, 1, 2),
        "id": id_map.requires_grad_(),
    }
    batch = {
        "hm": torch.zeros(1, 1, 1, 2),
        "ind": torch.tensor([[0, 1]]),
        "reg_mask": torch.tensor([[1, 1]], dtype=torch.uint8),
        "wh": torch.zeros(1, 2, 4),
        "reg": torch.zeros(1, 2, 2),
        "ids": torch.tensor([ids]),
    }
    return outputs, batch


def _identity_classifier(criterion: FairMOTLoss) -> None:
    with torch.no_grad():
        criterion.classifiers[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        criterion.classifiers[0].bias.zero_()


def test_id_loss_is_scaled_cross_entropy_on_normalised_embeddings():
    criterion = FairMOTLoss(nID=3, reid_dim=2)
    _identity_classifier(criterion)
    s = math.sqrt(2) * math.log(2)
    assert criterion.emb_scale == pytest.approx(0.980258, abs=1e-6)
    outputs, batch = _id_batch([1, 2])
    # object 0: logits s*(0.6, 0.8, 0), target 1; object 1: logits s*(0, -1, 0), target 2
    ce0 = -math.log(math.exp(0.8 * s) / (math.exp(0.6 * s) + math.exp(0.8 * s) + 1))
    ce1 = -math.log(1 / (1 + math.exp(-s) + 1))
    assert criterion.id_loss(outputs["id"], batch).item() == pytest.approx((ce0 + ce1) / 2, rel=1e-5)
    assert (ce0 + ce1) / 2 == pytest.approx(0.8443, abs=1e-4)
    # an id of -1 is ignored: the mean is over the valid object only
    outputs, batch = _id_batch([1, -1])
    assert criterion.id_loss(outputs["id"], batch).item() == pytest.approx(ce0, rel=1e-5)


def test_id_loss_without_any_identity_is_zero_not_nan():
    criterion = FairMOTLoss(nID=3, reid_dim=2)
    outputs, batch = _id_batch([-1, -1])
    loss, stats = criterion(outputs, batch)
    assert stats["id_loss"].item() == 0.0
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(outputs["id"].grad).all() and torch.isfinite(criterion.classifiers[0].weight.grad).all()
    # no object at all: every term finite as well
    outputs, batch = _id_batch([1, 2])
    batch["reg_mask"].zero_()
    _, stats = criterion(outputs, batch)
    assert all(torch.isfinite(v) for v in stats.values()) and stats["id_loss"].item() == 0.0


def test_total_is_the_uncertainty_weighted_sum():
    criterion = FairMOTLoss(nID=3, reid_dim=2)
    outputs, batch = _id_batch([1, 2])
    batch["hm"][0, 0, 0, 0] = 1.0
    loss, stats = criterion(outputs, batch)
    det = stats["hm_loss"] + 0.1 * stats["wh_loss"] + 1.0 * stats["off_loss"]
    hand = 0.5 * (math.exp(1.85) * det.item() + math.exp(1.05) * stats["id_loss"].item() - 1.85 - 1.05)
    assert loss.item() == pytest.approx(hand, rel=1e-6)
    assert (stats["s_det"].item(), stats["s_id"].item()) == (pytest.approx(-1.85), pytest.approx(-1.05))
    assert set(criterion.state_dict()) == {"classifiers.0.weight", "classifiers.0.bias", "s_det", "s_id"}


def _synthetic_batch(width: int = 160, height: int = 96) -> dict[str, torch.Tensor]:
    """Two images with flat-coloured figures on a dark background and their targets."""
    rng = np.random.default_rng(0)
    images, targets = [], []
    boxes_per_image = [
        np.array([[10, 10, 40, 80], [70, 20, 95, 85], [120, 5, 150, 60]], np.float32),
        np.array([[20, 30, 45, 90], [60, 5, 90, 60], [110, 40, 140, 95]], np.float32),
    ]
    for b, boxes in enumerate(boxes_per_image):
        image = np.full((3, height, width), 0.1, np.float32)
        for x1, y1, x2, y2 in boxes.astype(int):
            image[:, y1:y2, x1:x2] = rng.uniform(0.4, 1.0, size=(3, 1, 1))
        images.append(image)
        targets.append(build_targets(boxes, np.arange(1, 4) + 3 * b, width, height, max_objs=8))
    batch = {key: torch.from_numpy(np.stack([t[key] for t in targets])) for key in targets[0]}
    batch["input"] = torch.from_numpy(np.stack(images))
    return batch


def test_a_few_adam_steps_of_dla_tiny_reduce_every_loss_term():
    torch.manual_seed(0)
    model = create_model("dla_tiny")
    criterion = FairMOTLoss(nID=7)
    optimizer = torch.optim.Adam([*model.parameters(), *criterion.parameters()], lr=2e-3)
    batch = _synthetic_batch()
    history = []
    for _ in range(12):
        loss, stats = criterion(model(batch["input"]), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(stats)
    for term in ("loss", "hm_loss", "wh_loss", "off_loss", "id_loss"):
        first, last = history[0][term].item(), history[-1][term].item()
        assert last < 0.8 * first, f"{term}: {first:.4f} -> {last:.4f}"


def test_a_split_without_identities_is_a_data_error():
    with pytest.raises(DataError, match="nID = 0"):
        FairMOTLoss(nID=0)
