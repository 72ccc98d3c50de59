"""Tests of gradcnn/optim/lr_scheduler.py: learning rates (and OneCycleLR's momentum) step for
step against torch.optim.lr_scheduler (exact equality: the same arithmetic in the same order),
parameters after training steps, resuming with last_epoch, state dicts, errors."""

import math
import warnings

import numpy as np
import pytest

import gradcnn
from gradcnn import nn, optim
from gradcnn.errors import DTypeError, ShapeError
from gradcnn.optim.lr_scheduler import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SchedulerResumeError,
    SequentialLR,
    StepLR,
)


def _optimizer(lrs=(0.1, 0.02), momentum=0.0):
    params = [nn.Parameter(np.zeros(2)) for _ in lrs]
    return optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=1.0,
                     momentum=momentum)


def _torch_optimizer(torch, lrs=(0.1, 0.02), momentum=0.0):
    params = [torch.zeros(2, requires_grad=True) for _ in lrs]
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=1.0,
                           momentum=momentum)


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


def _step_lr(step):
    return 0.5 ** (step // 3)


class _Warmup:
    """A callable object: LambdaLR's state_dict keeps its attributes."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, step):
        return min(1.0, (step + 1) / self.steps)


SCHEDULES += [
    ("MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.5), 20),
    ("MultiStepLR", dict(milestones=(5,)), 10),
    ("ExponentialLR", dict(gamma=0.9), 20),
    ("LambdaLR", dict(lr_lambda=_step_lr), 15),
    ("LambdaLR", dict(lr_lambda=[_Warmup(4), _step_lr]), 15),
    ("LinearLR", dict(), 10),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.5, total_iters=7), 12),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=4), 8),
    ("CosineAnnealingWarmRestarts", dict(T_0=5), 23),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001), 40),
]


@pytest.mark.parametrize("name, config, steps", SCHEDULES,
                         ids=[f"{n}-{c}" for n, c, _ in SCHEDULES])
def test_matches_torch(name, config, steps):
    torch = pytest.importorskip("torch")
    ours = getattr(optim.lr_scheduler, name)(_optimizer(momentum=0.9), **config)
    theirs = getattr(torch.optim.lr_scheduler, name)(_torch_optimizer(torch, momentum=0.9), **config)
    # the same float arithmetic in the same order: the sequences agree exactly
    assert _sequence(ours, steps) == _sequence(theirs, steps)
    assert ours.last_epoch == theirs.last_epoch == steps


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
    with pytest.raises(ShapeError, match="StepLR: step_size must be >= 1, got step_size=0"):
        StepLR(_optimizer(), step_size=0)
    with pytest.raises(ShapeError, match="CosineAnnealingLR: T_max must be >= 1, got T_max=-1"):
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
    with pytest.raises(ShapeError, match="stepped 3 times, but the schedule has total_steps=2"):
        sched.step()


# -- momentum cycling and parameters after training --------------------------------------------------


def _train_both(torch, name, opt_config, sched_name, sched_config, steps, seed=0):
    """The same optimizer and scheduler in gradcnn and torch over ``steps`` steps of random
    gradients; returns both (params, optimizer, scheduler) and the per-step records."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    groups = lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}]  # noqa: E731
    opt = getattr(optim, name)(groups(ours), **opt_config)
    topt = getattr(torch.optim, name)(groups(theirs), foreach=False, **opt_config)
    sched = getattr(optim.lr_scheduler, sched_name)(opt, **sched_config)
    tsched = getattr(torch.optim.lr_scheduler, sched_name)(topt, **sched_config)
    records = []
    for _ in range(steps):
        for p, t in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad, t.grad = gradcnn.from_numpy(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        keys = [k for k in ("momentum", "betas") if k in opt.param_groups[0]]
        records.append(([[g[k] for k in keys] for g in opt.param_groups],
                        [[g[k] for k in keys] for g in topt.param_groups],
                        sched.get_last_lr(), tsched.get_last_lr()))
    return (ours, theirs), records


@pytest.mark.parametrize("name, opt_config, sched_config", [
    ("SGD", dict(lr=0.1, momentum=0.9), dict(max_lr=0.5, total_steps=30)),
    ("SGD", dict(lr=0.1, momentum=0.0, nesterov=False), dict(max_lr=[0.5, 0.2], total_steps=30, three_phase=True,
                                                            base_momentum=[0.8, 0.7], max_momentum=0.9)),
    ("Adam", dict(lr=0.01), dict(max_lr=0.05, total_steps=30, anneal_strategy="linear")),
    ("AdamW", dict(lr=0.01), dict(max_lr=0.05, epochs=3, steps_per_epoch=10, base_momentum=0.6)),
    ("NAdam", dict(lr=0.01), dict(max_lr=0.05, total_steps=30)),
    ("RMSprop", dict(lr=0.01, momentum=0.5), dict(max_lr=0.05, total_steps=30)),
    ("Adam", dict(lr=0.01), dict(max_lr=0.05, total_steps=30, cycle_momentum=False)),
])
def test_one_cycle_cycles_momentum_like_torch(name, opt_config, sched_config):
    torch = pytest.importorskip("torch")
    (ours, theirs), records = _train_both(torch, name, opt_config, "OneCycleLR", sched_config, 29)
    for our_momenta, their_momenta, our_lr, their_lr in records:
        assert our_momenta == [[tuple(v) if isinstance(v, (tuple, list)) else v for v in g] for g in their_momenta]
        assert our_lr == their_lr
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p._data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_one_cycle_needs_momentum_or_betas_to_cycle():
    opt = optim.Adagrad([nn.Parameter(np.zeros(2))])
    with pytest.raises(ShapeError, match="cycle_momentum=True needs an optimizer with momentum or betas"):
        OneCycleLR(opt, max_lr=0.1, total_steps=10)
    OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)


@pytest.mark.parametrize("sched_name, sched_config", [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2)),
    ("LinearLR", dict(start_factor=0.2, total_iters=6)),
])
def test_parameters_after_training_match_torch(sched_name, sched_config):
    torch = pytest.importorskip("torch")
    (ours, theirs), records = _train_both(torch, "SGD", dict(lr=0.1, momentum=0.9), sched_name, sched_config, 15)
    assert [r[2] for r in records] == [r[3] for r in records]
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p._data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


