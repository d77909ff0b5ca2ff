"""Where `fairmot tune` keeps its Optuna study, so Ctrl-C loses no finished trial and several processes
share one search: a journal file (file-locked: processes on one machine, or on several through a shared
file system) or an RDB URL (sqlite:///..., postgresql://...: processes on several machines).

A study's name fingerprints what makes two trials comparable: the cached detections, the sequences' gt,
the objective, the methods and the track params that are not searched. A changed model, split or
objective thus starts a new study in the same storage instead of mixing in trials it cannot compare.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import signal
import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from fairmot.config import TrackParams
from fairmot.errors import ConfigError, first_line
from fairmot.evaluation import EvalSequence
from fairmot.tracking.cache import SequenceDetections

log = logging.getLogger(__name__)


def study_name(caches: Sequence[SequenceDetections], sequences: Sequence[EvalSequence], base: TrackParams, *,
               objective: str, methods: Sequence[str], space: Mapping[str, Any], tuned: Collection[str],
               scoring: str = "") -> str:
    """`<objective>-<methods>-<12 hex digits>`: the digest of everything a trial's score depends on
    (`scoring`: how trials are scored, "" for one class under MOT17's rules)."""
    digest = hashlib.sha256()
    by_name = {c.name: c for c in caches}
    for seq in sorted(sequences, key=lambda s: s.name):
        digest.update(f"{seq.name}:{seq.first_frame}:{seq.last_frame}".encode())
        arrays = [seq.gt]
        cache = by_name.get(seq.name)
        if cache is not None:
            digest.update(f"{cache.frame_rate}:{cache.first_frame}:{cache.det_floor}".encode())
            arrays += [cache.boxes, cache.scores, cache.embeddings, cache.counts]
            arrays += [cache.warps[method] for method in sorted(cache.warps)]  # track.cmc's scores move with them
        for array in arrays:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype}{array.shape}".encode() + array.tobytes())
    fixed = {k: v for k, v in dataclasses.asdict(base).items() if k not in tuned}
    digest.update(json.dumps([objective, list(methods), fixed, {k: list(v) for k, v in space.items()}],
                             sort_keys=True).encode())
    digest.update(scoring.encode())
    return f"{objective}-{'+'.join(methods)}-{digest.hexdigest()[:12]}"


def open_storage(storage: str | Path | None) -> Any:
    """None: in memory; a URL (`sqlite:///tune.db`, `postgresql://...`): Optuna's RDB storage as is;
    anything else: the path of a journal file, made with its folder when missing."""
    import optuna

    if storage is None:
        return optuna.storages.InMemoryStorage()
    text = str(storage)
    if "://" in text:
        try:
            return optuna.storages.RDBStorage(text)
        except Exception as exc:  # a bad URL or a missing driver: SQLAlchemy's many error types
            raise ConfigError(f"tune.storage = {text!r}: {first_line(exc)}") from None
    path = Path(text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot use it as the tune study's journal ({first_line(exc)}); "
                          "set tune.storage to another file") from None


def open_study(storage: Any, name: str, *, seed: int, fresh: bool) -> Any:
    """The study `name` in `storage` (made when missing; deleted first when `fresh`), maximising.

    Its TPE sampler is seeded with `seed` plus the trials already in the study: a fresh study repeats
    exactly, and a resumed one (or a second worker) does not redraw the first run's random trials."""
    import optuna

    if fresh and name in {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}:
        optuna.delete_study(study_name=name, storage=storage)
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True, direction="maximize")
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.get_trials(deepcopy=False)))
    return study


def complete_trials(study: Any) -> list[Any]:
    """The finished trials; those stopped by Ctrl-C (FAIL) or still running elsewhere do not count."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


class StopOnCtrlC:
    """First Ctrl-C: the running trials finish and the search stops; a second one stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.default_int_handler)
            self._installed = False

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("interrupt: finishing the running trial (press Ctrl-C again to stop at once)")
