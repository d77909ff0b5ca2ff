"""FairMOT training: the config a run is given, the epoch loop, and the pieces it is made of.

`run_worker(config)` is what every training process runs (in this process, under the elastic launcher
or under torchrun): join the group, build the network, loss and dataset, then `fit`. `fit` reads top
to bottom like the reference's train.py: optimiser, resume, DDP, then for each epoch
`train_one_epoch` and a checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from fairmot.engine.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint, seed_everything
from fairmot.engine.distributed import (
    DistContext,
    all_gather_objects,
    all_reduce_mean,
    barrier,
    cleanup,
    init_process,
    per_process_batch,
)
from fairmot.devices import cpu_model, peak_memory_mb, reset_peak_memory
from fairmot.errors import ConfigError, DataError, FairMOTError

log = logging.getLogger(__name__)

LAST = "model_last.pt"
FINAL = "model.pt"
# The per-step history (committed to git as plots) keeps at most about this many rows per metric;
# longer runs log the mean of every `log_every` steps.
MAX_LOGGED_STEPS = 2000


class NonFiniteLossError(FairMOTError):
    """The loss became NaN or infinite; training stopped and the last good checkpoint was kept."""


class TrainingInterrupted(FairMOTError):
    """Ctrl-C: a checkpoint was saved, `--resume` continues from it."""


@dataclass
class TrainParts:
    """What a run trains: the network, the loss module (it has parameters too) and the dataset."""

    model: nn.Module
    loss: nn.Module
    dataset: Dataset
    # Stored in every checkpoint so evaluation can rebuild the network: arch, reid_dim, head_conv, nID...
    meta: dict[str, Any] = field(default_factory=dict)


def build_parts(config: TrainConfig) -> TrainParts:
    """The real thing: JointDataset over the split, create_model(arch), FairMOTLoss(nID)."""
    from fairmot.data.dataset import JointDataset
    from fairmot.models import create_model, load_model, resolve_head_conv
    from fairmot.models.losses import FairMOTLoss

    dataset = JointDataset(config.dataset_root, config.labels_root, config.split_file,
                           config.input_w, config.input_h, augment=config.augment, seed=config.seed)
    head_conv = resolve_head_conv(config.arch, config.head_conv)
    model = create_model(config.arch, reid_dim=config.reid_dim, head_conv=head_conv)
    loss = FairMOTLoss(dataset.nID, reid_dim=config.reid_dim, hm_weight=config.hm_weight,
                       wh_weight=config.wh_weight, off_weight=config.off_weight, id_weight=config.id_weight)
    if config.load_model and not config.resume:
        path = Path(config.load_model)
        if not path.is_file():
            raise FairMOTError(f"load_model: {path} does not exist; give a local checkpoint file or '' to start from scratch")
        load_model(model, path)
    meta = {"arch": config.arch, "reid_dim": config.reid_dim, "head_conv": head_conv,
            "input_w": config.input_w, "input_h": config.input_h, "nID": int(dataset.nID)}
    return TrainParts(model, loss, dataset, meta)


@dataclass
class TrainConfig:
    """Everything a training process needs, as plain values (it is pickled into spawned workers)."""

    dataset_root: Path
    labels_root: Path
    split_file: Path
    out_dir: Path
    # Where rank 0 sends the per-step and per-epoch figures (picklable, opened in the worker);
    # None = progress bar and log lines only
    metrics_log: MetricsLog | None = None
    arch: str = "dla_tiny"
    reid_dim: int = 128
    head_conv: int = -1
    input_w: int = 320
    input_h: int = 192
    # Global batch: split evenly over the processes
    batch_size: int = 16
    num_epochs: int = 1
    # Iterations per epoch; -1 = one pass over the data
    num_iters: int = -1
    num_workers: int = 2
    lr: float = 1e-4
    lr_step: list[int] = field(default_factory=lambda: [20])
    seed: int = 317
    amp: bool = False
    cuda_benchmark: bool = True
    load_model: str = ""
    augment: bool = True
    hm_weight: float = 1.0
    wh_weight: float = 0.1
    off_weight: float = 1.0
    id_weight: float = 1.0
    gpus: list[int] = field(default_factory=list)
    resume: bool = False
    # The Params used, as a plain dict (stored in checkpoints)
    params: dict[str, Any] = field(default_factory=dict)
    # Builds model, loss and dataset; a module-level function so spawned workers can unpickle it
    build: Callable[[TrainConfig], TrainParts] = build_parts


def config_from_params(params: Any, *, dataset_root: Path, labels_root: Path, splits_dir: Path,
                       out_dir: Path, metrics_log: MetricsLog | None = None, resume: bool = False) -> TrainConfig:
    """Map the typed params (fairmot.config.Params) onto a TrainConfig."""
    return TrainConfig(
        dataset_root=Path(dataset_root), labels_root=Path(labels_root),
        split_file=Path(splits_dir) / f"{params.data.train_split}.txt",
        out_dir=Path(out_dir), metrics_log=metrics_log,
        arch=params.arch, reid_dim=params.reid_dim, head_conv=params.head_conv,
        input_w=params.input_w, input_h=params.input_h, batch_size=params.batch_size,
        num_epochs=params.num_epochs, num_iters=params.num_iters, num_workers=params.num_workers,
        lr=params.lr, lr_step=list(params.lr_step), seed=params.seed, amp=params.amp,
        cuda_benchmark=not params.not_cuda_benchmark, load_model=params.load_model, augment=params.augment,
        hm_weight=params.hm_weight, wh_weight=params.wh_weight, off_weight=params.off_weight,
        id_weight=params.id_weight, gpus=list(params.gpu_ids), resume=resume,
        params=dataclasses.asdict(params),
    )


@dataclass
class TrainSummary:
    """The figures reports/train.json records (rank 0)."""

    losses: dict[str, float]
    samples_per_s: float
    wall_s: float
    epochs: int
    steps: int
    world_size: int
    batch_size: int
    peak_memory_mb: float
    device: str
    nID: int
    arch: str

    def as_dict(self) -> dict[str, Any]:
        flat = {k: v for k, v in dataclasses.asdict(self).items() if k != "losses"}
        flat.update({k: round(v, 6) for k, v in self.losses.items()})
        flat["samples_per_s"] = round(self.samples_per_s, 3)
        flat["wall_s"] = round(self.wall_s, 2)
        flat["peak_memory_mb"] = round(self.peak_memory_mb, 1)
        return flat


@dataclass
class Progress:
    """Where training stands; saved in the checkpoint so a resumed run continues exactly."""

    epoch: int = 0          # completed epochs
    step: int = 0           # optimiser steps done in epoch `epoch + 1` (non-zero only after Ctrl-C)
    global_step: int = 0
    sums: dict[str, float] = field(default_factory=dict)  # running stat sums of the current epoch
    last_epoch: dict[str, float] = field(default_factory=dict)  # averages of the last completed epoch


# ---------------------------------------------------------------------------------------------
# The run


def run_worker(config: TrainConfig) -> TrainSummary | None:
    """One training process: join the group, build, fit. Returns the summary on rank 0, else None."""
    _configure_worker_logging()
    ctx = init_process(config.gpus)
    try:
        per_process_batch(config.batch_size, ctx.world_size)
        seed_everything(config.seed)  # identical initial weights on every rank (DDP also broadcasts them)
        parts = config.build(config)
        return fit(config, parts, ctx)
    finally:
        cleanup(ctx)


def fit(config: TrainConfig, parts: TrainParts, ctx: DistContext) -> TrainSummary | None:
    """Train `parts` as `config` says; checkpoints every epoch; returns rank 0's summary."""
    started = time.perf_counter()
    device = ctx.device
    on_cuda = device.type == "cuda"
    if on_cuda:
        torch.backends.cudnn.benchmark = config.cuda_benchmark
    reset_peak_memory(device)
    net, optimizer, scaler = setup_training(parts.model, parts.loss, device, amp=config.amp, lr=config.lr)

    progress = Progress()
    checkpoint = None
    if config.resume:
        checkpoint = load_checkpoint(config.out_dir / LAST)
        _check_resumable(checkpoint, parts.meta, config.out_dir / LAST)
        parts.model.load_state_dict(checkpoint["model"])
        parts.loss.load_state_dict(checkpoint["loss"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if scaler is not None and checkpoint["scaler"] is not None:
            scaler.load_state_dict(checkpoint["scaler"])
        progress = Progress(**checkpoint["progress"]) if "progress" in checkpoint else Progress(epoch=checkpoint["epoch"])

    model: nn.Module = net
    if ctx.distributed:
        # static_graph: DLA's level3/level4 trees compute a `project` branch whose output is never used
        # (as in the reference, whose weights keep those tensors); the same parameters go unused on every
        # step, which a static graph handles without find_unused_parameters' per-step graph walk.
        model = nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if on_cuda else None, find_unused_parameters=False, static_graph=True)

    seed_everything(config.seed + ctx.rank)
    if checkpoint is not None:
        ranks = checkpoint["rng"].get("ranks", [])
        if len(ranks) == ctx.world_size:
            restore_rng(ranks[ctx.rank], device)
        else:
            log.warning("checkpoint holds RNG states for %d process(es), this run has %d: reseeding",
                        len(ranks), ctx.world_size)

    local_batch = per_process_batch(config.batch_size, ctx.world_size)
    sampler = ShardSampler(parts.dataset, ctx.world_size, ctx.rank, config.seed)
    generator = torch.Generator()
    loader = DataLoader(parts.dataset, batch_size=local_batch, sampler=sampler, num_workers=config.num_workers,
                        pin_memory=on_cuda, drop_last=True, worker_init_fn=_loader_worker_init,
                        generator=generator, persistent_workers=False)
    if len(loader) == 0:
        raise DataError(f"{config.split_file}: {len(parts.dataset)} images cannot fill one batch of "
                        f"{config.batch_size}; lower batch_size or use a larger split")
    steps = len(loader) if config.num_iters < 0 else min(config.num_iters, len(loader))

    saver = CheckpointWriter(config, parts, optimizer, scaler, ctx)
    run_log = RunLog(ctx, config.metrics_log, resume=config.resume, total_epochs=config.num_epochs,
                     log_every=max(1, math.ceil(steps * config.num_epochs / MAX_LOGGED_STEPS)))
    samples = 0
    loop_time = 0.0
    try:
        with StopOnSignal() as stop:
            for epoch in range(progress.epoch + 1, config.num_epochs + 1):
                lr = lr_for_epoch(config.lr, config.lr_step, epoch)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                sampler.set_epoch(epoch, skip_batches=progress.step, batch_size=local_batch)
                generator.manual_seed(config.seed * 1000 + epoch)
                if hasattr(parts.dataset, "set_epoch"):
                    parts.dataset.set_epoch(epoch)
                epoch_started = time.perf_counter()
                done_before = progress.step
                try:
                    train_one_epoch(model, optimizer, loader, epoch=epoch, steps=steps, lr=lr, ctx=ctx,
                                    scaler=scaler, progress=progress, run_log=run_log, stop=stop,
                                    global_batch=config.batch_size)
                finally:
                    loop_time += time.perf_counter() - epoch_started
                    samples += (progress.step - done_before) * config.batch_size
                progress.last_epoch = {k: v / progress.step for k, v in progress.sums.items()}
                progress.epoch, progress.step, progress.sums = epoch, 0, {}
                run_log.epoch_end(epoch, progress)
                saver.save(progress, config.out_dir / LAST)
                if epoch in config.lr_step:  # the weights just before the drop, as the reference keeps them
                    saver.save(progress, config.out_dir / f"model_epoch{epoch}.pt")
    except StopRequested:
        saver.save(progress, config.out_dir / LAST)
        raise TrainingInterrupted(_interrupted_message(config, progress)) from None
    except KeyboardInterrupt:
        # A second Ctrl-C: save at once, without talking to the other ranks (they may be gone).
        saver.save(progress, config.out_dir / LAST, collective=False)
        raise TrainingInterrupted(_interrupted_message(config, progress)) from None
    finally:
        run_log.close()

    saver.save(progress, config.out_dir / FINAL)
    barrier(ctx)
    if not ctx.is_main:
        return None
    return TrainSummary(
        losses=dict(progress.last_epoch), samples_per_s=samples / loop_time if loop_time else 0.0,
        wall_s=time.perf_counter() - started, epochs=progress.epoch, steps=progress.global_step,
        world_size=ctx.world_size, batch_size=config.batch_size, peak_memory_mb=peak_memory_mb(device),
        device=torch.cuda.get_device_name(device) if on_cuda else f"cpu: {cpu_model()}",
        nID=int(parts.meta.get("nID", 0)), arch=str(parts.meta.get("arch", config.arch)),
    )


def train_one_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, loader: DataLoader, *, epoch: int,
                    steps: int, lr: float, ctx: DistContext, scaler: torch.amp.GradScaler | None,
                    progress: Progress, run_log: RunLog, stop: StopOnSignal, global_batch: int) -> None:
    """One epoch: forward, loss reduced over ranks for logging, non-finite check, backward, step.

    Updates `progress` after every optimiser step, so a checkpoint taken at any point is consistent.
    """
    model.train()
    bar = run_log.bar(epoch, total=steps, initial=progress.step)
    tick = time.perf_counter()
    batches = iter(loader)
    try:
        while progress.step < steps:
            batch = next(batches)
            data_s = time.perf_counter() - tick
            batch = move_batch(batch, ctx.device)
            loss, stats = model(batch)
            names = sorted(stats)
            flags = torch.tensor([float(stop.requested)], device=ctx.device)
            local = torch.stack([torch.as_tensor(stats[k], device=ctx.device).detach().float().reshape(()) for k in names])
            reduced = all_reduce_mean(torch.cat([local, flags]), ctx)
            values = dict(zip(names, reduced[:-1].tolist()))
            total = values.get("loss", float(loss.detach()))
            if not math.isfinite(total):
                kept = (f"the last good checkpoint (epoch {progress.epoch}) is kept" if progress.epoch
                        else "no checkpoint was written")
                raise NonFiniteLossError(
                    f"non-finite loss ({total}) at epoch {epoch} step {progress.step + 1}: training stopped and {kept}; "
                    f"lower lr (now {lr:g}), try amp: false, or check the labels")
            optimizer_step(loss, optimizer, scaler)
            progress.step += 1
            progress.global_step += 1
            for k, v in values.items():
                progress.sums[k] = progress.sums.get(k, 0.0) + v
            step_s = time.perf_counter() - tick
            run_log.step(progress.global_step, values, lr=lr, samples_per_s=global_batch / step_s, data_s=data_s, bar=bar)
            if reduced[-1].item() > 0:
                raise StopRequested
            tick = time.perf_counter()
    finally:
        bar.close()


