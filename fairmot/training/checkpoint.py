"""The checkpoint layout, in one place: what a checkpoint holds, how it is written and how a run is
restored from it.

Written atomically, read back with `torch.load(weights_only=True)`: everything in it is a tensor or a
plain Python value (RNG states included), so loading never has to unpickle arbitrary objects, and an
interrupted write never leaves a truncated file that looks whole.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fairmot.errors import ConfigError, FairMOTError
from fairmot.io import atomic_file
from fairmot.training.distributed import DistContext, all_gather_objects
from fairmot.training.parts import TrainParts
from fairmot.training.state import Progress, TrainConfig
from fairmot.weights import read_weights_only

log = logging.getLogger(__name__)

LAST = "model_last.pt"
FINAL = "model.pt"

#: Keys every checkpoint holds (the contract with evaluate / build_from_checkpoint).
CHECKPOINT_KEYS = (
    "model", "loss", "optimizer", "scaler", "epoch", "rng",
    "arch", "reid_dim", "head_conv", "input_w", "input_h", "nID", "params",
)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) from one integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng(device: torch.device | None = None) -> dict[str, Any]:
    """This process's RNG states as tensors and plain values (weights_only-loadable)."""
    version, mt, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(version),
            "state": torch.tensor(mt, dtype=torch.int64),
            "gauss_next": None if gauss_next is None else float(gauss_next),
        },
        "cuda": None,
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: torch.device | None = None) -> None:
    """Put back the states `capture_rng` took, so the random stream continues where it stopped."""
    torch.set_rng_state(state["torch"].cpu())
    npy = state["numpy"]
    np.random.set_state((
        npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"], npy["cached_gaussian"],
    ))
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    if device is not None and device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def save_checkpoint(checkpoint: dict[str, Any], path: Path) -> None:
    """torch.save into a temporary sibling, then os.replace: readers see the old file or the new one."""
    with atomic_file(Path(path), "wb") as handle:
        torch.save(checkpoint, handle)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a training checkpoint with weights_only=True; a missing or foreign file is a FairMOTError."""
    checkpoint = read_weights_only(path, map_location, missing="no checkpoint here; train first (fairmot train) "
                                   "or drop --resume", fix="delete it and train again")
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint] if isinstance(checkpoint, dict) else list(CHECKPOINT_KEYS)
    if missing:
        raise FairMOTError(f"{path}: not a fairmot training checkpoint (missing {', '.join(missing)}); "
                           "pass it as --load-model instead of resuming from it")
    return checkpoint


class CheckpointWriter:
    """Builds the one checkpoint dict and writes it atomically from rank 0."""

    def __init__(self, config: TrainConfig, parts: TrainParts, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler | None, ctx: DistContext) -> None:
        self.config, self.parts, self.optimizer, self.scaler, self.ctx = config, parts, optimizer, scaler, ctx

    def save(self, progress: Progress, name: str, *, collective: bool = True) -> None:
        """Write `<out_dir>/<name>`; collective gathers every rank's RNG state (all ranks must call it)."""
        rng = capture_rng(self.ctx.device)
        ranks = all_gather_objects(rng, self.ctx) if collective else [rng]
        if not self.ctx.is_main:
            return
        p = self.config.params
        checkpoint = {
            "model": self.parts.model.state_dict(),
            "loss": self.parts.loss.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "epoch": progress.epoch,
            "progress": dataclasses.asdict(progress),
            "rng": {"ranks": ranks},
            "world_size": self.ctx.world_size,
            **self.parts.meta,
            "params": dataclasses.asdict(p),
            "data_fingerprint": self.config.data_fingerprint,
        }
        for key in ("arch", "reid_dim", "head_conv", "input_w", "input_h", "nID", "classes"):
            checkpoint.setdefault(key, getattr(p, key, 0))
        save_checkpoint(checkpoint, self.config.out_dir / name)


def restore_training(config: TrainConfig, parts: TrainParts, optimizer: torch.optim.Optimizer,
                     scaler: torch.amp.GradScaler | None) -> tuple[Progress, dict[str, Any] | None]:
    """Load `<out_dir>/model_last.pt` into the parts and optimiser when resuming; fresh progress otherwise."""
    if not config.resume:
        return Progress(), None
    path = config.out_dir / LAST
    checkpoint = load_checkpoint(path)
    check_resumable(checkpoint, parts.meta, path)
    parts.model.load_state_dict(checkpoint["model"])
    parts.loss.load_state_dict(checkpoint["loss"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scaler is not None and checkpoint["scaler"] is not None:
        scaler.load_state_dict(checkpoint["scaler"])
    progress = Progress(**checkpoint["progress"]) if "progress" in checkpoint else Progress(epoch=checkpoint["epoch"])
    return progress, checkpoint


def restore_rank_rng(checkpoint: dict[str, Any], ctx: DistContext) -> None:
    """Continue this rank's random streams where the checkpoint stopped them (same world size only)."""
    ranks = checkpoint["rng"].get("ranks", [])
    if len(ranks) == ctx.world_size:
        restore_rng(ranks[ctx.rank], ctx.device)
    else:
        log.warning("checkpoint holds RNG states for %d process(es), this run has %d: reseeding",
                    len(ranks), ctx.world_size)


def check_resumable(checkpoint: dict[str, Any], meta: dict[str, Any], path: Path) -> None:
    """The checkpoint must fit the network being built; other params may change on resume.

    A checkpoint from before classes were recorded is one class with class_nID [nID]."""
    recorded = {"class_nID": [checkpoint.get("nID")], **checkpoint}
    for key in ("arch", "reid_dim", "head_conv", "nID", "class_nID"):
        if key in meta and recorded.get(key) != meta[key]:
            raise ConfigError(f"{path}: was trained with {key}={recorded.get(key)!r}, this run has "
                              f"{key}={meta[key]!r}; set it back or train without --resume")
    if "classes" in meta and len(checkpoint.get("classes", [None])) != len(meta["classes"]):
        raise ConfigError(f"{path}: was trained with classes={checkpoint.get('classes')!r}, this run has "
                          f"classes={meta['classes']!r}; set it back or train without --resume")
