"""`fairmot detect`, `fairmot evaluate` from the cache, and `fairmot tune`, on a tiny random-weight checkpoint."""

import json

import numpy as np
import pandas as pd
import yaml
from typer.testing import CliRunner

from fairmot.tracking.cache import read_detections
from stages.app import app


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_detect_caches_every_test_sequence_and_reports_the_network_pass(tiny_dataset, checkpoint, params_file,
                                                                        tmp_path):
    out, reports = tmp_path / "detections", tmp_path / "reports"
    done = invoke("detect", "--params", params_file, "--model", checkpoint, "--dataset", tiny_dataset,
                  "--out", out, "--reports", reports, "--device", "cpu")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == [".fairmot-output", "SYN-03.npz"]  # + the ownership marker
    cache = read_detections(out / "SYN-03.npz")
    assert cache.num_frames == 24 and cache.det_floor == 0.05 and cache.embeddings.shape[1] == 128
    assert (cache.scores > 0.05).all() and len(cache.scores) > 24
    figures = json.loads((reports / "detect.json").read_text())
    assert figures["frames"] == 24 and figures["fps"] > 0 and figures["peak_memory_mb"] > 0
    assert figures["engine"] == "torch" and figures["device"].startswith("CPU") and figures["batch"] == 4  # the default


def test_detect_in_batches_reports_the_batch_and_caches_the_same_candidates(tiny_dataset, checkpoint, params_file,
                                                                          tmp_path):
    caches = {}
    for batch in (1, 5):
        out, reports = tmp_path / f"detections{batch}", tmp_path / f"reports{batch}"
        done = invoke("detect", "--params", params_file, "--model", checkpoint, "--dataset", tiny_dataset,
                      "--out", out, "--reports", reports, "--device", "cpu", "--batch", batch)
        assert done.exit_code == 0, done.output
        assert json.loads((reports / "detect.json").read_text())["batch"] == batch
        caches[batch] = read_detections(out / "SYN-03.npz")
    assert np.array_equal(caches[1].counts, caches[5].counts) and caches[5].num_frames == 24
    assert np.abs(caches[1].boxes - caches[5].boxes).max() < 1e-3


def test_evaluate_tracks_from_the_cache_with_the_method_asked_for(tiny_dataset, checkpoint, params_file, tmp_path):
    det, reports = tmp_path / "detections", tmp_path / "reports"
    assert invoke("detect", "--params", params_file, "--model", checkpoint, "--dataset", tiny_dataset,
                  "--out", det, "--reports", reports, "--device", "cpu").exit_code == 0
    # a threshold in the middle of the random network's scores, so bytetrack has low-score candidates
    conf = float(np.median(read_detections(det / "SYN-03.npz").scores))
    rows = {}
    for method in ("jde", "bytetrack"):
        results = tmp_path / f"results-{method}"
        done = invoke("evaluate", "--params", params_file, "--dataset", tiny_dataset, "--detections", det,
                      "--results", results, "--reports", reports, "--method", method, "--conf-thres", conf)
        assert done.exit_code == 0, done.output
        rows[method] = (results / "SYN-03.txt").read_text()
        metrics = json.loads((reports / "metrics.json").read_text())
        assert metrics["method"] == method and metrics["fps"] > 0  # the network pass's speed, from detect.json
    assert rows["jde"] != rows["bytetrack"] and len(rows["jde"].splitlines()) > 24


def test_evaluate_without_a_cache_says_to_run_detect(tiny_dataset, params_file, tmp_path):
    done = invoke("evaluate", "--params", params_file, "--dataset", tiny_dataset, "--detections",
                  tmp_path / "none", "--results", tmp_path / "results", "--reports", tmp_path / "reports")
    assert done.exit_code == 1 and "fairmot detect" in done.output


