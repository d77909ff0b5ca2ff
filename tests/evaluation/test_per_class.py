"""Scoring several classes: each class against TrackEval run on that class alone, the class average,
every (sequence, class) pair pooled, and the result files' class column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairmot.data.classes import GtClasses, gt_classes
from fairmot.data.formats.mot import BENCHMARKS, SeqInfo, write_seqinfo
from fairmot.errors import DataError
from fairmot.evaluation import evaluate_results_dir, find_eval_sequences, load_results, score_results, tracking_metrics
from tests.evaluation.trackeval_run import trackeval_figures

W, H, FRAMES = 640, 480, 8
CLASSES = ["pedestrian", "car", "cyclist"]  # MOT17 numbers 1, 3, 4
RULE = gt_classes("mot", {}, CLASSES, BENCHMARKS["MOT17"].distractors, key="data.class_map")
FIGURES = ("MOTA", "IDF1", "HOTA", "FP", "FN", "IDs")

# (id, gt number, mark, frames, x, y, w, h)
GT = {
    "SEQ-A": [
        (1, 1, 1, range(1, 9), 10, 10, 40, 100),     # pedestrians
        (2, 1, 1, range(1, 9), 200, 10, 40, 100),
        (3, 3, 1, range(1, 9), 400, 200, 120, 60),   # a car
        (4, 4, 1, range(1, 7), 10, 300, 50, 80),     # a cyclist
        (5, 7, 0, range(1, 9), 300, 350, 40, 100),   # a static person: a distractor for every class
        (6, 1, 0, range(3, 9), 520, 10, 40, 100),    # a zero-marked pedestrian: never a target
    ],
    "SEQ-B": [
        (1, 1, 1, range(1, 9), 50, 50, 40, 100),
        (2, 3, 1, range(1, 9), 300, 100, 120, 60),
        (3, 3, 1, range(4, 9), 300, 300, 120, 60),
        (4, 4, 1, range(1, 9), 500, 250, 50, 80),
    ],
}
# (id, class index, frames, x, y, w, h): boxes a little off their gt
PRED = {
    "SEQ-A": [
        (10, 0, range(1, 9), 12, 11, 40, 100),       # follows pedestrian 1
        (11, 0, range(1, 5), 202, 11, 40, 100),      # follows pedestrian 2, then an id switch
        (12, 0, range(5, 9), 202, 11, 40, 100),
        (13, 0, range(1, 9), 302, 351, 40, 100),     # on the static person: dropped
        (14, 0, range(3, 9), 522, 11, 40, 100),      # on the zero-marked pedestrian: false
        (20, 1, range(1, 9), 403, 201, 120, 60),     # follows the car
        (21, 1, range(1, 4), 12, 11, 40, 100),       # a car on pedestrian 1: false for cars
        (30, 2, range(1, 5), 11, 302, 50, 80),       # follows the cyclist, then loses it
        (31, 2, range(2, 5), 302, 351, 40, 100),     # a cyclist on the static person: dropped
    ],
    "SEQ-B": [
        (40, 0, range(1, 9), 51, 52, 40, 100),
        (41, 1, range(1, 9), 302, 101, 120, 60),
        (42, 0, range(4, 9), 302, 301, 120, 60),     # car 3 taken for a pedestrian
        (43, 2, range(1, 9), 502, 251, 50, 80),
    ],
}


def gt_rows(seq: str) -> np.ndarray:
    return np.array([[f, tid, x + 2 * f, y, w, h, mark, num, 1.0] for tid, num, mark, frames, x, y, w, h in GT[seq]
                     for f in frames], dtype=float)


def pred_rows(seq: str) -> np.ndarray:
    """(N, 8): frame, id, x, y, w, h, score, class index."""
    return np.array([[f, tid, x + 2 * f, y, w, h, 0.9, c] for tid, c, frames, x, y, w, h in PRED[seq] for f in frames],
                    dtype=float)


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path)


def write_dataset(tmp_path: Path) -> Path:
    """A MOT-layout root with both sequences and their result files in res/ (class column = class index + 1)."""
    res = tmp_path / "res"
    res.mkdir()
    for seq in GT:
        folder = tmp_path / "images" / "train" / seq
        (folder / "gt").mkdir(parents=True)
        write_seqinfo(folder / "seqinfo.ini", SeqInfo(seq, 30, FRAMES, W, H))
        np.savetxt(folder / "gt" / "gt.txt", gt_rows(seq), fmt="%d,%d,%d,%d,%d,%d,%d,%d,%.1f")
        rows = pred_rows(seq)
        lines = [f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{r[6]:.2f},{int(r[7]) + 1},-1,-1\n"
                 for r in rows]
        (res / f"{seq}.txt").write_text("".join(lines))
    return tmp_path


def trackeval_mot17(tmp: Path, sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, float]]:
    """TrackEval, MOT17 settings, on single-class sequences {name: (gt, preds (N, 7))}: every sequence and COMBINED_SEQ."""
    return trackeval_figures(tmp, sets, frames=FRAMES, width=W, height=H)


def class_set(seq: str, c: int) -> tuple[np.ndarray, np.ndarray]:
    """One class of a sequence as a single-class MOT17 sequence: its gt rows pedestrians (1), the
    distractors kept, every other class's rows cars (3: neither); its predictions only."""
    gt = gt_rows(seq)
    numbers = gt[:, 7].astype(int)
    gt[:, 7] = np.where(np.isin(numbers, RULE.numbers_of(c)), 1, np.where(np.isin(numbers, RULE.distractors), numbers, 3))
    pred = pred_rows(seq)
    return gt, pred[pred[:, 7] == c, :7]


