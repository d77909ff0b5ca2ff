"""Class maps: which source label is which class, and how a sequence's gt classes are scored."""

from __future__ import annotations

import pytest

from fairmot.config import DataParams
from fairmot.data.classes import GtClasses, resolve_class_map, sequence_gt_classes
from fairmot.errors import ConfigError


def test_defaults_keep_the_listed_classes_only():
    assert resolve_class_map("mot", {}, ["pedestrian"], key="k") == {"1": 0}
    assert resolve_class_map("mot", {}, ["pedestrian", "cyclist", "car"], key="k") == {"1": 0, "3": 2, "4": 1}
    assert resolve_class_map("visdrone", {}, ["car", "pedestrian"], key="k") == {"1": 1, "4": 0}
    assert resolve_class_map("detection", {}, ["pedestrian"], key="k") == {"person": 0}
    assert resolve_class_map("jde", {}, ["pedestrian"], key="k") == {"0": 0}


def test_one_class_takes_the_main_label_whatever_its_name():
    assert resolve_class_map("mot", {}, ["person"], key="k") == {"1": 0}
    assert resolve_class_map("detection", {}, ["human"], key="k") == {"person": 0}


def test_an_explicit_map_wins_and_must_name_listed_classes():
    assert resolve_class_map("mot", {"1": "car"}, ["pedestrian", "car"], key="k") == {"1": 1}
    with pytest.raises(ConfigError, match=r"data.class_map: truck not in classes"):
        resolve_class_map("mot", {"6": "truck"}, ["pedestrian"], key="data.class_map")


def test_several_classes_none_of_them_known_to_the_kind_is_an_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"data.datasets\[0\].class_map: none of the jde labels"):
        resolve_class_map("jde", {}, ["dog", "cat"], key="data.datasets[0].class_map")


def test_single_source_sequences_score_mot_numbers_and_keep_the_other_distractors(tmp_path):
    for seq in ("A", "B"):
        (tmp_path / "images" / "test" / seq / "gt").mkdir(parents=True)
        (tmp_path / "images" / "test" / seq / "gt" / "gt.txt").write_text("")
    found = sequence_gt_classes(tmp_path, DataParams(), ["pedestrian"], (2, 7, 8, 12))
    assert found == {"A": GtClasses({1: 0}, (2, 7, 8, 12)), "B": GtClasses({1: 0}, (2, 7, 8, 12))}
    data = DataParams(class_map={"1": "pedestrian", "2": "cyclist"})
    rule = sequence_gt_classes(tmp_path, data, ["pedestrian", "cyclist"], (2, 7, 8, 12))["A"]
    assert rule == GtClasses({1: 0, 2: 1}, (7, 8, 12)) and rule.numbers_of(1) == (2,)
