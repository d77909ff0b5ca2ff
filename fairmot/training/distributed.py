"""How a training run is started and how its processes talk to each other.

A run takes one of three shapes, decided by `plan_launch`:

- in-process: one process (CPU, or a single listed GPU), no process group at all;
- elastic: several processes on this machine (one per listed GPU, or `nproc` gloo processes on CPU)
  started by torch's elastic launcher, the machinery behind torchrun, with a c10d rendezvous on
  127.0.0.1 and a port the store picks itself;
- external: the process was started by torchrun (RANK and WORLD_SIZE are set, e.g. multi-node) and
  joins the group it was given.

Each process picks its GPU with torch.cuda.set_device(gpus[local_rank]); CUDA_VISIBLE_DEVICES is never
touched. The rank-0 helpers here keep rank checks out of the training loop.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import torch
import torch.distributed as dist

from fairmot.errors import ConfigError, FairMOTError

log = logging.getLogger(__name__)

T = TypeVar("T")
Mode = Literal["in-process", "elastic", "external"]
_LAUNCHER_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


@dataclass(frozen=True)
class LaunchPlan:
    """What `launch` will do: how many processes, on which devices."""

    mode: Mode
    world_size: int
    # Processes this launcher starts itself (elastic only)
    nproc: int
    gpus: tuple[int, ...] = ()
    # This process's rank (non-zero only for external torchrun ranks): only rank 0 reports
    rank: int = 0

    def describe(self) -> str:
        where = f"GPU {','.join(map(str, self.gpus))}" if self.gpus else "CPU"
        if self.mode == "in-process":
            return f"training in this process on {where}"
        if self.mode == "elastic":
            backend = "nccl" if self.gpus else "gloo"
            return f"training with DDP: {self.nproc} processes ({backend}) on {where}, launched by torch elastic"
        return f"joining the torchrun group: world size {self.world_size} ({where})"


def plan_launch(gpus: Sequence[int], nproc: int, environ: Mapping[str, str] | None = None) -> LaunchPlan:
    """Decide how to run from the `gpus` and `nproc` params and the environment torchrun leaves."""
    env = os.environ if environ is None else environ
    gpus = tuple(gpus)
    if gpus:
        if not torch.cuda.is_available():
            raise ConfigError(
                f"gpus: {','.join(map(str, gpus))} asks for CUDA GPUs, but torch finds none on this machine "
                "(torch.cuda.is_available() is False); set gpus: -1 (or --gpus -1) to train on CPU"
            )
        count = torch.cuda.device_count()
        missing = [g for g in gpus if g >= count]
        if missing:
            raise ConfigError(
                f"gpus: GPU {','.join(map(str, missing))} does not exist; this machine has {count} "
                f"(indices 0..{count - 1})"
            )
    launched = torchrun_env(env, gpus)
    if launched is not None:
        return LaunchPlan("external", world_size=launched.world_size, nproc=1, gpus=gpus, rank=launched.rank)
    count = len(gpus) if gpus else nproc
    if count < 1:
        raise ConfigError(f"nproc: {nproc} must be at least 1")
    return LaunchPlan("in-process" if count == 1 else "elastic", world_size=count, nproc=count, gpus=gpus)


@dataclass(frozen=True)
class TorchrunEnv:
    """What torchrun (or the elastic launcher) told this process through its environment."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int


def torchrun_env(env: Mapping[str, str], gpus: Sequence[int]) -> TorchrunEnv | None:
    """RANK/WORLD_SIZE/LOCAL_* when set (None otherwise), checked against the GPU list: one GPU per process."""
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return None
    world_size = int(env["WORLD_SIZE"])
    launched = TorchrunEnv(rank=int(env["RANK"]), world_size=world_size, local_rank=int(env.get("LOCAL_RANK", "0")),
                           local_world_size=int(env.get("LOCAL_WORLD_SIZE", str(world_size))))
    if gpus and max(launched.local_world_size, launched.local_rank + 1) > len(gpus):
        raise ConfigError(
            f"gpus lists {len(gpus)} GPU(s) but torchrun starts {launched.local_world_size} processes per node "
            f"(this one has LOCAL_RANK {launched.local_rank}); list one GPU per process on every node"
        )
    return launched


