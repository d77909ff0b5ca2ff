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