# -- SequentialLR, ReduceLROnPlateau, step(epoch) ------------------------------------------------------


@pytest.mark.parametrize("parts, milestones", [
    ([("LinearLR", dict(start_factor=0.1, total_iters=4)), ("ExponentialLR", dict(gamma=0.9))], [4]),
    ([("ExponentialLR", dict(gamma=0.5)), ("CosineAnnealingLR", dict(T_max=6)), ("StepLR", dict(step_size=2))],
     [3, 9]),
    ([("ConstantLR", None), ("MultiStepLR", dict(milestones=[2, 4]))], [1]),
])
def test_sequential_matches_torch(parts, milestones):
    torch = pytest.importorskip("torch")
    parts = [(n, c) if c is not None else ("LinearLR", dict(start_factor=0.5, total_iters=1)) for n, c in parts]
    opt, topt = _optimizer(), _torch_optimizer(torch)
    ours = SequentialLR(opt, [getattr(optim.lr_scheduler, n)(opt, **c) for n, c in parts], milestones)
    theirs = torch.optim.lr_scheduler.SequentialLR(
        topt, [getattr(torch.optim.lr_scheduler, n)(topt, **c) for n, c in parts], milestones)
    assert _sequence(ours, 18) == _sequence(theirs, 18)
    assert ours.last_epoch == theirs.last_epoch


METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.89, 0.89, 0.9, 0.91, 0.92, 0.93, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8,
           0.8, 0.8, 0.8, 0.8, 0.8, 0.8]


