"""Offline gap filling of result rows: linear interpolation and StrongSORT's Gaussian-smoothed interpolation.

An online tracker reports nothing while a person is hidden; once the whole sequence is known, the
frames between two sightings of one id can be filled. This runs on the result rows `evaluate`
writes (never in the online `fairmot track`), after tracking from the cache:
- linear: for every id, a gap of 1..max_gap missing frames between two of its rows gets one row per
  missing frame, every column (box and score) linear between the two (StrongSORT's
  LinearInterpolation, dyhBUPT/StrongSORT GSI.py, whose `interval` is max_gap + 2);
- gsi: linear, then each id's x, y, w and h are replaced by the mean of a Gaussian-process regression
  on its frame numbers (StrongSORT's GaussianSmooth: RBF kernel of fixed length scale
  clip(tau * ln(tau^3 / n), 1 / tau, tau^2) for a track of n rows, scikit-learn's default noise
  alpha = 1e-10 and zero prior mean, solved by Cholesky as GaussianProcessRegressor does). Rows keep
  their frames, ids and scores; the count does not change.
Rows are (frame, id, x, y, w, h, score[, class]); the result is sorted by frame, then id.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from fairmot.config import TrackParams

GP_ALPHA = 1e-10  # scikit-learn GaussianProcessRegressor's default alpha, which StrongSORT keeps


def interpolate_tracks(rows: np.ndarray, settings: TrackParams) -> np.ndarray:
    """`rows` (N, 7), or (N, 8) with the class index last, post-processed as `settings.interpolate` says
    (none: unchanged). An id keeps one class, so its filled rows carry it."""
    rows = np.asarray(rows, dtype=np.float64)
    rows = rows.reshape(-1, rows.shape[1] if rows.ndim == 2 else 7)
    if settings.interpolate == "none":
        return rows
    filled = fill_gaps(rows, settings.max_gap)
    return gaussian_smooth(filled, settings.gsi_tau) if settings.interpolate == "gsi" else filled


def fill_gaps(rows: np.ndarray, max_gap: int) -> np.ndarray:
    """Rows plus, for each id, linear rows in every gap of 1..max_gap missing frames."""
    rows = _by_id_and_frame(rows)
    same_id = rows[1:, 1] == rows[:-1, 1]
    missing = rows[1:, 0] - rows[:-1, 0] - 1
    new = []
    for i in np.flatnonzero(same_id & (missing >= 1) & (missing <= max_gap)):
        before, after = rows[i], rows[i + 1]
        steps = np.arange(1, int(missing[i]) + 1)[:, None] / (missing[i] + 1)
        new.append(before + (after - before) * steps)
    return _by_frame_and_id(np.concatenate([rows, *new]))


def gsi_length_scale(n: int, tau: float) -> float:
    """StrongSORT's RBF length scale for a track of n rows: longer tracks are smoothed less."""
    return float(np.clip(tau * np.log(tau**3 / n), 1 / tau, tau**2))


def gaussian_smooth(rows: np.ndarray, tau: float) -> np.ndarray:
    """Each id's x, y, w, h replaced by the Gaussian-process mean at its own frames (StrongSORT's GaussianSmooth)."""
    rows = _by_id_and_frame(rows).copy()
    _, starts = np.unique(rows[:, 1], return_index=True)
    for a, b in zip(starts, [*starts[1:], len(rows)]):
        t = rows[a:b, 0]
        scale = gsi_length_scale(b - a, tau)
        kernel = np.exp(-0.5 * np.square((t[:, None] - t[None, :]) / scale))
        factor = scipy.linalg.cho_factor(kernel + GP_ALPHA * np.eye(len(t)), lower=True)
        rows[a:b, 2:6] = kernel @ scipy.linalg.cho_solve(factor, rows[a:b, 2:6])
    return _by_frame_and_id(rows)


def _by_id_and_frame(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort((rows[:, 0], rows[:, 1]))]


def _by_frame_and_id(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))]
