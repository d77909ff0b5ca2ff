"""`fairmot detect` + `fairmot evaluate`, and `fairmot track`, end to end on a tiny random-weight checkpoint."""

import dataclasses
import json
import math
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from fairmot.io import file_sha256
from fairmot.tracking.cache import read_detections, write_detections
from stages.app import app
from tests.inference.clips import count_frames

CONTRACT_KEYS = ("MOTA", "IDF1", "HOTA", "DetA", "AssA", "MOTP", "IDs", "FP", "FN", "MT", "ML", "frames",
                 "fps", "fps_model", "peak_memory_mb", "device")
INPUT_W, INPUT_H = 160, 96


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_evaluate_writes_results_and_every_metric_of_the_contract(tiny_dataset, checkpoint, params_file, tmp_path):
    results, reports, det = tmp_path / "results", tmp_path / "reports", tmp_path / "detections"
    done = invoke("detect", "--params", params_file, "--model", checkpoint, "--dataset", tiny_dataset,
                  "--out", det, "--reports", reports, "--device", "cpu")
    assert done.exit_code == 0, done.output
    done = invoke("evaluate", "--params", params_file, "--dataset", tiny_dataset, "--detections", det,
                  "--results", results, "--reports", reports)
    assert done.exit_code == 0, done.output
    test_seqs = sorted(p.name for p in (tiny_dataset / "images" / "test").iterdir()
                       if (p / "gt" / "gt.txt").exists())
    assert sorted(p.stem for p in results.glob("*.txt")) == test_seqs
    metrics = json.loads((reports / "metrics.json").read_text())
    for key in CONTRACT_KEYS:
        assert key in metrics, key
    for key in ("MOTA", "IDF1", "HOTA", "DetA", "AssA", "MOTP", "fps", "fps_model", "peak_memory_mb"):
        assert isinstance(metrics[key], float) and math.isfinite(metrics[key]), key
    for key in ("IDs", "FP", "FN", "MT", "ML", "frames"):
        assert isinstance(metrics[key], int) and metrics[key] >= 0, key
    gt_frames = 0
    for seq in test_seqs:
        ini = (tiny_dataset / "images" / "test" / seq / "seqinfo.ini").read_text()
        gt_frames += int(next(line.split("=")[1] for line in ini.splitlines() if line.startswith("seqLength")))
    assert metrics["frames"] == gt_frames
    assert metrics["fps"] > 0 and metrics["peak_memory_mb"] > 0 and metrics["device"].startswith("CPU")
    table = pd.read_csv(reports / "per_sequence.csv")
    assert table["sequence"].tolist() == [*test_seqs, "OVERALL"]
    assert {"MOTA", "IDF1", "HOTA", "DetA", "AssA"} <= set(table.columns)
    assert table["MOTA"].iloc[-1] == pytest.approx(metrics["MOTA"], abs=1e-6)

    # The same result files scored without a model give the same figures.
    scored = invoke("evaluate", "--params", params_file, "--results", results, "--gt", tiny_dataset)
    assert scored.exit_code == 0, scored.output
    assert "OVERALL" in scored.output and all(seq in scored.output for seq in test_seqs)


def test_evaluate_reports_a_missing_result_file_on_one_line(tiny_dataset, params_file, tmp_path):
    (tmp_path / "empty").mkdir()
    done = invoke("evaluate", "--params", params_file, "--results", tmp_path / "empty", "--gt", tiny_dataset)
    assert done.exit_code == 1
    assert "result file missing" in done.output and len(done.output.strip().splitlines()) == 1


def _frames(count, width=160, height=96):
    """A red and a blue 'person' walking right over grey."""
    images = []
    for f in range(count):
        img = np.full((height, width, 3), 90, np.uint8)
        cv2.rectangle(img, (10 + 4 * f, 20), (26 + 4 * f, 60), (0, 0, 220), -1)
        cv2.rectangle(img, (100 - 3 * f, 30), (114 - 3 * f, 66), (220, 0, 0), -1)
        images.append(img)
    return images


def _check_result_lines(path):
    for line in path.read_text().splitlines():
        values = line.split(",")
        assert len(values) == 10 and values[7:] == ["-1", "-1", "-1"]
        assert int(values[0]) >= 1 and int(values[1]) >= 1


