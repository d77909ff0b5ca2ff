"""The training loop: what every training process runs (`run_worker`), the run (`fit`) and one epoch.

`fit` reads top to bottom like the reference's train.py (ifzhang/FairMOT src/train.py): parts,
resume, DDP, loader, then for each epoch `train_one_epoch` and a checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fairmot.config import Params
from fairmot.devices import cpu_model, peak_memory_mb, reset_peak_memory
from fairmot.errors import FairMOTError
from fairmot.training.checkpoint import FINAL, LAST, CheckpointWriter, restore_rank_rng, restore_training, seed_everything
from fairmot.training.distributed import (
    DistContext,
    all_reduce_mean,
    barrier,
    cleanup,
    init_process,
)
from fairmot.training.interrupt import (
    StopOnSignal,
    StopRequested,
    TrainingInterrupted,
    interrupted_message,
)
from fairmot.training.parts import (
    TrainParts,
    build_parts,
    lr_for_epoch,
    move_batch,
    optimizer_step,
    scaled_lr,
    set_lr,
    setup_training,
    warmup_lr,
)
from fairmot.training.runlog import MAX_LOGGED_STEPS, RunLog
from fairmot.training.sampler import EpochData, make_loader
from fairmot.training.state import Progress, TrainConfig

log = logging.getLogger(__name__)


class NonFiniteLossError(FairMOTError):
    """The loss became NaN or infinite; training stopped and the last good checkpoint was kept."""


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


def run_worker(config: TrainConfig) -> TrainSummary | None:
    """One training process: join the group, build, fit. Returns the summary on rank 0, else None."""
    _configure_worker_logging()
    ctx = init_process(config.params.gpu_ids)
    try:
        seed_everything(config.params.seed)  # identical initial weights on every rank (DDP also broadcasts them)
        parts = (config.build or build_parts)(config)
        return fit(config, parts, ctx)
    finally:
        cleanup(ctx)


def fit(config: TrainConfig, parts: TrainParts, ctx: DistContext) -> TrainSummary | None:
    """Train `parts` as `config` says; checkpoints every epoch; returns rank 0's summary."""
    started = time.perf_counter()
    p = config.params
    if ctx.device.type == "cuda":
        torch.backends.cudnn.benchmark = not p.not_cuda_benchmark
    reset_peak_memory(ctx.device)
    base_lr = scaled_lr(p.lr, p.batch_size, p.lr_base_batch, p.lr_scale)
    if ctx.is_main:
        log.info("%s", describe_lr(p, base_lr))
    net, optimizer, scaler = setup_training(parts.model, parts.loss, ctx.device, amp=p.amp, lr=base_lr)
    progress, checkpoint = restore_training(config, parts, optimizer, scaler)
    model = wrap_ddp(net, ctx)
    seed_everything(p.seed + ctx.rank)
    if checkpoint is not None:
        restore_rank_rng(checkpoint, ctx)
    data = make_loader(parts.dataset, ctx, batch_size=p.batch_size, num_iters=p.num_iters,
                       num_workers=p.num_workers, seed=p.seed, split_file=config.split_file)
    saver = CheckpointWriter(config, parts, optimizer, scaler, ctx)
    run_log = RunLog(ctx, config.metrics_log, resume=config.resume, total_epochs=p.num_epochs,
                     log_every=max(1, math.ceil(data.steps * p.num_epochs / MAX_LOGGED_STEPS)))
    timer = _LoopTimer()
    try:
        with StopOnSignal() as stop:
            for epoch in range(progress.epoch + 1, p.num_epochs + 1):
                lr = lr_for_epoch(base_lr, p.lr_step, epoch)
                set_lr(optimizer, lr)
                data.start_epoch(epoch, skip_batches=progress.step)
                with timer.epoch(progress, p.batch_size):
                    train_one_epoch(model, optimizer, data, epoch=epoch, lr=lr, ctx=ctx, scaler=scaler,
                                    progress=progress, run_log=run_log, stop=stop, global_batch=p.batch_size,
                                    warmup_iters=p.warmup_iters)
                _close_epoch(progress, epoch)
                run_log.epoch_end(epoch, progress)
                saver.save(progress, LAST)
                if epoch in p.lr_step:  # the weights just before the drop, as the reference keeps them
                    saver.save(progress, f"model_epoch{epoch}.pt")
    except (StopRequested, KeyboardInterrupt) as exc:
        # A second Ctrl-C (KeyboardInterrupt): save at once, without the other ranks (they may be gone).
        saver.save(progress, LAST, collective=isinstance(exc, StopRequested))
        raise TrainingInterrupted(interrupted_message(config.out_dir / LAST, progress.epoch, progress.step)) from None
    finally:
        run_log.close()
    saver.save(progress, FINAL)
    barrier(ctx)
    return _summary(config, parts, ctx, progress, timer, started) if ctx.is_main else None