def test_tune_writes_its_reports_and_leaves_params_alone_unless_asked(tiny_dataset, checkpoint, params_file,
                                                                        tmp_path):
    before = params_file.read_text()
    out = tmp_path / "tune"
    args = ("tune", "--params", params_file, "--model", checkpoint, "--dataset", tiny_dataset,
            "--detections", tmp_path / "tune-det", "--out", out, "--trials", 4, "--device", "cpu")
    done = invoke(*args)
    assert done.exit_code == 0, done.output
    assert params_file.read_text() == before
    assert sorted(p.name for p in out.iterdir()) == ["best.json", "best.yaml", "history.png", "importances.png",
                                                     "trials.csv"]
    best = json.loads((out / "best.json").read_text())
    assert best["split"] == "val" and best["trials"] == 4 and best["best_value"] >= best["params_yaml_value"]
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4 and np.isclose(trials["value"].max(), best["best_value"])
    # the val split's caches: the second halves (frames 13-24) of the two training sequences
    caches = {p.stem: read_detections(p) for p in (tmp_path / "tune-det").glob("*.npz")}
    assert sorted(caches) == ["SYN-01", "SYN-02"] and {c.first_frame for c in caches.values()} == {13}

    done = invoke(*args, "--apply")
    assert done.exit_code == 0, done.output
    applied = yaml.safe_load(params_file.read_text())["track"]
    tuned = yaml.safe_load((out / "best.yaml").read_text())["track"]
    assert applied["method"] == tuned["method"]
    assert abs(applied["conf_thres"] - tuned["conf_thres"]) < 1e-3


def test_tune_reuses_its_caches_only_when_the_checkpoint_made_them_and_they_read(tiny_dataset, checkpoint, tmp_path):
    """The sha256 in each cache's meta decides (no stamp file beside them); anything else is made again."""
    import torch

    from fairmot.config import TrackParams
    from fairmot.evaluation import find_eval_sequences
    from fairmot.inference.detect import cached_detections
    from fairmot.inference.settings import InferenceSettings
    from fairmot.io import file_sha256

    sequences, folder = find_eval_sequences(tiny_dataset, "val"), tmp_path / "det"
    settings, track = InferenceSettings(device="cpu", warmup=0), TrackParams(det_floor=0.05)

    def caches_from(model):
        caches = cached_detections(sequences, model, track, settings, folder, seed=0)
        return {c.checkpoint_sha256 for c in caches}, {p.name: p.stat().st_mtime_ns for p in folder.glob("*.npz")}

    shas, made = caches_from(checkpoint)
    assert shas == {file_sha256(checkpoint)} and sorted(made) == ["SYN-01.npz", "SYN-02.npz"]
    assert sorted(p.name for p in folder.iterdir()) == [".fairmot-output", "SYN-01.npz", "SYN-02.npz"]
    assert caches_from(checkpoint)[1] == made  # reused
    other = tmp_path / "other.pt"
    torch.save({**torch.load(checkpoint, weights_only=False), "epoch": 2}, other)
    shas, remade = caches_from(other)
    assert shas == {file_sha256(other)} and all(remade[name] != made[name] for name in made)
    (folder / "SYN-02.npz").write_bytes(b"")  # a damaged cache is made again, not an error
    shas, again = caches_from(other)
    assert shas == {file_sha256(other)} and (folder / "SYN-02.npz").stat().st_size > 0


