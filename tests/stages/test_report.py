import base64

import cv2
import numpy as np
import pandas as pd

from fairmot.data.formats.mot import SeqInfo, write_results, write_seqinfo
from fairmot.reporting.figures import annotate_frames, plot_per_sequence
from fairmot.reporting.report import ReportInputs, markdown_to_html, render_markdown


def make_inputs():
    per_sequence = pd.DataFrame(
        {"sequence": ["SYN-05", "OVERALL"], "MOTA": [0.712, 0.7], "IDF1": [0.65, 0.64], "HOTA": [0.5, 0.49],
         "IDs": [3, 3], "FP": [10, 10], "FN": [20, 20]}
    )
    return ReportInputs(
        params={"arch": "dla_tiny", "batch_size": 16, "gpus": -1, "num_epochs": 2, "input_w": 320, "input_h": 192,
                "data": {"source": "synthetic", "train_split": "train"}, "eval": {"split": "test"}},
        validation={"success": True, "expectations": 21, "failed": 0},
        train={"loss": 1.25, "hm_loss": 0.5, "samples_per_s": 17.3, "wall_s": 300.0, "epochs": 2,
               "world_size": 1, "peak_memory_mb": 900.0, "device": "cpu", "nID": 21},
        metrics={"MOTA": 0.7, "IDF1": 0.64, "HOTA": 0.49, "IDs": 3, "fps": 41.5, "fps_model": 60.2,
                 "peak_memory_mb": 800.0, "device": "cpu"},
        per_sequence=per_sequence,
        manifest={"nID": 40, "sequences": {"SYN-01": {"split": "train", "frames": 150, "boxes": 1000,
                                                       "identities": 20, "width": 320, "height": 192}}},
    )


def test_markdown_holds_the_figures_as_percentages_and_counts(tmp_path):
    inputs = make_inputs()
    figure = plot_per_sequence(inputs.per_sequence, tmp_path / "figures" / "per_sequence.png")
    text = render_markdown(inputs, {"per_sequence": figure, "training": None}, [], base_dir=tmp_path)
    assert "| 70.0 | 64.0 | 49.0 | 3 |" in text  # overall MOTA, IDF1, HOTA, IDs
    assert "| SYN-05 | 71.2 | 65.0 | 50.0 |" in text
    assert "![per-sequence metrics](figures/per_sequence.png)" in text
    assert "41.5 FPS end to end" in text and "**passed**" in text
    assert "Identities across all sequences: 39; the re-ID classifier learns the training split's: nID = 21." in text


def test_several_classes_get_a_per_class_table_and_class_rows(tmp_path):
    inputs = make_inputs()
    inputs.metrics = {**inputs.metrics, "classes": {
        "pedestrian": {"MOTA": 0.8, "IDF1": 0.7, "HOTA": 0.6, "IDs": 2, "FP": 5, "FN": 7},
        "car": {"MOTA": 0.6, "IDF1": 0.5, "HOTA": 0.4, "IDs": 1, "FP": 3, "FN": 4}},
        "class_average": {"MOTA": 0.7, "IDF1": 0.6, "HOTA": 0.5, "IDs": 3, "FP": 8, "FN": 11}}
    inputs.per_sequence = pd.DataFrame({"sequence": ["SYN-05", "SYN-05", "OVERALL"], "class": ["pedestrian", "car", "all"],
                                        "MOTA": [0.8, 0.6, 0.7], "IDF1": [0.7, 0.5, 0.64], "HOTA": [0.6, 0.4, 0.49]})
    figure = plot_per_sequence(inputs.per_sequence, tmp_path / "figures" / "per_sequence.png")
    text = render_markdown(inputs, {"per_sequence": figure}, [], base_dir=tmp_path)
    assert "| class | MOTA | IDF1 | HOTA | IDs | FP | FN |" in text
    assert "| car | 60.0 | 50.0 | 40.0 | 1 | 3 | 4 |" in text
    assert "| class average | 70.0 | 60.0 | 50.0 | 3 | 8 | 11 |" in text
    assert "| SYN-05 | car | 60.0 | 50.0 | 40.0 |" in text and figure is not None
    assert "| class |" not in render_markdown(make_inputs(), {}, [], base_dir=tmp_path)  # one class: no such table