def figures(row: dict) -> dict[str, float]:
    return {k: row[k] for k in FIGURES}


def test_each_class_equals_trackeval_run_on_that_class_alone(dataset, tmp_path):
    report = evaluate_results_dir(dataset / "res", dataset, "train", classes=CLASSES, gt_classes=dict.fromkeys(GT, RULE))
    per_class = report.class_figures()
    assert list(per_class) == CLASSES
    for c, name in enumerate(CLASSES):
        official = trackeval_mot17(tmp_path / f"te-{c}", {seq: class_set(seq, c) for seq in GT})
        assert figures(per_class[name]) == pytest.approx(official["COMBINED_SEQ"], abs=1e-9), name
        for seq in GT:
            row = report.table[(report.table["sequence"] == seq) & (report.table["class"] == name)].iloc[0]
            assert figures(row) == pytest.approx(official[seq], abs=1e-9), (name, seq)
    # the hand count: pedestrians 6 false (14 on the zero-marked one, 42 a car), car 3 (21), cyclist none
    assert [per_class[n]["FP"] for n in CLASSES] == [6 + 5, 3, 0]
    assert [per_class[n]["FN"] for n in CLASSES] == [0, 5, 2]


def test_overall_pools_every_sequence_and_class_and_the_average_is_the_mean(dataset, tmp_path):
    report = evaluate_results_dir(dataset / "res", dataset, "train", classes=CLASSES, gt_classes=dict.fromkeys(GT, RULE))
    pooled = trackeval_mot17(tmp_path / "te", {f"{seq}-{c}": class_set(seq, c) for c in range(3) for seq in GT})
    assert figures(report.overall) == pytest.approx(pooled["COMBINED_SEQ"], abs=1e-9)
    per_class = report.class_figures()
    average = report.class_average
    for key in ("MOTA", "IDF1", "HOTA", "DetA", "AssA"):
        assert average[key] == pytest.approx(np.mean([per_class[n][key] for n in CLASSES]), abs=1e-12)
    assert average["FP"] == sum(per_class[n]["FP"] for n in CLASSES)
    assert report.headline == average
    metrics = tracking_metrics(report)
    assert set(metrics["classes"]) == set(CLASSES)
    assert metrics["class_average"]["HOTA"] == round(average["HOTA"], 6)
    assert metrics["classes"]["car"]["FP"] == 3 and "GT" not in metrics["classes"]["car"]
    assert metrics["MOTA"] == round(report.overall["MOTA"], 6)


