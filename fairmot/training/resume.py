"""Whether `fairmot train` may continue from the `model_last.pt` it finds, so that `dvc repro` after an
interrupted training resumes instead of starting over.

A run resumes by itself only when the result will be what an uninterrupted run gives: the checkpoint
recorded the same training params and the same data fingerprint, and it is unfinished (a finished
run's `model_last.pt` stays behind in the persistent data/model; DVC re-runs train after a change of
its code, which must then train). Otherwise it starts over and says why.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairmot.config import Params
from fairmot.errors import FairMOTError
from fairmot.training.checkpoint import LAST, load_checkpoint

# The params a trained checkpoint depends on: every top-level (training) key and the train split;
# the sections data/synthetic/track/eval reach training only through the data fingerprint.
SECTIONS = ("data", "synthetic", "track", "eval")


@dataclass(frozen=True)
class ResumeDecision:
    resume: bool
    reason: str


def training_params(params: dict[str, Any]) -> dict[str, Any]:
    """The part of `dataclasses.asdict(Params)` that decides what training produces."""
    picked = {key: value for key, value in params.items() if key not in SECTIONS}
    picked["data.train_split"] = params.get("data", {}).get("train_split")
    return picked


def data_fingerprint(split_file: Path, labels_root: Path) -> str:
    """A cheap hash of what training reads: the split index's bytes and every label file's name and size."""
    digest = hashlib.sha256(Path(split_file).read_bytes())
    root = Path(labels_root)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def decide_resume(out_dir: Path, params: Params, fingerprint: str) -> ResumeDecision:
    """Resume from `<out_dir>/model_last.pt` when its params and data equal this run's; else say why not."""
    path = Path(out_dir) / LAST
    if not path.exists():
        return ResumeDecision(False, f"no {path}")
    try:
        checkpoint = load_checkpoint(path)
    except FairMOTError as exc:
        return ResumeDecision(False, f"{path} cannot be resumed from ({exc})")
    before = training_params(checkpoint.get("params") or {})
    now = training_params(dataclasses.asdict(params))
    # A key the checkpoint lacks was added since (lr_scale, warmup_iters...): its default is what that run did
    defaults = training_params(dataclasses.asdict(Params()))
    before = {key: before.get(key, defaults.get(key)) for key in now}
    changed = [key for key in now if before[key] != now[key]]
    if changed:
        key = changed[0]
        return ResumeDecision(False, f"{path} was trained with {key}={before.get(key)!r}, this run has {key}={now[key]!r}")
    if checkpoint.get("data_fingerprint") != fingerprint:
        return ResumeDecision(False, f"{path} was trained on other data (the split index or label files changed)")
    progress = checkpoint.get("progress", {})
    done = progress.get("epoch", checkpoint.get("epoch", 0))
    if done >= params.num_epochs and not progress.get("step"):
        # A finished run: `dvc repro` re-runs train because its code or inputs changed, so train again
        return ResumeDecision(False, f"{path} is a finished run ({done} of {params.num_epochs} epochs); "
                                     "training starts over")
    where = f"epoch {done + 1} step {progress.get('step', 0)}"
    return ResumeDecision(True, f"{path} has the same params and data; continuing at {where}")
