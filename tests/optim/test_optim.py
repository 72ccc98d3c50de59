import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import gradcnn
from gradcnn import nn, optim
from gradcnn.errors import AutogradError, DTypeError, ShapeError
from gradcnn.nn.utils import clip_grad_norm_
from gradcnn.optim.optimizer import ParamGroupKeyError

SHAPES = [(3, 4), (5,), ()]


def _params(*values):
    return [nn.Parameter(np.array(v, dtype=np.float64)) for v in values]


def _set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = gradcnn.from_numpy(np.array(g, dtype=np.float64))


def _step(opt, params, grads):
    _set_grads(params, grads)
    opt.step()
    return [p._data.copy() for p in params]


# -- hand-computed steps ----------------------------------------------------------------------


def test_sgd_plain_by_hand():
    p = _params([1.0, 2.0])
    opt = optim.SGD(p, lr=0.1)
    # p - lr * g = [1 - 0.1*0.5, 2 - 0.1*(-1)] = [0.95, 2.1]
    assert_allclose(_step(opt, p, [[0.5, -1.0]])[0], [0.95, 2.1], rtol=1e-15)


def test_sgd_momentum_dampening_by_hand():
    p = _params([1.0, 2.0])
    opt = optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.5)
    g = [[0.5, -1.0]]
    # step 1: the buffer starts as the gradient itself (no dampening): b = [0.5, -1]
    #         p = [1, 2] - 0.1 * [0.5, -1] = [0.95, 2.1]
    assert_allclose(_step(opt, p, g)[0], [0.95, 2.1], rtol=1e-15)
    # step 2: b = 0.9 * b + (1 - 0.5) * g = 1.4 * g = [0.7, -1.4]
    #         p = [0.95 - 0.07, 2.1 + 0.14] = [0.88, 2.24]
    assert_allclose(_step(opt, p, g)[0], [0.88, 2.24], rtol=1e-14)
    assert_allclose(opt.state[p[0]]["momentum_buffer"], [0.7, -1.4], rtol=1e-15)


def test_sgd_nesterov_and_weight_decay_by_hand():
    p = _params([1.0, 2.0])
    opt = optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)
    # b = g; g' = g + 0.9 * b = 1.9 * g = [0.95, -1.9]; p = [1 - 0.095, 2 + 0.19]
    assert_allclose(_step(opt, p, [[0.5, -1.0]])[0], [0.905, 2.19], rtol=1e-15)
    p = _params([1.0, 2.0])
    opt = optim.SGD(p, lr=0.1, weight_decay=0.1)
    # g' = g + 0.1 * p = [0.6, -0.8]; p = [1 - 0.06, 2 + 0.08]
    assert_allclose(_step(opt, p, [[0.5, -1.0]])[0], [0.94, 2.08], rtol=1e-15)


def test_sgd_maximize_by_hand():
    p = _params([1.0])
    opt = optim.SGD(p, lr=0.1, maximize=True)
    # ascent: p + lr * g = 1 + 0.1 * 0.5
    assert_allclose(_step(opt, p, [[0.5]])[0], [1.05], rtol=1e-15)


def test_adam_by_hand():
    p = _params([1.0, 2.0])
    opt = optim.Adam(p, lr=0.1)
    g = [[0.5, -2.0]]
    # step 1: m = 0.1 * g, v = 0.001 * g^2; bias corrections 1 - 0.9 = 0.1 and 1 - 0.999 = 0.001,
    #   so m_hat = g and sqrt(v_hat) = |g|: p -= 0.1 * g / (|g| + 1e-8) = 0.1 * sign(g)
    assert_allclose(_step(opt, p, g)[0], [0.9, 2.1], rtol=1e-7)
    # step 2 (same g): m = 0.19 * g, v = 0.001999 * g^2, corrections 0.19 and 0.001999: again
    #   one lr-sized step: [0.8, 2.2]
    assert_allclose(_step(opt, p, g)[0], [0.8, 2.2], rtol=1e-7)
    state = opt.state[p[0]]
    assert state["step"] == 2
    assert_allclose(state["exp_avg"], [0.095, -0.38], rtol=1e-14)  # 0.19 * g
    assert_allclose(state["exp_avg_sq"], [0.00049975, 0.007996], rtol=1e-12)  # 0.001999 * g^2


