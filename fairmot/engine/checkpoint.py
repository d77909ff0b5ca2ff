"""The one checkpoint dict: written atomically, read back with `torch.load(weights_only=True)`.

Everything in it is a tensor or a plain Python value (RNG states included), so loading never has to
unpickle arbitrary objects, and an interrupted write never leaves a truncated file that looks whole.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fairmot.errors import FairMOTError
from fairmot.io import atomic_file

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
    """Read a checkpoint with weights_only=True; a missing or foreign file is a FairMOTError."""
    path = Path(path)
    if not path.is_file():
        raise FairMOTError(f"{path}: no checkpoint here; train first (fairmot train) or drop --resume")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 -- any unpickling failure means the same thing to the user
        raise FairMOTError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc}); delete it and train again") from None
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint] if isinstance(checkpoint, dict) else list(CHECKPOINT_KEYS)
    if missing:
        raise FairMOTError(f"{path}: not a fairmot training checkpoint (missing {', '.join(missing)}); "
                           "pass it as --load-model instead of resuming from it")
    return checkpoint
