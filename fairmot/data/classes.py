"""Which object class each source label is: params `classes` and the per-dataset `class_map`.

Inside the pipeline a class is its position in `classes` (0 = the main class): the first column of
a label line, the heatmap channel, the re-ID classifier, the track set. The MOT-layout gt.txt keeps
its source's class numbers (MOT17's 1 = pedestrian, 3 = car, 4 = bicycle); `class_map` says which
of them are which class, and every label no class takes is left out of training and scoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fairmot.config import DataParams
from fairmot.data.record import read_record
from fairmot.errors import ConfigError

PEDESTRIAN = "pedestrian"
# A kind's own labels -> class names, used when its class_map is {}; entries naming a class that
# `classes` lacks are dropped. mot/synthetic: MOT17 class numbers (the street preset draws cyclists
# as 4, bicycle); detection: CrowdHuman's tag; jde: the label files' class column; visdrone:
# VisDrone2019-MOT categories (1 pedestrian, 4 car).
DEFAULT_CLASS_MAPS: dict[str, dict[str, str]] = {
    "mot": {"1": PEDESTRIAN, "3": "car", "4": "cyclist"},
    "synthetic": {"1": PEDESTRIAN, "3": "car", "4": "cyclist"},
    "detection": {"person": PEDESTRIAN},
    "jde": {"0": PEDESTRIAN},
    "visdrone": {"1": PEDESTRIAN, "4": "car"},
}
# The label of each kind that a single-class run takes whatever its one class is called
_MAIN_LABEL = {"mot": "1", "synthetic": "1", "detection": "person", "jde": "0", "visdrone": "1"}


def resolve_class_map(kind: str, class_map: Mapping[str, str], classes: Sequence[str], *, key: str) -> dict[str, int]:
    """{source label: class index} for a dataset of `kind`; `key` names its class_map in errors.

    An explicit map must name only classes in `classes`. The default keeps the kind's labels whose
    class is listed; with one class, the kind's main label (pedestrians) is that class whatever
    its name, so `classes: [person]` trains on MOT17's pedestrians as `[pedestrian]` does.
    """
    index = {name: i for i, name in enumerate(classes)}
    if class_map:
        unknown = sorted({name for name in class_map.values() if name not in index})
        if unknown:
            raise ConfigError(f"{key}: {', '.join(unknown)} not in classes {list(classes)}; "
                              "map labels only onto listed classes (or add the class to classes)")
        return {str(label): index[name] for label, name in class_map.items()}
    resolved = {label: index[name] for label, name in DEFAULT_CLASS_MAPS[kind].items() if name in index}
    if len(classes) == 1 and not resolved:
        resolved = {_MAIN_LABEL[kind]: 0}
    if not resolved:
        raise ConfigError(f"{key}: none of the {kind} labels {DEFAULT_CLASS_MAPS[kind]} is one of classes "
                          f"{list(classes)}; set {key} to map the source's labels onto them")
    return resolved


def numbered(class_map: Mapping[str, int], key: str = "class_map") -> dict[int, int]:
    """A resolved class map ({label: class index}) of class numbers (gt.txt's class column, a jde label
    file's first column) as {number: class index}."""
    try:
        return {int(float(label)): c for label, c in class_map.items()}
    except ValueError:
        raise ConfigError(f"{key}: labels {sorted(class_map)} are not class numbers; this source numbers its "
                          "classes (MOT gt.txt: 1 pedestrian, 3 car, ...; jde labels: 0, 1, ...)") from None


@dataclass(frozen=True)
class GtClasses:
    """How a sequence's gt.txt class numbers are scored: which number is which class index, and
    which numbers are distractors (predictions matched to them count neither way)."""

    targets: dict[int, int]
    distractors: tuple[int, ...]

    def numbers_of(self, class_index: int) -> tuple[int, ...]:
        return tuple(sorted(n for n, c in self.targets.items() if c == class_index))


def gt_classes(kind: str, class_map: Mapping[str, str], classes: Sequence[str], distractors: Sequence[int], *,
               key: str) -> GtClasses:
    """A sequence source's GtClasses: `distractors` (the benchmark's) minus the numbers a class takes."""
    return _scoring_rule(resolve_class_map(kind, class_map, classes, key=key), distractors, key)


def single_source_rule(data: DataParams, classes: Sequence[str], distractors: Sequence[int]) -> GtClasses:
    """The GtClasses of every sequence of a single-source folder (single_source_class_map)."""
    return _scoring_rule(single_source_class_map(data, classes), distractors, "data.class_map")


def _scoring_rule(class_map: Mapping[str, int], distractors: Sequence[int], key: str) -> GtClasses:
    targets = numbered(class_map, key)
    return GtClasses(targets, tuple(int(n) for n in distractors if int(n) not in targets))


def single_source_class_map(data: DataParams, classes: Sequence[str]) -> dict[str, int]:
    """{gt class number: class index} of a single-source folder: data.class_map over the kind of
    fairmot.data.sources.resolve_datasets(data)[0] (synthetic or mot, the same MOT numbers)."""
    kind = "synthetic" if data.source == "synthetic" else "mot"
    return resolve_class_map(kind, data.class_map, classes, key="data.class_map")


def entry_class_map(entry: Mapping, data: DataParams, classes: Sequence[str]) -> dict[str, int]:
    """{source label: class index} of a datasets.json entry: the gt numbering its import recorded
    ("gt_classes": a CVAT or VisDrone import), else its data.datasets class_map over its kind."""
    if "gt_classes" in entry:
        return {str(n): list(classes).index(name) for n, name in entry["gt_classes"].items() if name in classes}
    found = [(i, d) for i, d in enumerate(data.datasets) if d.name == entry["name"]]
    i, class_map = (found[0][0], found[0][1].class_map) if found else (None, {})
    return resolve_class_map(entry["kind"], class_map, classes, key=f"data.datasets[{i}].class_map")


def sequence_gt_classes(dataset_root: Path, data: DataParams, classes: Sequence[str], distractors: Sequence[int]
                        ) -> dict[str, GtClasses]:
    """{sequence name: GtClasses} for every sequence of the dataset folder that has gt.txt.

    A single-source folder: every sequence follows data.class_map over MOT class numbers. A mixed
    folder (datasets.json): each dataset's sequences follow its own class_map, or the numbering its
    import recorded (`gt_classes`: a CVAT or VisDrone export written in `classes` order).
    """
    record = read_record(dataset_root)
    if record is None:
        return _for_sequences(dataset_root, None, single_source_rule(data, classes, distractors))
    found: dict[str, GtClasses] = {}
    for entry in record:
        if entry.get("sequences"):
            # an import that renumbered gt.txt recorded its own distractors (VisDrone's 0 and 11)
            rule = _scoring_rule(entry_class_map(entry, data, classes), entry.get("distractors", distractors),
                                 f"{entry['name']}: class_map")
            found.update(_for_sequences(dataset_root, entry["sequences"], rule))
    return found


def _for_sequences(dataset_root: Path, names: Sequence[str] | None, rule: GtClasses) -> dict[str, GtClasses]:
    if names is None:
        names = sorted({p.parent.parent.name for p in Path(dataset_root).glob("images/*/*/gt/gt.txt")})
    return dict.fromkeys(names, rule)
