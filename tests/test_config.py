"""The one params loader: defaults, overrides, and errors that name the key and the fix."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

from fairmot.config import (
    MOT17_SDP_SEQUENCES,
    EvalParams,
    Params,
    load_params,
    parse_gpus,
)
from fairmot.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def params_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_repository_params_yaml_loads_and_matches_its_file():
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    p = load_params(REPO / "params.yaml")
    assert isinstance(p, Params)
    assert (p.arch, p.batch_size, p.input_w, p.input_h) == (raw["arch"], raw["batch_size"], raw["input_w"], raw["input_h"])
    assert p.data.source == raw["data"]["source"] and p.synthetic.frames == raw["synthetic"]["frames"]


def test_missing_keys_take_the_shipped_params_yaml_values(tmp_path):
    p = load_params(params_file(tmp_path, "batch_size: 4\n"))
    assert p.batch_size == 4
    assert (p.input_w, p.input_h, p.lr, p.num_epochs, p.lr_step, p.track.conf_thres, p.synthetic.density) == (
        320, 192, 0.0005, 12, [10], 0.4, 8.0)


def test_dataclass_defaults_equal_the_shipped_params_yaml():
    # One source of defaults: a key left out of params.yaml means exactly the shipped value.
    assert dataclasses.asdict(Params()) == dataclasses.asdict(load_params(REPO / "params.yaml"))
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    assert set(raw) == {f.name for f in dataclasses.fields(Params)}  # the file states every key


def test_an_empty_params_file_is_an_error_not_a_run_on_unstated_values(tmp_path):
    for text in ("", "# nothing\n", "{}\n"):
        with pytest.raises(ConfigError, match=r"params.yaml: the params file is empty"):
            load_params(params_file(tmp_path, text))


def test_archs_and_eval_splits_are_derived_from_their_one_definition():
    from fairmot import config
    from fairmot.architectures import DEFAULT_HEAD_CONV
    from fairmot.models import ARCHITECTURES

    assert tuple(ARCHITECTURES) == config.ARCHS
    assert {arch: head_conv for arch, (_, head_conv) in ARCHITECTURES.items()} == DEFAULT_HEAD_CONV
    assert typing.get_args(typing.get_type_hints(EvalParams)["split"]) == config.EVAL_SPLITS
    assert set(config.EVAL_SPLITS) == {"test", "val", "train"}


def test_loading_params_imports_no_network_or_array_library():
    # Every stage loads params.yaml first; download, labels, validate and report never build a network.
    heavy = ("torch", "torchvision", "cv2", "pandas", "numpy", "scipy", "PIL")
    code = (f"import sys; from fairmot.config import load_params; load_params({str(REPO / 'params.yaml')!r}); "
            f"print(*sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


@pytest.mark.parametrize("value", [0, -2, -10])
def test_num_iters_zero_or_below_minus_one_is_rejected(tmp_path, value):
    with pytest.raises(ConfigError, match=rf"'num_iters' = {value} must be a positive number of iterations per epoch, or -1"):
        load_params(params_file(tmp_path, f"num_iters: {value}\n"))
    assert load_params(params_file(tmp_path, "num_iters: -1\n")).num_iters == -1


def test_eval_batch_must_be_a_positive_frame_count(tmp_path):
    with pytest.raises(ConfigError, match=r"'eval.batch' = 0 must be a positive number of frames per network pass"):
        load_params(params_file(tmp_path, "eval:\n  batch: 0\n"))
    assert load_params(params_file(tmp_path, "eval:\n  batch: 4\n")).eval.batch == 4


@pytest.mark.parametrize("text, hint", [
    ("lr: 5e-4\n", "write 5.0e-4 or 0.0005"),
    ("lr: 1E-3\n", "write 1.0e-3 or 0.001"),
])
def test_yaml_1_1_exponent_floats_read_as_strings_get_a_hint(tmp_path, text, hint):
    with pytest.raises(ConfigError, match=rf"'lr' = '.*' must be a number \(YAML reads .* as a string.*{hint}"):
        load_params(params_file(tmp_path, text))
    assert load_params(params_file(tmp_path, "lr: 5.0e-4\n")).lr == 0.0005


def test_a_bad_override_is_reported_as_the_command_line_option_not_the_file(tmp_path):
    path = params_file(tmp_path, "num_iters: 5\n")
    with pytest.raises(ConfigError) as caught:
        load_params(path, {"num_iters": 0})
    assert str(caught.value).startswith("command-line option --num-iters: 'num_iters' = 0")
    assert "params.yaml" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"^command-line option --conf-thres: 'track.conf_thres' = 1.5"):
        load_params(path, {"track.conf_thres": 1.5})
    with pytest.raises(ConfigError, match=r"^command-line option --amp: 'amp' = 'fast'"):
        load_params(path, {"amp": "fast"})
    # the same mistake in the file names the file
    with pytest.raises(ConfigError, match=r"params.yaml: 'num_iters' = 0"):
        load_params(params_file(tmp_path, "num_iters: 0\n"))


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("false", False), ("off", False), ("\"off\"", "off"), ("auto", "auto"), ("bf16", "bf16"), ("fp16", "fp16"),
])
def test_amp_takes_a_mode_or_a_yaml_boolean(tmp_path, value, expected):
    assert load_params(params_file(tmp_path, f"amp: {value}\n")).amp == expected


@pytest.mark.parametrize("value", ['"true"', "yes_please", "1", "fp8"])
def test_amp_rejects_anything_else_naming_the_modes(tmp_path, value):
    with pytest.raises(ConfigError, match=r"'amp' = .* must be (one of off, auto, bf16, fp16|true or false)"):
        load_params(params_file(tmp_path, f"amp: {value}\n"))


def test_misspelt_top_level_key_names_it_and_the_nearest_valid_key(tmp_path):
    with pytest.raises(ConfigError, match=r"params.yaml: unknown parameter 'batch_sise'; did you mean 'batch_size'\?"):
        load_params(params_file(tmp_path, "batch_sise: 8\n"))


def test_misspelt_nested_key_names_its_full_path_and_the_nearest_valid_key(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown parameter 'track.conf_thresh'; did you mean 'track.conf_thres'\?"):
        load_params(params_file(tmp_path, "track:\n  conf_thresh: 0.5\n"))
    with pytest.raises(ConfigError, match=r"unknown parameter 'synthetic.frame'; did you mean 'synthetic.frames'\?"):
        load_params(params_file(tmp_path, "synthetic:\n  frame: 10\n"))


@pytest.mark.parametrize("text, message", [
    ("batch_size: abc\n", r"'batch_size' = 'abc' must be an integer"),
    ("batch_size: 2.5\n", r"'batch_size' = 2.5 must be an integer"),
    ("batch_size: true\n", r"'batch_size' = True must be an integer"),
    ("lr: fast\n", r"'lr' = 'fast' must be a number"),
    ("lr_step: [10, x]\n", r"'lr_step\[1\]' = 'x' must be an integer"),
    ("data:\n  sequences: MOT17-02-SDP\n", r"'data.sequences' = 'MOT17-02-SDP' must be a list of a string"),
    ("data:\n  source: kitti\n", r"'data.source' = 'kitti' must be one of 'synthetic', 'mot17', 'local'"),
    ("track: 3\n", r"'track' must be a section"),
])
def test_wrong_type_names_the_key_and_the_expected_type(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_params(params_file(tmp_path, text))


@pytest.mark.parametrize("value", ['"true"', '"false"', "yes_please", "1"])
def test_string_or_number_booleans_are_rejected(tmp_path, value):
    with pytest.raises(ConfigError, match=r"'augment' = .* must be true or false \(a YAML boolean, not a string\)"):
        load_params(params_file(tmp_path, f"augment: {value}\n"))


def test_yaml_booleans_are_accepted(tmp_path):
    assert load_params(params_file(tmp_path, "augment: false\nnot_cuda_benchmark: true\n")).augment is False


def test_numbers_widen_to_float_and_a_scalar_lr_step_becomes_a_list(tmp_path):
    p = load_params(params_file(tmp_path, "lr: 1\nlr_step: 20\n"))
    assert p.lr == 1.0 and isinstance(p.lr, float)
    assert p.lr_step == [20]


@pytest.mark.parametrize("value, ids", [
    (-1, []), ("-1", []), (0, [0]), ("0", [0]), ("0,1,2,3", [0, 1, 2, 3]), ("2, 3", [2, 3]),
    ([0, 1], [0, 1]), ("[4,5]", [4, 5]),
])
def test_gpus_parses_cpu_one_gpu_and_gpu_lists(value, ids):
    assert parse_gpus(value) == ids


@pytest.mark.parametrize("value, message", [
    ("a,b", "is not a GPU list"), ("0,0", "distinct GPU indices"), ("-2", "distinct GPU indices"),
])
def test_bad_gpu_lists_are_rejected(value, message):
    with pytest.raises(ConfigError, match=message):
        parse_gpus(value)


def test_gpus_from_the_file_and_from_an_override(tmp_path):
    path = params_file(tmp_path, "gpus: 0,1,2,3\n")
    assert load_params(path).gpu_ids == [0, 1, 2, 3]
    assert load_params(path, {"gpus": "-1"}).gpu_ids == []
    with pytest.raises(ConfigError, match="gpus"):
        load_params(path, {"gpus": "0,x"})


def test_cli_overrides_win_over_the_file_and_none_leaves_it_alone(tmp_path):
    path = params_file(tmp_path, "batch_size: 8\nlr: 0.001\ntrack:\n  conf_thres: 0.4\n")
    p = load_params(path, {"batch_size": 144, "lr": None, "track.conf_thres": 0.5, "data.source": "mot17"})
    assert (p.batch_size, p.lr, p.track.conf_thres, p.data.source) == (144, 0.001, 0.5, "mot17")
    assert p.track.track_buffer == 30  # the rest of the section keeps its default


def test_override_of_an_unknown_or_badly_typed_key_is_named(tmp_path):
    path = params_file(tmp_path, "batch_size: 8\n")
    with pytest.raises(ConfigError, match=r"unknown parameter 'track.conf'; did you mean 'track.conf_thres'\?"):
        load_params(path, {"track.conf": 0.5})
    with pytest.raises(ConfigError, match=r"'num_epochs' = 'ten' must be an integer"):
        load_params(path, {"num_epochs": "ten"})


@pytest.mark.parametrize("text, message", [
    ("input_w: 1000\n", r"'input_w' = 1000 must be a positive multiple of 32"),
    ("arch: dla35\n", r"'arch' = 'dla35' is not a known network.*did you mean 'dla34'"),
    ("track:\n  conf_thres: 1.5\n", r"'track.conf_thres' = 1.5 must be between 0 and 1"),
    ("data:\n  source: local\n", r"'data.path' must name a MOT17-layout folder or zip"),
    ("synthetic:\n  width: 300\n", r"'synthetic.width' = 300 must be a positive multiple of 32"),
    ("synthetic:\n  height: 0\n", r"'synthetic.height' = 0 must be a positive multiple of 32"),
    ("data:\n  max_extract_gb: 0\n", r"'data.max_extract_gb' = 0.0 must be a positive number of GB"),
    ("data:\n  max_compression_ratio: 0.5\n", r"'data.max_compression_ratio' = 0.5 must be at least 1"),
])
def test_out_of_range_values_name_the_key_and_the_fix(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_params(params_file(tmp_path, text))


def test_missing_or_malformed_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="params file not found; run from the project root or pass --params FILE"):
        load_params(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(params_file(tmp_path, "batch_size: [\n"))
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_params(params_file(tmp_path, "- 1\n- 2\n"))


def test_mot17_sdp_sequences_are_the_seven_training_sequences():
    assert [f"MOT17-{n:02d}-SDP" for n in (2, 4, 5, 9, 10, 11, 13)] == MOT17_SDP_SEQUENCES


def _numeric_keys(section: object = None, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, default) of every int and float of the schema; gpus has its own parser."""
    keys = []
    for f in dataclasses.fields(section or Params()):
        value = getattr(section or Params(), f.name)
        if dataclasses.is_dataclass(value):
            keys += _numeric_keys(value, f"{prefix}{f.name}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and f.name != "gpus":
            keys.append((f"{prefix}{f.name}", value))
    return keys


def _yaml_of(key: str, value: str) -> str:
    *section, leaf = key.split(".")
    return f"{section[0]}:\n  {leaf}: {value}\n" if section else f"{leaf}: {value}\n"


@pytest.mark.parametrize("key", [key for key, _ in _numeric_keys()])
def test_every_numeric_key_refuses_a_large_negative_value_naming_the_key(tmp_path, key):
    value = -1000000000.0 if isinstance(dict(_numeric_keys())[key], float) else -1000000000
    with pytest.raises(ConfigError, match=rf"params.yaml: '{key}' = {value} must (be|lie) "):
        load_params(params_file(tmp_path, _yaml_of(key, str(value))))


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize("key", [key for key, value in _numeric_keys() if isinstance(value, float)])
def test_every_float_key_refuses_nan_and_infinity(tmp_path, key, text):
    shown = {".nan": "nan", ".inf": "inf", "-.inf": "-inf"}[text]
    with pytest.raises(ConfigError, match=rf"params.yaml: '{key}' = {shown} must (be|lie) "):
        load_params(params_file(tmp_path, _yaml_of(key, text)))


@pytest.mark.parametrize("text, message", [
    # issue 20 item 9: these ran and gave MOTA 0 or more switches (K: -1 was a traceback)
    ("track:\n  min_box_area: .inf\n", r"'track.min_box_area' = inf must be a finite number >= 0 \(square pixels\)$"),
    ("track:\n  max_aspect_ratio: -1\n", r"'track.max_aspect_ratio' = -1.0 must be a finite number > 0 \(width / height\)$"),
    ("track:\n  track_buffer: -5\n", r"'track.track_buffer' = -5 must be an integer >= 0 "),
    ("track:\n  K: 0\n", r"'track.K' = 0 must be an integer >= 1 \(candidates decoded per frame\)$"),
    ("track:\n  K: -1\n", r"'track.K' = -1 must be an integer >= 1 "),
    ("track:\n  low_thres: 1.5\n", r"'track.low_thres' = 1.5 must be a finite number in \[0, 1\]$"),
    # item 15: zero frames made an empty dataset
    ("synthetic:\n  frames: 0\n", r"'synthetic.frames' = 0 must be an integer >= 2 \(the val split is the second half"),
    ("synthetic:\n  density: 0\n", r"'synthetic.density' = 0.0 must be a finite number > 0 "),
    ("synthetic:\n  ignore_fraction: 1.5\n", r"'synthetic.ignore_fraction' = 1.5 must be a finite number in \[0, 1\]$"),
    ("eval:\n  gate_tolerance: 2\n", r"'eval.gate_tolerance' = 2.0 must be a finite number in \[0, 1\] "),
    ("seed: -1\n", r"'seed' = -1 must be an integer in \[0, 4294967295\]$"),
    ("tune:\n  seed: 4294967296\n", r"'tune.seed' = 4294967296 must be an integer in \[0, 4294967295\]$"),
    ("head_conv: -2\n", r"'head_conv' = -2 must be an integer >= -1 \(-1 = the architecture's default, 0 = no hidden conv\)$"),
    ("lr_step: [10, 0]\n", r"'lr_step\[1\]' = 0 must be an epoch number >= 1"),
    ("lr: .nan\n", r"'lr' = nan must be a finite number > 0$"),
    # the checks of two keys at once named only the first, whichever was wrong
    ("tune:\n  n_jobs: 0\n", r"'tune.n_jobs' = 0 must be an integer >= 1$"),
    ("synthetic:\n  val_sequences: 0\n", r"'synthetic.val_sequences' = 0 must be an integer >= 1$"),
])
def test_out_of_range_tracker_decoder_and_dataset_values_name_the_key_and_the_range(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_params(params_file(tmp_path, text))


def test_values_at_the_edges_of_their_ranges_load(tmp_path):
    p = load_params(params_file(tmp_path, "head_conv: 0\nseed: 4294967295\ntrack:\n  K: 1\n  track_buffer: 0\n"
                                           "  min_box_area: 0\nsynthetic:\n  frames: 2\neval:\n  batch: 256\n"))
    assert (p.head_conv, p.seed, p.track.K, p.track.track_buffer, p.track.min_box_area, p.synthetic.frames,
            p.eval.batch) == (0, 4294967295, 1, 0, 0.0, 2, 256)


def test_eval_batch_is_bounded_because_detect_allocates_the_whole_batch(tmp_path):
    # issue 20 item 10: eval.batch 10000 was OOM-killed instead of refused
    with pytest.raises(ConfigError, match=r"'eval.batch' = 10000 must be a positive number of frames per network pass, "
                                          r"at most 256 \(detect holds the whole batch in memory at once\)"):
        load_params(params_file(tmp_path, "eval:\n  batch: 10000\n"))
    with pytest.raises(ConfigError, match=r"^command-line option --batch: 'eval.batch' = 257 "):
        load_params(params_file(tmp_path, "eval:\n  batch: 4\n"), {"eval.batch": 257})


def test_an_override_is_reported_as_the_option_the_user_typed(tmp_path):
    path = params_file(tmp_path, "batch_size: 8\n")
    # issue 20 item 18: --trials -5 was reported as --n-trials
    with pytest.raises(ConfigError, match=r"^command-line option --trials: 'tune.n_trials' = -5 must be an integer >= 1$"):
        load_params(path, {"tune.n_trials": -5}, {"tune.n_trials": "--trials"})
    with pytest.raises(ConfigError, match=r"^command-line option --method: 'tune.methods' = \['x'\] must list"):
        load_params(path, {"tune.methods": ["x"]}, {"tune.methods": "--method"})
    with pytest.raises(ConfigError, match=r"^command-line option --k: unknown parameter 'track.k'; did you mean 'track.K'"):
        load_params(path, {"track.k": 5}, {"track.k": "--k"})
    # a key without a stated option keeps the derived name (library callers)
    with pytest.raises(ConfigError, match=r"^command-line option --n-jobs: 'tune.n_jobs' = 0"):
        load_params(path, {"tune.n_jobs": 0})


def test_a_params_file_that_is_not_utf8_text_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes(b"arch: \xff\n")
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (byte 0xff at offset 6); save the params file as UTF-8"


def test_a_params_file_that_is_a_folder_or_unreadable_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as caught:
        load_params(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a folder, not a params file; pass --params FILE"
    path = params_file(tmp_path, "arch: dla_tiny\n")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", denied)  # chmod 000 does not stop root
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    assert str(caught.value) == f"{path}: cannot read the params file (Permission denied)"


def test_invalid_yaml_is_reported_on_one_line_with_its_position(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_params(params_file(tmp_path, "arch: dla_tiny\nbatch_size: [\n"))
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{tmp_path / 'params.yaml'}: not valid YAML (line 3, column 1: expected")


def test_classes_and_class_maps_are_checked_and_number_keys_read_as_text(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("classes: [pedestrian, car]\ndata:\n  class_map: {1: pedestrian, 3: car}\n")
    params = load_params(path)
    assert params.classes == ["pedestrian", "car"] and params.data.class_map == {"1": "pedestrian", "3": "car"}
    path.write_text("classes: [pedestrian]\ndata:\n  class_map: {3: car}\n")
    with pytest.raises(ConfigError, match=r"'data.class_map.3'.*'car' is not one of classes"):
        load_params(path)
    path.write_text("classes: [car, car]\n")
    with pytest.raises(ConfigError, match="names a class twice"):
        load_params(path)
    path.write_text("classes: []\n")
    with pytest.raises(ConfigError, match="at least one class"):
        load_params(path)
