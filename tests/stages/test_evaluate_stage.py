"""`fairmot detect` + `fairmot evaluate`, and `fairmot track`, end to end on a tiny random-weight checkpoint."""

import json
import math
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from stages.app import app

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


def _read_all(path):
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    return count


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
    assert _read_all(tmp_path / "out" / "walk.mp4") == 6
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
    assert _read_all(tmp_path / "out" / "clip.mp4") == 5


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