def test_html_is_self_contained(tmp_path):
    inputs = make_inputs()
    figure = plot_per_sequence(inputs.per_sequence, tmp_path / "figures" / "per_sequence.png")
    html = markdown_to_html(render_markdown(inputs, {"per_sequence": figure}, [], base_dir=tmp_path), tmp_path)
    assert 'src="figures/' not in html
    encoded = html.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(encoded) == figure.read_bytes()
    assert "<table>" in html


def test_annotated_frame_draws_each_result_box(tmp_path):
    seq = tmp_path / "images" / "test" / "SEQ"
    (seq / "img1").mkdir(parents=True)
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ", 30, 2, 64, 48))
    for frame in (1, 2):
        cv2.imwrite(str(seq / "img1" / f"{frame:06d}.jpg"), np.full((48, 64, 3), 255, np.uint8))
    write_results(tmp_path / "results" / "SEQ.txt", [(1, 7, 10, 10, 12, 20, 1.0), (2, 7, 12, 10, 12, 20, 1.0)])
    [shot] = annotate_frames(tmp_path / "images" / "test", tmp_path / "results", 1, tmp_path / "out")
    image = cv2.imread(str(shot))
    assert image.shape[1] == 640  # small frames are enlarged 10x for the page
    # The box outline is drawn in colour, the untouched background stays white.
    assert image[5, 5].min() > 230
    assert (np.abs(image.astype(int) - 255).sum(axis=2) > 150).sum() > 100


def test_the_report_shows_the_last_ten_rows_of_the_history_and_its_figure(tmp_path):
    from fairmot.reporting.history import History, history_markdown

    rows = pd.DataFrame({"commit": [f"c{i:07d}" for i in range(12)], "date": "2024-01-01 12:00",
                         "subject": [f"run {i}" for i in range(12)], "MOTA": [i / 100 for i in range(12)],
                         "IDF1": 0.5, "HOTA": 0.4, "fps": 10.0, "memory_mb": 100.0, "device": "cpu",
                         "train_memory_mb": 900.0, "train_device": "cpu"})
    inputs = make_inputs()
    inputs.history = history_markdown(History(rows, visible=20, shallow=True))
    figure = tmp_path / "history.png"
    figure.write_bytes(b"\x89PNG")
    text = render_markdown(inputs, {"history": figure}, [], base_dir=tmp_path)
    section = text.split("## Across commits\n")[1]
    assert "![metrics across commits](history.png)" in section
    assert "20 commits visible (shallow clone" in section and "The last 10 of 12 rows" in section
    assert "| c0000001 |" not in section and "| c0000002 | 2024-01-01 12:00 | run 2 | 2.0 |" in section
    assert section.count("\n| c0") == 10  # rows 2..11


def test_without_history_the_report_says_how_to_make_it(tmp_path):
    text = render_markdown(make_inputs(), {}, [], base_dir=tmp_path)
    assert "## Across commits\n\nRun `fairmot history`" in text


def test_annotated_frames_of_several_classes_colour_each_box_by_its_class(tmp_path):
    seq = tmp_path / "images" / "test" / "SEQ"
    (seq / "img1").mkdir(parents=True)
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ", 30, 1, 64, 48))
    cv2.imwrite(str(seq / "img1" / "000001.jpg"), np.full((48, 64, 3), 255, np.uint8))
    # ids 6 and 12 take the same shade; class 0 is red, class 1 blue
    write_results(tmp_path / "results" / "SEQ.txt", [(1, 6, 4, 14, 12, 20, 1.0, 0), (1, 12, 40, 14, 12, 20, 1.0, 1)],
                  classes=2)
    [shot] = annotate_frames(tmp_path / "images" / "test", tmp_path / "results", 1, tmp_path / "out",
                             names=("pedestrian", "car"))
    image = cv2.imread(str(shot)).astype(int)
    b, g, r = image[..., 0], image[..., 1], image[..., 2]
    red, blue = (r > 200) & (g < 80) & (b < 80), (b > 200) & (g < 80) & (r < 80)
    boxes = slice(145, 345)  # the box outlines (rows 140-340 at 10x), below the labels above each box
    assert red[boxes, :320].sum() > 100 and blue[boxes, 320:].sum() > 100
    assert blue[boxes, :320].sum() == 0 and red[boxes, 320:].sum() == 0
