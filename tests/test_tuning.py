"""Optuna tuning on cached detections: improves a poor default, repeats with its seed, writes plots."""

import dataclasses

import numpy as np
import pytest

from fairmot.config import TrackParams
from fairmot.errors import ConfigError
from fairmot.evaluation import find_eval_sequences
from fairmot.tracking.cache import DetectionRecorder
from fairmot.tuning.plots import plot_history, plot_importances
from fairmot.tuning.search import SPACE, TUNED_KEYS, score_track_params, tune


def faint_caches(sequences, seed: int = 0):
    """Detections at the gt boxes of walkers, scoring 0.22-0.38 (all below the default 0.4), with an
    embedding per identity; plus a few spurious boxes scoring under 0.15."""
    rng = np.random.default_rng(seed)
    caches = []
    for seq in sequences:
        rec = DetectionRecorder(seq.name, seq.info.frame_rate, seq.first_frame, det_floor=0.05,
                                width=seq.info.width, height=seq.info.height)
        for frame in range(seq.first_frame, seq.last_frame + 1):
            rows = seq.gt[(seq.gt[:, 0] == frame) & (seq.gt[:, 6] == 1)]
            boxes = np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1)
            emb = np.zeros((len(rows), 64))
            emb[np.arange(len(rows)), rows[:, 1].astype(int) % 64] = 1.0
            scores = rng.uniform(0.22, 0.38, len(rows))
            junk = rng.uniform(0, 300, (2, 2))
            boxes = np.concatenate([boxes, np.concatenate([junk, junk + [30, 70]], axis=1)])
            scores = np.concatenate([scores, rng.uniform(0.06, 0.15, 2)])
            emb = np.concatenate([emb + rng.normal(0, 0.05, emb.shape), rng.normal(0, 1, (2, 64))])
            order = np.argsort(-scores, kind="stable")
            rec.add(boxes[order], scores[order], emb[order])
        caches.append(rec.result())
    return caches


@pytest.fixture(scope="module")
def val_split(tiny_dataset):
    sequences = find_eval_sequences(tiny_dataset, "val")
    return sequences, faint_caches(sequences)


def test_tuning_beats_a_threshold_above_every_true_detection(val_split):
    sequences, caches = val_split
    base = TrackParams()
    result = tune(caches, sequences, base, n_trials=12, seed=0, methods=["jde"])
    assert result.baseline_value < 0.05  # conf_thres 0.4 sees nothing
    assert result.best_value > 0.6 and result.best.conf_thres < 0.38
    assert result.trials["value"].iloc[0] == pytest.approx(result.baseline_value)  # trial 0 = params.yaml
    assert len(result.trials) == 12 and {"conf_thres", "track_buffer", "HOTA", "MOTA", "IDs"} <= set(result.trials)
    rescored = score_track_params(caches, sequences, result.best).overall["HOTA"]
    assert rescored == pytest.approx(result.best_value)


def test_the_same_seed_gives_the_same_trials(val_split):
    sequences, caches = val_split
    a = tune(caches, sequences, TrackParams(), n_trials=5, seed=3)
    b = tune(caches, sequences, TrackParams(), n_trials=5, seed=3)
    cols = ["method", "conf_thres", "track_buffer", "value"]
    assert a.trials[cols].equals(b.trials[cols])
    assert set(a.trials["method"]) <= {"jde", "bytetrack"}