def per_process_batch(batch_size: int, world_size: int) -> int:
    """The global batch split evenly over the processes (144 on 8 = 18 each)."""
    if batch_size % world_size:
        lower = max(world_size, batch_size // world_size * world_size)
        raise ConfigError(
            f"batch_size {batch_size} does not split evenly over world size {world_size} "
            f"(one share per process); use a multiple of {world_size}, e.g. {lower} or {lower + world_size}"
        )
    return batch_size // world_size


def launch(fn: Callable[[T], Any], config: T, plan: LaunchPlan) -> Any:
    """Run `fn(config)` as the plan says; return rank 0's result.

    For elastic runs `fn` must be a module-level function (it is pickled into spawned processes). A
    FairMOTError raised in a worker comes back here as a FairMOTError with the same message; a signal
    (Ctrl-C) that reaches this launcher becomes KeyboardInterrupt once the workers have stopped.
    """
    if plan.mode != "elastic":
        return fn(config)

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    launch_config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=plan.nproc,
        run_id=f"fairmot-{uuid.uuid4().hex[:8]}",
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:0",
        local_addr="127.0.0.1",
        max_restarts=0,
        monitor_interval=0.1,
        start_method="spawn",
    )
    elastic_logger = logging.getLogger("torch.distributed.elastic")
    level = elastic_logger.level
    elastic_logger.setLevel(logging.WARNING)  # its INFO lines drown the training log
    # The launcher installs its own signal handlers and leaves them behind; put ours back afterwards.
    handlers = {sig: signal.getsignal(sig) for sig in _LAUNCHER_SIGNALS}
    try:
        results = elastic_launch(launch_config, elastic_entry)(fn, config)
    except ChildFailedError as exc:
        user_error = _user_error_from(exc)
        if user_error is None:
            raise
        raise user_error from None
    except SignalException as exc:
        raise KeyboardInterrupt(f"signal {exc.sigval} while training") from None
    finally:
        elastic_logger.setLevel(level)
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():
                if handler is not None:
                    signal.signal(sig, handler)
    return results[0]


def elastic_entry(fn: Callable[[T], Any], config: T) -> Any:
    """What the elastic launcher runs in each worker: `fn(config)`, with user errors passed back quietly.

    A FairMOTError is written to torch elastic's error file (the launcher reads the message from it)
    and the worker exits 1 without a traceback; any other exception keeps its traceback.
    """
    try:
        return fn(config)
    except FairMOTError as exc:
        from torch.distributed.elastic.multiprocessing.errors import get_error_handler

        get_error_handler().record_exception(exc)
        raise SystemExit(1) from None


def _user_error_from(exc: Any) -> FairMOTError | None:
    """The earliest worker failure that was a FairMOTError, rebuilt with its message."""
    names = {cls.__name__: cls for cls in _subclasses(FairMOTError)}
    for _rank, failure in sorted(exc.failures.items(), key=lambda item: (item[1].timestamp, item[0])):
        message = failure.message
        if isinstance(message, dict):
            message = message.get("message", "")
        name, _, text = str(message).partition(": ")
        if name in names:
            try:
                return names[name](text)
            except TypeError:  # a subclass with its own constructor: keep the message, lose the type
                return FairMOTError(text)
    return None


def _subclasses(cls: type) -> list[type]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_subclasses(sub))
    return out


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    # True when a process group is initialised (even a group of one under torchrun)
    distributed: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_process(gpus: Sequence[int]) -> DistContext:
    """Join the process group torchrun / the elastic launcher set up (if any) and pick this rank's device."""
    launched = torchrun_env(os.environ, gpus)
    if launched is None:
        if gpus:
            device = torch.device("cuda", gpus[0])
            torch.cuda.set_device(device)
            return DistContext(device=device)
        return DistContext()
    if gpus:
        device = torch.device("cuda", gpus[launched.local_rank])
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
        # Processes on one machine share its cores; oversubscribing them slows every rank down.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // launched.local_world_size))
    if not dist.is_initialized():
        dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
    return DistContext(launched.rank, launched.local_rank, launched.world_size, device, distributed=True)


def cleanup(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The mean over ranks (for logging; gradients are averaged by DDP itself)."""
    if ctx.distributed and ctx.world_size > 1:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values /= ctx.world_size
    return values


def all_gather_objects(obj: Any, ctx: DistContext) -> list[Any]:
    """One picklable object from every rank, in rank order (a list of one without a group)."""
    if not (ctx.distributed and ctx.world_size > 1):
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(ctx: DistContext) -> None:
    if ctx.distributed and ctx.world_size > 1:
        dist.barrier()
