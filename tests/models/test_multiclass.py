"""Several classes in the network and the loss: one heatmap channel and one re-ID classifier per class,
while a single-class network, its checkpoints and its loss stay exactly what they were."""

from __future__ import annotations

import copy
import logging
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fairmot.errors import DataError
from fairmot.models import build_from_checkpoint, create_model, load_model
from fairmot.models.decode import gather_feat
from fairmot.models.losses import FairMOTLoss, clamped_sigmoid, focal_loss, reg_l1_loss
from tests.models.test_losses import _synthetic_batch


@pytest.mark.parametrize("arch", ["dla_tiny", "hrnet18"])
def test_the_heatmap_head_has_one_channel_per_class(arch):
    shapes = {k: tuple(v.shape) for k, v in create_model(arch, num_classes=3).state_dict().items()}
    assert shapes["hm.2.weight"][0] == 3 and shapes["hm.2.bias"] == (3,)
    assert create_model(arch).state_dict()["hm.2.bias"].shape == (1,)  # the default: one class
    assert create_model(arch, num_classes=3).num_classes == 3


def test_a_two_class_network_outputs_two_heatmaps_and_the_other_heads_unchanged():
    out = create_model("dla_tiny", num_classes=2).eval()(torch.rand(1, 3, 64, 96))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "hm": (1, 2, 16, 24), "wh": (1, 4, 16, 24), "id": (1, 128, 16, 24), "reg": (1, 2, 16, 24)}


