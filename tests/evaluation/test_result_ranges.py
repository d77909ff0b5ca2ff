"""Result files are range-checked when loaded: every impossible value is named by file and line."""

import typing

import numpy as np
import pytest

from fairmot.config import EvalParams
from fairmot.data.formats.mot import SeqInfo, write_gt, write_seqinfo
from fairmot.errors import DataError
from fairmot.evaluation import (
    EVAL_SPLITS,
    evaluate_results_dir,
    find_eval_sequences,
    load_results,
)

GOOD = "1,1,10,50,40,100,0.9,-1,-1,-1\n"


@pytest.fixture
def gt_root(tmp_path):
    seq = tmp_path / "images" / "train" / "SEQ-01"
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-01", 30, 3, 640, 480))
    write_gt(seq / "gt" / "gt.txt", np.array([[f, 1, 10, 50, 40, 100, 1, 1, 1.0] for f in (1, 2, 3)], float))
    return tmp_path


@pytest.mark.parametrize(("bad_line", "message"), [
    ("2,1,10,50,nan,100,0.9,-1,-1,-1", "a NaN or infinite value"),
    ("2,1,10,50,40,inf,0.9,-1,-1,-1", "a NaN or infinite value"),
    ("2,1,10,50,-40,100,0.9,-1,-1,-1", "box size -40x100 is not positive"),
    ("2,1,10,50,40,0,0.9,-1,-1,-1", "box size 40x0 is not positive"),
    ("2.5,1,10,50,40,100,0.9,-1,-1,-1", "frame 2.5 is not a frame of SEQ-01"),
    ("2,1.5,10,50,40,100,0.9,-1,-1,-1", "id 1.5 is not an integer"),
    ("2,2.5,10,50,40,100,0.9,-1,-1,-1", "id 2.5 is not an integer"),
    ("2,nan,10,50,40,100,0.9,-1,-1,-1", "a NaN or infinite value"),
    # past int64 (TrackEval used to fail on an overflowed index) and past float64's exact integers
    ("2,1e20,10,50,40,100,0.9,-1,-1,-1", "id 1e+20 is beyond ±2**53, past which ids are not read exactly"),
    ("2,-9007199254740994,10,50,40,100,0.9,-1,-1,-1", "id -9.0072e+15 is beyond ±2**53"),
])
def test_an_impossible_result_value_is_refused_with_its_file_and_line(gt_root, bad_line, message):
    results = gt_root / "res"
    results.mkdir()
    # a blank line before the bad row: the reported line is the file's, not the row count
    (results / "SEQ-01.txt").write_text(GOOD + "\n" + bad_line + "\n")
    with pytest.raises(DataError) as info:
        evaluate_results_dir(results, gt_root, "train")
    text = str(info.value)
    assert f"SEQ-01.txt:3: {message}" in text and str(results) in text


def test_valid_result_rows_load_unchanged(gt_root):
    results = gt_root / "res"
    results.mkdir()
    (results / "SEQ-01.txt").write_text(GOOD + "3,2,1.5,2.5,3.25,4.75,0.5,-1,-1,-1\n")
    rows = load_results(results, find_eval_sequences(gt_root, "train"))["SEQ-01"]
    np.testing.assert_allclose(rows, [[1, 1, 10, 50, 40, 100, 0.9], [3, 2, 1.5, 2.5, 3.25, 4.75, 0.5]])


def test_evaluation_splits_are_the_params_literal():
    assert typing.get_args(typing.get_type_hints(EvalParams)["split"]) == EVAL_SPLITS
    assert set(EVAL_SPLITS) == {"test", "val", "train"}


def test_an_unknown_split_names_the_allowed_ones(gt_root):
    with pytest.raises(DataError, match="unknown evaluation split 'dev'; use one of test, val, train"):
        find_eval_sequences(gt_root, "dev")


def test_a_folder_in_place_of_a_result_file_is_one_line(gt_root):
    (gt_root / "res" / "SEQ-01.txt").mkdir(parents=True)
    with pytest.raises(DataError) as info:
        evaluate_results_dir(gt_root / "res", gt_root, "train")
    assert str(info.value) == f"{gt_root / 'res' / 'SEQ-01.txt'}: a folder, not a result file; replace it with the result file"


def test_a_folder_in_place_of_a_gt_file_is_one_line(gt_root):
    gt = gt_root / "images" / "train" / "SEQ-01" / "gt" / "gt.txt"
    gt.unlink()
    gt.mkdir()
    with pytest.raises(DataError, match="gt.txt: a folder, not a ground-truth file"):
        find_eval_sequences(gt_root, "train")


def test_ids_may_be_any_integers_negative_or_large(tmp_path):
    """TrackEval sizes a table by the largest id and indexes it with the id: ids are renumbered first."""
    seq = tmp_path / "gt" / "SEQ-01"
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-01", 30, 3, 640, 480))
    write_gt(seq / "gt" / "gt.txt", np.array(
        [[f, tid, x, 50, 40, 100, 1, 1, 1.0] for f in (1, 2, 3) for tid, x in ((1, 10), (2, 300))], float))
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "SEQ-01.txt").write_text("".join(
        f"{f},{tid},{x},50,40,100,0.9,-1,-1,-1\n" for f in (1, 2, 3) for tid, x in ((-1, 10), (10**12, 300))))
    overall = evaluate_results_dir(tmp_path / "res", tmp_path / "gt", "test").overall
    assert (overall["HOTA"], overall["IDF1"], overall["MOTA"], overall["IDs"]) == (1.0, 1.0, 1.0, 0)


def _sequence(folder, name, frames=4, gt=True):
    write_seqinfo(folder / name / "seqinfo.ini", SeqInfo(name, 30, frames, 640, 480))
    if gt:
        write_gt(folder / name / "gt" / "gt.txt", np.array([[f, 1, 10, 50, 40, 100, 1, 1, 1.0] for f in range(1, frames + 1)]))


@pytest.mark.parametrize(("folders", "named"), [
    ({"train": True, "test": False}, ["train"]),              # MOT20/: test has no public gt
    ({"train": True, "val": True, "test": False}, ["train", "val"]),  # DanceTrack/
])
@pytest.mark.parametrize("split", EVAL_SPLITS)
def test_a_benchmark_download_root_names_its_folders_of_sequences(tmp_path, folders, named, split):
    root = tmp_path / "BENCH"
    for i, (folder, has_gt) in enumerate(folders.items()):
        _sequence(root / folder, f"BENCH-0{i}", gt=has_gt)
    with pytest.raises(DataError) as info:
        find_eval_sequences(root, split)
    listed = ", ".join(f"{f}/" for f in sorted(folders))
    assert str(info.value) == (f"{root}: a benchmark folder ({listed}), not a folder of sequences; pass the folder "
                               f"of the sequences to score: {' or '.join(str(root / f) for f in named)}")


def test_a_folder_of_sequences_and_a_dataset_root_are_read_as_documented(tmp_path, gt_root):
    """docs/evaluation.md's table: a plain folder's test = its sequences with gt, whole; val = the
    second halves (frames N//2+1..N); a dataset root reads images/train for train and val."""
    _sequence(tmp_path / "plain", "A-01", frames=5)
    _sequence(tmp_path / "plain", "A-02", frames=5, gt=False)
    spans = {split: [(s.name, s.first_frame, s.last_frame) for s in find_eval_sequences(folder, split)]
             for split, folder in (("test", tmp_path / "plain"), ("val", gt_root), ("train", gt_root))}
    assert spans == {"test": [("A-01", 1, 5)], "val": [("SEQ-01", 2, 3)], "train": [("SEQ-01", 1, 3)]}
