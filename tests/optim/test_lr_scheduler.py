import math

import numpy as np
import pytest

from gradcnn import nn, optim
from gradcnn.errors import DTypeError, ShapeError
from gradcnn.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR


def _optimizer(lrs=(0.1, 0.02), momentum=0.0):
    params = [nn.Parameter(np.zeros(2)) for _ in lrs]
    return optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=1.0,
                     momentum=momentum)


def _torch_optimizer(torch, lrs=(0.1, 0.02)):
    params = [torch.zeros(2, requires_grad=True) for _ in lrs]
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=1.0)


def _sequence(scheduler, steps):
    lrs = [scheduler.get_last_lr()]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return lrs


def test_step_lr_by_hand():
    sched = StepLR(_optimizer(), step_size=2, gamma=0.5)
    lrs = [lr[0] for lr in _sequence(sched, 5)]
    # 0.1 for epochs 0-1, halved at 2 and again at 4
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


def test_cosine_by_hand():
    sched = CosineAnnealingLR(_optimizer(), T_max=4, eta_min=0.01)
    lrs = [lr[0] for lr in _sequence(sched, 4)]
    # 0.01 + 0.09 * (1 + cos(pi * t / 4)) / 2 for t = 0..4
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert lrs[-1] == pytest.approx(0.01, rel=1e-12)


def test_one_cycle_by_hand():
    sched = OneCycleLR(_optimizer(), max_lr=1.0, total_steps=10, anneal_strategy="linear")
    lrs = [lr[0] for lr in _sequence(sched, 9)]
    # warm-up ends at step 0.3 * 10 - 1 = 2: 0.04 -> 1.0 linearly over 2 steps
    assert lrs[:3] == pytest.approx([0.04, 0.52, 1.0], rel=1e-12)
    # then 1.0 -> 0.04 / 1e4 linearly over steps 2..9
    assert lrs[-1] == pytest.approx(4e-6, rel=1e-12)
    assert lrs[5] == pytest.approx(1.0 + (4e-6 - 1.0) * 3 / 7, rel=1e-12)


SCHEDULES = [
    ("StepLR", dict(step_size=3), 20),
    ("StepLR", dict(step_size=1, gamma=0.9), 20),
    ("CosineAnnealingLR", dict(T_max=10), 10),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001), 40),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=50), 50),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=4, steps_per_epoch=7, pct_start=0.25), 28),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=40, three_phase=True), 40),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=33, anneal_strategy="linear", div_factor=10.0,
                        final_div_factor=100.0), 33),
]


@pytest.mark.parametrize("name, config, steps", SCHEDULES,
                         ids=[f"{n}-{c}" for n, c, _ in SCHEDULES])
def test_matches_torch(name, config, steps):
    torch = pytest.importorskip("torch")
    extra = {"cycle_momentum": False} if name == "OneCycleLR" else {}
    ours = getattr(optim.lr_scheduler, name)(_optimizer(), **config)
    theirs = getattr(torch.optim.lr_scheduler, name)(_torch_optimizer(torch), **config, **extra)
    # the same float arithmetic in the same order: the sequences agree exactly
    assert _sequence(ours, steps) == _sequence(theirs, steps)


@pytest.mark.parametrize("name, config", [(n, c) for n, c, _ in SCHEDULES[::2]])
def test_state_dict_round_trip(name, config):
    opt = _optimizer()
    sched = getattr(optim.lr_scheduler, name)(opt, **config)
    _sequence(sched, 5)
    opt2 = _optimizer(lrs=(3.0, 3.0))
    sched2 = getattr(optim.lr_scheduler, name)(opt2, **config)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert _sequence(sched2, 5) == _sequence(sched, 5)


def test_scheduler_errors():
    with pytest.raises(DTypeError, match="expected an Optimizer"):
        StepLR(object(), step_size=1)
    with pytest.raises(ShapeError, match="StepLR: step_size must be a positive int, got 0"):
        StepLR(_optimizer(), step_size=0)
    with pytest.raises(ShapeError, match="CosineAnnealingLR: T_max must be a positive int, got -1"):
        CosineAnnealingLR(_optimizer(), T_max=-1)
    with pytest.raises(ShapeError, match="total_steps, or epochs and steps_per_epoch"):
        OneCycleLR(_optimizer(), max_lr=1.0)
    with pytest.raises(ShapeError, match="pct_start=1.5"):
        OneCycleLR(_optimizer(), max_lr=1.0, total_steps=5, pct_start=1.5)
    with pytest.raises(ShapeError, match="3 max_lr values for 2 param groups"):
        OneCycleLR(_optimizer(), max_lr=[1.0, 2.0, 3.0], total_steps=5)
    sched = OneCycleLR(_optimizer(), max_lr=1.0, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ShapeError, match="stepped 3 times, but total_steps is 2"):
        sched.step()