def test_adamw_by_hand():
    p = _params([1.0, 2.0])
    opt = optim.AdamW(p, lr=0.1, weight_decay=0.1)
    # decay first: p *= 1 - 0.1 * 0.1 = 0.99 -> [0.99, 1.98]; then the Adam step 0.1 * sign(g)
    assert_allclose(_step(opt, p, [[0.5, -2.0]])[0], [0.89, 2.08], rtol=1e-7)


def test_adam_amsgrad_keeps_the_largest_second_moment():
    p = _params([1.0])
    opt = optim.Adam(p, lr=0.1, amsgrad=True)
    _step(opt, p, [[2.0]])  # v = 0.001 * 4 = 0.004
    _step(opt, p, [[0.0]])  # v = 0.999 * 0.004 = 0.003996 < max, which stays 0.004
    assert_allclose(opt.state[p[0]]["max_exp_avg_sq"], [0.004], rtol=1e-15)
    assert_allclose(opt.state[p[0]]["exp_avg_sq"], [0.003996], rtol=1e-14)


def test_rmsprop_by_hand():
    p = _params([1.0])
    opt = optim.RMSprop(p, lr=0.01)
    # step 1: v = 0.01 * 0.5^2 = 0.0025; p = 1 - 0.01 * 0.5 / (sqrt(0.0025) + 1e-8) = 1 - 0.1
    assert_allclose(_step(opt, p, [[0.5]])[0], [0.9], rtol=1e-7)
    # step 2: v = 0.99 * 0.0025 + 0.0025 = 0.004975; p = 0.9 - 0.005 / sqrt(0.004975)
    assert_allclose(_step(opt, p, [[0.5]])[0], [0.9 - 0.005 / math.sqrt(0.004975)], rtol=1e-7)


def test_rmsprop_centered_momentum_by_hand():
    p = _params([1.0])
    opt = optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5)
    # v = 0.0025, a = 0.01 * 0.5 = 0.005, d = sqrt(0.0025 - 0.005^2) = sqrt(0.002475)
    # b = 0 * 0.5 + 0.5 / d; p = 1 - 0.01 * b
    d = math.sqrt(0.002475)
    assert_allclose(_step(opt, p, [[0.5]])[0], [1 - 0.01 * 0.5 / d], rtol=1e-7)
    # step 2: v = 0.004975, a = 0.99 * 0.005 + 0.01 * 0.5 = 0.00995, b = 0.5 * b + 0.5 / d2
    d2 = math.sqrt(0.004975 - 0.00995**2)
    b2 = 0.5 * (0.5 / d) + 0.5 / d2
    assert_allclose(_step(opt, p, [[0.5]])[0], [1 - 0.01 * 0.5 / d - 0.01 * b2], rtol=1e-7)


# -- against torch.optim ----------------------------------------------------------------------

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.5, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9), eps=1e-6)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.6, 0.95), maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, eps=1e-3, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-4)),
    ("Adadelta", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict(rho=1.0, weight_decay=0.01)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.3, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.05, eps=1e-3, lr_decay=0.01, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("NAdam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), maximize=True)),  # rho_t passes 5 within the run
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.5))),  # rho_inf = 3: never rectified
]


