"""Finite-difference gradient checks: ``gradcheck`` and ``gradgradcheck``.

Both work in float64 with central differences ``(f(x + eps) - f(x - eps)) / 2 eps``.

* Full mode (default) builds the whole Jacobian both ways: one backward per output element and two
  forwards per input element. Exact, and fine for the small inputs of property tests.
* ``fast=True`` checks one random direction per input instead (``u . J v`` both ways, as Chainer's
  ``check_backward`` does): two forwards and one backward per input, whatever the size.

A failure raises :class:`~gradcnn.errors.GradcheckError` naming the op, the input index, the worst
element and the numerical and analytical values there.
"""

import numpy as np

from ..autograd import grad
from ..errors import DTypeError, GradcheckError
from ..tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck"]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def graph_nodes(outputs):
    """Every tape node the Tensors in ``outputs`` depend on, in no particular order."""
    nodes, stack, seen = [], [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(e for e in node.edges if hasattr(e, "fn"))
    return nodes


def _op_name(fn, outputs):
    """``fn``'s name and the ops its graph is made of, in tape order (what a reader debugs)."""
    name = getattr(fn, "__name__", None) or type(fn).__name__
    ops = list(dict.fromkeys(n.name() for n in sorted(graph_nodes(outputs), key=lambda n: n.seq)))
    if not ops:
        return name
    shown = ", ".join(ops[:12]) + (", ..." if len(ops) > 12 else "")
    return f"{name} (ops: {shown})"


def _check_inputs(inputs, op):
    diff = []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                raise DTypeError(
                    f"{op}: input {i} is {t.dtype.name}; finite differences need float64 inputs "
                    "(use .double())"
                )
            diff.append(i)
    if not diff:
        raise GradcheckError(f"{op}: no input requires grad, so there is nothing to check")
    return diff


def _flat_outputs(fn, inputs):
    outs = _as_tuple(fn(*inputs))
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _evaluate(fn, inputs):
    """The concatenated float outputs of ``fn`` as one flat float64 array."""
    outs = _flat_outputs(fn, inputs)
    if not outs:
        return np.zeros(0)
    return np.concatenate([np.asarray(o._data, dtype=np.float64).reshape(-1) for o in outs])


def _analytical_vjp(outputs, inputs, diff, grad_outputs):
    """Gradients of ``sum(grad_outputs * outputs)`` for the inputs in ``diff`` (zeros if unused)."""
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        return [np.zeros(inputs[i].shape) for i in diff]
    gs = grad(
        [o for o, _ in live],
        [inputs[i] for i in diff],
        [g for _, g in live],
        retain_graph=True,
        allow_unused=True,
    )
    return [np.zeros(inputs[i].shape) if g is None else np.asarray(g._data, dtype=np.float64) for i, g in zip(diff, gs)]


def _report(op, index, shape, where, numerical, analytical, atol, rtol, worst_of=None):
    extra = f"; {worst_of}" if worst_of else ""
    return GradcheckError(
        f"gradcheck failed for {op}: gradient with respect to input {index} (shape {shape}) "
        f"{where}: numerical {numerical:.10g} vs analytical {analytical:.10g} "
        f"(|difference| {abs(numerical - analytical):.3g} > atol {atol:g} + rtol {rtol:g} * "
        f"|numerical|){extra}"
    )


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, fast=False, seed=0):
    """Check the gradients of ``fn(*inputs)`` against central finite differences.

    ``inputs`` is a Tensor or a sequence of them (other values pass through untouched); every
    Tensor that requires grad must be float64. ``fn`` returns a Tensor or a tuple of Tensors.
    Returns ``True`` or raises :class:`GradcheckError`.
    """
    inputs = _as_tuple(inputs)
    op = getattr(fn, "__name__", "fn")
    diff = _check_inputs(inputs, f"gradcheck({op})")
    outputs = _flat_outputs(fn, inputs)
    op = _op_name(fn, outputs)
    if not outputs:
        raise GradcheckError(f"gradcheck failed for {op}: fn returned no floating tensor")
    if fast:
        return _check_direction(fn, inputs, diff, outputs, op, eps, atol, rtol, seed)
    return _check_full(fn, inputs, diff, outputs, op, eps, atol, rtol)


