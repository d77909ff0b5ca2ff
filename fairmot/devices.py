"""Where figures were measured and how much memory it took: one answer for training and tracking.

Speed and memory depend on the hardware, so every report records the device next to them.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairmot.errors import ConfigError

log = logging.getLogger(__name__)


def reset_peak_memory(device: Any) -> None:
    """Start counting CUDA's peak allocation afresh (the CPU's peak RSS cannot be reset)."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: Any) -> float:
    """CUDA max allocated by tensors on a GPU; otherwise the process's peak resident set (MiB)."""
    import torch

    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    # Linux reports ru_maxrss in KiB, macOS in bytes
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if platform.system() == "Darwin" else 2**10)


def cpu_model() -> str:
    """The processor's model name (/proc/cpuinfo), or what `platform` knows elsewhere."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def device_name(device: Any) -> str:
    """A human-readable name of the device, with the thread count on a CPU."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"CPU {cpu_model()} ({torch.get_num_threads()} threads)"


AMP_MODES = ("off", "auto", "bf16", "fp16")


@dataclass(frozen=True)
class AmpPolicy:
    """What mixed precision means on one device: the autocast dtype (None = float32) and whether
    fp16 gradients need a loss scaler. Training, evaluation and tracking all resolve `amp` here."""

    dtype: Any = None
    use_scaler: bool = False

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def autocast(self, device: Any) -> contextlib.AbstractContextManager:
        import torch

        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(device).type, dtype=self.dtype)

    def make_scaler(self) -> Any:
        import torch

        return torch.amp.GradScaler("cuda") if self.use_scaler else None


def resolve_amp(amp: bool | str | None, device: Any) -> AmpPolicy:
    """`amp` as params.yaml and every command's `--amp` give it: off | auto | bf16 | fp16
    (YAML true = auto, false = off). auto picks bf16 where the GPU has it, else fp16 with a scaler.
    Mixed precision is a CUDA feature here: on the CPU every mode runs in float32, with a warning."""
    import torch

    mode = {None: "off", False: "off", True: "auto"}.get(amp, amp) if not isinstance(amp, str) else amp.lower()
    if mode not in AMP_MODES:
        raise ConfigError(f"'amp' = {amp!r} must be one of {', '.join(AMP_MODES)} (or true/false)")
    if mode == "off":
        return AmpPolicy()
    if torch.device(device).type != "cuda":
        log.warning("amp: %s has no effect on %s; running in float32", mode, torch.device(device).type)
        return AmpPolicy()
    if mode == "auto":
        mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if mode == "bf16":
        return AmpPolicy(torch.bfloat16, use_scaler=False)
    return AmpPolicy(torch.float16, use_scaler=True)


def apply_threads(threads: int) -> None:
    """eval.threads > 0 also sets PyTorch's CPU threads (ONNX Runtime takes it per session)."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def benchmark_device(name: str, threads: int = 0) -> Any:
    """The device a benchmark measures on: CUDA refused where absent, a bare `cuda` pinned to the current
    GPU, `threads` > 0 set as PyTorch's CPU threads, cudnn.benchmark on (fixed input sizes)."""
    import torch

    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit(f"--device {name}: no CUDA device here")
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
    apply_threads(threads)
    torch.backends.cudnn.benchmark = True
    return device