# ---------------------------------------------------------------------------------------------
# The pieces


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


def setup_training(model: nn.Module, loss: nn.Module, device: torch.device, *, amp: bool,
                   lr: float) -> tuple[ModelWithLoss, torch.optim.Adam, torch.amp.GradScaler | None]:
    """Network and loss on `device` in channels_last, their optimiser, and the AMP scaler if any.

    channels_last is faster on CUDA and on the CPU too (oneDNN): dla_tiny's step at 320x192, batch
    16, went from 0.96 s to 0.81 s on 2 cores (benchmarks/train_step.py).
    """
    amp_dtype, scaler = amp_setup(device, amp)
    net = ModelWithLoss(model, loss, amp_dtype=amp_dtype, channels_last=True).to(device)
    net.model.to(memory_format=torch.channels_last)
    return net, make_optimizer(model, loss, lr), scaler


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
    """Adam over the network, plus a second group for the loss module (classifier, s_det, s_id)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_params = [p for p in loss.parameters() if p.requires_grad]
    if loss_params:
        optimizer.add_param_group({"params": loss_params})
    return optimizer


def lr_for_epoch(base_lr: float, lr_step: list[int], epoch: int) -> float:
    """Step schedule: x0.1 after each epoch listed in lr_step (epochs count from 1, as the reference's)."""
    return base_lr * 0.1 ** sum(1 for s in lr_step if epoch > s)


def amp_setup(device: torch.device, amp: bool) -> tuple[torch.dtype | None, torch.amp.GradScaler | None]:
    """Autocast dtype and scaler: bf16 without a scaler where the GPU has it, else fp16 with one; CPU: off."""
    if not amp or device.type != "cuda":
        if amp:
            log.warning("amp: true has no effect on CPU; training in float32")
        return None, None
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, None
    return torch.float16, torch.amp.GradScaler("cuda")


def move_batch(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


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


def _loader_worker_init(worker_id: int) -> None:
    # Ctrl-C is for the training process to handle (it saves a checkpoint); loader workers carry on
    # until it shuts them down. NumPy is seeded from torch's per-worker seed (torch does not do it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    np.random.seed(torch.initial_seed() % 2**32)


class StopRequested(Exception):
    """All ranks agreed to stop after this step (someone pressed Ctrl-C)."""


class StopOnSignal:
    """First Ctrl-C: finish the current step on every rank, save, stop. Another one a second later: stop now.

    Signals closer together than `debounce_s` count once: under the elastic launcher every worker gets
    the terminal's SIGINT and then the launcher's copy of it.
    """

    def __init__(self, debounce_s: float = 1.0) -> None:
        self.requested = False
        self.debounce_s = debounce_s
        self._first = 0.0
        self._previous: Any = None

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        if not self.requested:
            self.requested = True
            self._first = now
            log.warning("interrupt: finishing this step, saving a checkpoint (press Ctrl-C again to stop at once)")
        elif now - self._first > self.debounce_s:
            raise KeyboardInterrupt


class CheckpointWriter:
    """Builds the one checkpoint dict and writes it atomically from rank 0."""

    def __init__(self, config: TrainConfig, parts: TrainParts, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler | None, ctx: DistContext) -> None:
        self.config, self.parts, self.optimizer, self.scaler, self.ctx = config, parts, optimizer, scaler, ctx

    def save(self, progress: Progress, path: Path, *, collective: bool = True) -> None:
        rng = capture_rng(self.ctx.device)
        ranks = all_gather_objects(rng, self.ctx) if collective else [rng]
        if not self.ctx.is_main:
            return
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
            "params": self.config.params,
        }
        for key in ("arch", "reid_dim", "head_conv", "input_w", "input_h", "nID"):
            checkpoint.setdefault(key, getattr(self.config, key, 0))
        save_checkpoint(checkpoint, path)


def _check_resumable(checkpoint: dict[str, Any], meta: dict[str, Any], path: Path) -> None:
    """The checkpoint must fit the network being built; other params may change on resume."""
    for key in ("arch", "reid_dim", "head_conv", "nID"):
        if key in meta and checkpoint.get(key) != meta[key]:
            raise ConfigError(f"{path}: was trained with {key}={checkpoint.get(key)!r}, this run has "
                              f"{key}={meta[key]!r}; set it back or train without --resume")


def _interrupted_message(config: TrainConfig, progress: Progress) -> str:
    where = f"epoch {progress.epoch + 1} step {progress.step}" if progress.step else f"the end of epoch {progress.epoch}"
    return f"interrupted at {where}; checkpoint saved to {config.out_dir / LAST}; continue with `fairmot train --resume`"


def _configure_worker_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:  # spawned workers start with bare logging
        logging.basicConfig(level=logging.INFO, format="%(message)s")


# ---------------------------------------------------------------------------------------------
# Logging (rank 0 only; the other ranks get no-ops, so the loop needs no rank checks)


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix(self, *args: Any, **kwargs: Any) -> None: ...
    def close(self) -> None: ...


class MetricsLog(Protocol):
    """A sink for training figures (the train stage gives dvclive); opened on rank 0 only."""

    def open(self, resume: bool) -> None: ...
    def log(self, step: int, values: Mapping[str, float]) -> None: ...
    def summary(self) -> None: ...
    def close(self) -> None: ...


class RunLog:
    """The metrics log (per step and per epoch) and a tqdm bar per epoch, from rank 0 only."""

    def __init__(self, ctx: DistContext, metrics_log: MetricsLog | None, *, resume: bool, total_epochs: int,
                 log_every: int = 1) -> None:
        self.enabled = ctx.is_main
        self.total_epochs = total_epochs
        self.log_every = log_every
        self._window: dict[str, float] = {}
        self._count = 0
        self.live = None
        if self.enabled and metrics_log is not None:
            metrics_log.open(resume)
            self.live = metrics_log

    def bar(self, epoch: int, *, total: int, initial: int = 0) -> Any:
        if not self.enabled:
            return _NoBar()
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=f"epoch {epoch}/{self.total_epochs}", disable=None,
                    leave=False, dynamic_ncols=True)

    def step(self, global_step: int, values: Mapping[str, float], *, lr: float, samples_per_s: float,
             data_s: float, bar: Any) -> None:
        if not self.enabled:
            return
        bar.update(1)
        bar.set_postfix({"loss": f"{values.get('loss', float('nan')):.3f}",
                         "hm": f"{values.get('hm_loss', float('nan')):.3f}",
                         "id": f"{values.get('id_loss', float('nan')):.3f}",
                         "img/s": f"{samples_per_s:.1f}"}, refresh=False)
        if self.live is None:
            return
        for name, value in {**values, "lr": lr, "samples_per_s": samples_per_s, "data_s": data_s}.items():
            self._window[name] = self._window.get(name, 0.0) + value
        self._count += 1
        if global_step % self.log_every == 0:
            self.live.log(global_step, {name: total / self._count for name, total in self._window.items()})
            self._window, self._count = {}, 0

    def epoch_end(self, epoch: int, progress: Progress) -> None:
        if not self.enabled:
            return
        averages = progress.last_epoch
        log.info("epoch %d/%d: %s", epoch, self.total_epochs,
                 ", ".join(f"{k} {v:.4f}" for k, v in averages.items()))
        if self.live is not None:
            self.live.log(progress.global_step, {f"epoch/{name}": value for name, value in averages.items()})
            self.live.summary()

    def close(self) -> None:
        if self.live is not None:
            with contextlib.suppress(Exception):
                self.live.close()
            self.live = None
