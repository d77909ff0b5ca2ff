"""Which images each process loads, in which order, and how an interrupted epoch skips what it did."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from fairmot.errors import DataError
from fairmot.training.distributed import DistContext, per_process_batch


class ShardSampler(Sampler[int]):
    """DistributedSampler (seeded shuffle, drop_last) that can skip the batches an interrupted epoch did.

    Used with one replica too, so one process with batch B sees exactly the union of what N processes
    with batch B/N see: each global batch is the same set of images either way.
    """

    def __init__(self, dataset: Dataset, world_size: int, rank: int, seed: int) -> None:
        self.inner = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                        seed=seed, drop_last=True)
        self.skip = 0

    def set_epoch(self, epoch: int, *, skip_batches: int = 0, batch_size: int = 1) -> None:
        self.inner.set_epoch(epoch)
        self.skip = skip_batches * batch_size

    def __iter__(self) -> Iterator[int]:
        indices = list(self.inner)
        return iter(indices[self.skip:])

    def __len__(self) -> int:
        return max(0, len(self.inner) - self.skip)


@dataclass
class EpochData:
    """The loader of one process and what positions it in an epoch."""

    loader: DataLoader
    sampler: ShardSampler
    generator: torch.Generator
    dataset: Dataset
    local_batch: int
    # Optimiser steps per epoch (num_iters, capped at one pass)
    steps: int
    seed: int

    def start_epoch(self, epoch: int, skip_batches: int) -> None:
        """Seed this epoch's shuffle, augmentation and worker seeds; skip the batches already trained."""
        self.sampler.set_epoch(epoch, skip_batches=skip_batches, batch_size=self.local_batch)
        self.generator.manual_seed(self.seed * 1000 + epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)


def make_loader(dataset: Dataset, ctx: DistContext, *, batch_size: int, num_iters: int, num_workers: int,
                seed: int, split_file: Path) -> EpochData:
    """This process's share of the global batch, over a seeded shard of the dataset."""
    local_batch = per_process_batch(batch_size, ctx.world_size)
    sampler = ShardSampler(dataset, ctx.world_size, ctx.rank, seed)
    generator = torch.Generator()
    loader = DataLoader(dataset, batch_size=local_batch, sampler=sampler, num_workers=num_workers,
                        pin_memory=ctx.device.type == "cuda", drop_last=True, worker_init_fn=_loader_worker_init,
                        generator=generator, persistent_workers=False)
    if len(loader) == 0:
        raise DataError(f"{split_file}: {len(dataset)} images cannot fill one batch of "
                        f"{batch_size}; lower batch_size or use a larger split")
    steps = len(loader) if num_iters < 0 else min(num_iters, len(loader))
    return EpochData(loader, sampler, generator, dataset, local_batch, steps, seed)


def _loader_worker_init(worker_id: int) -> None:
    # Ctrl-C is for the training process to handle (it saves a checkpoint); loader workers carry on
    # until it shuts them down. NumPy is seeded from torch's per-worker seed (torch does not do it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    np.random.seed(torch.initial_seed() % 2**32)
