"""Offline gap filling: linear rows in the gaps up to max_gap, StrongSORT's Gaussian smoothing, and the
misses it gives back when scored."""

import dataclasses

import numpy as np
import pytest

from fairmot.config import TrackParams
from fairmot.evaluation import find_eval_sequences, score_results
from fairmot.evaluation.interpolate import fill_gaps, gaussian_smooth, gsi_length_scale, interpolate_tracks

ROWS = np.array([  # frame, id, x, y, w, h, score
    [1, 1, 10, 20, 30, 40, 0.9],
    [1, 2, 0, 0, 5, 5, 0.5],
    [4, 1, 40, 50, 60, 70, 0.6],
    [9, 1, 90, 100, 110, 120, 0.6],
    [3, 2, 2, 2, 5, 5, 0.5],
])


def test_linear_fills_a_gap_exactly_and_sorts_by_frame_then_id():
    out = fill_gaps(ROWS, max_gap=3)
    np.testing.assert_allclose(out, [
        [1, 1, 10, 20, 30, 40, 0.9],
        [1, 2, 0, 0, 5, 5, 0.5],
        [2, 1, 20, 30, 40, 50, 0.8],
        [2, 2, 1, 1, 5, 5, 0.5],
        [3, 1, 30, 40, 50, 60, 0.7],
        [3, 2, 2, 2, 5, 5, 0.5],
        [4, 1, 40, 50, 60, 70, 0.6],
        [9, 1, 90, 100, 110, 120, 0.6],  # 4 missing frames (5-8) > max_gap 3: left empty
    ])


def test_a_gap_of_max_gap_frames_is_filled_and_a_longer_one_is_not():
    filled = fill_gaps(ROWS, max_gap=4)
    id1 = filled[filled[:, 1] == 1]
    assert id1[:, 0].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    np.testing.assert_allclose(id1[id1[:, 0] == 6][0], [6, 1, 60, 70, 80, 90, 0.6])
    assert fill_gaps(ROWS, max_gap=1)[:, 0].tolist() == [1, 1, 2, 3, 4, 9]  # only id 2's one-frame gap


def test_none_leaves_the_rows_and_other_methods_follow_the_settings():
    np.testing.assert_array_equal(interpolate_tracks(ROWS, TrackParams()), ROWS)
    linear = interpolate_tracks(ROWS, TrackParams(interpolate="linear", max_gap=3))
    np.testing.assert_array_equal(linear, fill_gaps(ROWS, 3))
    gsi = interpolate_tracks(ROWS, TrackParams(interpolate="gsi", max_gap=3, gsi_tau=5.0))
    np.testing.assert_array_equal(gsi, gaussian_smooth(fill_gaps(ROWS, 3), 5.0))
    assert interpolate_tracks([], TrackParams(interpolate="gsi")).shape == (0, 7)


def test_rows_with_a_class_keep_it_in_the_filled_and_smoothed_rows():
    """8-tuples (class index last): id 1 a car (1), id 2 a cyclist (2); the 7 columns as without it."""
    rows = np.column_stack([ROWS, np.where(ROWS[:, 1] == 1, 1.0, 2.0)])
    for settings in (TrackParams(interpolate="linear", max_gap=3), TrackParams(interpolate="gsi", max_gap=3, gsi_tau=5.0)):
        out = interpolate_tracks([tuple(r) for r in rows], settings)
        np.testing.assert_array_equal(out[:, :7], interpolate_tracks(ROWS, settings))
        assert out[:, 7].tolist() == [1, 2, 1, 2, 1, 2, 1, 1]


def test_the_length_scale_is_strongsorts():
    assert gsi_length_scale(10, 10.0) == pytest.approx(10 * np.log(100))  # tau * ln(tau^3 / n)
    assert gsi_length_scale(1, 10.0) == pytest.approx(10 * np.log(1000))
    assert gsi_length_scale(5000, 10.0) == pytest.approx(0.1)  # clipped at 1 / tau
    assert gsi_length_scale(1, 2.0) == pytest.approx(2.0**2)  # 2 ln 8 = 4.16, clipped at tau^2


def noisy_track(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(1.0, n + 1)
    truth = np.stack([100 + 2 * t, 50 + 0.5 * t, 40 + 0 * t, 100 + 0 * t], axis=1)
    rows = np.column_stack([t, np.full(n, 7.0), truth + rng.normal(0, 2.0, truth.shape), np.full(n, 0.8)])
    return rows, truth


def test_gsi_is_the_gaussian_process_mean_of_strongsort_and_keeps_the_rows():
    rows, truth = noisy_track(n=12)
    out = gaussian_smooth(rows, tau=10.0)
    t = rows[:, 0]
    scale = 10.0 * np.log(1000.0 / 12)
    k = np.exp(-((t[:, None] - t[None, :]) ** 2) / (2 * scale**2))
    expected = k @ np.linalg.solve(k + 1e-10 * np.eye(12), rows[:, 2:6])
    np.testing.assert_allclose(out[:, 2:6], expected, atol=1e-3)
    np.testing.assert_array_equal(out[:, [0, 1, 6]], rows[:, [0, 1, 6]])  # frames, ids and scores kept


def test_gsi_smooths_a_noisy_track():
    rows, truth = noisy_track(n=40)
    out = gaussian_smooth(rows, tau=10.0)
    assert out.shape == rows.shape
    noise = np.abs(rows[:, 2:6] - truth).mean()
    left = np.abs(out[:, 2:6] - truth).mean()
    assert left < 0.5 * noise


def test_gsi_equals_scikit_learns_regressor_as_strongsort_calls_it():
    gp = pytest.importorskip("sklearn.gaussian_process")
    rows, _ = noisy_track(n=25, seed=3)
    out = gaussian_smooth(rows, tau=10.0)
    t = rows[:, :1]
    for col in range(2, 6):
        regressor = gp.GaussianProcessRegressor(gp.kernels.RBF(gsi_length_scale(25, 10.0), "fixed"))
        expected = regressor.fit(t, rows[:, col]).predict(t).reshape(-1)
        np.testing.assert_allclose(out[:, col], expected, atol=1e-3)


def test_linear_interpolation_gives_back_the_misses_of_a_gap(tiny_dataset):
    seq = find_eval_sequences(tiny_dataset, "test")[0]
    gt = seq.gt[(seq.gt[:, 6] == 1) & (seq.gt[:, 7] == 1)]
    perfect = np.column_stack([gt[:, :6], np.ones(len(gt))])
    ids, counts = np.unique(perfect[:, 1], return_counts=True)
    person = ids[np.argmax(counts)]
    frames = np.sort(perfect[perfect[:, 1] == person, 0])
    hole = (perfect[:, 1] == person) & np.isin(perfect[:, 0], frames[5:8])
    with_gap = perfect[~hole]

    def misses(rows):
        return int(score_results([seq], {seq.name: rows}).overall["FN"])

    settings = TrackParams(interpolate="linear", max_gap=3)
    assert misses(with_gap) == misses(perfect) + 3
    assert misses(interpolate_tracks(with_gap, settings)) == misses(perfect)
    assert misses(interpolate_tracks(with_gap, dataclasses.replace(settings, max_gap=2))) == misses(perfect) + 3
