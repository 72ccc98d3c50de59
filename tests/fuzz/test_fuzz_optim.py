"""Fuzz table of optimizers and schedulers: every hyperparameter given every bad value of its kind
(NaN, infinities, negatives, strings, None, bools; NumPy scalars are accepted), parameters given
as the wrong things, a .grad of the wrong shape or dtype at step(). Each step's result is compared
with PyTorch's."""

import numpy as np
import pytest
from fuzz_harness import Case, check_case, describe, params, variant
from fuzz_values import INF, NAN, arr

from gradcnn.errors import ShapeError

BAD = [NAN, INF, -INF, -1.0, -0.5, 0.0, None, "a", True, np.float32(0.1), np.float64(0.2), 2, 1.5, (0.1,), 1j]

OPTIMIZERS = {
    "SGD": {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.01},
    "Adam": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01},
    "AdamW": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01},
    "RMSprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.5},
    "Adagrad": {"lr": 0.01, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
    "Adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
    "NAdam": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 0.004},
    "RAdam": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
}
BETAS = [(NAN, 0.999), (0.9, NAN), (-0.1, 0.999), (1.0, 0.999), (0.9, 1.0), (0.9,), (0.9, 0.99, 0.9), None, 0.9, "ab",
         (np.float32(0.9), np.float64(0.999)), (True, 0.999)]


def steps(name, kw, *, grad=None, n=2):
    """Build the optimizer over one 2x3 parameter, take ``n`` steps with a fixed gradient, return the
    parameter."""
    def call(t):
        p = t.nn.Parameter(t.tensor(arr(2, 3)))
        opt = getattr(t.optim, name)([p], **kw)
        for _ in range(n):
            opt.zero_grad()
            p.grad = t.tensor(arr(2, 3, seed=1)) if grad is None else grad(t)
            opt.step()
        return p.detach()
    return call


