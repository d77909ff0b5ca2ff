"""HOTA, DetA, AssA and LocA from TrackEval, run on a temporary MOTChallenge layout.

TrackEval applies its own preprocessing (`JonathonLuiten/TrackEval
trackeval/datasets/mot_challenge_2d_box.py`), run with the BENCHMARK and DO_PREPROC settings of
eval.benchmark (`fairmot.data.formats.mot.BENCHMARKS`): the same rules as `fairmot.evaluation.clear`.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairmot.data.formats.mot import BENCHMARKS, SeqInfo, write_seqinfo
from fairmot.errors import DataError
from fairmot.evaluation.sequences import OVERALL, EvalSequence

_SPLIT, _TRACKER = "fairmot", "fairmot"
_EVAL_CONFIG = {
    "USE_PARALLEL": False, "BREAK_ON_ERROR": True, "RETURN_ON_ERROR": False, "LOG_ON_ERROR": None,
    "PRINT_RESULTS": False, "PRINT_ONLY_COMBINED": True, "PRINT_CONFIG": False,
    "TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True, "OUTPUT_SUMMARY": False,
    "OUTPUT_EMPTY_CLASSES": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
}


def _write_layout(tmp: Path, sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray],
                  benchmark: str) -> Path:
    """GT/ and TRACKERS/ as TrackEval reads them; frames renumbered from 1 (a val half becomes its
    own short sequence), as TrackEval only reads frames 1..seqLength. Returns the GT root."""
    bench = BENCHMARKS[benchmark].trackeval
    gt_root = tmp / "GT"
    trk_root = tmp / "TRACKERS" / f"{bench}-{_SPLIT}" / _TRACKER / "data"
    trk_root.mkdir(parents=True)
    (gt_root / "seqmaps").mkdir(parents=True)
    (gt_root / "seqmaps" / f"{bench}-{_SPLIT}.txt").write_text("name\n" + "".join(f"{s.name}\n" for s in sequences))
    for seq in sequences:
        seq_gt = gt_root / f"{bench}-{_SPLIT}" / seq.name
        (seq_gt / "gt").mkdir(parents=True)
        write_seqinfo(seq_gt / "seqinfo.ini", SeqInfo(seq.name, seq.info.frame_rate, seq.num_frames,
                                                      seq.info.width, seq.info.height))
        shift = np.array([seq.first_frame - 1] + [0] * 8)
        gt = seq.gt - shift
        gt[:, 1] = _compact_ids(gt[:, 1])
        np.savetxt(seq_gt / "gt" / "gt.txt", gt, fmt="%d,%d,%.3f,%.3f,%.3f,%.3f,%d,%d,%.4f")
        preds = results[seq.name]
        rows = np.column_stack([preds[:, 0] - (seq.first_frame - 1), _compact_ids(preds[:, 1]), preds[:, 2:7],
                                -np.ones((len(preds), 3))])
        np.savetxt(trk_root / f"{seq.name}.txt", rows, fmt="%d,%d,%.3f,%.3f,%.3f,%.3f,%.4f,%d,%d,%d")
    return gt_root


def _compact_ids(ids: np.ndarray) -> np.ndarray:
    """Ids renumbered 1..K in order (a relabelling no metric sees): TrackEval sizes a table by the
    largest id (id 10**9 takes 8 GB) and indexes it with the id (a negative id lands on another's row)."""
    return np.unique(ids, return_inverse=True)[1].reshape(-1) + 1


def _run_trackeval(tmp: Path, gt_root: Path, benchmark: str) -> dict[str, Any]:
    import trackeval

    bench = BENCHMARKS[benchmark].trackeval
    dataset_config = {
        "GT_FOLDER": str(gt_root), "TRACKERS_FOLDER": str(tmp / "TRACKERS"),
        "OUTPUT_FOLDER": str(tmp / "out"), "TRACKERS_TO_EVAL": [_TRACKER], "BENCHMARK": bench,
        "SPLIT_TO_EVAL": _SPLIT, "PRINT_CONFIG": False, "DO_PREPROC": BENCHMARKS[benchmark].trackeval_preproc,
    }
    quiet = {"PRINT_CONFIG": False}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            evaluator = trackeval.Evaluator(_EVAL_CONFIG)
            dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
            metrics = [trackeval.metrics.HOTA(quiet), trackeval.metrics.CLEAR(quiet),
                       trackeval.metrics.Identity(quiet)]
            output, _ = evaluator.evaluate([dataset], metrics)
    except Exception as exc:  # noqa: BLE001 - TrackEval's own exception or numpy's, each with a message
        raise DataError(f"TrackEval could not score the results: {exc}") from None
    return output["MotChallenge2DBox"][_TRACKER]


def hota_table(sequences: Sequence[EvalSequence], results: Mapping[str, np.ndarray],
               benchmark: str = "MOT17") -> tuple[pd.DataFrame, dict]:
    """(HOTA/DetA/AssA/LocA per sequence plus OVERALL, TrackEval's raw per-sequence results)."""
    with tempfile.TemporaryDirectory(prefix="trackeval-") as tmp:
        per_seq = _run_trackeval(Path(tmp), _write_layout(Path(tmp), sequences, results, benchmark), benchmark)
    rows = {}
    for name in [s.name for s in sequences] + ["COMBINED_SEQ"]:
        hota = per_seq[name]["pedestrian"]["HOTA"]
        rows[OVERALL if name == "COMBINED_SEQ" else name] = {
            key: float(np.mean(hota[key])) for key in ("HOTA", "DetA", "AssA", "LocA")
        }
    return pd.DataFrame.from_dict(rows, orient="index"), per_seq
