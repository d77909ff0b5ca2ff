"""What a run trains and with what: its config, the network with its loss, the optimiser, AMP, the lr schedule."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from fairmot.data.dataset import JointDataset
from fairmot.devices import resolve_amp
from fairmot.errors import FairMOTError
from fairmot.models import create_model, load_model, resolve_head_conv
from fairmot.models.losses import FairMOTLoss
from fairmot.training.state import TrainConfig


@dataclass
class TrainParts:
    """What a run trains: the network, the loss module (it has parameters too) and the dataset."""

    model: nn.Module
    loss: nn.Module
    dataset: Dataset
    # Stored in every checkpoint so evaluation can rebuild the network: arch, reid_dim, head_conv, nID...
    meta: dict[str, Any] = field(default_factory=dict)


def build_parts(config: TrainConfig) -> TrainParts:
    """The real thing: JointDataset over the split, create_model(arch) with a heatmap channel per class,
    FairMOTLoss(nID per class); one class builds exactly the single-class network and loss."""
    p = config.params
    num_classes = len(p.classes)
    dataset = JointDataset(config.dataset_root, config.labels_root, config.split_file,
                           p.input_w, p.input_h, augment=p.augment, seed=p.seed, num_classes=num_classes)
    head_conv = resolve_head_conv(p.arch, p.head_conv)
    model = create_model(p.arch, reid_dim=p.reid_dim, head_conv=head_conv, num_classes=num_classes)
    class_nID = dataset.class_nID if num_classes > 1 else dataset.nID
    loss = FairMOTLoss(class_nID, reid_dim=p.reid_dim, hm_weight=p.hm_weight,
                       wh_weight=p.wh_weight, off_weight=p.off_weight, id_weight=p.id_weight)
    if p.load_model and not config.resume:
        path = Path(p.load_model)
        if path.is_dir():
            raise FairMOTError(f"load_model: {path} is a directory, expected a checkpoint file (.pt) inside it")
        if not path.is_file():
            raise FairMOTError(f"load_model: {path} does not exist; give a local checkpoint file or '' to start from scratch")
        load_model(model, path)
    meta = {"arch": p.arch, "reid_dim": p.reid_dim, "head_conv": head_conv,
            "input_w": p.input_w, "input_h": p.input_h, "nID": int(dataset.nID),
            "classes": list(p.classes), "class_nID": [int(n) for n in dataset.class_nID]}
    return TrainParts(model, loss, dataset, meta)


class ModelWithLoss(nn.Module):
    """Network and loss as one module, so DDP averages the loss module's gradients too.

    The reference wraps them the same way for DataParallel. The network runs under autocast when AMP is
    on; the loss always runs in float32 (focal loss logs and the id cross-entropy need the range).
    """

    def __init__(self, model: nn.Module, loss: nn.Module, *, amp_dtype: torch.dtype | None = None,
                 channels_last: bool = False) -> None:
        super().__init__()
        self.model = model
        self.loss = loss
        self.amp_dtype = amp_dtype
        self.channels_last = channels_last

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x = batch["input"]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            outputs = self.model(x)
        outputs = {k: v.float() for k, v in outputs.items()}
        loss, stats = self.loss(outputs, batch)
        # A shard without identities may leave the classifier out of the graph; DDP (with
        # find_unused_parameters=False) needs every parameter in it on every step, so touch them at zero cost.
        loss = loss + 0.0 * sum(p.sum() for p in self.loss.parameters() if p.requires_grad)
        return loss, stats


def setup_training(model: nn.Module, loss: nn.Module, device: torch.device, *, amp: bool | str,
                   lr: float) -> tuple[ModelWithLoss, torch.optim.Adam, torch.amp.GradScaler | None]:
    """Network and loss on `device` in channels_last, their optimiser, and the AMP scaler if any.

    channels_last is faster on CUDA and on the CPU too (oneDNN): dla_tiny's step at 320x192, batch
    16, went from 0.96 s to 0.81 s on 2 cores (benchmarks/train_step.py).
    """
    policy = resolve_amp(amp, device)
    net = ModelWithLoss(model, loss, amp_dtype=policy.dtype, channels_last=True).to(device)
    net.model.to(memory_format=torch.channels_last)
    return net, make_optimizer(model, loss, lr), policy.make_scaler()


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    """Backward and one optimiser step (through the scaler under fp16 AMP)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()


def make_optimizer(model: nn.Module, loss: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam over the network, plus a second group for the loss module (classifiers, s_det, s_id)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_params = [p for p in loss.parameters() if p.requires_grad]
    if loss_params:
        optimizer.add_param_group({"params": loss_params})
    return optimizer


def lr_for_epoch(base_lr: float, lr_step: list[int], epoch: int) -> float:
    """Step schedule: x0.1 after each epoch listed in lr_step (epochs count from 1, as the reference's)."""
    return base_lr * 0.1 ** sum(1 for s in lr_step if epoch > s)


#: Warm-up starts at this fraction of the lr (mmdetection's LinearLR start_factor).
WARMUP_START = 0.001


def scaled_lr(lr: float, batch_size: int, base_batch: int, rule: str) -> float:
    """The lr for `batch_size` when `lr` was tuned at `base_batch`: Goyal et al.'s linear scaling rule, or sqrt.

    mmdetection's auto_scale_lr does the linear one; `none` returns `lr` itself (not a float computed from it).
    """
    if rule == "none":
        return lr
    ratio = batch_size / base_batch
    return lr * (ratio if rule == "linear" else math.sqrt(ratio))


def warmup_lr(lr: float, global_step: int, warmup_iters: int) -> float:
    """The lr of the optimiser step after `global_step` steps: linear from WARMUP_START x lr to lr over warmup_iters."""
    if global_step >= warmup_iters:
        return lr
    return lr * (WARMUP_START + (1.0 - WARMUP_START) * global_step / warmup_iters)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def move_batch(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