@pytest.mark.parametrize("config", [
    dict(patience=2),
    dict(mode="max", patience=1, factor=0.5),
    dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    dict(mode="max", patience=0, threshold_mode="abs", min_lr=[0.05, 0.001]),
    dict(patience=0, factor=0.5, min_lr=0.03, eps=1e-3),
])
def test_reduce_on_plateau_matches_torch(config):
    torch = pytest.importorskip("torch")
    ours = ReduceLROnPlateau(_optimizer(), **config)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(_torch_optimizer(torch), **config)
    assert ours.get_last_lr() == theirs.get_last_lr()
    for metric in METRICS:
        ours.step(metric)
        theirs.step(torch.tensor(metric, dtype=torch.float64))
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert (ours.last_epoch, ours.num_bad_epochs, ours.cooldown_counter, ours.best) == (
            theirs.last_epoch, theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best)
    ours.step(gradcnn.tensor(0.1))  # a 0-d tensor is a metric too


@pytest.mark.parametrize("name, config", [
    ("StepLR", dict(step_size=3)), ("MultiStepLR", dict(milestones=[2, 5, 5])), ("ExponentialLR", dict(gamma=0.8)),
    ("LinearLR", dict(total_iters=4)), ("CosineAnnealingLR", dict(T_max=5)), ("LambdaLR", dict(lr_lambda=_step_lr)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
])
def test_step_with_an_epoch_uses_the_closed_form_like_torch(name, config):
    torch = pytest.importorskip("torch")
    ours = getattr(optim.lr_scheduler, name)(_optimizer(), **config)
    theirs = getattr(torch.optim.lr_scheduler, name)(_torch_optimizer(torch), **config)
    epochs = [4, 7, 1, 10, 2.5] if name == "CosineAnnealingWarmRestarts" else [4, 7, 1, 10]
    for epoch in epochs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ours.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs.step(epoch)
        assert bool(caught) == (name != "CosineAnnealingWarmRestarts")  # the deprecation warning
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15)
        assert ours.last_epoch == theirs.last_epoch


# -- resuming with last_epoch, state dicts ------------------------------------------------------------

RESUMABLE = [
    ("StepLR", dict(step_size=3)), ("MultiStepLR", dict(milestones=[2, 6])), ("ExponentialLR", dict(gamma=0.8)),
    ("LinearLR", dict(total_iters=6)), ("CosineAnnealingLR", dict(T_max=8)), ("LambdaLR", dict(lr_lambda=_step_lr)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3)), ("OneCycleLR", dict(max_lr=0.5, total_steps=20)),
]


@pytest.mark.parametrize("name, config", RESUMABLE, ids=[n for n, _ in RESUMABLE])
def test_resuming_with_last_epoch_matches_torch(name, config):
    torch = pytest.importorskip("torch")
    results = []
    for lib, make in ((optim, _optimizer), (torch.optim, lambda: _torch_optimizer(torch, momentum=0.9))):
        opt = make() if lib is torch.optim else make(momentum=0.9)
        sched = getattr(lib.lr_scheduler, name)(opt, **config)
        first = _sequence(sched, 5)
        # a new scheduler on the same optimizer resumes from the lr and initial_lr the groups hold
        resumed = getattr(lib.lr_scheduler, name)(opt, **config, last_epoch=5)
        results.append((first, _sequence(resumed, 6), resumed.last_epoch))
    assert results[0] == results[1]


def test_resuming_without_initial_lr_is_refused():
    with pytest.raises(SchedulerResumeError, match="param group 0 has no 'initial_lr'.*last_epoch=3") as info:
        StepLR(_optimizer(), step_size=2, last_epoch=3)
    assert isinstance(info.value, KeyError)  # as torch raises