def test_botsort_and_gap_filling_are_searched_where_they_apply(val_split):
    sequences, caches = val_split
    base = TrackParams(method="botsort", conf_thres=0.3, interpolate="gsi", max_gap=7, gsi_tau=8.0)
    result = tune(caches, sequences, base, n_trials=8, seed=1, methods=["botsort"])
    first = result.trials.iloc[0]  # trial 0 is base itself, in every key it applies to
    assert (first["method"], first["interpolate"], first["max_gap"], first["gsi_tau"]) == ("botsort", "gsi", 7, 8.0)
    assert (first["match_thresh"], first["proximity_thresh"], first["appearance_thresh"]) == (0.8, 0.5, 0.25)
    assert first["value"] == pytest.approx(result.baseline_value)
    for _, trial in result.trials.iterrows():  # max_gap only when filling gaps, gsi_tau only for gsi
        assert np.isnan(trial["max_gap"]) == (trial["interpolate"] == "none")
        assert np.isnan(trial["gsi_tau"]) == (trial["interpolate"] != "gsi")
    assert set(result.trials["interpolate"]) > {"gsi"}
    keys = result.best_track_params()
    assert {"match_thresh", "proximity_thresh", "appearance_thresh", "interpolate", "max_gap", "gsi_tau"} <= set(keys)
    assert score_track_params(caches, sequences, result.best).overall["HOTA"] == pytest.approx(result.best_value)


def test_interpolations_narrow_the_gap_filling_searched_and_base_outside_them_is_not_enqueued(val_split):
    sequences, caches = val_split
    online = tune(caches, sequences, TrackParams(method="jde"), n_trials=6, seed=0, methods=["jde"], interpolations=("none",))
    assert set(online.trials["interpolate"]) == {"none"} and online.best.interpolate == "none"
    assert online.trials.iloc[0]["conf_thres"] == pytest.approx(0.4)  # base itself first
    # base fills gaps but the search may not: base is scored as the baseline, never run as a trial
    gsi = tune(caches, sequences, TrackParams(method="jde", interpolate="gsi"), n_trials=4, seed=0, methods=["jde"],
               interpolations=("linear",))
    assert set(gsi.trials["interpolate"]) == {"linear"} and gsi.best.interpolate == "linear"
    assert online.study != tune(caches, sequences, TrackParams(method="jde"), n_trials=1, seed=0, methods=["jde"]).study


def test_cached_camera_warps_are_part_of_the_study_name(val_split):
    from fairmot.tuning.study import study_name

    sequences, caches = val_split
    base = TrackParams(cmc="sparse")
    names = []
    for shift in (1.0, 2.0):
        warps = [dataclasses.replace(c, warps={"sparse": np.tile([[1.0, 0, shift], [0, 1.0, 0]], (len(c.counts), 1, 1))})
                 for c in caches]
        names.append(study_name(warps, sequences, base, objective="HOTA", methods=["jde"], space=SPACE, tuned=TUNED_KEYS))
    assert names[0] != names[1]


