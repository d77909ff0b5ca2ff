"""Where figures were measured and how much memory it took: one answer for training and tracking.

Speed and memory depend on the hardware, so every report records the device next to them.
"""

from __future__ import annotations

import contextlib
import platform
import resource
from pathlib import Path
from typing import Any


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