@pytest.mark.parametrize("name, config", RESUMABLE + [
    ("LambdaLR", dict(lr_lambda=[_Warmup(4), _step_lr])),
    ("ReduceLROnPlateau", dict(patience=1)),
], ids=[n for n, _ in RESUMABLE] + ["LambdaLR-object", "ReduceLROnPlateau"])
def test_state_dicts_survive_a_checkpoint_file(tmp_path, name, config):
    def build(lrs=(0.1, 0.02)):
        opt = _optimizer(lrs, momentum=0.9)
        return opt, getattr(optim.lr_scheduler, name)(opt, **config)

    def advance(sched, n):
        for i in range(n):
            sched.optimizer.step()
            sched.step(1.0 / (i + 1)) if name == "ReduceLROnPlateau" else sched.step()
        return sched.get_last_lr()

    opt, sched = build()
    advance(sched, 6)
    if name == "LambdaLR" and "Warmup" in repr(config):
        sched.lr_lambdas[0].steps = 7  # state of a callable object travels
    gradcnn.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt.safetensors")
    opt2, sched2 = build(lrs=(3.0, 3.0))
    saved = gradcnn.load(tmp_path / "ckpt.safetensors")
    opt2.load_state_dict(saved["optimizer"])
    sched2.load_state_dict(saved["scheduler"])
    assert sched2.get_last_lr() == sched.get_last_lr() and sched2.last_epoch == sched.last_epoch
    if name == "LambdaLR" and "Warmup" in repr(config):
        assert sched2.lr_lambdas[0].steps == 7
    assert advance(sched2, 6) == advance(sched, 6)


def test_sequential_state_dict_round_trip():
    def build():
        opt = _optimizer()
        return SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=3), ExponentialLR(opt, 0.9)], [3])

    a = build()
    _sequence(a, 4)
    b = build()
    b.load_state_dict(a.state_dict())
    b.optimizer.load_state_dict(a.optimizer.state_dict())
    assert _sequence(b, 5) == _sequence(a, 5)


# -- errors ---------------------------------------------------------------------------------------------


def _resumable(optimizer):
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    return optimizer