def test_tune_stopped_by_ctrl_c_reports_the_trials_so_far_in_one_line_and_a_rerun_resumes(tiny_dataset, checkpoint,
                                                                                         params_file, tmp_path, monkeypatch):
    """Ctrl-C printed Optuna's traceback and lost every finished trial; a rerun started from zero."""
    import signal

    import fairmot.tuning.search as search

    original, calls, interrupted = search.score_track_params, [], []

    def score(*args):
        calls.append(1)
        if len(calls) == 3 and not interrupted:  # Ctrl-C during trial 2: it finishes, then the search stops
            interrupted.append(1)
            signal.raise_signal(signal.SIGINT)
        return original(*args)

    monkeypatch.setattr(search, "score_track_params", score)
    out = tmp_path / "tune"
    args = ("tune", "--params", params_file, "--model", checkpoint, "--dataset", tiny_dataset,
            "--detections", tmp_path / "tune-det", "--out", out, "--trials", 6, "--device", "cpu")
    done = invoke(*args)
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert done.output.strip().splitlines()[-1] == "error: interrupted after 3 of 6 trials; rerun `fairmot tune` to continue"
    assert len(pd.read_csv(out / "trials.csv")) == 3 and json.loads((out / "best.json").read_text())["trials"] == 3
    assert (tmp_path / "study.journal").is_file()  # beside the detection cache

    calls.clear()
    done = invoke(*args)
    assert done.exit_code == 0, done.output
    study = json.loads((out / "best.json").read_text())["study"]
    assert f"resuming study {study}: 3 of 6 trials done" in " ".join(done.output.split())  # a log line, maybe wrapped
    assert len(calls) == 3 + 1 and len(pd.read_csv(out / "trials.csv")) == 6  # the missing trials and the baseline

    calls.clear()
    done = invoke(*args, "--fresh", "--storage", tmp_path / "other.journal", "--trials", 2)
    assert done.exit_code == 0, done.output
    assert len(calls) == 2 + 1 and len(pd.read_csv(out / "trials.csv")) == 2 and "resuming" not in done.output


def test_a_batch_larger_than_any_sequence_allocates_only_the_frames_there_are(tiny_dataset, checkpoint, tmp_path,
                                                                              monkeypatch):
    """eval.batch 10000 allocated the whole batch up front and was OOM-killed without a message."""
    import fairmot.inference.engines.torch_engine as torch_engine
    from fairmot.config import TrackParams
    from fairmot.evaluation import find_eval_sequences
    from fairmot.inference.detect import detect_split
    from fairmot.inference.settings import InferenceSettings

    built = []
    real_init = torch_engine.TorchEngine.__init__

    def spy(self, *args, **kwargs):
        built.append(kwargs["batch"])
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(torch_engine.TorchEngine, "__init__", spy)
    summary = detect_split(find_eval_sequences(tiny_dataset, "test"), checkpoint, TrackParams(),
                           InferenceSettings(device="cpu", warmup=0, batch=10_000), tmp_path / "det", seed=0)
    assert built == [24] and summary["batch"] == 24 and summary["frames"] == 24  # SYN-03 has 24 frames


def test_detect_caches_the_warps_of_eval_cmc_and_evaluate_reads_the_one_track_cmc_names(tiny_dataset, checkpoint,
                                                                                         tmp_path):
    det, reports = tmp_path / "detections", tmp_path / "reports"
    params = tmp_path / "params.yaml"
    base = {"gpus": -1, "eval": {"split": "test", "warmup_frames": 1, "cmc": ["sparse"]}, "track": {"conf_thres": 0.3}}
    params.write_text(yaml.safe_dump(base))
    assert invoke("detect", "--params", params, "--model", checkpoint, "--dataset", tiny_dataset, "--out", det,
                  "--reports", reports, "--device", "cpu").exit_code == 0
    cache = read_detections(det / "SYN-03.npz")
    assert list(cache.warps) == ["sparse"] and cache.warps["sparse"].shape == (24, 2, 3)
    figures = json.loads((reports / "detect.json").read_text())
    assert figures["cmc"] == ["sparse"] and figures["cmc_ms_per_frame"] > 0
    for cmc, code in (("sparse", 0), ("ecc", 1)):
        params.write_text(yaml.safe_dump({**base, "track": {"conf_thres": 0.3, "cmc": cmc}}))
        done = invoke("evaluate", "--params", params, "--dataset", tiny_dataset, "--detections", det,
                      "--results", tmp_path / f"results-{cmc}", "--reports", reports)
        assert done.exit_code == code, done.output
    assert done.output.strip().splitlines()[-1].endswith(
        "SYN-03: track.cmc is 'ecc' but the detection cache holds camera warps for: sparse; add ecc to eval.cmc and "
        "rerun `fairmot detect`")