def test_track_an_image_folder_writes_results_and_an_annotated_video(checkpoint, params_file, tmp_path):
    folder = tmp_path / "walk"
    folder.mkdir()
    for i, img in enumerate(_frames(6), start=1):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), img)
    done = invoke("track", folder, "--model", checkpoint, "--out", tmp_path / "out", "--params", params_file,
                  "--device", "cpu")
    assert done.exit_code == 0, done.output
    _check_result_lines(tmp_path / "out" / "walk.txt")
    assert count_frames(tmp_path / "out" / "walk.mp4") == 6
    # no temporary file left behind; the record of what this tool wrote there (so a rerun may replace it)
    assert [p.name for p in (tmp_path / "out").glob(".*")] == [".fairmot-outputs.json"]


def test_track_a_video_reads_every_frame(checkpoint, params_file, tmp_path):
    source = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 96))
    for img in _frames(5):
        writer.write(img)
    writer.release()
    done = invoke("track", source, "--model", checkpoint, "--out", tmp_path / "out", "--params", params_file)
    assert done.exit_code == 0, done.output
    assert "5 frames" in done.output
    _check_result_lines(tmp_path / "out" / "clip.txt")
    assert count_frames(tmp_path / "out" / "clip.mp4") == 5


def test_track_rejects_a_missing_source(checkpoint, params_file, tmp_path):
    done = invoke("track", tmp_path / "nope.mp4", "--model", checkpoint, "--params", params_file)
    assert done.exit_code == 1 and "no such video file or image folder" in done.output


def _perfect_results(dataset, folder, split="test"):
    """Result files holding a split's scored gt boxes on every frame: every figure is 1."""
    folder.mkdir()
    for seq in (dataset / "images" / split).iterdir():
        gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",", ndmin=2)
        targets = gt[(gt[:, 6] != 0) & (gt[:, 7] == 1)]
        np.savetxt(folder / f"{seq.name}.txt", np.column_stack([targets[:, :6], np.ones(len(targets))]),
                   fmt="%d,%d,%.2f,%.2f,%.2f,%.2f,%.2f")


def test_scoring_results_needs_no_params_file_and_writes_where_reports_points(tiny_dataset, tmp_path, monkeypatch):
    _perfect_results(tiny_dataset, tmp_path / "results")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no params.yaml here
    done = invoke("evaluate", "--results", tmp_path / "results", "--gt", tiny_dataset, "--reports", tmp_path / "out")
    assert done.exit_code == 0, done.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    table = pd.read_csv(tmp_path / "out" / "per_sequence.csv")
    assert metrics["MOTA"] == pytest.approx(1.0) and metrics["IDF1"] == pytest.approx(1.0)
    assert metrics["FP"] == 0 and metrics["FN"] == 0 and "fps" not in metrics
    assert table["sequence"].tolist()[-1] == "OVERALL" and table["MOTA"].iloc[-1] == pytest.approx(1.0)
    assert "OVERALL" in done.output  # the table is printed too
    # without --reports nothing is written, neither here nor in a reports/ folder
    again = invoke("evaluate", "--results", tmp_path / "results", "--gt", tiny_dataset)
    assert again.exit_code == 0, again.output
    assert list(elsewhere.iterdir()) == []


def test_scoring_prints_no_library_info_lines_unless_verbose(tiny_dataset, tmp_path):
    _perfect_results(tiny_dataset, tmp_path / "results")
    quiet = invoke("evaluate", "--results", tmp_path / "results", "--gt", tiny_dataset)
    assert quiet.exit_code == 0, quiet.output
    assert "partials" not in quiet.output and "mergeOverall" not in quiet.output
    verbose = invoke("--verbose", "evaluate", "--results", tmp_path / "results", "--gt", tiny_dataset)
    assert verbose.exit_code == 0 and "partials" in verbose.output


def test_scoring_another_tools_results_scores_whole_sequences_unless_split_val_is_given(tiny_dataset, tmp_path):
    """eval.split (here val, in --params) is the pipeline's: --gt scores every frame unless --split says otherwise."""
    _perfect_results(tiny_dataset, tmp_path / "results", split="train")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"eval": {"split": "val"}}))
    gt = tiny_dataset / "images" / "train"
    note = ("note: --split val scores only the second half of each sequence (frames N/2+1..N of its N); "
            "pass --split train to score whole sequences")
    for args, frames in ((["--params", params], 2 * 24), ([], 2 * 24), (["--split", "val"], 2 * 12)):
        out = tmp_path / f"out{len(args)}"
        done = invoke("evaluate", "--results", tmp_path / "results", "--gt", gt, "--reports", out, *args)
        assert done.exit_code == 0, done.output
        metrics = json.loads((out / "metrics.json").read_text())
        assert (metrics["frames"], metrics["FN"], metrics["MOTA"]) == (frames, 0, pytest.approx(1.0)), args
        assert (note in done.output.splitlines()) == ("val" in args), args


