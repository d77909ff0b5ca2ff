"""Tune the tracker's params with Optuna on cached detections: seconds per trial, no network.

The search runs on a validation split (by default `val`: the second halves of the training
sequences), never on the test split, so the tuned figures reported on test are not fitted to it.
Every trial tracks all cached sequences with one candidate TrackParams and scores them (HOTA by
default); the sampler is seeded (TPE), so a fresh study with `n_jobs: 1` repeats exactly. With
n_jobs > 1 trials run in threads (the trackers and the scorers share no state), faster but in an
order that varies; so do several processes sharing one stored study (fairmot.tuning.study).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fairmot.config import TrackParams
from fairmot.data.classes import PEDESTRIAN, GtClasses
from fairmot.errors import ConfigError, FairMOTError
from fairmot.evaluation import EvalReport, EvalSequence, score_results
from fairmot.evaluation.interpolate import interpolate_tracks
from fairmot.evaluation.per_class import is_benchmark_scoring
from fairmot.tracking.cache import SequenceDetections, track_cached
from fairmot.tuning.study import StopOnCtrlC, complete_trials, open_storage, open_study, study_name

log = logging.getLogger(__name__)

OBJECTIVES = ("HOTA", "MOTA", "IDF1", "AssA", "DetA")
# Search space: (low, high) per tuned number, the choices of `interpolate`. The low band and its gate
# apply to bytetrack and botsort, the fusion thresholds to botsort; max_gap when interpolating, gsi_tau for gsi
SPACE = {
    "conf_thres": (0.2, 0.7),
    "track_buffer": (10, 90),
    "low_thres": (0.05, 0.3),
    "low_iou_gate": (0.2, 0.8),
    "match_thresh": (0.5, 0.95),
    "proximity_thresh": (0.3, 0.8),
    "appearance_thresh": (0.1, 0.4),
    "interpolate": ("none", "linear", "gsi"),
    "max_gap": (5, 60),
    "gsi_tau": (5.0, 20.0),
}
BOTSORT_KEYS = ("match_thresh", "proximity_thresh", "appearance_thresh")
TUNED_KEYS = ("method", *SPACE)


class TuneInterrupted(FairMOTError):
    """Ctrl-C before any trial finished: nothing to report; the study (if stored) is kept."""


@dataclass
class TuneResult:
    """The best params, the defaults' score for comparison, and one row per trial."""

    objective: str
    best: TrackParams
    best_value: float
    baseline_value: float
    trials: pd.DataFrame
    importances: dict[str, float]
    study: str = ""
    finished: int = 0  # trials finished in the study, earlier runs and other workers included
    earlier: int = 0  # of which finished before this run began
    n_trials: int = 0
    interrupted: bool = False  # Ctrl-C stopped the search before n_trials finished

    def best_track_params(self) -> dict[str, Any]:
        """The tuned keys of `best`, ready for params.yaml's track section."""
        return {k: getattr(self.best, k) for k in TUNED_KEYS}


def score_track_params(caches: Sequence[SequenceDetections], sequences: Sequence[EvalSequence], settings: TrackParams,
                       benchmark: str = "MOT17", classes: Sequence[str] = (PEDESTRIAN,),
                       gt_classes: Mapping[str, GtClasses] | None = None) -> EvalReport:
    """Track every cached sequence with `settings` (one track set per class), fill its gaps as
    `settings.interpolate` says, and score it under `benchmark`'s preprocessing, each of several
    `classes` by its `gt_classes` rules (score_results); judge a run by the report's `headline`."""
    by_name = {c.name: c for c in caches}
    missing = [s.name for s in sequences if s.name not in by_name]
    if missing:
        raise ConfigError(f"no cached detections for {', '.join(missing)}; run the detection pass on this split")
    results = {s.name: interpolate_tracks(track_cached(by_name[s.name], settings, len(classes)), settings) for s in sequences}
    return score_results(sequences, results, benchmark, classes=classes, gt_classes=gt_classes)