def _run_both(name, config, dtype=np.float64, steps=20, seed=0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(optim, name)(ours, **config)
    topt = getattr(torch.optim, name)(theirs, foreach=False, **config)
    for gs in grads:
        for p, t, g in zip(ours, theirs, gs):
            p.grad = gradcnn.from_numpy(g.copy())
            t.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
    return ours, theirs, opt, topt


@pytest.mark.parametrize("name, config", CONFIGS, ids=[f"{n}-{c}" for n, c in CONFIGS])
def test_matches_torch_float64(name, config):
    ours, theirs, opt, topt = _run_both(name, config)
    for p, t in zip(ours, theirs):
        assert_allclose(p._data, t.detach().numpy(), rtol=1e-12, atol=1e-14)
    for p, t in zip(ours, theirs):
        for key, value in topt.state[t].items():
            assert_allclose(np.asarray(opt.state[p][key]), value.numpy(), rtol=1e-12, atol=1e-14)
        assert set(opt.state[p]) == set(topt.state[t])


@pytest.mark.parametrize("name, config", CONFIGS[1::3], ids=[f"{n}-{c}" for n, c in CONFIGS[1::3]])
def test_matches_torch_float32(name, config):
    ours, theirs, _, _ = _run_both(name, config, dtype=np.float32)
    for p, t in zip(ours, theirs):
        assert p.dtype == np.float32
        assert_allclose(p._data, t.detach().numpy(), rtol=2e-6, atol=2e-6)


def test_param_groups_with_their_own_lr_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4,)), rng.standard_normal((2, 3))
    ours = [nn.Parameter(a.copy()), nn.Parameter(b.copy())]
    theirs = [torch.tensor(a.copy(), requires_grad=True), torch.tensor(b.copy(), requires_grad=True)]
    opt = optim.Adam([{"params": [ours[0]], "lr": 0.1}, {"params": ours[1:], "weight_decay": 0.1}],
                     lr=0.01)
    topt = torch.optim.Adam([{"params": [theirs[0]], "lr": 0.1},
                             {"params": theirs[1:], "weight_decay": 0.1}], lr=0.01, foreach=False)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["weight_decay"] for g in opt.param_groups] == [0, 0.1]
    for _ in range(20):
        gs = [rng.standard_normal(a.shape), rng.standard_normal(b.shape)]
        _set_grads(ours, gs)
        for t, g in zip(theirs, gs):
            t.grad = torch.tensor(g)
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        assert_allclose(p._data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_add_param_group_uses_the_defaults():
    a, b = _params([1.0], [2.0])
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ShapeError, match="more than one group"):
        opt.add_param_group({"params": [a]})


# -- state dict -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, config", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adadelta", dict(lr=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01)),
])
def test_state_dict_round_trip_continues_identically(name, config):
    rng = np.random.default_rng(2)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(10)]
    first = [nn.Parameter(a.copy()) for a in init]
    opt = getattr(optim, name)([{"params": first[:1]}, {"params": first[1:], "lr": 0.003}], **config)
    for gs in grads[:5]:
        _step(opt, first, gs)
    state = opt.state_dict()
    # the hyperparameters and the structure survive JSON; keys become strings there
    groups = json.loads(json.dumps(state["param_groups"]))
    assert [g["params"] for g in groups] == [[0], [1, 2]]
    restored = {str(k): dict(v) for k, v in state["state"].items()}

    second = [nn.Parameter(p._data.copy()) for p in first]
    opt2 = getattr(optim, name)([{"params": second[:1]}, {"params": second[1:]}], lr=1.0)
    opt2.load_state_dict({"state": restored, "param_groups": groups})
    assert opt2.param_groups[1]["lr"] == 0.003
    for gs in grads[5:]:
        a, b = _step(opt, first, gs), _step(opt2, second, gs)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_state_dict_is_a_copy_and_shaped_like_torch():
    torch = pytest.importorskip("torch")
    ours, theirs, opt, topt = _run_both("Adam", dict(lr=0.01, amsgrad=True), steps=2)
    state, tstate = opt.state_dict(), topt.state_dict()
    assert set(state["state"]) == set(tstate["state"]) == {0, 1, 2}
    assert set(state["state"][0]) == set(tstate["state"][0])
    assert [g["params"] for g in state["param_groups"]] == [g["params"] for g in tstate["param_groups"]]
    assert set(state["param_groups"][0]) <= set(tstate["param_groups"][0])
    assert isinstance(state["state"][0]["exp_avg"], np.ndarray)
    state["state"][0]["exp_avg"][...] = 0
    assert np.any(opt.state[ours[0]]["exp_avg"] != 0)
    assert torch.is_tensor(tstate["state"][0]["step"])


