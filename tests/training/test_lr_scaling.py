"""lr_scale and warmup_iters: the lr follows the batch (linear or sqrt rule) after a linear warm-up.

The optimiser's lr is read from its param_groups at every step (optimizer_step wrapped), so these
pin what Adam actually used, on the tiny stand-ins of test_train_resume (12 items, batch 3: 4 steps an epoch).
"""

from __future__ import annotations

import functools
import math

import pytest

import fairmot.training.loop as loop
from fairmot.config import Params
from fairmot.training import TrainingInterrupted, load_checkpoint
from fairmot.training.parts import WARMUP_START, lr_for_epoch, scaled_lr, warmup_lr
from tests.training.test_train_resume import _index_in_step, assert_same_state, tiny_config, tiny_parts, train


@pytest.fixture
def step_lrs(monkeypatch):
    """Every optimiser step's lr per param group, as the optimiser holds it when it steps."""
    seen: list[list[float]] = []
    real = loop.optimizer_step

    def recording(loss, optimizer, scaler):
        seen.append([group["lr"] for group in optimizer.param_groups])
        real(loss, optimizer, scaler)

    monkeypatch.setattr(loop, "optimizer_step", recording)
    return seen


def test_linear_and_sqrt_scaling_of_the_reference_lr_to_batch_144():
    assert scaled_lr(1e-4, 144, 12, "linear") == pytest.approx(1.2e-3, rel=1e-12)
    assert scaled_lr(1e-4, 144, 12, "sqrt") == pytest.approx(3.4641016e-4, rel=1e-7)
    assert scaled_lr(1e-4, 6, 12, "linear") == pytest.approx(5e-5, rel=1e-12)
    lr = 5.0e-4
    assert scaled_lr(lr, 144, 12, "none") is lr  # not a float computed from it


def test_warmup_ramps_linearly_from_a_thousandth_and_then_stays():
    assert WARMUP_START == 0.001  # mmdetection's LinearLR start_factor
    assert warmup_lr(1e-3, 0, 100) == pytest.approx(1e-6, rel=1e-12)
    assert warmup_lr(1e-3, 25, 100) == pytest.approx(1e-3 * (0.001 + 0.999 * 0.25), rel=1e-12)
    assert warmup_lr(1e-3, 100, 100) == 1e-3
    assert warmup_lr(1e-3, 250, 100) == 1e-3
    assert warmup_lr(1e-3, 0, 0) == 1e-3


def test_defaults_none_and_no_warmup_give_exactly_the_step_schedule(tmp_path, step_lrs):
    p = Params()
    assert (p.lr_scale, p.lr_base_batch, p.warmup_iters) == ("none", 12, 0)
    train(tiny_config(tmp_path))  # lr 0.01, lr_step [1], 2 epochs of 4 steps, batch 3
    expected = [lr_for_epoch(0.01, [1], 1)] * 4 + [lr_for_epoch(0.01, [1], 2)] * 4
    assert step_lrs == [[lr, lr] for lr in expected]  # exact floats, both param groups


def test_linear_scaling_with_warmup_sets_the_optimiser_lr_step_by_step(tmp_path, step_lrs):
    # batch 3 at lr_base_batch 1: 3 x 0.01; warm-up over the first 3 steps, then x0.1 after epoch 1
    train(tiny_config(tmp_path, lr_scale="linear", lr_base_batch=1, warmup_iters=3))
    top = 0.03
    ramp = [top * (WARMUP_START + (1 - WARMUP_START) * k / 3) for k in range(3)]
    expected = ramp + [top] + [top * 0.1] * 4
    assert [group[0] for group in step_lrs] == pytest.approx(expected, rel=1e-12)
    assert all(a == b for a, b in step_lrs)  # the loss module's group follows the network's
    saved = load_checkpoint(tmp_path / "model.pt")
    assert [g["lr"] for g in saved["optimizer"]["param_groups"]] == pytest.approx([0.003, 0.003], rel=1e-12)


def test_sqrt_scaling_over_a_warmup_that_crosses_the_lr_drop(tmp_path, step_lrs):
    train(tiny_config(tmp_path, lr_scale="sqrt", lr_base_batch=12, warmup_iters=6))
    top = 0.01 * math.sqrt(3 / 12)
    factors = [WARMUP_START + (1 - WARMUP_START) * k / 6 for k in range(6)] + [1.0, 1.0]
    epochs = [top] * 4 + [top * 0.1] * 4
    assert [group[0] for group in step_lrs] == pytest.approx([e * f for e, f in zip(epochs, factors)], rel=1e-12)


def test_a_run_interrupted_in_the_warmup_resumes_the_ramp_where_it_stopped(tmp_path, step_lrs):
    settings = dict(lr_scale="linear", lr_base_batch=6, warmup_iters=6)
    train(tiny_config(tmp_path / "a", **settings))
    straight = list(step_lrs)
    step_lrs.clear()
    interrupt = functools.partial(tiny_parts, interrupt=(2, _index_in_step(2, step=2)))  # stops after global step 6
    with pytest.raises(TrainingInterrupted):
        train(tiny_config(tmp_path / "b", build=interrupt, **settings))
    train(tiny_config(tmp_path / "b", resume=True, **settings))
    assert step_lrs == straight  # 6 steps before the Ctrl-C, 2 after the resume, the same lr every step
    assert_same_state(load_checkpoint(tmp_path / "a" / "model.pt"), load_checkpoint(tmp_path / "b" / "model.pt"))


def test_the_log_names_the_effective_lr_and_where_it_comes_from():
    p = Params(lr=1e-4, batch_size=144, lr_scale="linear", warmup_iters=500, lr_step=[20])
    assert loop.describe_lr(p, scaled_lr(p.lr, p.batch_size, p.lr_base_batch, p.lr_scale)) == (
        "learning rate 0.0012 (lr 0.0001 scaled linear by batch 144 / lr_base_batch 12), "
        "warm-up from 1.2e-06 over 500 steps, x0.1 after epoch(s) 20")
    assert loop.describe_lr(Params(), 5e-4) == "learning rate 0.0005, x0.1 after epoch(s) 10"
