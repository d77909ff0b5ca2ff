"""MOTChallenge scoring: which frames are scored (sequences), CLEAR/identity (clear, motmetrics),
HOTA (hota, TrackEval), each class on its own (per_class) and the tables and metrics dict the evaluate stage writes (summary)."""

from fairmot.evaluation.clear import IOU_THRESHOLD, clear_table, preprocess_frame
from fairmot.evaluation.hota import hota_table
from fairmot.evaluation.per_class import ALL_CLASSES, CLASS_AVERAGE, class_rules
from fairmot.evaluation.sequences import (
    EVAL_IMAGE_FOLDER,
    EVAL_SPLITS,
    OVERALL,
    EvalSequence,
    check_result_rows,
    find_eval_sequences,
    load_results,
    split_frame_range,
    split_image_folder,
)
from fairmot.evaluation.summary import (
    COUNT_COLUMNS,
    METRIC_COLUMNS,
    EvalReport,
    evaluate_results_dir,
    format_table,
    score_results,
    tracking_metrics,
    write_reports,
)

__all__ = [
    "ALL_CLASSES", "CLASS_AVERAGE", "COUNT_COLUMNS", "EVAL_IMAGE_FOLDER", "EVAL_SPLITS", "IOU_THRESHOLD", "METRIC_COLUMNS", "OVERALL",
    "EvalReport", "EvalSequence", "check_result_rows", "class_rules", "clear_table", "evaluate_results_dir",
    "find_eval_sequences", "format_table", "hota_table", "load_results",
    "preprocess_frame", "score_results", "split_frame_range", "split_image_folder", "tracking_metrics",
    "write_reports",
]
