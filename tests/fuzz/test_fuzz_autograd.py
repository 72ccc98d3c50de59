"""Fuzz table of autograd misuse: backward and grad with wrong arguments, in-place changes to saved
tensors (index tensors included), in-place ops on non-leaves, .grad of the wrong shape, grad modes
given wrong values. Each compared with PyTorch."""

import numpy as np
import pytest
from fuzz_harness import Case, check_case, describe, params, wrap
from fuzz_values import NAN, arr

from gradcnn.errors import AutogradError


def leaf(t, *shape, seed=0):
    return t.tensor(arr(*shape, seed=seed), requires_grad=True)


def backward_then_grad(build):
    """``build(t) -> (loss, leaves)``; backward, then the leaves' gradients."""
    def call(t):
        loss, leaves = build(t)
        loss.backward()
        return [x.grad for x in leaves]
    return call


# -- in-place changes to what backward needs -------------------------------------------------------

INPLACE_AFTER = {
    "add_": lambda t, v: v.add_(1.0), "mul_": lambda t, v: v.mul_(2.0), "zero_": lambda t, v: v.zero_(),
    "fill_": lambda t, v: v.fill_(1.0), "copy_": lambda t, v: v.copy_(t.ones_like(v)),
    "setitem": lambda t, v: v.__setitem__(0, 5.0), "clamp_": lambda t, v: v.clamp_(0.0, 0.5),
    "masked_fill_": lambda t, v: v.masked_fill_(v > 0, 0.0), "sub_": lambda t, v: v.sub_(1.0),
    "div_": lambda t, v: v.div_(2.0), "neg_": lambda t, v: v.neg_(),
}

# ops whose backward reads their input (x) or their output (y)
SAVING_OPS = {
    "exp-out": (lambda t, x: x.exp(), "out"), "sigmoid-out": (lambda t, x: x.sigmoid(), "out"),
    "tanh-out": (lambda t, x: x.tanh(), "out"), "mul-in": (lambda t, x: x * x, "in"),
    "pow-in": (lambda t, x: x ** 2, "in"), "relu-out": (lambda t, x: t.nn.functional.relu(x), "out"),
    "sqrt-out": (lambda t, x: x.abs().sqrt(), "out"), "log-in": (lambda t, x: x.abs().log(), "in"),
    "matmul-in": (lambda t, x: x @ x.t(), "in"), "sin-in": (lambda t, x: x.sin(), "in"),
    "div-in": (lambda t, x: 1.0 / x, "in"), "max_pool-in": (lambda t, x: t.nn.functional.max_pool1d(x[None], 2), "in"),
    "softmax-out": (lambda t, x: t.nn.functional.softmax(x, dim=1), "out"),
    "add-none": (lambda t, x: x + 1, "none"),
}


def saved_changed(op, where, change):
    def call(t):
        x0 = leaf(t, 2, 4)
        x = x0 * 1  # a non-leaf, so in-place ops on it are allowed
        y = op(t, x)
        change(t, y if where == "out" else x)
        y.sum().backward()
        return x0.grad
    return call


def inplace_cases():
    cases = []
    for op_name, (op, where) in SAVING_OPS.items():
        for name, change in INPLACE_AFTER.items():
            cases.append(Case(f"saved-{op_name}-then-{name}", saved_changed(op, where, change),
                              match="in place" if where != "none" else None))
    return cases


def index_changed(make_index, change):
    """``y = x[i]`` (or a gather, an embedding, a where), ``i`` changed in place, then backward."""
    def call(t):
        x = leaf(t, 4, 3)
        y, i = make_index(t, x)
        change(t, i)
        y.sum().backward()
        return x.grad
    return call


