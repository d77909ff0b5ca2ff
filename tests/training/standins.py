"""A network and loss small enough to train in milliseconds, shaped like FairMOT's for the engine.

The loss has a learnable weight like s_det/s_id, so the loss module's own parameter group is
trained, averaged across processes and checkpointed too.
"""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, batchnorm: bool = False) -> None:
        super().__init__()
        norm = [nn.BatchNorm2d(4)] if batchnorm else []
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), *norm, nn.ReLU(), nn.Conv2d(4, 2, 1))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"out": self.body(x)}


class TinyLoss(nn.Module):
    """exp(-s) * mse + s: a learnable weight, as FairMOT's uncertainty weighting has."""

    def __init__(self) -> None:
        super().__init__()
        self.s = nn.Parameter(torch.tensor([-0.5]))

    def forward(self, outputs: dict, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        mse = ((outputs["out"] - batch["target"]) ** 2).mean()
        loss = torch.exp(-self.s[0]) * mse + self.s[0]
        return loss, {"loss": loss.detach(), "mse": mse.detach(), "s": self.s[0].detach()}


def engine_config(out, build, *, metrics_log=None, resume=False, **params):
    """A TrainConfig over the stand-ins: Params with `params` changed, every path pointing at `out`."""
    from fairmot.config import Params
    from fairmot.training import TrainConfig

    return TrainConfig(Params(**params), dataset_root=out, labels_root=out, split_file=out, out_dir=out,
                       metrics_log=metrics_log, resume=resume, build=build)
