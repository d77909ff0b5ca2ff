"""What every inference engine is: a callable from letterboxed frames to the head maps, of a fixed batch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from fairmot.errors import DataError


class Engine(Protocol):
    name: str
    device: torch.device
    batch: int

    def __call__(self, blob: np.ndarray) -> Mapping[str, torch.Tensor]: ...


def as_batch(blob: np.ndarray, batch: int, size: tuple[int, int] | None) -> np.ndarray:
    """One frame (3, H, W) or a stack (N, 3, H, W) as a stack, checked against the engine's batch and
    (height, width) (None: a graph of dynamic size takes any)."""
    frames = blob[None] if blob.ndim == 3 else blob
    shape_ok = frames.ndim == 4 and frames.shape[1] == 3 and (size is None or frames.shape[2:] == size)
    if not shape_ok or not 1 <= len(frames) <= batch:
        expected = f"(3, {size[0]}, {size[1]})" if size else "(3, H, W)"
        raise ValueError(f"frame blob {blob.shape} != {expected} or up to {batch} of them, "
                         f"which this engine was built for")
    return frames


def refuse_other_source(path: Path, recorded: str, checkpoint_sha256: str, checkpoint: Path | str) -> None:
    """A graph or IR records the sha256 of the checkpoint `fairmot export` made it from: refuse it for another one."""
    if recorded != checkpoint_sha256:
        made = f"checkpoint sha256 {recorded[:12]}" if recorded else "no recorded checkpoint"
        raise DataError(f"{path}: exported from {made}, not from {checkpoint} "
                        f"(sha256 {checkpoint_sha256[:12]}); re-run `fairmot export` for this checkpoint")