def test_plots_are_written(val_split, tmp_path):
    sequences, caches = val_split
    result = tune(caches, sequences, TrackParams(), n_trials=6, seed=0)
    plot_history(result, tmp_path / "history.png")
    plot_importances(result, tmp_path / "importances.png")
    for name in ("history.png", "importances.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / name).stat().st_size > 5000


def test_an_unknown_objective_is_refused(val_split):
    sequences, caches = val_split
    with pytest.raises(ConfigError, match="objective"):
        tune(caches, sequences, TrackParams(), n_trials=2, objective="ACC")


def test_apply_sets_the_track_keys_and_keeps_comments_and_other_sections(tmp_path):
    import yaml

    from fairmot.config import load_params
    from fairmot.tuning.params_file import apply_track_params

    path = tmp_path / "params.yaml"
    path.write_text("lr: 0.001\ntrack:\n  # threshold\n  conf_thres: 0.4\n  track_buffer: 30\neval:\n  warmup_frames: 1\n")
    apply_track_params(path, {"method": "bytetrack", "conf_thres": 0.3123456, "track_buffer": 45, "low_thres": 0.12})
    text = path.read_text()
    assert "  # threshold\n  conf_thres: 0.3123\n  track_buffer: 45\n  method: bytetrack\n  low_thres: 0.12\neval:" in text
    assert yaml.safe_load(text)["eval"] == {"warmup_frames": 1} and yaml.safe_load(text)["lr"] == 0.001
    track = load_params(path).track
    assert (track.method, track.conf_thres, track.track_buffer) == ("bytetrack", 0.3123, 45)


@pytest.mark.parametrize("header, indent", [("track:", "    "), ("track:  # tuned by hand", "  "), ("track:   ", "   ")])
def test_apply_keeps_the_file_valid_whatever_its_indentation_and_header_comment(tmp_path, header, indent):
    """Four-space indentation gave YAML that no longer parsed; a commented header was not a track section."""
    import yaml

    from fairmot.tuning.params_file import apply_track_params

    path = tmp_path / "params.yaml"
    original = f"lr: 0.001\n{header}\n{indent}conf_thres: 0.4\n{indent}# buffer\n{indent}track_buffer: 30\neval:\n  batch: 4\n"
    path.write_text(original)
    apply_track_params(path, {"conf_thres": 0.35, "method": "bytetrack"})
    loaded = yaml.safe_load(path.read_text())
    assert loaded["track"] == {"conf_thres": 0.35, "track_buffer": 30, "method": "bytetrack"}
    assert loaded["eval"] == {"batch": 4} and loaded["lr"] == 0.001
    assert f"{indent}# buffer\n" in path.read_text() and header in path.read_text()


def test_apply_refuses_a_track_section_it_cannot_edit_and_leaves_the_file(tmp_path):
    from fairmot.tuning.params_file import apply_track_params

    path = tmp_path / "params.yaml"
    original = "track: {conf_thres: 0.4, track_buffer: 30}\neval:\n  batch: 4\n"
    path.write_text(original)
    with pytest.raises(ConfigError, match="cannot be edited safely; the file is unchanged. Set these by hand: "
                                          "track.conf_thres: 0.35"):
        apply_track_params(path, {"conf_thres": 0.35})
    assert path.read_text() == original


class ScoreCalls:
    """Counts the scored candidates (trials, then the baseline); on call `at` runs `action` first."""

    def __init__(self, monkeypatch, at=None, action=None, delay=0.0):
        import fairmot.tuning.search as search

        self.original, self.calls, self.at, self.action, self.delay = search.score_track_params, 0, at, action, delay
        monkeypatch.setattr(search, "score_track_params", self)

    def __call__(self, *args):
        import time

        self.calls += 1
        if self.calls == self.at:
            self.action()
        time.sleep(self.delay)
        return self.original(*args)


def stored_trials(journal, state="COMPLETE"):
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    return [t for t in study.get_trials() if t.state.name == state]


def _raise_keyboard_interrupt():
    raise KeyboardInterrupt


def test_a_second_ctrl_c_abandons_the_trial_and_a_rerun_resumes_without_redoing_the_finished_ones(val_split, tmp_path,
                                                                                               monkeypatch):
    """Ctrl-C lost every finished trial (the study was in memory) and Optuna printed its traceback."""
    sequences, caches = val_split
    journal = tmp_path / "study.journal"
    scores = ScoreCalls(monkeypatch, at=4, action=_raise_keyboard_interrupt)  # inside trial 3
    first = tune(caches, sequences, TrackParams(), n_trials=7, seed=0, storage=journal)
    assert first.interrupted and (first.finished, first.earlier) == (3, 0) and len(first.trials) == 3
    assert first.trials["value"].iloc[0] == pytest.approx(first.baseline_value)  # the finished trials are reported
    assert [t.number for t in stored_trials(journal)] == [0, 1, 2] and len(stored_trials(journal, "FAIL")) == 1

    scores.calls, scores.at = 0, None
    second = tune(caches, sequences, TrackParams(), n_trials=7, seed=0, storage=journal)
    assert scores.calls == 4 + 1  # the 4 missing trials, then the baseline; trials 0-2 are not redone
    assert not second.interrupted and (second.finished, second.earlier) == (7, 3) and len(second.trials) == 7
    assert [t.number for t in stored_trials(journal)] == [0, 1, 2, 4, 5, 6, 7]  # 3 was abandoned
    assert second.trials["number"].tolist()[:3] == [0, 1, 2] and second.best_value == second.trials["value"].max()

    scores.calls = 0
    again = tune(caches, sequences, TrackParams(), n_trials=7, seed=0, storage=journal)
    assert scores.calls == 1 and again.finished == 7 and again.best_track_params() == second.best_track_params()


def test_the_first_ctrl_c_lets_the_running_trial_finish_then_stops(val_split, tmp_path, monkeypatch):
    import signal

    sequences, caches = val_split
    journal = tmp_path / "study.journal"
    ScoreCalls(monkeypatch, at=3, action=lambda: signal.raise_signal(signal.SIGINT))  # during trial 2
    result = tune(caches, sequences, TrackParams(), n_trials=8, seed=0, storage=journal)
    assert result.interrupted and result.finished == 3 and len(stored_trials(journal)) == 3
    assert not stored_trials(journal, "FAIL")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # pytest's handler is back


def test_ctrl_c_before_any_trial_finished_is_one_error(val_split, tmp_path, monkeypatch):
    from fairmot.tuning import TuneInterrupted

    sequences, caches = val_split
    ScoreCalls(monkeypatch, at=1, action=_raise_keyboard_interrupt)
    with pytest.raises(TuneInterrupted, match=r"^interrupted after 0 of 5 trials; rerun `fairmot tune` to continue$"):
        tune(caches, sequences, TrackParams(), n_trials=5, seed=0, storage=tmp_path / "study.journal")


def test_a_fresh_stored_study_gives_the_trials_of_the_in_memory_search(val_split, tmp_path):
    """The default run (a new journal, n_jobs 1) repeats exactly, with the best params found before storing."""
    sequences, caches = val_split
    stored = tune(caches, sequences, TrackParams(), n_trials=8, seed=0, storage=tmp_path / "study.journal")
    in_memory = tune(caches, sequences, TrackParams(), n_trials=8, seed=0)
    cols = ["number", "method", "conf_thres", "track_buffer", "value"]
    assert stored.trials[cols].equals(in_memory.trials[cols])
    best = stored.best_track_params()  # what tune() finds in memory (optuna 5.1; the space with interpolate)
    assert (best["method"], best["track_buffer"], round(best["conf_thres"], 6)) == ("bytetrack", 61, 0.259137)
    assert best["interpolate"] == "none" and stored.best_value == pytest.approx(0.897610, abs=1e-6)


def test_fresh_starts_the_stored_study_over_and_another_objective_is_another_study(val_split, tmp_path, monkeypatch):
    sequences, caches = val_split
    journal = tmp_path / "study.journal"
    tune(caches, sequences, TrackParams(), n_trials=3, seed=0, storage=journal)
    scores = ScoreCalls(monkeypatch)
    redone = tune(caches, sequences, TrackParams(), n_trials=3, seed=0, storage=journal, fresh=True)
    assert scores.calls == 3 + 1 and redone.earlier == 0 and len(stored_trials(journal)) == 3
    other = tune(caches, sequences, TrackParams(), n_trials=2, seed=0, storage=journal, objective="IDF1")
    assert other.earlier == 0 and other.study.startswith("IDF1-jde+bytetrack-") and other.study != redone.study


def _worker(caches, sequences, journal, barrier):
    import fairmot.tuning.search as search

    original = search.score_track_params

    def slow(*args):
        import time

        time.sleep(0.3)  # trials long enough for the two workers to overlap
        return original(*args)

    search.score_track_params = slow
    barrier.wait(timeout=60)
    tune(caches, sequences, TrackParams(), n_trials=8, seed=0, storage=journal)


def test_two_processes_given_one_journal_share_one_study(val_split, tmp_path):
    import multiprocessing

    sequences, caches = val_split
    journal = tmp_path / "study.journal"
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    barrier = context.Barrier(2)
    workers = [context.Process(target=_worker, args=(caches, sequences, journal, barrier)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    trials = stored_trials(journal)
    assert 8 <= len(trials) <= 9  # the study's n_trials, plus at most the one the other worker was running
    assert len({t.number for t in trials}) == len(trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both added trials to the one study


def test_ctrl_c_during_the_last_trial_interrupts_nothing(val_split, tmp_path, monkeypatch):
    import signal

    sequences, caches = val_split
    ScoreCalls(monkeypatch, at=4, action=lambda: signal.raise_signal(signal.SIGINT))  # trial 3 of 4
    result = tune(caches, sequences, TrackParams(), n_trials=4, seed=0, storage=tmp_path / "study.journal")
    assert not result.interrupted and result.finished == 4


def fake_tracker(rows_of, calls):
    """track_cached standing in for the tracker: the given rows of each sequence, the call's num_classes noted."""
    def track_cached(cache, settings, num_classes=1):
        calls.append(num_classes)
        return [tuple(r) for r in rows_of(cache.name)]
    return track_cached


def test_several_classes_are_tracked_apart_and_judged_by_their_class_average(tmp_path, monkeypatch):
    from fairmot.evaluation import score_results
    from fairmot.tracking.cache import SequenceDetections
    from fairmot.tuning import search
    from tests.evaluation.test_per_class import CLASSES, GT, RULE, pred_rows, write_dataset

    sequences = find_eval_sequences(write_dataset(tmp_path), "train")
    caches = [SequenceDetections(s.name, 30.0, 1, 0.05, s.info.width, s.info.height) for s in sequences]
    calls = []
    monkeypatch.setattr(search, "track_cached", fake_tracker(pred_rows, calls))
    rules = dict.fromkeys(GT, RULE)
    report = score_track_params(caches, sequences, TrackParams(), classes=CLASSES, gt_classes=rules)
    expected = score_results(sequences, {s.name: pred_rows(s.name) for s in sequences}, classes=CLASSES, gt_classes=rules)
    assert calls == [3, 3] and report.headline == expected.class_average != expected.overall
    result = tune(caches, sequences, TrackParams(), n_trials=1, methods=["jde"], classes=CLASSES, gt_classes=rules)
    assert result.baseline_value == result.best_value == pytest.approx(expected.class_average["HOTA"])
    assert result.trials["IDs"].iloc[0] == expected.class_average["IDs"]
    single = tune(caches, sequences, TrackParams(), n_trials=1, methods=["jde"])
    assert single.study != result.study  # another scoring, another study


@pytest.mark.parametrize(("benchmark", "fp_fn"), [("MOT17", (11, 0)), ("MOT20", (5, 0)), ("DanceTrack", (14, 2))])
def test_tracks_are_scored_under_the_benchmarks_own_preprocessing(tmp_path, monkeypatch, benchmark, fp_fn):
    """The benchmark fixture of tests/evaluation/test_benchmarks.py: each benchmark's documented counts."""
    from fairmot.data.formats.mot import SeqInfo
    from fairmot.evaluation import EvalSequence
    from fairmot.tracking.cache import SequenceDetections
    from fairmot.tuning import search
    from tests.evaluation.test_benchmarks import FRAMES, H, W, fixture_rows

    gt, pred = fixture_rows()
    seq = EvalSequence("SEQ-01", tmp_path, SeqInfo("SEQ-01", 30, FRAMES, W, H), 1, FRAMES, gt)
    monkeypatch.setattr(search, "track_cached", fake_tracker(lambda name: pred, []))
    cache = SequenceDetections("SEQ-01", 30.0, 1, 0.05, W, H)
    overall = score_track_params([cache], [seq], TrackParams(), benchmark=benchmark).overall
    assert (overall["FP"], overall["FN"]) == fp_fn