@pytest.mark.parametrize("folders", [("test", "train"), ("test", "train", "val")])  # MOT20/, DanceTrack/
def test_a_benchmark_download_root_is_one_line_naming_the_folder_to_give(tiny_dataset, tmp_path, folders):
    root = tmp_path / "BENCH"
    for folder in folders:  # test/ without gt, as MOTChallenge and DanceTrack publish it
        shutil.copytree(tiny_dataset / "images" / ("test" if folder == "test" else "train"), root / folder,
                        ignore=shutil.ignore_patterns("gt") if folder == "test" else None)
    _perfect_results(tiny_dataset, tmp_path / "results", split="train")
    done = invoke("evaluate", "--results", tmp_path / "results", "--gt", root)
    named = " or ".join(str(root / f) for f in folders if f != "test")
    assert done.exit_code == 1
    assert done.output.strip() == (f"error: {root}: a benchmark folder ({', '.join(f + '/' for f in folders)}), not a "
                                   f"folder of sequences; pass the folder of the sequences to score: {named}")
    assert invoke("evaluate", "--results", tmp_path / "results", "--gt", root / "train").exit_code == 0


@pytest.mark.parametrize("bad", ["id", "folder"])
def test_a_bad_result_file_is_one_line_naming_it(tiny_dataset, tmp_path, bad):
    _perfect_results(tiny_dataset, tmp_path / "results")
    path = tmp_path / "results" / "SYN-03.txt"
    if bad == "id":
        path.write_text("1,1e20,10,10,20,40,0.9\n" + path.read_text())
        expected = (f"error: {path}:1: id 1e+20 is beyond ±2**53, past which ids are not read exactly in "
                    "'1,1e+20,10,10,20,40,0.9'; result rows are frame,id,x,y,w,h,score with integer frame and id")
    else:
        path.unlink()
        path.mkdir()
        expected = f"error: {path}: a folder, not a result file; replace it with the result file"
    done = invoke("evaluate", "--results", tmp_path / "results", "--gt", tiny_dataset)
    assert done.exit_code == 1 and done.output.strip() == expected


@pytest.mark.parametrize("command", ["detect", "track"])
def test_a_bad_amp_mode_is_one_line_naming_the_modes(command, checkpoint, params_file, tiny_dataset, tmp_path):
    where = (["--dataset", tiny_dataset, "--out", tmp_path / "d", "--reports", tmp_path / "rep"]
             if command == "detect" else [tiny_dataset / "images" / "test" / "SYN-03", "--out", tmp_path / "o"])
    done = invoke(command, *where, "--model", checkpoint, "--params", params_file, "--amp", "fp32")
    assert done.exit_code == 1
    assert done.output.strip() == "error: 'amp' = 'fp32' must be one of off, auto, bf16, fp16 (or true/false)"


@pytest.fixture(scope="module")
def val_detect(tiny_dataset, checkpoint, tmp_path_factory):
    """One `fairmot detect` over the val split (SYN-01 and SYN-02, frames 13-24): its caches and detect.json."""
    root = tmp_path_factory.mktemp("val-detect")
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({"gpus": -1, "eval": {"split": "val", "warmup_frames": 1},
                                      "track": {"conf_thres": 0.3}}))
    done = invoke("detect", "--params", params, "--model", checkpoint, "--dataset", tiny_dataset,
                  "--out", root / "detections", "--reports", root / "reports", "--device", "cpu")
    assert done.exit_code == 0, done.output
    return root


def _copy_of(val_detect, tmp_path):
    for name in ("detections", "reports", "params.yaml"):
        (shutil.copytree if name != "params.yaml" else shutil.copy)(val_detect / name, tmp_path / name)
    return tmp_path / "detections"


def _evaluate_refuses(tmp_path, dataset, message):
    """`fairmot evaluate` on the copy: one line naming message, exit 1, nothing written."""
    done = invoke("evaluate", "--params", tmp_path / "params.yaml", "--dataset", dataset, "--detections",
                  tmp_path / "detections", "--results", tmp_path / "results", "--reports", tmp_path / "reports")
    assert done.exit_code == 1, done.output
    assert done.output.startswith(f"error: {message}") and len(done.output.strip().splitlines()) == 1, done.output
    assert "Traceback" not in done.output and "Aborted" not in done.output and "allow_pickle" not in done.output
    assert not (tmp_path / "results").exists() and not (tmp_path / "reports" / "metrics.json").exists()


