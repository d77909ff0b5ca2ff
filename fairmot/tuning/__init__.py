"""Tuning the tracker's params on cached detections: the Optuna search, its figures, and `--apply`."""

from fairmot.tuning.params_file import apply_track_params
from fairmot.tuning.plots import plot_history, plot_importances
from fairmot.tuning.search import OBJECTIVES, SPACE, TUNED_KEYS, TuneInterrupted, TuneResult, score_track_params, suggest, tune

__all__ = ["OBJECTIVES", "SPACE", "TUNED_KEYS", "TuneInterrupted", "TuneResult", "apply_track_params", "plot_history",
           "plot_importances", "score_track_params", "suggest", "tune"]
