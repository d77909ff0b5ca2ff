"""Tune the tracker's params with Optuna on cached detections: seconds per trial, no network.

The search runs on a validation split (by default `val`: the second halves of the training
sequences), never on the test split, so the tuned figures reported on test are not fitted to it.
Every trial tracks all cached sequences with one candidate TrackParams and scores them (HOTA by
default); the sampler is seeded (TPE), so `n_jobs: 1` repeats exactly. With n_jobs > 1 trials run
in threads (the trackers and the scorers share no state), faster but in an order that varies.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairmot.config import TrackParams
from fairmot.errors import ConfigError
from fairmot.evaluation import EvalReport, EvalSequence, score_results
from fairmot.tracking.detections import SequenceDetections, track_cached

OBJECTIVES = ("HOTA", "MOTA", "IDF1", "AssA", "DetA")
# Search space: (low, high) per tuned param; the low band and its gate apply to bytetrack only
SPACE = {
    "conf_thres": (0.2, 0.7),
    "track_buffer": (10, 90),
    "low_thres": (0.05, 0.3),
    "low_iou_gate": (0.2, 0.8),
}
TUNED_KEYS = ("method", *SPACE)


@dataclass
class TuneResult:
    """The best params, the defaults' score for comparison, and one row per trial."""

    objective: str
    best: TrackParams
    best_value: float
    baseline_value: float
    trials: pd.DataFrame
    importances: dict[str, float]

    def best_track_params(self) -> dict[str, Any]:
        """The tuned keys of `best`, ready for params.yaml's track section."""
        return {k: getattr(self.best, k) for k in TUNED_KEYS}


def score_track_params(caches: Sequence[SequenceDetections], sequences: Sequence[EvalSequence],
                       settings: TrackParams) -> EvalReport:
    """Track every cached sequence with `settings` and score it against its gt."""
    by_name = {c.name: c for c in caches}
    missing = [s.name for s in sequences if s.name not in by_name]
    if missing:
        raise ConfigError(f"no cached detections for {', '.join(missing)}; run the detection pass on this split")
    results = {s.name: np.asarray(track_cached(by_name[s.name], settings), dtype=np.float64).reshape(-1, 7)
               for s in sequences}
    return score_results(sequences, results)


def suggest(trial: Any, base: TrackParams, methods: Sequence[str]) -> TrackParams:
    """One candidate: `base` with the tuned keys drawn from SPACE (the low band only for bytetrack)."""
    method = trial.suggest_categorical("method", list(methods))
    values: dict[str, Any] = {
        "method": method,
        "conf_thres": trial.suggest_float("conf_thres", *SPACE["conf_thres"]),
        "track_buffer": trial.suggest_int("track_buffer", *SPACE["track_buffer"]),
    }
    if method == "bytetrack":
        low, high = SPACE["low_thres"]
        low = max(low, base.det_floor)
        values["low_thres"] = min(trial.suggest_float("low_thres", low, high), values["conf_thres"])
        values["low_iou_gate"] = trial.suggest_float("low_iou_gate", *SPACE["low_iou_gate"])
    return dataclasses.replace(base, **values)


def tune(caches: Sequence[SequenceDetections], sequences: Sequence[EvalSequence], base: TrackParams, *,
         n_trials: int, objective: str = "HOTA", seed: int = 0, n_jobs: int = 1,
         methods: Sequence[str] = ("jde", "bytetrack")) -> TuneResult:
    """Search TrackParams maximising `objective` over the sequences; the first trial is `base` itself."""
    import optuna

    if objective not in OBJECTIVES:
        raise ConfigError(f"tune.objective = {objective!r} must be one of {', '.join(OBJECTIVES)}")
    if n_trials < 1:
        raise ConfigError(f"tune.n_trials = {n_trials} must be at least 1")
    if base.det_floor > SPACE["low_thres"][1] or base.det_floor > SPACE["conf_thres"][0]:
        raise ConfigError(f"track.det_floor = {base.det_floor} is above the searched thresholds; lower it")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def evaluate(trial: Any) -> float:
        settings = suggest(trial, base, methods)
        overall = score_track_params(caches, sequences, settings).overall
        for key in ("MOTA", "IDF1", "HOTA", "IDs"):
            trial.set_user_attr(key, overall[key])
        value = overall[objective]
        return value if math.isfinite(value) else -1.0

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    start = {"method": base.method, "conf_thres": base.conf_thres, "track_buffer": base.track_buffer}
    if base.method == "bytetrack":
        start.update(low_thres=base.low_thres, low_iou_gate=base.low_iou_gate)
    if base.method in methods:
        study.enqueue_trial(start)
    study.optimize(evaluate, n_trials=n_trials, n_jobs=n_jobs)
    baseline = score_track_params(caches, sequences, base).overall[objective]
    best = suggest(optuna.trial.FixedTrial(study.best_params), base, methods)
    return TuneResult(objective, best, study.best_value, float(baseline), _trials_table(study),
                      _importances(study))


def _trials_table(study: Any) -> pd.DataFrame:
    df = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "duration"))
    df = df.rename(columns=lambda c: c.removeprefix("params_").removeprefix("user_attrs_"))
    if "duration" in df:
        df["seconds"] = df.pop("duration").dt.total_seconds().round(3)
    return df


def _importances(study: Any) -> dict[str, float]:
    """PED-ANOVA importances (numpy only, unlike fANOVA's scikit-learn); empty when too few trials."""
    import warnings

    import optuna

    try:
        with warnings.catch_warnings():  # "few trials in some regimes": expected for conditional params
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.PedAnovaImportanceEvaluator()
            found = optuna.importance.get_param_importances(study, evaluator=evaluator)
        return {k: float(v) for k, v in found.items()}
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}


def plot_history(result: TuneResult, path: Path) -> None:
    """The objective of every trial, the best so far, and the defaults' value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = result.trials
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(df["number"], df["value"], "o", ms=4, label="trial")
    ax.plot(df["number"], df["value"].cummax(), "-", label="best so far")
    ax.axhline(result.baseline_value, color="grey", ls="--", label="params.yaml")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{result.objective} (validation split)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_importances(result: TuneResult, path: Path) -> None:
    """PED-ANOVA importance of each tuned param for the objective (a note when none could be estimated)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = sorted(result.importances.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(6, 3))
    if items:
        ax.barh([k for k, _ in items], [v for _, v in items])
        ax.set_xlabel(f"importance for {result.objective}")
    else:
        ax.text(0.5, 0.5, "too few trials to estimate importances", ha="center", va="center")
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def apply_track_params(params_path: Path, values: dict[str, Any]) -> None:
    """Set track.<key>: value in a params.yaml in place, keeping its comments and layout.

    Only lines `  <key>: ...` inside the top-level `track:` section change; a key not written
    there yet is added at the end of the section.
    """
    import re

    from fairmot.io import write_text

    lines = Path(params_path).read_text().splitlines()
    try:
        start = lines.index("track:")
    except ValueError:
        raise ConfigError(f"{params_path}: no top-level 'track:' section to write the tuned params to") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith((" ", "#"))),
               len(lines))
    pending = dict(values)
    for i in range(start + 1, end):
        match = re.match(r"^  ([A-Za-z_]+):", lines[i])
        if match and match.group(1) in pending:
            lines[i] = f"  {match.group(1)}: {_yaml_scalar(pending.pop(match.group(1)))}"
    lines[end:end] = [f"  {key}: {_yaml_scalar(value)}" for key, value in pending.items()]
    write_text(Path(params_path), "\n".join(lines) + "\n")


def _yaml_scalar(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