def scoring_key(benchmark: str, classes: Sequence[str], gt_classes: Mapping[str, GtClasses] | None) -> str:
    """What a trial's score depends on beyond the caches and params, for the study's name: "" for the
    scoring of old (MOT17, one class by its rules), so the names of studies stored before stay."""
    if benchmark == "MOT17" and is_benchmark_scoring(classes, gt_classes, benchmark):
        return ""
    rules = {name: [sorted(rule.targets.items()), sorted(rule.distractors)] for name, rule in sorted((gt_classes or {}).items())}
    return json.dumps([benchmark, list(classes), rules])


def suggest(trial: Any, base: TrackParams, methods: Sequence[str],
            interpolations: Sequence[str] = SPACE["interpolate"]) -> TrackParams:
    """One candidate: `base` with the tuned keys drawn from SPACE (each only where it applies) and
    `interpolate` from `interpolations`."""
    method = trial.suggest_categorical("method", list(methods))
    values: dict[str, Any] = {
        "method": method,
        "conf_thres": trial.suggest_float("conf_thres", *SPACE["conf_thres"]),
        "track_buffer": trial.suggest_int("track_buffer", *SPACE["track_buffer"]),
    }
    if method in ("bytetrack", "botsort"):
        low, high = SPACE["low_thres"]
        low = max(low, base.det_floor)
        values["low_thres"] = min(trial.suggest_float("low_thres", low, high), values["conf_thres"])
        values["low_iou_gate"] = trial.suggest_float("low_iou_gate", *SPACE["low_iou_gate"])
    if method == "botsort":
        values.update({key: trial.suggest_float(key, *SPACE[key]) for key in BOTSORT_KEYS})
    values["interpolate"] = trial.suggest_categorical("interpolate", list(interpolations))
    if values["interpolate"] != "none":
        values["max_gap"] = trial.suggest_int("max_gap", *SPACE["max_gap"])
    if values["interpolate"] == "gsi":
        values["gsi_tau"] = trial.suggest_float("gsi_tau", *SPACE["gsi_tau"])
    return dataclasses.replace(base, **values)


def tune(caches: Sequence[SequenceDetections], sequences: Sequence[EvalSequence], base: TrackParams, *,
         n_trials: int, objective: str = "HOTA", seed: int = 0, n_jobs: int = 1,
         methods: Sequence[str] = ("jde", "bytetrack"), interpolations: Sequence[str] = SPACE["interpolate"],
         storage: str | Path | None = None, study: str = "", fresh: bool = False, benchmark: str = "MOT17",
         classes: Sequence[str] = (PEDESTRIAN,), gt_classes: Mapping[str, GtClasses] | None = None) -> TuneResult:
    """Search TrackParams maximising `objective` over the sequences; the first trial is `base` itself.

    `storage` (None: in memory; a journal file; an RDB URL) keeps the study `study` (by default named
    after what the scores depend on): a rerun resumes it, running only the trials missing to reach
    `n_trials` finished ones, and every process given the same storage adds to the same search.
    Ctrl-C lets the running trial finish (a second one abandons it) and returns what finished, with
    `interrupted` set; TuneInterrupted when no trial has finished at all. `interpolations` narrows the
    gap filling searched (("none",): tune the tracker alone, as a benchmark of online tracking does).
    `benchmark`, `classes` and `gt_classes` say how a trial is scored (score_track_params); with several
    classes the objective is their class average."""
    import optuna

    _check(objective, n_trials, base)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # no traceback of the trial that Ctrl-C stopped
    space = {**SPACE, "interpolate": tuple(interpolations)}
    scoring = (benchmark, tuple(classes), gt_classes)  # score_track_params' last three arguments
    name = study or study_name(caches, sequences, base, objective=objective, methods=methods, space=space,
                               tuned=TUNED_KEYS, scoring=scoring_key(benchmark, classes, gt_classes))
    search = open_study(open_storage(storage), name, seed=seed, fresh=fresh)
    done = len(complete_trials(search))
    if done:
        log.info("resuming study %s: %d of %d trials done", name, done, n_trials)
    elif base.method in methods and base.interpolate in interpolations:
        search.enqueue_trial(_start(base), skip_if_exists=True)
    stopped = _optimize(search, _objective(caches, sequences, base, objective, methods, interpolations, scoring),
                        n_trials - done, n_trials, n_jobs)
    finished = len(complete_trials(search))
    interrupted = stopped and finished < n_trials  # Ctrl-C during the last trial, which finished, stops nothing
    if not finished:
        raise TuneInterrupted(f"interrupted after 0 of {n_trials} trials; rerun `fairmot tune` to continue")
    baseline = score_track_params(caches, sequences, base, *scoring).headline[objective]
    best = suggest(optuna.trial.FixedTrial(search.best_params), base, methods, interpolations)
    return TuneResult(objective, best, search.best_value, float(baseline), _trials_table(search),
                      _importances(search), study=name, finished=finished, earlier=done,
                      n_trials=n_trials, interrupted=interrupted)


