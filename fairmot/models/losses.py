"""FairMOT's training loss: focal heatmap loss, L1 box/offset losses, the re-ID classifier, and
the learnable uncertainty weighting of detection against re-ID.

The module holds trainable state (classifiers, s_det, s_id), so it is optimised and checkpointed
with the network. Every reduction avoids a host sync and a division by zero: a batch without
objects or without identities gives finite losses (the reference's id loss is NaN there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fairmot.errors import DataError
from fairmot.models.decode import gather_feat

EPS_PROB = 1e-4


def clamped_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """sigmoid clamped to [1e-4, 1 - 1e-4] so the logs of the focal loss stay finite."""
    return torch.clamp(torch.sigmoid(logits.float()), EPS_PROB, 1 - EPS_PROB)


def focal_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """CornerNet's penalty-reduced focal loss on probabilities `pred` against gaussian heatmap `gt`.

    -(1/N_pos) * sum[gt == 1: (1-p)^2 log p ; gt < 1: (1-gt)^4 p^2 log(1-p)]; with no positive the
    negative sum is returned undivided (the positive term is then 0 and N_pos is clamped to 1).
    """
    gt = gt.float()
    pos = gt.eq(1).float()
    neg = gt.lt(1).float()
    pos_loss = (torch.log(pred) * (1 - pred).pow(2) * pos).sum()
    neg_loss = (torch.log(1 - pred) * pred.pow(2) * (1 - gt).pow(4) * neg).sum()
    return -(pos_loss + neg_loss) / pos.sum().clamp(min=1)


def reg_l1_loss(output: torch.Tensor, mask: torch.Tensor, ind: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the map `output` read at `ind` and `target`, over masked objects, divided by the
    number of masked values (objects x channels) + 1e-4."""
    pred = gather_feat(output, ind).float()
    weight = mask.unsqueeze(2).expand_as(pred).float()
    return F.l1_loss(pred * weight, target.float() * weight, reduction="sum") / (weight.sum() + 1e-4)