def test_the_default_network_draws_the_same_initial_weights_as_before():
    """num_classes=1 consumes the RNG as the single-class code did: same seed, same weights."""
    torch.manual_seed(5)
    a = create_model("dla_tiny").state_dict()
    torch.manual_seed(5)
    b = create_model("dla_tiny", num_classes=1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_old_single_class_state_dict_loads_whole(tmp_path):
    """Released FairMOT weights and our checkpoints from before classes: no class keys, hm with 1 channel."""
    state = create_model("dla_tiny").state_dict()
    torch.save({"epoch": 30, "state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "ref.pth")
    torch.save({"model": state, "arch": "dla_tiny", "reid_dim": 128, "head_conv": 64, "nID": 9,
                "input_w": 320, "input_h": 192}, tmp_path / "ours.pt")
    for name in ("ref.pth", "ours.pt"):
        model, meta = build_from_checkpoint(tmp_path / name)
        assert (model.num_classes, meta["num_classes"]) == (1, 1)
        result = model.load_state_dict(state, strict=False)
        assert (result.missing_keys, result.unexpected_keys) == ([], [])
        assert all(torch.equal(model.state_dict()[k], state[k]) for k in state)


def test_a_checkpoint_records_its_classes_and_builds_that_many_heatmaps(tmp_path):
    state = create_model("dla_tiny", num_classes=3).state_dict()
    torch.save({"model": state, "arch": "dla_tiny", "classes": ["pedestrian", "car", "cyclist"],
                "class_nID": [5, 4, 2]}, tmp_path / "three.pt")
    model, meta = build_from_checkpoint(tmp_path / "three.pt")
    assert model.num_classes == meta["num_classes"] == 3 and meta["class_nID"] == [5, 4, 2]
    assert torch.equal(model.hm[2].bias, state["hm.2.bias"])
    # a state dict without recorded classes: the heatmap's last layer says how many
    torch.save(state, tmp_path / "bare.pt")
    assert build_from_checkpoint(tmp_path / "bare.pt")[0].num_classes == 3
    # recorded classes that do not fit the weights: refused, naming the tensor
    torch.save({"model": state, "arch": "dla_tiny", "classes": ["pedestrian", "car"]}, tmp_path / "two.pt")
    with pytest.raises(DataError, match=r"shape-mismatched: hm\.2\.weight \(3, 64, 1, 1\) in the file"):
        build_from_checkpoint(tmp_path / "two.pt")


def test_starting_from_a_checkpoint_of_another_class_count_skips_only_the_heatmaps_last_layer(tmp_path, caplog):
    source = create_model("dla_tiny")
    torch.save({"model": source.state_dict()}, tmp_path / "one.pt")
    target = create_model("dla_tiny", num_classes=2)
    with caplog.at_level(logging.WARNING, logger="fairmot.models.loading"):
        report = load_model(target, tmp_path / "one.pt")
    assert report.mismatched == ["hm.2.weight", "hm.2.bias"]
    assert report.missing == report.unexpected == []
    assert len(report.loaded) == len(source.state_dict()) - 2
    assert torch.equal(target.hm[0].weight, source.hm[0].weight) and torch.equal(target.id[2].bias, source.id[2].bias)
    lines = caplog.text.strip().splitlines()
    assert len(lines) == 1 and "hm.2.weight, hm.2.bias" in lines[0] and "1 class(es) there, 2 here" in lines[0]


def _single_class_loss(params: dict[str, torch.Tensor], classifier: nn.Linear, nID: int, outputs, batch) -> torch.Tensor:
    """FairMOT's single-class loss written out (the formula before per-class classifiers)."""
    hm = focal_loss(clamped_sigmoid(outputs["hm"]), batch["hm"])
    wh = reg_l1_loss(outputs["wh"], batch["reg_mask"], batch["ind"], batch["wh"])
    off = reg_l1_loss(outputs["reg"], batch["reg_mask"], batch["ind"], batch["reg"])
    embeddings = gather_feat(outputs["id"], batch["ind"])[batch["reg_mask"] > 0].float()
    targets = batch["ids"][batch["reg_mask"] > 0]
    logits = classifier(math.sqrt(2) * math.log(max(nID - 1, 2)) * F.normalize(embeddings, dim=1)).float()
    ids = F.cross_entropy(logits, targets, ignore_index=-1, reduction="sum") / (targets >= 0).sum().clamp(min=1)
    det = 1.0 * hm + 0.1 * wh + 1.0 * off
    weighted = torch.exp(-params["s_det"]) * det + torch.exp(-params["s_id"]) * (1.0 * ids)
    return (0.5 * (weighted + params["s_det"] + params["s_id"])).squeeze(0)


def test_one_class_loss_and_gradients_are_bit_identical_to_the_single_classifier_formula():
    torch.manual_seed(0)
    model = create_model("dla_tiny")
    criterion = FairMOTLoss(nID=7)
    twin = copy.deepcopy(model)
    classifier = nn.Linear(128, 7)
    classifier.load_state_dict(criterion.classifiers[0].state_dict())
    params = {"s_det": nn.Parameter(criterion.s_det.detach().clone()), "s_id": nn.Parameter(criterion.s_id.detach().clone())}
    ours = torch.optim.Adam([*model.parameters(), *criterion.parameters()], lr=2e-3)
    theirs = torch.optim.Adam([*twin.parameters(), *classifier.parameters(), params["s_det"], params["s_id"]], lr=2e-3)
    batch = _synthetic_batch()
    for _ in range(2):
        loss, _ = criterion(model(batch["input"]), batch)
        hand = _single_class_loss(params, classifier, 7, twin(batch["input"]), batch)
        assert torch.equal(loss, hand)
        for optimizer, value in ((ours, loss), (theirs, hand)):
            optimizer.zero_grad()
            value.backward()
        assert torch.equal(criterion.classifiers[0].weight.grad, classifier.weight.grad)
        assert all(torch.equal(a.grad, b.grad) if a.grad is not None else b.grad is None
                   for a, b in zip(model.parameters(), twin.parameters()))
        ours.step()
        theirs.step()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), twin.state_dict().values()))
    assert torch.equal(criterion.s_id, params["s_id"]) and torch.equal(criterion.classifiers[0].bias, classifier.bias)