def _start(base: TrackParams) -> dict[str, Any]:
    """The first trial: `base` itself, in the keys `suggest` would draw for it."""
    keys = ["method", "conf_thres", "track_buffer", "interpolate"]
    keys += ["low_thres", "low_iou_gate"] if base.method in ("bytetrack", "botsort") else []
    keys += list(BOTSORT_KEYS) if base.method == "botsort" else []
    keys += {"none": [], "linear": ["max_gap"], "gsi": ["max_gap", "gsi_tau"]}[base.interpolate]
    return {key: getattr(base, key) for key in keys}


def _check(objective: str, n_trials: int, base: TrackParams) -> None:
    if objective not in OBJECTIVES:
        raise ConfigError(f"tune.objective = {objective!r} must be one of {', '.join(OBJECTIVES)}")
    if n_trials < 1:
        raise ConfigError(f"tune.n_trials = {n_trials} must be at least 1")
    if base.det_floor > SPACE["low_thres"][1] or base.det_floor > SPACE["conf_thres"][0]:
        raise ConfigError(f"track.det_floor = {base.det_floor} is above the searched thresholds; lower it")


def _objective(caches: Sequence[SequenceDetections], sequences: Sequence[EvalSequence], base: TrackParams,
               objective: str, methods: Sequence[str], interpolations: Sequence[str],
               scoring: tuple[str, tuple[str, ...], Mapping[str, GtClasses] | None]) -> Callable[[Any], float]:
    worker = f"{socket.gethostname()}:{os.getpid()}"  # which process ran a trial of a shared study

    def evaluate(trial: Any) -> float:
        settings = suggest(trial, base, methods, interpolations)
        figures = score_track_params(caches, sequences, settings, *scoring).headline  # several classes: their average
        for key in ("MOTA", "IDF1", "HOTA", "IDs"):
            trial.set_user_attr(key, figures[key])
        trial.set_user_attr("worker", worker)
        value = figures[objective]
        return value if math.isfinite(value) else -1.0

    return evaluate


def _optimize(search: Any, evaluate: Callable[[Any], float], missing: int, n_trials: int, n_jobs: int) -> bool:
    """Run at most `missing` trials, stopping once the study (other workers' trials included) has
    `n_trials` finished ones or on Ctrl-C; True when Ctrl-C stopped it."""
    if missing <= 0:
        return False
    with StopOnCtrlC() as ctrl_c:
        def enough(study: Any, trial: Any) -> None:
            if ctrl_c.requested or len(complete_trials(study)) >= n_trials:
                study.stop()

        try:
            search.optimize(evaluate, n_trials=missing, n_jobs=n_jobs, callbacks=[enough])
        except KeyboardInterrupt:  # the second Ctrl-C: the running trial is abandoned (Optuna marks it FAIL)
            return True
    return ctrl_c.requested


def _trials_table(study: Any) -> pd.DataFrame:
    """One row per finished trial (not those Ctrl-C stopped, nor those still running in another worker)."""
    df = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "duration", "state"))
    df = df[df.pop("state") == "COMPLETE"].reset_index(drop=True)
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
