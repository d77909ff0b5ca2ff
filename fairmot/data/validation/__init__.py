"""Great-expectations suites over the dataset, the labels and the images, with Data Docs.

Why a separate validation step: a bad gt row or a stale label file does not crash training, it
silently teaches the network the wrong thing. Four suites run on pandas tables built here:

- gt:           every gt.txt row (frame within 1..seqLength, w, h > 0, class 1..12, mark 0/1,
                visibility in [0, 1], unique (sequence, frame, id)).
- labels:       every label line (class index of `classes`, ids in 1..nID-1, w, h > 0, centres within [-0.5, 1.5]:
                boxes past the image edge are legitimate in MOT17, wild values are not).
- label_counts: per sequence, one label line per kept gt row and one label file per frame.
- images:       every frame 1..seqLength present, decodable, of the size seqinfo.ini states.
- classes:      every class of `classes` has boxes and identities in the training split.
- datasets:     (mixed datasets only, fairmot/data/mixed_checks.py) frames, identities, id ranges
                and missing images per dataset; the detection and jde sets' label lines and
                images join the labels and images suites.

great_expectations is imported only when the suites run (with analytics off): it takes seconds.
Data Docs of identical inputs are byte-identical (run named after a hash of the tables, epoch run
time, render-time noise pinned), so `dvc repro` leaves dvc.lock alone.

Modules: tables (the pandas tables and their expectations), images (the images table's checks),
suites (great_expectations and reproducible Data Docs), report (validate_dataset, the summary).
"""

from fairmot.data.validation.images import _decodes, _image_size
from fairmot.data.validation.report import ValidationResult, input_error_summary, validate_dataset
from fairmot.data.validation.suites import EXAMPLES, FIXED_RUN_TIME
from fairmot.data.validation.tables import CENTRE_MARGIN, MOT_CLASSES, _parse_label, build_tables

__all__ = [
    "CENTRE_MARGIN", "EXAMPLES", "FIXED_RUN_TIME", "MOT_CLASSES", "ValidationResult", "_decodes", "_image_size",
    "_parse_label", "build_tables", "input_error_summary", "validate_dataset",
]
