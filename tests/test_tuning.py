"""Optuna tuning on cached detections: improves a poor default, repeats with its seed, writes plots."""

import numpy as np
import pytest

from fairmot.config import TrackParams
from fairmot.errors import ConfigError
from fairmot.evaluation import find_eval_sequences
from fairmot.tracking.cache import DetectionRecorder
from fairmot.tuning.plots import plot_history, plot_importances
from fairmot.tuning.search import score_track_params, tune


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