def test_the_val_caches_evaluate(val_detect, tiny_dataset, tmp_path):
    det = _copy_of(val_detect, tmp_path)
    done = invoke("evaluate", "--params", tmp_path / "params.yaml", "--dataset", tiny_dataset, "--detections", det,
                  "--results", tmp_path / "results", "--reports", tmp_path / "reports")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "results").glob("*.txt")) == ["SYN-01.txt", "SYN-02.txt"]


def test_two_sequences_caches_swapped_are_refused_naming_the_sequence(val_detect, tiny_dataset, tmp_path):
    det = _copy_of(val_detect, tmp_path)
    (det / "SYN-01.npz").rename(det / "swap.npz")
    (det / "SYN-02.npz").rename(det / "SYN-01.npz")
    (det / "swap.npz").rename(det / "SYN-02.npz")
    _evaluate_refuses(tmp_path, tiny_dataset, f"{det / 'SYN-01.npz'}: cached sequence name 'SYN-02', but it is "
                                              "read for 'SYN-01' (a renamed or copied file?); rerun `fairmot detect`")


def test_a_cache_of_other_frames_is_refused(val_detect, tiny_dataset, tmp_path):
    det = _copy_of(val_detect, tmp_path)
    cache = read_detections(det / "SYN-02.npz")  # frames 13..24; keep 13..23
    kept = int(cache.counts[:-1].sum())
    write_detections(det / "SYN-02.npz", dataclasses.replace(
        cache, boxes=cache.boxes[:kept], scores=cache.scores[:kept], embeddings=cache.embeddings[:kept],
        classes=cache.classes[:kept],
        counts=cache.counts[:-1]))
    _evaluate_refuses(tmp_path, tiny_dataset, f"{det / 'SYN-02.npz'}: cached frames 13..23, but SYN-02 is scored "
                                              "on frames 13..24; rerun `fairmot detect` with this split")


def test_a_cache_of_frames_of_another_size_is_refused(val_detect, tiny_dataset, tmp_path):
    _copy_of(val_detect, tmp_path)
    dataset = tmp_path / "dataset"
    shutil.copytree(tiny_dataset, dataset)
    ini = dataset / "images" / "train" / "SYN-02" / "seqinfo.ini"
    ini.write_text(ini.read_text().replace("imWidth=320", "imWidth=640"))
    _evaluate_refuses(tmp_path, dataset, f"{tmp_path / 'detections' / 'SYN-02.npz'}: cached image size 320x192, but "
                                         "SYN-02's frames are 640x192 (seqinfo.ini); rerun `fairmot detect`")


def test_caches_of_two_checkpoints_in_one_folder_are_refused(val_detect, tiny_dataset, checkpoint, tmp_path):
    det = _copy_of(val_detect, tmp_path)
    other = tmp_path / "other.pt"  # the same weights saved again: another file, another sha256
    torch.save({**torch.load(checkpoint, weights_only=False), "epoch": 2}, other)
    done = invoke("detect", "--params", tmp_path / "params.yaml", "--model", other, "--dataset", tiny_dataset,
                  "--out", tmp_path / "other-det", "--reports", tmp_path / "other-reports", "--device", "cpu")
    assert done.exit_code == 0, done.output
    shutil.copy(tmp_path / "other-det" / "SYN-02.npz", det / "SYN-02.npz")
    ours, theirs = file_sha256(checkpoint)[:12], file_sha256(other)[:12]
    message = (f"{det / 'SYN-02.npz'}: made by the checkpoint with sha256 {theirs}..., not {ours}... "
               "(a cache of another network pass); rerun `fairmot detect`")
    _evaluate_refuses(tmp_path, tiny_dataset, message)  # against detect.json's checkpoint
    figures = json.loads((tmp_path / "reports" / "detect.json").read_text())
    assert figures.pop("checkpoint_sha256") == file_sha256(checkpoint)
    (tmp_path / "reports" / "detect.json").write_text(json.dumps(figures))
    _evaluate_refuses(tmp_path, tiny_dataset, message)  # a detect.json without it: the first cache's


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the embeddings' deflated bytes
    path.write_bytes(bytes(data))