def test_load_state_dict_checks_the_layout():
    a, b = _params([1.0], [2.0])
    opt = optim.SGD([a, b], lr=0.1)
    other = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ShapeError, match="2 param groups"):
        opt.load_state_dict(other.state_dict())
    small = optim.SGD([a], lr=0.1)
    with pytest.raises(ShapeError, match="1 parameters in the state dict and 2"):
        opt.load_state_dict(small.state_dict())


# -- step, zero_grad, versions ----------------------------------------------------------------


def test_zero_grad_and_params_without_grad():
    a, b = _params([1.0], [2.0])
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    _set_grads([a], [[1.0]])
    opt.step()
    assert b not in opt.state and b._data[0] == 2.0
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and a.grad._data[0] == 0 and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_step_bumps_the_version_so_saved_tensors_notice():
    (p,) = _params([1.0, 2.0])
    y = (p * p).sum()
    opt = optim.SGD([p], lr=0.1)
    _set_grads([p], [[1.0, 1.0]])
    before = p._version.value
    opt.step()
    assert p._version.value == before + 1
    with pytest.raises(AutogradError):
        y.backward()


def test_step_with_closure_returns_the_loss():
    (p,) = _params([3.0])
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss._data) == 9.0
    assert_allclose(p._data, [3.0 - 0.1 * 6.0])


# -- argument errors --------------------------------------------------------------------------


@pytest.mark.parametrize("make, error, match", [
    (lambda p: optim.SGD(p, lr=-0.1), ShapeError, "lr=-0.1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), ShapeError, "momentum=0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.5, nesterov=True), ShapeError,
     "dampening=0.5"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), ShapeError, "momentum=-1"),
    (lambda p: optim.SGD(p, lr="0.1"), DTypeError, "'0.1'"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), ShapeError, r"betas\[0\] must be in \[0, 1\), got betas=\(1.0, 0.999\)"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), ShapeError, r"betas\[1\]"),
    (lambda p: optim.AdamW(p, eps=-1e-8), ShapeError, "eps=-1e-08"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), ShapeError, "alpha=-0.5"),
    (lambda p: optim.Adam(p[0]), DTypeError, "got a Tensor of shape"),
    (lambda p: optim.Adam([]), ShapeError, "empty parameter list"),
    (lambda p: optim.Adam([p[0], 1.0]), DTypeError, "params\\[1\\] must be a Tensor, got float"),
    (lambda p: optim.Adam([{"params": [p[0]]}, {"params": [p[0]]}]), ShapeError, "more than one group"),
    (lambda p: optim.Adam([p[0] * 2]), ShapeError, "not a leaf"),
    (lambda p: optim.Adam(None), DTypeError, "params must be an iterable of Tensors or of dicts, got None"),
    (lambda p: optim.Adam([{"lr": 0.1}]), ParamGroupKeyError, "param group 0 has no 'params' entry"),
    (lambda p: optim.Adam(p, bogus=1), DTypeError, "Adam: got an unexpected keyword argument 'bogus'"),
    (lambda p: optim.SGD(p, 0.1).step(1), DTypeError, "SGD.step: closure must be callable"),
])
def test_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(_params([1.0], [2.0]))


OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad", "NAdam", "RAdam"]
NUMBERS = {
    "SGD": ["lr", "momentum", "dampening", "weight_decay"],
    "Adam": ["lr", "eps", "weight_decay"], "AdamW": ["lr", "eps", "weight_decay"],
    "RMSprop": ["lr", "alpha", "eps", "weight_decay", "momentum"],
    "Adadelta": ["lr", "rho", "eps", "weight_decay"],
    "Adagrad": ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"],
    "NAdam": ["lr", "eps", "weight_decay", "momentum_decay"], "RAdam": ["lr", "eps", "weight_decay"],
}
HYPERPARAMETERS = [(name, h) for name in OPTIMIZERS for h in NUMBERS[name]]


