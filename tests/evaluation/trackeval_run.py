"""TrackEval's own MotChallenge2DBox on hand-made single-class sequences: the oracle the scoring
tests compare against."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from fairmot.data.formats.mot import SeqInfo, write_seqinfo


def trackeval_figures(tmp: Path, sets: dict[str, tuple[np.ndarray, np.ndarray]], *, benchmark: str = "MOT17",
                      do_preproc: bool = True, frames: int, width: int, height: int) -> dict[str, dict[str, float]]:
    """{sequence or COMBINED_SEQ: MOTA, IDF1, HOTA, FP, FN, IDs} of sequences {name: (gt (N, 9), preds (N, 7))},
    with run_mot_challenge.py's settings for `benchmark`."""
    import trackeval

    split = f"{benchmark}-train"
    (tmp / "gt" / "seqmaps").mkdir(parents=True)
    (tmp / "gt" / "seqmaps" / f"{split}.txt").write_text("name\n" + "".join(f"{n}\n" for n in sets))
    (tmp / "trk" / split / "t" / "data").mkdir(parents=True)
    for name, (gt, pred) in sets.items():
        (tmp / "gt" / split / name / "gt").mkdir(parents=True)
        write_seqinfo(tmp / "gt" / split / name / "seqinfo.ini", SeqInfo(name, 30, frames, width, height))
        np.savetxt(tmp / "gt" / split / name / "gt" / "gt.txt", gt.reshape(-1, 9), fmt="%d,%d,%d,%d,%d,%d,%d,%d,%.1f")
        rows = np.column_stack([pred.reshape(-1, 7), -np.ones((len(pred), 3))])
        np.savetxt(tmp / "trk" / split / "t" / "data" / f"{name}.txt", rows, fmt="%d,%d,%d,%d,%d,%d,%.2f,%d,%d,%d")
    config = {"GT_FOLDER": str(tmp / "gt"), "TRACKERS_FOLDER": str(tmp / "trk"), "BENCHMARK": benchmark,
              "SPLIT_TO_EVAL": "train", "DO_PREPROC": do_preproc, "PRINT_CONFIG": False}
    quiet = {"PRINT_CONFIG": False}
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = trackeval.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                                         "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
                                         "TIME_PROGRESS": False})
        output, _ = evaluator.evaluate([trackeval.datasets.MotChallenge2DBox(config)],
                                       [trackeval.metrics.HOTA(quiet), trackeval.metrics.CLEAR(quiet),
                                        trackeval.metrics.Identity(quiet)])
    out = {}
    for name, res in output["MotChallenge2DBox"]["t"].items():
        res = res["pedestrian"]
        out[name] = {"MOTA": res["CLEAR"]["MOTA"], "IDF1": res["Identity"]["IDF1"],
                     "HOTA": float(np.mean(res["HOTA"]["HOTA"])), "FP": res["CLEAR"]["CLR_FP"],
                     "FN": res["CLEAR"]["CLR_FN"], "IDs": res["CLEAR"]["IDSW"]}
    return out