def _object_arrays(path):
    path.unlink()
    np.savez(path, boxes=np.array([None, 1], dtype=object), scores=np.zeros(2), embeddings=np.zeros((2, 1)),
             counts=np.array([2]), meta=np.array("{}"))


SPOIL = {
    "empty": (lambda p: p.write_bytes(b""), "empty file"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "File is not a zip file"),
    "bad CRC": (_flip_a_byte, "Bad CRC-32 for file 'embeddings.npy'"),
    "a folder": (lambda p: (p.unlink(), p.mkdir()), "a folder, not a file"),
    "object arrays": (_object_arrays, "it holds Python objects, not plain arrays"),
}


@pytest.mark.parametrize("case", list(SPOIL))
def test_a_damaged_cache_is_one_line_naming_the_file(val_detect, tiny_dataset, tmp_path, case):
    det = _copy_of(val_detect, tmp_path)
    spoil, reason = SPOIL[case]
    spoil(det / "SYN-02.npz")  # the second: the first is read and tracked fine, and nothing is written
    _evaluate_refuses(tmp_path, tiny_dataset, f"{det / 'SYN-02.npz'}: unreadable detection cache ({reason}); "
                                              "rerun `fairmot detect`")


def test_evaluate_tracks_with_botsort_and_fills_gaps_as_the_params_say(val_detect, tiny_dataset, tmp_path):
    """track.method botsort and track.interpolate linear reach the written results; the figures are of those rows."""
    from fairmot.config import load_params
    from fairmot.data.formats.mot import read_results
    from fairmot.evaluation.interpolate import interpolate_tracks
    from fairmot.tracking.cache import track_cached

    det = _copy_of(val_detect, tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["track"].update(method="botsort", interpolate="linear", max_gap=5)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = invoke("evaluate", "--params", tmp_path / "params.yaml", "--dataset", tiny_dataset, "--detections", det,
                  "--results", tmp_path / "results", "--reports", tmp_path / "reports")
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "reports" / "metrics.json").read_text())["method"] == "botsort"
    settings = load_params(tmp_path / "params.yaml").track
    filled = 0
    for name in ("SYN-01", "SYN-02"):
        tracked = np.asarray(track_cached(read_detections(det / f"{name}.npz"), settings)).reshape(-1, 8)[:, :7]
        expected = interpolate_tracks(tracked, settings)
        written = read_results(tmp_path / "results" / f"{name}.txt")[:, :7]
        np.testing.assert_allclose(written, expected, atol=0.006)
        filled += len(expected) - len(tracked)
    assert filled > 0  # the random network's tracks have gaps, and they were filled


def test_scoring_several_classes_adds_each_class_and_their_average_to_metrics_json(tmp_path):
    from tests.evaluation.test_per_class import CLASSES, write_dataset

    (tmp_path / "data").mkdir()
    root = write_dataset(tmp_path / "data")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"classes": CLASSES}))
    done = invoke("evaluate", "--params", params, "--results", root / "res", "--gt", root, "--split", "train",
                  "--reports", tmp_path / "out")
    assert done.exit_code == 0, done.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics["classes"]) == set(CLASSES) and metrics["classes"]["car"]["FP"] == 3
    assert metrics["class_average"]["HOTA"] == pytest.approx(np.mean([m["HOTA"] for m in metrics["classes"].values()]),
                                                             abs=1e-6)
    assert set(metrics["class_average"]) == set(metrics) - {"classes", "class_average"}
    table = pd.read_csv(tmp_path / "out" / "per_sequence.csv")
    assert list(table.columns[:2]) == ["sequence", "class"]
    assert table[table["sequence"] == "OVERALL"]["class"].tolist() == [*CLASSES, "class average", "all"]
    assert "class average" in done.output
    # one class: the class column is not read and metrics.json has the overall keys only
    params.write_text(yaml.safe_dump({"classes": ["pedestrian"]}))
    done = invoke("evaluate", "--params", params, "--results", root / "res", "--gt", root, "--split", "train",
                  "--reports", tmp_path / "one")
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    # every row a pedestrian: 6 + 5 false as before, every car and cyclist row (8 + 3 + 4 + 8 + 8), and
    # the cyclist on the static person beside the pedestrian there (3: one box matches one prediction)
    assert "classes" not in one and one["FP"] == 6 + 5 + 8 + 3 + 4 + 8 + 8 + 3