@pytest.mark.parametrize("name, hyper", HYPERPARAMETERS)
@pytest.mark.parametrize("value, error, match", [
    (math.nan, ShapeError, "{h} must be a finite number, got {h}=nan"),
    (math.inf, ShapeError, "{h} must be a finite number, got {h}=inf"),
    (-0.5, ShapeError, "{h} must be >= 0.*got {h}=-0.5"),
    (None, DTypeError, "{h} must be a number, got None"),
    (True, DTypeError, "{h} must be a number, got True"),
    ("0.1", DTypeError, "{h} must be a number, got '0.1'"),
])
def test_every_hyperparameter_is_checked(name, hyper, value, error, match):
    with pytest.raises(error, match=f"{name}: " + match.format(h=hyper)):
        getattr(optim, name)(_params([1.0]), **{hyper: value})
    # the same words when a param group sets it
    (a,), (b,) = _params([1.0]), _params([2.0])
    opt = getattr(optim, name)([a], lr=0.1)
    with pytest.raises(error, match=f"{name}: " + match.format(h=hyper)):
        opt.add_param_group({"params": [b], hyper: value})


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_numpy_scalars_are_accepted_as_python_numbers(name):
    torch = pytest.importorskip("torch")
    config = {h: np.float32(0.1) if h != "momentum_decay" else np.float64(4e-3) for h in NUMBERS[name]}
    if "rho" in config:
        config["rho"] = np.float32(0.9)
    opt = getattr(optim, name)(_params([1.0]), **config)
    group = opt.param_groups[0]
    for h in NUMBERS[name]:
        assert type(group[h]) is float and group[h] == float(config[h])
    # the trajectory torch gives for the same values as Python floats (given NumPy scalars, torch
    # mixes float32 scalar arithmetic into its updates, as in 1 - np.float32(0.1))
    ours = [nn.Parameter(np.array(v, dtype=np.float64)) for v in ([1.0, -2.0], [0.5])]
    opt = getattr(optim, name)(ours, **config)
    theirs = [torch.tensor(p._data.copy(), requires_grad=True) for p in ours]
    topt = getattr(torch.optim, name)(theirs, **{k: float(v) for k, v in config.items()})
    for step in range(5):
        for p, t in zip(ours, theirs):
            g = np.cos(p._data * (step + 1))
            p.grad, t.grad = gradcnn.from_numpy(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        assert_allclose(p._data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n not in ("SGD", "RMSprop", "Adadelta", "Adagrad")])
@pytest.mark.parametrize("betas, match", [
    ((0.9, math.nan), "betas\\[1\\] must be a finite number"),
    ((0.9,), "betas must be a pair"),
    ((np.float32(0.9), 1.0), "betas\\[1\\] must be in \\[0, 1\\)"),
    ((-0.1, 0.9), "betas\\[0\\] must be in \\[0, 1\\)"),
])
def test_betas_are_checked(name, betas, match):
    with pytest.raises((ShapeError, DTypeError), match=match):
        getattr(optim, name)(_params([1.0]), betas=betas)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_switches_are_read_by_truth_and_differentiable_is_refused(name):
    # PyTorch reads its switches with ``if group["maximize"]:``; so does gradcnn, storing bools
    for value, expected in ((1, True), ("yes", True), (0, False), (None, False), (np.bool_(True), True)):
        opt = getattr(optim, name)(_params([1.0]), maximize=value)
        assert opt.param_groups[0]["maximize"] is expected
    with pytest.raises(DTypeError, match=f"{name}: maximize must be a bool, got array"):
        getattr(optim, name)(_params([1.0]), maximize=np.array([True, False]))
    with pytest.raises(DTypeError, match=f"{name}: differentiable must be a bool, got 1"):
        getattr(optim, name)(_params([1.0]), differentiable=1)
    with pytest.raises(ShapeError, match="differentiable=True is not supported"):
        getattr(optim, name)(_params([1.0]), differentiable=True)
    opt = getattr(optim, name)(_params([1.0]), foreach=True)  # accepted; one loop either way
    assert opt.param_groups[0]["foreach"] is True


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_grad_of_another_shape_or_dtype_is_refused(name):
    a, b = _params([1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]])
    opt = getattr(optim, name)([a, b], lr=0.1)
    a.grad = gradcnn.from_numpy(np.ones(2))
    b.grad = gradcnn.from_numpy(np.ones((2, 2)))
    b.grad._data = np.ones(2)  # past the .grad setter's check; would broadcast over the rows of b
    before = b._data.copy()
    with pytest.raises(ShapeError, match=rf"{name}.step: parameter 1 has shape \(2, 2\) but its .grad has "
                                         r"shape \(2,\); a gradient must have its parameter's shape"):
        opt.step()
    np.testing.assert_array_equal(b._data, before)
    b.grad._data = np.ones((2, 2), np.float32)
    with pytest.raises(DTypeError, match=rf"{name}.step: parameter 1 has dtype float64 but its .grad has "
                                         r"dtype float32"):
        opt.step()