INDEXERS = {
    "getitem-int": lambda t, x: (lambda i: (x[i], i))(t.tensor(np.array([0, 1]))),
    "getitem-bool": lambda t, x: (lambda i: (x[i], i))(t.tensor(np.array([True, False, True, False]))),
    "gather": lambda t, x: (lambda i: (x.gather(1, i), i))(t.tensor(np.array([[0], [1], [2], [0]]))),
    "embedding": lambda t, x: (lambda i: (t.nn.functional.embedding(i, x), i))(t.tensor(np.array([0, 1]))),
    "where": lambda t, x: (lambda c: (t.where(c, x, 0.0), c))(t.tensor(np.array([[True, False, True]] * 4))),
    "masked_fill": lambda t, x: (lambda m: (x.masked_fill(m, 0.0), m))(t.tensor(np.array([[True, False, True]] * 4))),
    "cross_entropy": lambda t, x: (lambda i: (t.nn.functional.cross_entropy(x, i), i))(t.tensor(np.array([0, 1, 2, 0]))),
    "scatter": lambda t, x: (lambda i: (x.scatter(1, i, 1.0), i))(t.tensor(np.array([[0], [1], [2], [0]]))),
}
INDEX_CHANGES = {
    "add_": lambda t, i: i.add_(1) if i.dtype != t.bool else i.logical_not_(),
    "zero_": lambda t, i: i.zero_(), "setitem": lambda t, i: i.__setitem__(0, 1 if i.dtype != t.bool else False),
    "fill_": lambda t, i: i.fill_(1 if i.dtype != t.bool else True),
    "copy_": lambda t, i: i.copy_(i.flip(0)),
}


def index_cases():
    cases = []
    for name, make in INDEXERS.items():
        for change_name, change in INDEX_CHANGES.items():
            cases.append(Case(f"index-{name}-then-{change_name}", index_changed(make, change), match="in place"))
    return cases


# -- in-place ops on non-leaves: their gradient is PyTorch's ---------------------------------------

def nonleaf_inplace(name, change):
    def call(t):
        x = leaf(t, 3, 2)
        a = x * 1
        change(t, a)
        (a * 2).sum().backward()
        return x.grad
    return call


NONLEAF_CHANGES = {
    "zero_": lambda t, a: a.zero_(), "fill_": lambda t, a: a.fill_(3.0), "copy_": lambda t, a: a.copy_(t.ones(3, 2)),
    "masked_fill_": lambda t, a: a.masked_fill_(t.tensor(np.array([[True, False]] * 3)), 0.0),
    "setitem-scalar": lambda t, a: a.__setitem__(0, 1.0), "setitem-slice": lambda t, a: a.__setitem__(
        (slice(None), 1), t.zeros(3)), "add_": lambda t, a: a.add_(1.0), "mul_": lambda t, a: a.mul_(3.0),
    "clamp_": lambda t, a: a.clamp_(-0.1, 0.1), "copy_-leaf": lambda t, a: a.copy_(leaf(t, 3, 2, seed=5)),
    "relu_": lambda t, a: a.relu_(), "sigmoid_": lambda t, a: a.sigmoid_(), "exp_": lambda t, a: a.exp_(),
    "setitem-mask": lambda t, a: a.__setitem__(a > 0, 0.0),
}


def nonleaf_cases():
    return [Case(f"nonleaf-{name}", nonleaf_inplace(name, change)) for name, change in NONLEAF_CHANGES.items()]


# -- misuse of backward, grad, requires_grad, .grad --------------------------------------------------


def _two_backwards(t):
    x = leaf(t, 3)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _backward_retain(t):
    x = leaf(t, 3)
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


def _grad_call(outputs, inputs, **kw):
    def call(t):
        x, w = leaf(t, 3), leaf(t, 3, seed=1)
        z = t.tensor(arr(3))
        env = {"x": x, "w": w, "z": z, "y": (x * 2).sum(), "v": x * 2}
        out = [env[o] for o in outputs] if isinstance(outputs, list) else env[outputs]
        ins = [env[i] if isinstance(i, str) else wrap(t, i) for i in inputs] if isinstance(inputs, list) else env[inputs]
        return t.autograd.grad(out, ins, **{k: (wrap(t, v) if not callable(v) else v(t, env)) for k, v in kw.items()})
    return call


