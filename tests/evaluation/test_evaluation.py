"""MOTChallenge scoring: MOT17 preprocessing, every gt frame counted, hand-computed counts."""

import numpy as np
import pytest

from fairmot.data.formats.mot import SeqInfo, write_gt, write_seqinfo
from fairmot.errors import DataError
from fairmot.evaluation import (
    evaluate_results_dir,
    find_eval_sequences,
    format_table,
    load_results,
    preprocess_frame,
    score_results,
    split_frame_range,
)
from fairmot.inference.speed import SpeedMeter


def make_sequence(root, name, gt_rows, frames, split="train"):
    seq = root / "images" / split / name
    write_seqinfo(seq / "seqinfo.ini", SeqInfo(name, 30, frames, 640, 480))
    write_gt(seq / "gt" / "gt.txt", np.asarray(gt_rows, dtype=float))
    return seq


def gt_row(frame, tid, x, y, w=40, h=100, mark=1, cls=1):
    return [frame, tid, x, y, w, h, mark, cls, 1.0]


def write_result(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{f},{i},{x},{y},{w},{h},1,-1,-1,-1\n" for f, i, x, y, w, h in rows))


def two_walkers(frames=4):
    """Objects 1 and 2 walking right, plus a static distractor (class 7) and a zero-marked pedestrian."""
    rows = []
    for f in range(1, frames + 1):
        rows += [gt_row(f, 1, 10 * f, 50), gt_row(f, 2, 300 + 10 * f, 50),
                 gt_row(f, 3, 500, 300, mark=0, cls=7), gt_row(f, 4, 100, 300, mark=0, cls=1)]
    return rows


def test_split_frame_ranges():
    assert split_frame_range(11, "val") == (6, 11)
    assert split_frame_range(10, "val") == (6, 10)
    assert split_frame_range(10, "train") == (1, 10)
    assert split_frame_range(10, "test") == (1, 10)


def test_ground_truth_as_predictions_scores_one(tmp_path):
    make_sequence(tmp_path, "SEQ-01", two_walkers(6), 6)
    make_sequence(tmp_path, "SEQ-02", [gt_row(f, 7, 200, 20 + f) for f in range(1, 6)], 5)
    results = tmp_path / "results"
    for name in ("SEQ-01", "SEQ-02"):
        gt = np.loadtxt(tmp_path / "images/train" / name / "gt/gt.txt", delimiter=",", ndmin=2)
        targets = gt[(gt[:, 6] != 0) & (gt[:, 7] == 1)]
        write_result(results / f"{name}.txt", targets[:, :6].tolist())
    report = evaluate_results_dir(results, tmp_path, "train")
    assert report.table["sequence"].tolist() == ["SEQ-01", "SEQ-02", "OVERALL"]
    overall = report.overall
    for key in ("MOTA", "IDF1", "HOTA", "DetA", "AssA", "LocA", "MOTP", "precision", "recall"):
        assert overall[key] == pytest.approx(1.0), key
    assert (overall["FP"], overall["FN"], overall["IDs"], overall["MT"], overall["ML"]) == (0, 0, 0, 3, 0)
    assert overall["frames"] == 11 and overall["GT"] == 3


def test_hand_built_case_with_known_fp_fn_and_id_switch(tmp_path):
    make_sequence(tmp_path, "SEQ-01", two_walkers(4), 4)
    preds = [
        (1, 1, 10, 50, 40, 100), (1, 2, 310, 50, 40, 100),
        (2, 1, 20, 50, 40, 100), (2, 9, 600, 10, 20, 20),  # object 2 missed (FN), a box on nothing (FP)
        (3, 3, 30, 50, 40, 100), (3, 2, 330, 50, 40, 100),  # object 1 now carries id 3 (IDSW)
        (4, 3, 40, 50, 40, 100), (4, 2, 340, 50, 40, 100),
    ]
    write_result(tmp_path / "res" / "SEQ-01.txt", preds)
    report = evaluate_results_dir(tmp_path / "res", tmp_path, "train")
    o = report.overall
    assert (o["FP"], o["FN"], o["IDs"], o["GT"], o["frames"]) == (1, 1, 1, 2, 4)
    assert o["MOTA"] == pytest.approx(1 - 3 / 8)
    # identity: best one-to-one map gives 1<->1 (2 frames) or 1<->3 (2), and 2<->2 (3): IDTP = 5
    assert o["IDF1"] == pytest.approx(2 * 5 / (8 + 8))
    assert o["precision"] == pytest.approx(7 / 8) and o["recall"] == pytest.approx(7 / 8)
    # TrackEval's CLEAR agrees with motmetrics after the same preprocessing
    clear = report.trackeval["SEQ-01"]["pedestrian"]["CLEAR"]
    assert (clear["CLR_FP"], clear["CLR_FN"], clear["IDSW"]) == (1, 1, 1)
    assert 0 < o["HOTA"] < 1


def test_prediction_on_a_distractor_is_not_a_false_positive(tmp_path):
    make_sequence(tmp_path, "SEQ-01", two_walkers(3), 3)
    preds = [(f, 1, 10 * f, 50, 40, 100) for f in (1, 2, 3)] + [(f, 2, 300 + 10 * f, 50, 40, 100) for f in (1, 2, 3)]
    preds += [(f, 5, 502, 301, 40, 100) for f in (1, 2, 3)]  # on the static person (class 7)
    write_result(tmp_path / "res" / "SEQ-01.txt", preds)
    o = evaluate_results_dir(tmp_path / "res", tmp_path, "train").overall
    assert (o["FP"], o["FN"], o["MOTA"], o["HOTA"]) == (0, 0, 1.0, pytest.approx(1.0, abs=1e-3))
    # ... whereas a box on the zero-marked pedestrian (class 1, mark 0) is not matched to a distractor
    target, kept = preprocess_frame(np.array(two_walkers(1)), np.array([[1, 8, 100, 300, 40, 100, 1]], float))
    assert target[:, 1].tolist() == [1, 2] and len(kept) == 1


def test_frames_without_any_prediction_count_as_misses(tmp_path):
    make_sequence(tmp_path, "SEQ-01", [gt_row(f, 1, 10 * f, 50) for f in range(1, 5)], 4)
    write_result(tmp_path / "res" / "SEQ-01.txt", [(f, 1, 10 * f, 50, 40, 100) for f in (1, 2)])
    o = evaluate_results_dir(tmp_path / "res", tmp_path, "train").overall
    assert (o["frames"], o["FN"], o["FP"]) == (4, 2, 0)
    assert o["MOTA"] == pytest.approx(0.5)


def test_val_split_scores_the_second_half_only(tmp_path):
    make_sequence(tmp_path, "SEQ-01", [gt_row(f, 1, 10 * f, 50) for f in range(1, 8)], 7)
    # predictions only on the first half: outside val, so ignored; the val half is all misses
    write_result(tmp_path / "res" / "SEQ-01.txt", [(f, 1, 10 * f, 50, 40, 100) for f in (1, 2, 3)])
    (seq,) = find_eval_sequences(tmp_path, "val")
    assert (seq.first_frame, seq.last_frame, len(seq.gt)) == (4, 7, 4)
    o = score_results([seq], load_results(tmp_path / "res", [seq])).overall
    assert (o["frames"], o["FN"], o["FP"], o["MOTA"]) == (4, 4, 0, 0.0)
    assert o["HOTA"] == 0.0 and o["MOTP"] == 0.0


def test_test_split_scores_only_sequences_with_gt(tmp_path):
    make_sequence(tmp_path, "SEQ-05", [gt_row(1, 1, 10, 50)], 1, split="test")
    write_seqinfo(tmp_path / "images/test/SEQ-06/seqinfo.ini", SeqInfo("SEQ-06", 30, 1, 640, 480))
    assert [s.name for s in find_eval_sequences(tmp_path, "test")] == ["SEQ-05"]
    assert [s.name for s in find_eval_sequences(tmp_path / "images" / "test", "test")] == ["SEQ-05"]


def test_a_sequence_folder_without_seqinfo_is_an_error_not_skipped(tmp_path):
    make_sequence(tmp_path, "SEQ-01", [gt_row(1, 1, 10, 50)], 2)
    (tmp_path / "images/train/SEQ-02/gt").mkdir(parents=True)
    (tmp_path / "images/train/.cache").mkdir()  # hidden folders are not sequences
    with pytest.raises(DataError, match=r"SEQ-02: sequence folder without seqinfo.ini"):
        find_eval_sequences(tmp_path, "train")


def test_trackless_ground_truth_boxes_are_not_scored(tmp_path):
    rows = two_walkers(frames=2) + [gt_row(1, -1, 200, 200), gt_row(2, -1, 220, 200)]
    make_sequence(tmp_path, "SEQ-01", rows, 2)
    [seq] = find_eval_sequences(tmp_path, "train")
    assert (seq.gt[:, 1] >= 0).all() and len(seq.gt) == 8
    walkers = [(f, i, x, y, 40, 100) for f, i, x, y, *_ in two_walkers(frames=2) if i in (1, 2)]
    write_result(tmp_path / "res" / "SEQ-01.txt", walkers)
    overall = evaluate_results_dir(tmp_path / "res", tmp_path, "train").overall
    assert overall["MOTA"] == pytest.approx(1.0) and overall["HOTA"] == pytest.approx(1.0)


def test_bad_inputs_give_clear_errors(tmp_path):
    make_sequence(tmp_path, "SEQ-01", [gt_row(1, 1, 10, 50)], 2)
    res = tmp_path / "res"
    res.mkdir()
    with pytest.raises(DataError, match=r"SEQ-01\.txt: result file missing"):
        evaluate_results_dir(res, tmp_path, "train")
    (res / "SEQ-01.txt").write_text("1,1,10,50,40,100,1,-1,-1,-1\n1,2,abc,50,40,100,1,-1,-1,-1\n")
    with pytest.raises(DataError, match=r"SEQ-01\.txt:2: non-numeric"):
        evaluate_results_dir(res, tmp_path, "train")
    (res / "SEQ-01.txt").write_text("3,1,10,50,40,100,1,-1,-1,-1\n")
    with pytest.raises(DataError, match=r"frame 3 is not a frame of SEQ-01"):
        evaluate_results_dir(res, tmp_path, "train")
    (res / "SEQ-01.txt").write_text("1,1,10,50,40,100,1,-1,-1,-1\n1,1,90,50,40,100,1,-1,-1,-1\n")
    with pytest.raises(DataError, match=r"id 1 appears more than once in frame 1"):
        evaluate_results_dir(res, tmp_path, "train")
    (res / "SEQ-01.txt").write_text("1,1,10,50,40,100,1,-1,-1,-1\n")
    (res / "SEQ-09.txt").write_text("1,1,10,50,40,100,1,-1,-1,-1\n")
    with pytest.raises(DataError, match=r"SEQ-09\.txt: no ground-truth sequence"):
        evaluate_results_dir(res, tmp_path, "train")
    write_seqinfo(tmp_path / "images/train/SEQ-02/seqinfo.ini", SeqInfo("SEQ-02", 30, 2, 640, 480))
    with pytest.raises(DataError, match=r"SEQ-02/gt/gt\.txt: ground truth not found"):
        find_eval_sequences(tmp_path, "train")
    write_seqinfo(tmp_path / "images/test/SEQ-03/seqinfo.ini", SeqInfo("SEQ-03", 30, 2, 640, 480))
    with pytest.raises(DataError, match="no sequence has gt/gt.txt, so the test split cannot be scored"):
        find_eval_sequences(tmp_path, "test")
    with pytest.raises(DataError, match="no sequence folders"):
        find_eval_sequences(tmp_path / "missing", "train")


def test_speed_meter_skips_warmup_frames():
    meter = SpeedMeter(warmup=2)
    for total, model in [(1.0, 1.0), (1.0, 1.0), (0.1, 0.05), (0.3, 0.15)]:
        meter.add(total, model)
    assert meter.frames == 4
    assert meter.fps == pytest.approx(2 / 0.4) and meter.fps_model == pytest.approx(2 / 0.2)
    short = SpeedMeter(warmup=5)
    short.add(0.5, 0.25)
    assert short.fps == pytest.approx(2.0)  # too few frames: time them all rather than report nothing


def test_format_table_prints_every_sequence(tmp_path):
    make_sequence(tmp_path, "SEQ-01", [gt_row(1, 1, 10, 50)], 1)
    write_result(tmp_path / "res" / "SEQ-01.txt", [(1, 1, 10, 50, 40, 100)])
    text = format_table(evaluate_results_dir(tmp_path / "res", tmp_path, "train").table)
    assert "SEQ-01" in text and "OVERALL" in text and "1.000" in text


@pytest.mark.parametrize("split", ["test", "val"])
def test_synthetic_ground_truth_as_predictions_scores_one(tiny_dataset, tmp_path, split):
    sequences = find_eval_sequences(tiny_dataset, split)
    for seq in sequences:
        targets = seq.gt[(seq.gt[:, 6] != 0) & (seq.gt[:, 7] == 1)]
        write_result(tmp_path / f"{seq.name}.txt", targets[:, :6].tolist())
        assert seq.num_frames == (24 if split == "test" else 12)
    o = evaluate_results_dir(tmp_path, tiny_dataset, split).overall
    assert (o["MOTA"], o["IDF1"], o["FP"], o["FN"], o["IDs"]) == (1.0, 1.0, 0, 0, 0)
    assert o["HOTA"] == pytest.approx(1.0) and o["MOTP"] == pytest.approx(1.0)