def test_torch_signatures_and_defaults():
    torch = pytest.importorskip("torch")
    import inspect

    for name in OPTIMIZERS:
        ours = inspect.signature(getattr(optim, name))
        theirs = inspect.signature(getattr(torch.optim, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        for pname, param in theirs.parameters.items():
            assert ours.parameters[pname].kind == param.kind, (name, pname)
            assert ours.parameters[pname].default == param.default, (name, pname)


def test_adagrad_state_exists_from_construction_as_in_torch():
    torch = pytest.importorskip("torch")
    ours = optim.Adagrad(_params([1.0, 2.0]), initial_accumulator_value=0.5).state_dict()
    theirs = torch.optim.Adagrad([torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)],
                                 initial_accumulator_value=0.5).state_dict()
    assert set(ours["state"]) == set(theirs["state"]) == {0}
    assert set(ours["state"][0]) == set(theirs["state"][0]) == {"step", "sum"}
    assert_allclose(ours["state"][0]["sum"], theirs["state"][0]["sum"].numpy())


# -- clip_grad_norm_ --------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    ours = [nn.Parameter(np.zeros(s, np.float32)) for s in SHAPES]
    theirs = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = gradcnn.from_numpy(g.copy())
        t.grad = torch.tensor(g.copy())
    total = clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, gradcnn.Tensor) and total.shape == ()
    assert_allclose(total._data, ttotal.numpy(), rtol=1e-6)
    for p, t in zip(ours, theirs):
        assert p.grad.dtype == np.float32
        assert_allclose(p.grad._data, t.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_by_hand_and_edge_cases():
    (p,) = _params([3.0, 4.0])
    _set_grads([p], [[3.0, 4.0]])
    # norm 5, coefficient 1 / (5 + 1e-6)
    total = clip_grad_norm_(p, 1.0)
    assert float(total._data) == 5.0
    assert_allclose(p.grad._data, [3.0 / (5 + 1e-6), 4.0 / (5 + 1e-6)], rtol=1e-15)
    (q,) = _params([1.0])
    assert float(clip_grad_norm_([q], 1.0)._data) == 0.0  # no gradients at all
    _set_grads([q], [[math.nan]])
    with pytest.raises(ShapeError, match="2.0-norm .* is nan"):
        clip_grad_norm_([q], 1.0, error_if_nonfinite=True)
    clip_grad_norm_([q], 1.0)  # without the check it scales by nan, as torch does


# -- the fused update kernels -------------------------------------------------------------------


FUSED = [c for c in CONFIGS if c[0] in ("SGD", "Adam", "AdamW")]


def _trajectory(name, config, dtype, monkeypatch=None, fused=True):
    from gradcnn.optim import adam as adam_module
    from gradcnn.optim import sgd as sgd_module

    if not fused:
        for module in (sgd_module, adam_module):
            monkeypatch.setattr(module, "fused_update_applies", lambda *a: False)
    rng = np.random.default_rng(5)
    params = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in SHAPES]
    opt = getattr(optim, name)(params, **config)
    for _ in range(6):
        for p in params:
            p.grad = gradcnn.from_numpy(rng.standard_normal(p.shape).astype(dtype))
        opt.step()
    if not fused:
        monkeypatch.undo()
    return [p._data.copy() for p in params] + [np.asarray(v) for p in params for v in opt.state[p].values()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, config", FUSED, ids=[f"{n}-{c}" for n, c in FUSED])
def test_fused_updates_are_bitwise_the_array_code(name, config, dtype, monkeypatch):
    fused = _trajectory(name, config, dtype)
    plain = _trajectory(name, config, dtype, monkeypatch, fused=False)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a, b)