def train_one_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: EpochData, *, epoch: int,
                    lr: float, ctx: DistContext, scaler: torch.amp.GradScaler | None,
                    progress: Progress, run_log: RunLog, stop: StopOnSignal, global_batch: int,
                    warmup_iters: int = 0) -> None:
    """One epoch: forward, loss reduced over ranks for logging, non-finite check, backward, step.

    Updates `progress` after every optimiser step, so a checkpoint taken at any point is consistent.
    During the first `warmup_iters` steps of the run (progress.global_step, so a resumed run continues
    the ramp) the lr ramps up to the epoch's `lr`; without warm-up the lr is never touched here.
    """
    model.train()
    bar = run_log.bar(epoch, total=data.steps, initial=progress.step)
    tick = time.perf_counter()
    batches = iter(data.loader)
    try:
        while progress.step < data.steps:
            step_lr = lr
            if warmup_iters and progress.global_step <= warmup_iters:  # at == the ramp ends on `lr` itself
                step_lr = warmup_lr(lr, progress.global_step, warmup_iters)
                set_lr(optimizer, step_lr)
            batch = next(batches)
            data_s = time.perf_counter() - tick
            loss, stats = model(move_batch(batch, ctx.device))
            names = sorted(stats)
            flags = torch.tensor([float(stop.requested)], device=ctx.device)
            local = torch.stack([torch.as_tensor(stats[k], device=ctx.device).detach().float().reshape(()) for k in names])
            reduced = all_reduce_mean(torch.cat([local, flags]), ctx)
            values = dict(zip(names, reduced[:-1].tolist()))
            _check_finite(values.get("loss", float(loss.detach())), epoch, progress, step_lr)
            optimizer_step(loss, optimizer, scaler)
            progress.step += 1
            progress.global_step += 1
            for k, v in values.items():
                progress.sums[k] = progress.sums.get(k, 0.0) + v
            step_s = time.perf_counter() - tick
            run_log.step(progress.global_step, values, lr=step_lr, samples_per_s=global_batch / step_s, data_s=data_s, bar=bar)
            if reduced[-1].item() > 0:
                raise StopRequested
            tick = time.perf_counter()
    finally:
        bar.close()


def wrap_ddp(net: nn.Module, ctx: DistContext) -> nn.Module:
    """DDP around the network-with-loss when there is a process group; the module itself otherwise."""
    if not ctx.distributed:
        return net
    # static_graph: DLA's level3/level4 trees compute a `project` branch whose output is never used
    # (as in the reference, whose weights keep those tensors); the same parameters go unused on every
    # step, which a static graph handles without find_unused_parameters' per-step graph walk.
    on_cuda = ctx.device.type == "cuda"
    return nn.parallel.DistributedDataParallel(
        net, device_ids=[ctx.device.index] if on_cuda else None, find_unused_parameters=False, static_graph=True)


def describe_lr(p: Params, base_lr: float) -> str:
    """The run's learning rate and where it comes from, for the log."""
    text = f"learning rate {base_lr:g}"
    if p.lr_scale != "none":
        text += f" (lr {p.lr:g} scaled {p.lr_scale} by batch {p.batch_size} / lr_base_batch {p.lr_base_batch})"
    if p.warmup_iters:
        text += f", warm-up from {warmup_lr(base_lr, 0, p.warmup_iters):g} over {p.warmup_iters} steps"
    return text + (f", x0.1 after epoch(s) {', '.join(map(str, p.lr_step))}" if p.lr_step else "")


def _check_finite(total: float, epoch: int, progress: Progress, lr: float) -> None:
    if math.isfinite(total):
        return
    kept = f"the last good checkpoint (epoch {progress.epoch}) is kept" if progress.epoch else "no checkpoint was written"
    raise NonFiniteLossError(
        f"non-finite loss ({total}) at epoch {epoch} step {progress.step + 1}: training stopped and {kept}; "
        f"lower lr (now {lr:g}), try amp: false, or check the labels")


def _close_epoch(progress: Progress, epoch: int) -> None:
    progress.last_epoch = {k: v / progress.step for k, v in progress.sums.items()}
    progress.epoch, progress.step, progress.sums = epoch, 0, {}


class _LoopTimer:
    """Samples trained and time spent in the epoch loops (throughput excludes setup and checkpoints)."""

    def __init__(self) -> None:
        self.samples = 0
        self.seconds = 0.0

    def epoch(self, progress: Progress, global_batch: int) -> _EpochTiming:
        return _EpochTiming(self, progress, global_batch)

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds else 0.0


class _EpochTiming:
    def __init__(self, timer: _LoopTimer, progress: Progress, global_batch: int) -> None:
        self.timer, self.progress, self.global_batch = timer, progress, global_batch

    def __enter__(self) -> None:
        self.started = time.perf_counter()
        self.done_before = self.progress.step

    def __exit__(self, *exc: object) -> None:
        self.timer.seconds += time.perf_counter() - self.started
        self.timer.samples += (self.progress.step - self.done_before) * self.global_batch


def _summary(config: TrainConfig, parts: TrainParts, ctx: DistContext, progress: Progress,
             timer: _LoopTimer, started: float) -> TrainSummary:
    on_cuda = ctx.device.type == "cuda"
    return TrainSummary(
        losses=dict(progress.last_epoch), samples_per_s=timer.samples_per_s,
        wall_s=time.perf_counter() - started, epochs=progress.epoch, steps=progress.global_step,
        world_size=ctx.world_size, batch_size=config.params.batch_size, peak_memory_mb=peak_memory_mb(ctx.device),
        device=torch.cuda.get_device_name(ctx.device) if on_cuda else f"cpu: {cpu_model()}",
        nID=int(parts.meta.get("nID", 0)), arch=str(parts.meta.get("arch", config.params.arch)),
    )


def _configure_worker_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:  # spawned workers start with bare logging
        logging.basicConfig(level=logging.INFO, format="%(message)s")
