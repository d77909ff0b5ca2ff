"""Reading weights files: local paths only, `torch.load(weights_only=True)`, errors on one line.

Both readers of weights go through here: training's checkpoints (resume) and the model loaders
(`load_model`, tracking's `load_tracking_model`). A file the weights-only format refuses is
reported by what it holds, never with torch's advice to load it unsafely.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from fairmot.errors import DataError, first_line


def read_weights_only(path: Path | str, map_location: Any = "cpu", *,
                      missing: str = "checkpoint not found; give a local file path (weights are never downloaded)",
                      fix: str = "re-save it as a plain state dict of tensors") -> Any:
    """The object a checkpoint file holds; `missing` and `fix` finish the one-line errors."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a checkpoint file")
    if not path.is_file():
        raise DataError(f"{path}: {missing}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 -- any unpickling failure means the same thing to the user
        raise DataError(f"{path}: not a readable checkpoint or not a trusted checkpoint format "
                        f"({safe_reason(exc)}); {fix}") from None


def safe_reason(exc: BaseException) -> str:
    """torch's load error without its advice: it suggests weights_only=False (which unpickles arbitrary
    code from the file, exactly what a checkpoint of unknown origin must not do) or allowlisting globals.
    Keep only what the file holds that the weights-only format refuses."""
    text = str(exc)
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return f"it holds a pickled Python object ({found.group(1)}), which the weights-only format refuses"
    if "weights_only" in text or "Weights only" in text or "allow_pickle" in text:
        return "it holds objects outside the weights-only format"
    return f"{type(exc).__name__}: {first_line(exc)}"
