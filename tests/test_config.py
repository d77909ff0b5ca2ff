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
    ("synthetic:\n  width: 300\n", r"'synthetic.width' and synthetic.height must be multiples of 32"),
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