def test_an_old_loss_state_with_one_classifier_loads_into_class_0():
    old = {"classifier.weight": torch.rand(5, 128), "classifier.bias": torch.rand(5),
           "s_det": torch.tensor([-1.5]), "s_id": torch.tensor([-1.0])}
    criterion = FairMOTLoss(nID=5)
    criterion.load_state_dict(old)  # strict
    assert torch.equal(criterion.classifiers[0].weight, old["classifier.weight"])
    wrapper = nn.Module()
    wrapper.loss = FairMOTLoss(nID=5)
    wrapper.load_state_dict({f"loss.{k}": v for k, v in old.items()})  # as part of ModelWithLoss
    assert torch.equal(wrapper.loss.classifiers[0].bias, old["classifier.bias"])


def _two_class_batch(classes: list[int], ids: list[int]) -> tuple[dict, dict]:
    """Objects at cells 0..n-1 of a 1 x n map whose id map holds fixed 2-d embeddings."""
    n = len(classes)
    embeddings = torch.tensor([[0.6, 0.8], [0.0, -1.0], [1.0, 0.0], [-0.8, 0.6]][:n]).T.reshape(1, 2, 1, n)
    outputs = {"hm": torch.zeros(1, 2, 1, n), "wh": torch.zeros(1, 4, 1, n), "reg": torch.zeros(1, 2, 1, n),
               "id": embeddings.clone().requires_grad_(True)}
    batch = {"hm": torch.zeros(1, 2, 1, n), "ind": torch.arange(n)[None], "reg_mask": torch.ones(1, n, dtype=torch.uint8),
             "wh": torch.zeros(1, n, 4), "reg": torch.zeros(1, n, 2), "ids": torch.tensor([ids]),
             "cls": torch.tensor([classes])}
    return outputs, batch


def test_ids_of_two_classes_never_share_a_logit():
    torch.manual_seed(1)
    criterion = FairMOTLoss([4, 3], reid_dim=2)
    seen: dict[int, list[tuple[int, ...]]] = {0: [], 1: []}
    for c in (0, 1):
        criterion.classifiers[c].register_forward_hook(lambda m, i, o, c=c: seen[c].append(tuple(o.shape)))
    # class-0 objects (ids 1, 3) and one class-1 object (id 2 of class 1's ids 0..2)
    outputs, batch = _two_class_batch([0, 1, 0], [1, 2, 3])
    loss = criterion.id_loss(outputs["id"], batch)
    assert seen == {0: [(2, 4)], 1: [(1, 3)]}  # class 1's object gets 3 logits: class 1's ids only
    e = F.normalize(outputs["id"].detach()[0, :, 0].T, dim=1)
    s0, s1 = math.sqrt(2) * math.log(3), math.sqrt(2) * math.log(2)
    assert criterion.emb_scales == [pytest.approx(s0), pytest.approx(s1)]
    w0, b0, w1, b1 = (p.detach() for p in (*criterion.classifiers[0].parameters(), *criterion.classifiers[1].parameters()))
    hand0 = F.cross_entropy(s0 * e[[0, 2]] @ w0.T + b0, torch.tensor([1, 3]))
    hand1 = F.cross_entropy(s1 * e[[1]] @ w1.T + b1, torch.tensor([2]))
    assert loss.item() == pytest.approx((hand0 + hand1).item(), rel=1e-6)
    # gradients of class-0 objects touch classifiers[0] only
    outputs, batch = _two_class_batch([0, 0], [1, 3])
    criterion.zero_grad()
    criterion.id_loss(outputs["id"], batch).backward()
    assert criterion.classifiers[0].weight.grad.abs().sum() > 0
    for grad in (criterion.classifiers[1].weight.grad, criterion.classifiers[1].bias.grad):
        assert grad is None or not grad.any()


def test_a_class_without_identities_has_no_classifier_and_no_id_loss():
    criterion = FairMOTLoss([5, 0], reid_dim=2)
    assert isinstance(criterion.classifiers[1], nn.Identity) and criterion.class_nID == [5, 0] and criterion.nID == 5
    outputs, batch = _two_class_batch([1, 1], [-1, -1])
    assert criterion.id_loss(outputs["id"], batch).item() == 0.0
    with pytest.raises(DataError, match=r"nID = \[0, 1\]: the training labels hold no identity"):
        FairMOTLoss([0, 1])