def _check_full(fn, inputs, diff, outputs, op, eps, atol, rtol):
    sizes = [o._data.size for o in outputs]
    total = sum(sizes)
    # Analytical Jacobian, one row per output element.
    analytical = {i: np.zeros((total, inputs[i]._data.size)) for i in diff}
    row = 0
    for k, out in enumerate(outputs):
        for j in range(out._data.size):
            seeds = []
            for m, o in enumerate(outputs):
                s = np.zeros(o.shape)
                if m == k:
                    s.reshape(-1)[j] = 1.0
                seeds.append(Tensor._make(s))
            for i, g in zip(diff, _analytical_vjp(outputs, inputs, diff, seeds)):
                analytical[i][row] = g.reshape(-1)
            row += 1
    # Numerical Jacobian, one column per input element.
    for i in diff:
        data = inputs[i]._data
        numerical = np.zeros((total, data.size))
        for flat in range(data.size):
            idx = np.unravel_index(flat, data.shape)
            orig = data[idx]
            data[idx] = orig + eps
            plus = _evaluate_quiet(fn, inputs)
            data[idx] = orig - eps
            minus = _evaluate_quiet(fn, inputs)
            data[idx] = orig
            numerical[:, flat] = (plus - minus) / (2 * eps)
        a = analytical[i]
        bad = ~np.isclose(a, numerical, rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            err = np.where(bad, np.abs(a - numerical), 0)
            r, c = np.unravel_index(int(np.argmax(err)), err.shape)
            out_k = int(np.searchsorted(np.cumsum(sizes), r, side="right"))
            out_j = r - (sum(sizes[:out_k]))
            where = (
                f"at input element {tuple(int(v) for v in np.unravel_index(c, data.shape))}, "
                f"output {out_k} element {tuple(int(v) for v in np.unravel_index(out_j, outputs[out_k].shape))}"
            )
            raise _report(
                op, i, data.shape, where, numerical[r, c], a[r, c], atol, rtol,
                f"{int(bad.sum())} of {bad.size} Jacobian entries disagree",
            )
    return True


def _evaluate_quiet(fn, inputs):
    with np.errstate(all="ignore"):
        return _evaluate(fn, inputs)


def _check_direction(fn, inputs, diff, outputs, op, eps, atol, rtol, seed):
    rng = np.random.default_rng(seed)
    seeds = [Tensor._make(rng.standard_normal(o.shape)) for o in outputs]
    u = np.concatenate([s._data.reshape(-1) for s in seeds])
    grads = _analytical_vjp(outputs, inputs, diff, seeds)
    for i, g in zip(diff, grads):
        data = inputs[i]._data
        v = rng.standard_normal(data.shape)
        v /= max(np.linalg.norm(v), 1e-12)
        orig = data.copy()
        data += eps * v
        plus = _evaluate_quiet(fn, inputs)
        data[...] = orig - eps * v
        minus = _evaluate_quiet(fn, inputs)
        data[...] = orig
        numerical = float(u @ (plus - minus) / (2 * eps))
        analytical = float(np.sum(g * v))
        if not np.isclose(analytical, numerical, rtol=rtol, atol=atol):
            raise _report(op, i, data.shape, "along a random direction (u . J v)", numerical, analytical, atol, rtol)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, fast=False, seed=0):
    """Check second derivatives: ``gradcheck`` of the map ``(inputs, v) -> v . dfn/dinputs``,
    whose backward is recorded with ``create_graph=True``. ``grad_outputs`` (the ``v``) default to
    random float64 tensors that require grad."""
    inputs = _as_tuple(inputs)
    op = getattr(fn, "__name__", "fn")
    diff = _check_inputs(inputs, f"gradgradcheck({op})")
    outputs = _flat_outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [Tensor._make(rng.standard_normal(o.shape)).requires_grad_() for o in outputs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n = len(inputs)

    def first_derivative(*args):
        ins, vs = args[:n], args[n:]
        outs = _flat_outputs(fn, ins)
        live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
        if not live:
            return tuple(Tensor._make(np.zeros(ins[i].shape)) for i in diff)
        gs = grad([o for o, _ in live], [ins[i] for i in diff], [v for _, v in live],
                  create_graph=True, allow_unused=True)
        return tuple(Tensor._make(np.zeros(ins[i].shape)) if g is None else g for i, g in zip(diff, gs))

    first_derivative.__name__ = f"grad of {op}"
    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, fast=fast, seed=seed)