def test_a_class_with_nothing_to_score_is_left_out_of_the_average(dataset):
    classes = [*CLASSES, "truck"]  # gt number 5 (motorbike here): no row has it, no prediction is of it
    rule = GtClasses({**RULE.targets, 5: 3}, RULE.distractors)
    report = evaluate_results_dir(dataset / "res", dataset, "train", classes=classes, gt_classes=dict.fromkeys(GT, rule))
    three = evaluate_results_dir(dataset / "res", dataset, "train", classes=CLASSES, gt_classes=dict.fromkeys(GT, RULE))
    assert report.class_average == pytest.approx(three.class_average)


def test_one_class_under_the_benchmarks_rules_scores_as_before(dataset):
    sequences = find_eval_sequences(dataset, "train")
    results = load_results(dataset / "res", sequences)
    assert results["SEQ-A"].shape[1] == 7  # one class: the class column is not read, every row is scored
    before = score_results(sequences, results)
    default = gt_classes("mot", {}, ["pedestrian"], BENCHMARKS["MOT17"].distractors, key="data.class_map")
    after = score_results(sequences, results, classes=["pedestrian"], gt_classes=dict.fromkeys(GT, default))
    pd.testing.assert_frame_equal(after.table, before.table)
    assert list(after.table.columns)[:2] == ["sequence", "MOTA"] and after.class_average is None
    assert "classes" not in tracking_metrics(after)


def test_one_class_of_other_gt_numbers_scores_those_rows(dataset, tmp_path):
    """classes [car] with gt number 3: the cars are the targets (every result row a car)."""
    sequences = find_eval_sequences(dataset, "train")
    results = {s.name: pred_rows(s.name)[pred_rows(s.name)[:, 7] == 1, :7] for s in sequences}
    report = score_results(sequences, results, classes=["car"], gt_classes=dict.fromkeys(GT, GtClasses({3: 0}, (2, 7, 8, 12))))
    official = trackeval_mot17(tmp_path / "te", {seq: class_set(seq, 1) for seq in GT})
    assert figures(report.overall) == pytest.approx(official["COMBINED_SEQ"], abs=1e-9)


def test_the_other_benchmarks_distractors_come_from_the_gt_classes(dataset):
    """MOT20's non-motorised vehicle (6) is a distractor of every class through GtClasses.distractors."""
    gt_path = dataset / "images" / "train" / "SEQ-A" / "gt" / "gt.txt"
    gt = gt_rows("SEQ-A")
    gt[gt[:, 7] == 7, 7] = 6  # the static person becomes a non-motorised vehicle
    np.savetxt(gt_path, gt, fmt="%d,%d,%d,%d,%d,%d,%d,%d,%.1f")
    fp = {}
    for bench in ("MOT17", "MOT20"):
        rule = gt_classes("mot", {}, CLASSES, BENCHMARKS[bench].distractors, key="data.class_map")
        report = evaluate_results_dir(dataset / "res", dataset, "train", bench, classes=CLASSES,
                                      gt_classes=dict.fromkeys(GT, rule))
        fp[bench] = report.class_figures()["pedestrian"]["FP"]
    assert fp == {"MOT17": 6 + 5 + 8, "MOT20": 6 + 5}  # pedestrian 13's 8 rows on it count only under MOT17


def test_results_of_a_class_the_run_lacks_are_refused(dataset):
    with pytest.raises(DataError, match="class 3 \\(column 8\\), but classes has 2"):
        evaluate_results_dir(dataset / "res", dataset, "train", classes=CLASSES[:2], gt_classes=dict.fromkeys(GT, RULE))


def test_the_reader_takes_column_8_as_the_class_number(tmp_path):
    from fairmot.evaluation.sequences import read_result_classes

    path = tmp_path / "r.txt"
    path.write_text("1,1,1,1,5,5,0.9,-1,-1,-1\n1,2,1,1,5,5,0.9,1,-1,-1\n\n1,3,1,1,5,5,0.9,3,-1,-1\n"
                    "1,4,1,1,5,5,0.9\n1,5,1,1,5,5,0.9,2\n")
    assert read_result_classes(path).tolist() == [0, 0, 2, 0, 1]
    path.write_text("1,1,1,1,5,5,0.9,-1,-1,-1\n1,2,1,1,5,5,0.9,car,-1,-1\n")
    with pytest.raises(DataError, match="r.txt:2: class 'car' is not an integer"):
        read_result_classes(path)