class FairMOTLoss(nn.Module):
    """L = 0.5 * (exp(-s_det) * L_det + exp(-s_id) * L_id + s_det + s_id).

    L_det = hm_weight * focal + wh_weight * L1(ltrb) + off_weight * L1(offset); L_id is the
    cross-entropy of a Linear(reid_dim, nID) classifier on L2-normalised embeddings at the object
    centres, scaled by sqrt(2) * ln(nID - 1); ids of -1 are ignored. The reference only checks
    id_weight > 0; here it also scales L_id, which is the same thing at the default of 1.

    With several classes (`nID` a list: class c's identities), class c has its own classifier
    `classifiers[c]` over its nID_c ids with its own scale (MCMOT, PaddleDetection's MCFairMOT), and
    L_id is the sum over classes of each class's mean cross-entropy: two classes never share a logit.
    A class without identities (nID_c < 2) has no classifier (an Identity keeps the indices).
    """

    def __init__(
        self,
        nID: int | Sequence[int],
        reid_dim: int = 128,
        hm_weight: float = 1.0,
        wh_weight: float = 0.1,
        off_weight: float = 1.0,
        id_weight: float = 1.0,
    ) -> None:
        super().__init__()
        class_nID = [int(nID)] if isinstance(nID, int) else [int(n) for n in nID]
        if max(class_nID, default=0) < 2:
            raise DataError(
                f"nID = {nID}: the training labels hold no identity (max global id + 1 < 2), so the re-ID "
                "head cannot learn; check the labels stage output (label lines `<class> <gid> cx cy w h`, gid >= 1)"
            )
        self.class_nID = class_nID
        self.nID = sum(class_nID)
        self.reid_dim = reid_dim
        self.hm_weight = hm_weight
        self.wh_weight = wh_weight
        self.off_weight = off_weight
        self.id_weight = id_weight
        self.classifiers = nn.ModuleList(nn.Linear(reid_dim, n) if n >= 2 else nn.Identity() for n in class_nID)
        # ln(nID - 1) is 0 for nID = 2 (a single identity); keep the embeddings from collapsing to 0
        self.emb_scales = [math.sqrt(2) * math.log(max(n - 1, 2)) for n in class_nID]
        self.emb_scale = self.emb_scales[0]
        self.s_det = nn.Parameter(-1.85 * torch.ones(1))
        self.s_id = nn.Parameter(-1.05 * torch.ones(1))
        # Checkpoints from before the per-class classifiers hold `classifier.*`: class 0's
        self.register_load_state_dict_pre_hook(_rename_single_classifier)

    def id_loss(self, id_map: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if len(self.classifiers) > 1:
            return self.class_id_loss(id_map, batch)
        embeddings = gather_feat(id_map, batch["ind"])[batch["reg_mask"] > 0].float()
        targets = batch["ids"][batch["reg_mask"] > 0]
        logits = self.classifiers[0](self.emb_scale * F.normalize(embeddings, dim=1)).float()
        # Sum over valid ids / their count: equals the mean cross-entropy, and 0 (still attached to
        # the graph, so DDP sees every parameter used) when no object has an id.
        total = F.cross_entropy(logits, targets, ignore_index=-1, reduction="sum")
        return total / (targets >= 0).sum().clamp(min=1)

    def class_id_loss(self, id_map: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Sum over classes of the mean cross-entropy of class c's objects under class c's classifier only."""
        embeddings = F.normalize(gather_feat(id_map, batch["ind"]).float(), dim=2)
        total = id_map.new_zeros((), dtype=torch.float32)
        for c, classifier in enumerate(self.classifiers):
            if self.class_nID[c] < 2:
                continue
            chosen = (batch["reg_mask"] > 0) & (batch["cls"] == c)
            targets = batch["ids"][chosen]
            logits = classifier(self.emb_scales[c] * embeddings[chosen]).float()
            loss = F.cross_entropy(logits, targets, ignore_index=-1, reduction="sum")
            total = total + loss / (targets >= 0).sum().clamp(min=1)
        return total

    def forward(
        self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        zero = outputs["hm"].new_zeros((), dtype=torch.float32)
        hm_loss = focal_loss(clamped_sigmoid(outputs["hm"]), batch["hm"])
        mask, ind = batch["reg_mask"], batch["ind"]
        wh_loss = reg_l1_loss(outputs["wh"], mask, ind, batch["wh"]) if self.wh_weight > 0 else zero
        off_loss = reg_l1_loss(outputs["reg"], mask, ind, batch["reg"]) if self.off_weight > 0 else zero
        id_loss = self.id_loss(outputs["id"], batch) if self.id_weight > 0 else zero
        det_loss = self.hm_weight * hm_loss + self.wh_weight * wh_loss + self.off_weight * off_loss
        weighted = torch.exp(-self.s_det) * det_loss + torch.exp(-self.s_id) * (self.id_weight * id_loss)
        loss = 0.5 * (weighted + self.s_det + self.s_id)
        loss = loss.squeeze(0)
        stats = {
            "loss": loss.detach(),
            "hm_loss": hm_loss.detach(),
            "wh_loss": wh_loss.detach(),
            "off_loss": off_loss.detach(),
            "id_loss": id_loss.detach(),
            "s_det": self.s_det.detach().squeeze(0),
            "s_id": self.s_id.detach().squeeze(0),
        }
        return loss, stats


def _rename_single_classifier(module: nn.Module, state: dict, prefix: str, *args: object) -> None:
    """`classifier.weight/bias` (one class, before per-class classifiers) -> `classifiers.0.*`."""
    for name in ("weight", "bias"):
        old = f"{prefix}classifier.{name}"
        if old in state:
            state[f"{prefix}classifiers.0.{name}"] = state.pop(old)