def misuse_cases():
    cases = [
        Case("backward-twice", _two_backwards, match="second"),
        Case("backward-retain-graph", _backward_retain),
        Case("backward-nonscalar", lambda t: (leaf(t, 3) * 2).backward(), match="scalar"),
        Case("backward-no-grad-tensor", lambda t: t.tensor(arr(3)).sum().backward(), match="grad"),
        Case("backward-gradient-wrong-shape", lambda t: (leaf(t, 3) * 2).backward(t.ones(4)), match="shape"),
        Case("backward-gradient-right-shape", lambda t: (lambda x: ((x * 2).backward(t.ones(3)), x.grad)[1])(leaf(t, 3))),
        Case("backward-gradient-wrong-dtype", lambda t: (leaf(t, 3) * 2).backward(t.ones(3, dtype=t.float64))),
        Case("backward-gradient-list", lambda t: (leaf(t, 3) * 2).backward([1.0, 1.0, 1.0])),
        Case("backward-gradient-nan", lambda t: (lambda x: ((x * 2).sum().backward(t.tensor(NAN)), x.grad)[1])(leaf(t, 3))),
        Case("backward-inputs-kw", lambda t: (lambda x, w: ((x * w).sum().backward(inputs=[x]), x.grad, w.grad)[1:])(
            leaf(t, 3), leaf(t, 3, seed=1))),
        Case("backward-inputs-non-leaf-free", lambda t: (lambda x: (x * 2).sum().backward(inputs=[t.ones(3)]))(leaf(t, 3))),
        Case("backward-under-no-grad", lambda t: (lambda x: (x * 2).sum())(leaf(t, 3)).backward()),
        Case("requires_grad-int", lambda t: t.tensor(np.array([1, 2]), requires_grad=True), match="grad"),
        Case("requires_grad_-int", lambda t: t.tensor(np.array([1, 2])).requires_grad_(), match="grad"),
        Case("requires_grad_-bool-tensor", lambda t: t.tensor(np.array([True])).requires_grad_()),
        Case("requires_grad_-nonleaf-false", lambda t: (leaf(t, 3) * 2).requires_grad_(False)),
        Case("requires_grad-setattr-str", lambda t: setattr(t.tensor(arr(3)), "requires_grad", "yes")),
        Case("inplace-on-leaf-requiring-grad", lambda t: leaf(t, 3).add_(1.0), match="leaf"),
        Case("inplace-on-leaf-under-no-grad", lambda t: (lambda x: (t.no_grad().__enter__(), x.add_(1.0),
                                                                     t.no_grad().__exit__(None, None, None), x)[3])(
            leaf(t, 3))),
        Case("inplace-on-view-of-leaf", lambda t: leaf(t, 3)[0:2].mul_(2.0), match="leaf"),
        Case("detach-inplace-then-backward", lambda t: (lambda x: (lambda y: (x.detach().zero_(), y.sum().backward(),
                                                                                x.grad)[2])(x.exp()))(leaf(t, 3)),
             match="in place"),
        Case("grad-outputs-not-requiring", _grad_call("z", ["x"]), match="grad"),
        Case("grad-input-unused", _grad_call("y", ["w"]), match="used"),
        Case("grad-input-unused-allowed", _grad_call("y", ["w"], allow_unused=True)),
        Case("grad-input-unused-materialize", _grad_call("y", ["w"], allow_unused=True, materialize_grads=True)),
        Case("grad-nonscalar-no-grad-outputs", _grad_call("v", ["x"]), match="scalar"),
        Case("grad-nonscalar-grad-outputs", _grad_call("v", ["x"], grad_outputs=np.ones(3, np.float32))),
        Case("grad-grad-outputs-wrong-shape", _grad_call("v", ["x"], grad_outputs=np.ones(4, np.float32)), match="shape"),
        Case("grad-inputs-not-tensor", _grad_call("y", [1.0])),
        Case("grad-inputs-empty", _grad_call("y", [])),
        Case("grad-inputs-not-requiring", _grad_call("y", ["z"]), match="grad"),
        Case("grad-outputs-list-inputs-tuple", _grad_call(["y"], ["x", "w"], allow_unused=True)),
        Case("grad-create-graph-then-second", lambda t: (lambda x: t.autograd.grad(
            t.autograd.grad((x ** 3).sum(), x, create_graph=True)[0].sum(), x))(leaf(t, 3))),
        Case("grad-twice-without-retain", lambda t: (lambda x: (lambda y: (t.autograd.grad(y, x), t.autograd.grad(y, x)))(
            (x.exp()).sum()))(leaf(t, 3)), match="second"),
        Case("set_grad_enabled-str", lambda t: t.set_grad_enabled("yes")),
        Case("set_grad_enabled-None", lambda t: t.set_grad_enabled(None)),
        Case("set_grad_enabled-int", lambda t: t.set_grad_enabled(1).__enter__()),
        Case("no_grad-result-no-grad", lambda t: (lambda x: (t.no_grad().__enter__(), x * 2)[1])(leaf(t, 3))),
        Case("retain_grad-leaf", lambda t: leaf(t, 3).retain_grad()),
        Case("retain_grad-no-grad", lambda t: t.tensor(arr(3)).retain_grad(), match="grad"),
        Case("register_hook-no-grad", lambda t: t.tensor(arr(3)).register_hook(lambda g: g), match="grad"),
        Case("register_hook-not-callable", lambda t: leaf(t, 3).register_hook(1)),
        Case("hook-returns-wrong-shape", lambda t: (lambda x: (x.register_hook(lambda g: t.ones(4)), (x * 2).sum()
                                                                .backward()))(leaf(t, 3)), match="shape"),
        Case("hook-returns-str", lambda t: (lambda x: (x.register_hook(lambda g: "a"), (x * 2).sum().backward()))(
            leaf(t, 3))),
        Case("item-of-nonscalar", lambda t: leaf(t, 3).item(), match="element"),
        Case("numpy-of-requires-grad", lambda t: leaf(t, 3).numpy(), match="grad"),
        Case("bool-of-nonscalar", lambda t: bool(t.tensor(arr(3))), match="ambiguous"),
        Case("float-of-nonscalar", lambda t: float(t.tensor(arr(3)))),
        Case("int-of-empty", lambda t: int(t.zeros(0))),
        Case("len-of-0d", lambda t: len(t.tensor(1.0))),
        Case("iter-of-0d", lambda t: list(t.tensor(1.0))),
    ]
    for value in (np.ones(4, np.float32), np.ones(3, np.float64), np.ones((3, 1), np.float32), np.array([1, 2, 3]),
                  None, [1.0, 2.0, 3.0], 1.0, np.zeros((), np.float32)):
        def set_grad(t, value=value):
            x = leaf(t, 3)
            x.grad = wrap(t, value)
            return x.grad
        cases.append(Case(f"grad-assign-{describe(value)}", set_grad, match="grad"))
    for value in (np.ones(4, np.float32), np.ones((3, 1), np.float32), np.ones(3, np.float64)):
        def accumulate(t, value=value):
            x = leaf(t, 3)
            x.grad = t.tensor(np.ones(3, np.float32))
            x.grad.data = wrap(t, value)
            (x * 2).sum().backward()
            return x.grad
        cases.append(Case(f"grad-data-swap-{describe(value)}", accumulate))
    return cases


def special_cases():
    def versioned_index(t):
        x = leaf(t, 4, 2)
        i = t.tensor(np.array([0, 1]))
        y = x[i]
        i.add_(2)
        y.sum().backward()
        return x.grad

    def zeroed_nonleaf(t):
        x = leaf(t, 3)
        a = x * 1
        a.zero_()
        (a * 2).sum().backward()
        return x.grad

    return [
        Case("issue-y=x[i];i.add_(2);backward", versioned_index, error=AutogradError, match="in place"),
        Case("issue-a=x*1;a.zero_();(a*2).backward", zeroed_nonleaf,
             check=lambda g: np.array_equal(g[0].numpy() if isinstance(g, list) else g.numpy(), np.zeros(3))),
    ]


CASES = inplace_cases() + index_cases() + nonleaf_cases() + misuse_cases() + special_cases()


@pytest.mark.parametrize("case", params(CASES))
def test_autograd(case):
    check_case(case)