def optimizer_cases():
    cases = []
    for name, base in OPTIMIZERS.items():
        cases.append(Case(f"{name}-base", steps(name, base), rtol=1e-4))
        for key in base:
            for value in (BETAS if key == "betas" else BAD):
                kw = {**base, key: value}
                cases.append(variant(f"{name}-{key}={describe(value)}", lambda v, key=key, base=base, name=name: steps(
                    name, {**base, key: v}), name, key, value, rtol=1e-4))
                del kw
        for flag in ("maximize", "foreach", "differentiable"):
            for value in (True, None, "yes"):
                if flag == "differentiable" and value is True:
                    cases.append(Case(f"{name}-differentiable=True", steps(name, {**base, flag: value}), error=ShapeError,
                                      differs="differentiable=True is refused (docs/porting.md)"))
                    continue
                cases.append(variant(f"{name}-{flag}={describe(value)}",
                                     lambda v, flag=flag, base=base, name=name: steps(name, {**base, flag: v}),
                                     name, flag, value, flag=True, rtol=1e-4))
        for gname, grad in [("wrong-shape", lambda t: t.ones(3, 2)), ("broadcastable", lambda t: t.ones(3)),
                            ("float64", lambda t: t.ones(2, 3, dtype=t.float64)), ("nan", lambda t: t.full((2, 3), NAN)),
                            ("int", lambda t: t.ones(2, 3, dtype=t.int64)), ("none", lambda t: None),
                            ("0d", lambda t: t.tensor(1.0))]:
            cases.append(Case(f"{name}-grad-{gname}", steps(name, base, grad=grad), match="grad", rtol=1e-4))
    sgd = OPTIMIZERS["SGD"]
    for pname, make in [
        ("empty-list", lambda t: []), ("tensor", lambda t: t.nn.Parameter(t.zeros(2))), ("none", lambda t: None),
        ("int", lambda t: 1), ("list-of-int", lambda t: [1]), ("duplicate", lambda t: [t.nn.Parameter(t.zeros(2))] * 2),
        ("non-leaf", lambda t: [t.nn.Parameter(t.zeros(2)) * 2]), ("no-grad-tensor", lambda t: [t.zeros(2)]),
        ("groups-without-params", lambda t: [{"lr": 0.1}]), ("groups-overlap", lambda t: (lambda p: [{"params": [p]}, {
            "params": [p]}])(t.nn.Parameter(t.zeros(2)))),
        ("group-bad-lr", lambda t: [{"params": [t.nn.Parameter(t.zeros(2))], "lr": NAN}]),
        ("group-unknown-key", lambda t: [{"params": [t.nn.Parameter(t.zeros(2))], "bogus": 1}]),
        ("generator", lambda t: (p for p in [t.nn.Parameter(t.zeros(2))])), ("dict", lambda t: {"a": t.nn.Parameter(t.zeros(2))}),
        ("int-parameter", lambda t: [t.tensor(np.array([1, 2]))]),
    ]:
        cases.append(Case(f"SGD-params-{pname}", lambda t, make=make: t.optim.SGD(make(t), **sgd)))
    cases += [
        Case("SGD-nesterov-without-momentum", steps("SGD", {"lr": 0.1, "nesterov": True})),
        Case("SGD-nesterov-with-dampening", steps("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True})),
        Case("SGD-lr=np.float32(0.1)-accepted", steps("SGD", {"lr": np.float32(0.1)}),
             torch_call=steps("SGD", {"lr": 0.1})),
        Case("SGD-lr=nan-refused", steps("SGD", {"lr": NAN}), error=ShapeError, match="lr",
             differs="hyperparameters must be finite (docs/porting.md)"),
        Case("SGD-issue-momentum=str", steps("SGD", {"lr": 0.1, "momentum": "a"}), match="momentum"),
        Case("Adam-amsgrad", steps("Adam", {"lr": 0.01, "amsgrad": True}), rtol=1e-4),
        Case("Adam-amsgrad-str", steps("Adam", {"lr": 0.01, "amsgrad": "yes"}), match="amsgrad"),
        Case("SGD-load_state_dict-empty", lambda t: t.optim.SGD([t.nn.Parameter(t.zeros(2))], lr=0.1).load_state_dict({})),
        Case("SGD-load_state_dict-list", lambda t: t.optim.SGD([t.nn.Parameter(t.zeros(2))], lr=0.1).load_state_dict([])),
        Case("SGD-load_state_dict-wrong-groups", lambda t: t.optim.SGD([t.nn.Parameter(t.zeros(2))], lr=0.1)
             .load_state_dict({"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]})),
        Case("SGD-add_param_group-existing", lambda t: (lambda p: t.optim.SGD([p], lr=0.1).add_param_group({"params": [p]}))(
            t.nn.Parameter(t.zeros(2)))),
        Case("SGD-add_param_group-not-dict", lambda t: t.optim.SGD([t.nn.Parameter(t.zeros(2))], lr=0.1).add_param_group(1)),
        Case("SGD-step-closure-not-callable", lambda t: t.optim.SGD([t.nn.Parameter(t.zeros(2))], lr=0.1).step(1)),
        Case("SGD-zero_grad-set_to_none-str", lambda t: t.optim.SGD([t.nn.Parameter(t.zeros(2))], lr=0.1).zero_grad("x")),
    ]
    return cases


def optimizer(t, lr=0.1):
    return t.optim.SGD([t.nn.Parameter(t.tensor(arr(2)))], lr=lr, momentum=0.9)


def run_scheduler(name, args, kw, n=4, metric=None):
    def call(t):
        opt = optimizer(t)
        sched = getattr(t.optim.lr_scheduler, name)(opt, *args, **kw)
        lrs = []
        for i in range(n):
            opt.step()
            if metric is not None:
                sched.step(metric(i))
            else:
                sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        return lrs
    return call


SCHEDULERS = {
    "StepLR": ([], {"step_size": 2, "gamma": 0.5}),
    "MultiStepLR": ([], {"milestones": [1, 3], "gamma": 0.5}),
    "ExponentialLR": ([], {"gamma": 0.9}),
    "CosineAnnealingLR": ([], {"T_max": 4, "eta_min": 0.01}),
    "CosineAnnealingWarmRestarts": ([], {"T_0": 2, "T_mult": 1, "eta_min": 0.0}),
    "LinearLR": ([], {"start_factor": 0.5, "end_factor": 1.0, "total_iters": 3}),
    "OneCycleLR": ([], {"max_lr": 0.5, "total_steps": 10, "pct_start": 0.3, "div_factor": 25.0,
                        "final_div_factor": 1e4}),
    "ReduceLROnPlateau": ([], {"factor": 0.5, "patience": 1, "threshold": 1e-4, "cooldown": 0, "min_lr": 0.0,
                               "eps": 1e-8}),
}
SCHED_BAD = [NAN, INF, -1, 0, 0.5, None, "a", True, np.int64(2), np.float32(0.5), 2**40, [1]]


def scheduler_cases():
    cases = []
    for name, (args, base) in SCHEDULERS.items():
        metric = (lambda i: 1.0) if name == "ReduceLROnPlateau" else None
        cases.append(Case(f"{name}-base", run_scheduler(name, args, base, metric=metric)))
        for key in base:
            for value in SCHED_BAD:
                if _huge_steps(key, value):
                    continue
                cases.append(variant(f"{name}-{key}={describe(value)}",
                                     lambda v, key=key, name=name, args=args, base=base, metric=metric: run_scheduler(
                                         name, args, {**base, key: v}, metric=metric), name, key, value))
        cases.append(Case(f"{name}-optimizer-None", lambda t, name=name, base=base: getattr(t.optim.lr_scheduler, name)(
            None, **base)))
        cases.append(Case(f"{name}-last_epoch-5-fresh", lambda t, name=name, base=base: getattr(
            t.optim.lr_scheduler, name)(optimizer(t), **base, last_epoch=5)))
    for mode in ("max", "bogus", None):
        cases.append(Case(f"ReduceLROnPlateau-mode={describe(mode)}", run_scheduler(
            "ReduceLROnPlateau", [], {"mode": mode}, metric=lambda i: float(i))))
    for mode in ("abs", "bogus", 1):
        cases.append(Case(f"ReduceLROnPlateau-threshold_mode={describe(mode)}", run_scheduler(
            "ReduceLROnPlateau", [], {"threshold_mode": mode}, metric=lambda i: 1.0)))
    for metric in (NAN, INF, None, "a", np.float32(1.0)):
        cases.append(Case(f"ReduceLROnPlateau-step({describe(metric)})", run_scheduler(
            "ReduceLROnPlateau", [], {}, metric=lambda i, metric=metric: metric)))
    cases.append(Case("OneCycleLR-step-past-total", run_scheduler("OneCycleLR", [], {"max_lr": 0.5, "total_steps": 3}, n=5)))
    cases.append(Case("OneCycleLR-anneal-bogus", run_scheduler("OneCycleLR", [], {"max_lr": 0.5, "total_steps": 5,
                                                                                   "anneal_strategy": "bogus"})))
    cases.append(Case("OneCycleLR-no-total", run_scheduler("OneCycleLR", [], {"max_lr": 0.5})))
    cases.append(Case("OneCycleLR-epochs", run_scheduler("OneCycleLR", [], {"max_lr": 0.5, "epochs": 2, "steps_per_epoch": 3})))
    cases.append(Case("LambdaLR-not-callable", run_scheduler("LambdaLR", [1], {})))
    cases.append(Case("LambdaLR-returns-str", run_scheduler("LambdaLR", [lambda e: "a"], {})))
    cases.append(Case("LambdaLR-list-wrong-length", run_scheduler("LambdaLR", [[lambda e: 1.0] * 2], {})))
    cases.append(Case("MultiStepLR-unsorted", run_scheduler("MultiStepLR", [[3, 1]], {})))
    cases.append(Case("SequentialLR-milestones-wrong-length", lambda t: (lambda o: t.optim.lr_scheduler.SequentialLR(
        o, [t.optim.lr_scheduler.StepLR(o, 1), t.optim.lr_scheduler.StepLR(o, 1)], milestones=[1, 2]))(optimizer(t))))
    cases.append(Case("SequentialLR-other-optimizer", lambda t: t.optim.lr_scheduler.SequentialLR(
        optimizer(t), [t.optim.lr_scheduler.StepLR(optimizer(t), 1), t.optim.lr_scheduler.StepLR(optimizer(t), 1)],
        milestones=[1])))
    return cases


def _huge_steps(key, value):
    """A step count of 2**40 would make torch build a schedule of that length."""
    return value == 2**40 and key in ("total_steps", "T_max", "T_0", "total_iters", "step_size", "patience", "cooldown")


CASES = optimizer_cases() + scheduler_cases()


@pytest.mark.parametrize("case", params(CASES))
def test_optim(case):
    check_case(case)