@pytest.mark.parametrize("make, error, match", [
    (lambda o: MultiStepLR(o, milestones=[2, -1]), ShapeError, r"milestones\[1\] must be a non-negative int, got -1"),
    (lambda o: MultiStepLR(o, milestones=[2.5]), DTypeError, r"milestones\[0\] must be a non-negative int"),
    (lambda o: MultiStepLR(o, milestones=3), DTypeError, "milestones must be an iterable of ints"),
    (lambda o: ExponentialLR(o, gamma=math.nan), ShapeError, "ExponentialLR: gamma must be a finite number"),
    (lambda o: StepLR(o, 2, gamma=-0.5), ShapeError, "StepLR: gamma must be >= 0"),
    (lambda o: LambdaLR(o, lr_lambda=[_step_lr]), ShapeError, "expected 2 lr_lambdas"),
    (lambda o: LambdaLR(o, lr_lambda=0.5), DTypeError, r"lr_lambda\[0\] must be callable, got float"),
    (lambda o: LinearLR(o, start_factor=0), ShapeError, "start_factor must be > 0"),
    (lambda o: LinearLR(o, start_factor=1.5), ShapeError, "start_factor must be >= 0 and <= 1"),
    (lambda o: LinearLR(o, end_factor=-0.1), ShapeError, "end_factor must be >= 0 and <= 1"),
    (lambda o: LinearLR(o, total_iters=-1), ShapeError, "total_iters must be >= 0, got total_iters=-1"),
    (lambda o: StepLR(o, step_size=2.5), DTypeError, "step_size must be an int, got 2.5"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=0), ShapeError, "T_0 must be a positive int, got 0"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ShapeError, "T_mult must be a positive int"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=2.0), ShapeError, r"T_0 must be a positive int, got T_0=2.0 \(a float\)"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0="2"), DTypeError, "T_0 must be a positive int"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=2, eta_min=None), DTypeError, "eta_min must be a number"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), ShapeError, "factor must be >= 0 and < 1, got factor=1.0"),
    (lambda o: ReduceLROnPlateau(o, mode="avg"), ShapeError, "mode must be one of 'min', 'max', got 'avg'"),
    (lambda o: ReduceLROnPlateau(o, mode=None), DTypeError, "mode must be one of 'min', 'max', got None"),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="pct"), ShapeError, "threshold_mode must be one of 'rel', 'abs'"),
    (lambda o: ReduceLROnPlateau(o, threshold_mode=1), DTypeError, "threshold_mode must be one of 'rel', 'abs'"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), ShapeError, "patience must be >= 0, got patience=-1"),
    (lambda o: ReduceLROnPlateau(o, last_epoch=5), DTypeError, "unexpected keyword argument 'last_epoch'"),
    (lambda o: ReduceLROnPlateau(o).step(), DTypeError, "ReduceLROnPlateau.step: missing a required argument"),
    (lambda o: LambdaLR(o, lambda e: "a"), DTypeError, r"lr_lambda\[0\] must return a number, returned 'a'"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=None), DTypeError, "pct_start must be a number"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=1), ShapeError, r"pct_start=1 \(an int\)"),
    (lambda o: ReduceLROnPlateau(o, min_lr=[0.1]), ShapeError, "got 1 min_lr values for 2 param groups"),
    (lambda o: ReduceLROnPlateau(o).step("loss"), DTypeError, "metrics must be a number, got 'loss'"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=5, base_momentum=math.nan), ShapeError,
     "base_momentum must be a finite number"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=5, div_factor=0), ShapeError, "div_factor and final_div"),
    (lambda o: OneCycleLR(o, max_lr=-1.0, total_steps=5), ShapeError, "max_lr must be >= 0"),
    (lambda o: SequentialLR(o, [ExponentialLR(o, 0.9)], [2]), ShapeError, "1 schedulers need 0 milestones, got 1"),
    (lambda o: SequentialLR(o, [ExponentialLR(_optimizer(), 0.9)], []), ShapeError, "drives another optimizer"),
    (lambda o: SequentialLR(o, [ReduceLROnPlateau(o)], []), ShapeError, "cannot be sequenced"),
    (lambda o: SequentialLR(o, [], []), ShapeError, "at least one scheduler"),
    (lambda o: StepLR(o, 2, last_epoch=-2), SchedulerResumeError, "no 'initial_lr'"),
    (lambda o: StepLR(_resumable(o), 2, last_epoch=-2), ShapeError, "last_epoch must be >= -1"),
    (lambda o: StepLR(_resumable(o), 2, last_epoch=1.5), DTypeError, "last_epoch must be an int"),
])
def test_more_scheduler_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(_optimizer())


def test_torch_signatures_and_defaults():
    torch = pytest.importorskip("torch")
    import inspect

    for name in ["StepLR", "MultiStepLR", "ExponentialLR", "LambdaLR", "LinearLR", "SequentialLR",
                 "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ReduceLROnPlateau", "OneCycleLR"]:
        ours = inspect.signature(getattr(optim.lr_scheduler, name))
        theirs = inspect.signature(getattr(torch.optim.lr_scheduler, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        for pname, param in theirs.parameters.items():
            assert ours.parameters[pname].default == param.default, (name, pname)


def test_pytorchs_older_base_class_name_can_be_subclassed():
    from gradcnn.optim.lr_scheduler import LRScheduler, _LRScheduler

    class Halving(_LRScheduler):
        def get_lr(self):
            return [base * 0.5 ** self.last_epoch for base in self.base_lrs]

    opt = gradcnn.optim.SGD([gradcnn.nn.Parameter(gradcnn.zeros(1))], lr=1.0)
    sched = Halving(opt)
    opt.step()
    sched.step()
    assert _LRScheduler is LRScheduler and sched.get_last_lr() == [0.5]