def test_zero_grad_keeps_the_buffer():
    (p,) = _params([1.0, 2.0])
    _set_grads([p], [[3.0, 4.0]])
    grad = p.grad._data
    optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad._data is grad and not grad.any()


@pytest.mark.parametrize("state_dict, error, match", [
    ([], DTypeError, "state_dict must be a dict"),
    ({}, ParamGroupKeyError, "no 'param_groups' entry"),
    ({"param_groups": [{"params": [0], "lr": 0.1}]}, ParamGroupKeyError, "no 'state' entry"),
    ({"state": [], "param_groups": [{"params": [0], "lr": 0.1}]}, DTypeError, "state must be a dict"),
    ({"state": {}, "param_groups": 5}, DTypeError, "param_groups must be a list"),
    ({"state": {}, "param_groups": [5]}, DTypeError, r"param_groups\[0\] must be a dict"),
    ({"state": {}, "param_groups": [{"lr": 0.1}]}, ParamGroupKeyError, r"param_groups\[0\] has no 'params'"),
    ({"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]}, ShapeError, "2 parameters in the state dict"),
    ({"state": {}, "param_groups": [{"params": [[0]], "lr": 0.1}]}, DTypeError, r"\['params'\]\[0\] must be an int"),
    ({"state": {0: 5}, "param_groups": [{"params": [0], "lr": 0.1}]}, DTypeError, "must be a dict of buffers"),
    ({"state": {0: {"momentum_buffer": np.array(["a", "b"])}}, "param_groups": [{"params": [0], "lr": 0.1}]},
     DTypeError, "must be a number or an array of numbers"),
    ({"state": {}, "param_groups": [{"params": [0], "lr": "a"}]}, DTypeError, "lr must be a number"),
])
def test_load_state_dict_names_what_is_wrong_and_changes_nothing(state_dict, error, match):
    (p,) = _params([1.0, 2.0])
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    with pytest.raises(error, match=match):
        opt.load_state_dict(state_dict)
    assert opt.param_groups[0]["lr"] == 0.5 and opt.state == {}


def test_load_state_dict_skips_state_no_parameter_claims():
    (p,) = _params([1.0, 2.0])
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    opt.load_state_dict({"state": {7: {"momentum_buffer": np.zeros(2)}, "x": {}},
                         "param_groups": [{"params": [0], "lr": 0.25}]})
    assert opt.param_groups[0]["lr"] == 0.25 and opt.state == {}


def test_out_of_range_hyperparameters_give_nan_silently_as_in_torch():
    # RMSprop checks only alpha >= 0; alpha > 1 makes the square average negative: NaN, no warning
    (p,) = _params([1.0, 2.0])
    opt = optim.RMSprop([p], lr=0.01, alpha=2.0)
    for _ in range(2):
        _set_grads([p], [[0.5, -1.0]])
        opt.step()
    assert np.isnan(p._data).all()


def test_a_parameter_twice_in_a_group_warns_as_in_torch():
    (p,) = _params([1.0])
    with pytest.warns(UserWarning, match="holds a parameter twice"):
        optim.SGD([p, p], lr=0.1)
