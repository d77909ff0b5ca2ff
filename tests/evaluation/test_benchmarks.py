"""eval.benchmark: each benchmark's preprocessing, checked against TrackEval run as the official scripts do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fairmot.data.formats.mot import BENCHMARKS, SeqInfo, write_seqinfo
from tests.evaluation.trackeval_run import trackeval_figures

W, H, FRAMES = 640, 480, 6

# gt rows: frame, id, x, y, w, h, mark, class, visibility
GT_TRACKS = [  # (id, class, mark, frames, x, y)
    (1, 1, 1, range(1, 7), 10, 10),     # pedestrians
    (2, 1, 1, range(1, 7), 200, 10),
    (3, 6, 0, range(1, 7), 400, 10),    # non-motorised vehicle: a distractor in MOT20 only
    (4, 7, 0, range(1, 4), 10, 300),    # static person: a distractor in MOT17 and MOT20
    (5, 1, 0, range(4, 7), 200, 300),   # zero-marked pedestrian: never a target
    (7, 2, 1, range(1, 3), 400, 300),   # person on vehicle, marked 1: a target only in DanceTrack's plain gt
]
PRED_TRACKS = [  # (id, frames, x, y)
    (10, range(1, 7), 12, 11),          # follows 1
    (11, range(1, 4), 202, 11),         # follows 2, then an id switch to 12
    (12, range(4, 7), 202, 11),
    (13, range(1, 7), 402, 11),         # on the vehicle
    (14, range(1, 4), 12, 301),         # on the static person
    (15, range(4, 7), 202, 301),        # on the zero-marked pedestrian
    (16, (2, 5), 550, 400),             # on nothing
]


def fixture_rows() -> tuple[np.ndarray, np.ndarray]:
    gt = [[f, tid, x + 3 * f, y, 60, 120, mark, cls, 1.0] for tid, cls, mark, frames, x, y in GT_TRACKS for f in frames]
    pred = [[f, tid, x + 3 * f, y, 60, 120, 0.9] for tid, frames, x, y in PRED_TRACKS for f in frames]
    return np.array(gt, dtype=float), np.array(pred, dtype=float)


def trackeval_official(tmp: Path, benchmark: str, do_preproc: bool, gt: np.ndarray | None = None) -> dict[str, float]:
    """MOTA, IDF1, HOTA, FP, FN from TrackEval's MotChallenge2DBox with run_mot_challenge.py's settings."""
    fixture_gt, pred = fixture_rows()
    gt = fixture_gt if gt is None else gt
    figures = trackeval_figures(tmp, {"SEQ-01": (gt, pred)}, benchmark=benchmark, do_preproc=do_preproc,
                                frames=FRAMES, width=W, height=H)["COMBINED_SEQ"]
    return {k: figures[k] for k in ("MOTA", "IDF1", "HOTA", "FP", "FN")}


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_trackeval_settings_of_each_benchmark_give_its_documented_counts(tmp_path, name):
    rules = BENCHMARKS[name]
    official = trackeval_official(tmp_path, rules.trackeval, rules.trackeval_preproc)
    # 26 prediction rows: 12 on pedestrians 1 and 2, 6 on the vehicle, 3 on the static person,
    # 3 on the zero-marked pedestrian, 2 on nothing; targets 12 (+ 2 person-on-vehicle rows in DanceTrack)
    expected = {"MOT17": (6 + 3 + 2, 0), "MOT20": (3 + 2, 0), "DanceTrack": (6 + 3 + 3 + 2, 2)}[name]
    assert (official["FP"], official["FN"]) == expected


def our_scores(tmp: Path, benchmark: str, gt: np.ndarray | None = None) -> dict[str, float]:
    from fairmot.evaluation import EvalSequence, score_results

    fixture_gt, pred = fixture_rows()
    gt = fixture_gt if gt is None else gt
    seq = EvalSequence("SEQ-01", tmp, SeqInfo("SEQ-01", 30, FRAMES, W, H), 1, FRAMES, gt)
    overall = score_results([seq], {"SEQ-01": pred}, benchmark).overall
    return {k: overall[k] for k in ("MOTA", "IDF1", "HOTA", "FP", "FN")}


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_our_scores_equal_trackevals_own_for_each_benchmark(tmp_path, name):
    rules = BENCHMARKS[name]
    official = trackeval_official(tmp_path / "official", rules.trackeval, rules.trackeval_preproc)
    ours = our_scores(tmp_path, name)
    assert ours == pytest.approx(official, abs=1e-9)


def test_the_benchmarks_differ_where_their_rules_do(tmp_path):
    mot17, mot20, dance = (our_scores(tmp_path, name) for name in ("MOT17", "MOT20", "DanceTrack"))
    assert (mot17["FP"], mot20["FP"], dance["FP"]) == (11, 5, 14)  # the vehicle is a distractor in MOT20 only
    assert (mot17["FN"], mot20["FN"], dance["FN"]) == (0, 0, 2)  # person-on-vehicle rows are DanceTrack targets
    assert mot20["MOTA"] > mot17["MOTA"] > dance["MOTA"]


def test_on_dancetrack_style_gt_plain_scoring_equals_dancetracks_own_script(tmp_path):
    """DanceTrack's script runs TrackEval with MOT17 settings; on its gt (all class 1, mark 1) that is plain scoring."""
    gt, _ = fixture_rows()
    plain = gt[gt[:, 6] == 1].copy()
    plain[:, 7] = 1
    dancetrack_script = trackeval_official(tmp_path / "official", "MOT17", True, plain)
    ours = our_scores(tmp_path, "DanceTrack", plain)
    assert ours == pytest.approx(dancetrack_script, abs=1e-9)
    assert (ours["FP"], ours["FN"]) == (6 + 3 + 3 + 2, 2)


@pytest.mark.parametrize(("benchmark", "fp"), [("MOT17", 11), ("MOT20", 5)])
def test_evaluate_command_scores_with_the_benchmark_option(tmp_path, benchmark, fp):
    import json

    from typer.testing import CliRunner

    from fairmot.data.formats.mot import write_gt
    from stages.app import app

    gt, pred = fixture_rows()
    seq = tmp_path / "images" / "train" / "SEQ-01"
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-01", 30, FRAMES, W, H))
    write_gt(seq / "gt" / "gt.txt", gt)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "SEQ-01.txt").write_text(
        "".join(f"{int(r[0])},{int(r[1])},{r[2]},{r[3]},{r[4]},{r[5]},1,-1,-1,-1\n" for r in pred))
    result = CliRunner().invoke(app, ["evaluate", "--gt", str(tmp_path), "--results", str(tmp_path / "results"),
                                      "--split", "train", "--benchmark", benchmark, "--reports", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "rep" / "metrics.json").read_text())["FP"] == fp
