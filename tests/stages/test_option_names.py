"""A bad option value is one line naming the option the user typed (issue 20 items 9 and 18).

Every stage passes its overrides to read_params as (option, value); these run each command up to
its params check, which comes before any data or network is read."""

import ast
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from stages.app import app

STAGES = Path(__file__).resolve().parents[2] / "stages"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("args, message", [
    # the options whose name is not the key's last part were reported as --n-trials, --n-jobs, --methods,
    # --report-frames and --gate-tolerance
    (["tune", "--trials", "-5"], "command-line option --trials: 'tune.n_trials' = -5 must be an integer >= 1"),
    (["tune", "--jobs", "0"], "command-line option --jobs: 'tune.n_jobs' = 0 must be an integer >= 1"),
    (["tune", "--method", "sort"], "command-line option --method: 'tune.methods' = ['sort'] must list some of jde, bytetrack and botsort"),
    (["report", "--frames", "-1"], "command-line option --frames: 'eval.report_frames' = -1 must be an integer >= 0"),
    (["compare", "--tolerance", "inf"], "command-line option --tolerance: 'eval.gate_tolerance' = inf must be a finite "
                                         "number in [0, 1] (a drop of the metrics, which are fractions)"),
    (["detect", "--split", "dev"], "command-line option --split: 'eval.split' = 'dev' must be one of 'test', 'val', 'train'"),
    (["detect", "--det-floor", "0.9"], "command-line option --det-floor: 'track.det_floor' = 0.9 must lie between 0 "
                                       "and track.conf_thres (0.3)"),
    (["detect", "--batch", "10000"], "command-line option --batch: 'eval.batch' = 10000 must be a positive number of "
                                     "frames per network pass, at most 256 (detect holds the whole batch in memory at once)"),
    (["evaluate", "--conf-thres", "nan"], "command-line option --conf-thres: 'track.conf_thres' = nan must be between 0 and 1"),
    (["train", "--batch-size", "0"], "command-line option --batch-size: 'batch_size' = 0 must be an integer >= 1"),
    (["train", "--lr", "nan"], "command-line option --lr: 'lr' = nan must be a finite number > 0"),
])
def test_a_bad_option_value_names_the_option_typed(args, message, params_file):
    done = invoke(*args, "--params", params_file)
    assert done.exit_code == 1
    assert done.output.strip() == f"error: {message}"


@pytest.mark.parametrize("value, shown", [("-5", "-5.0"), ("0", "0.0"), ("inf", "inf"), ("nan", "nan")])
def test_track_refuses_a_frame_rate_that_is_not_a_positive_finite_number(value, shown, params_file, tmp_path):
    done = invoke("track", tmp_path / "clip.mp4", "--params", params_file, "--frame-rate", value)
    assert done.exit_code == 1
    assert done.output.strip() == (f"error: command-line option --frame-rate = {shown} must be a finite number > 0 "
                                   "(frames per second)")


def _read_params_options(path: Path) -> list[str]:
    """The option of every override a stage module passes to read_params (key=("--option", value))."""
    options = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "read_params":
            for keyword in node.keywords:
                assert isinstance(keyword.value, ast.Tuple), f"{path.name}: {keyword.arg} is not (option, value)"
                options.append(ast.literal_eval(keyword.value.elts[0]))
    return options


def test_every_override_names_an_option_of_its_own_command():
    commands = typer.main.get_command(app).commands.values()
    checked = 0
    for path in sorted(STAGES.glob("*.py")):
        declared = {opt for c in commands if c.callback.__module__ == f"stages.{path.stem}" for p in c.params for opt in p.opts}
        for option in _read_params_options(path):
            assert option in declared, f"{path.name}: read_params names {option}, which its command does not have"
            checked += 1
    assert checked >= 25  # tune 4, detect 4, evaluate 6, track 3, train 10, download 3, report 1, compare 1
