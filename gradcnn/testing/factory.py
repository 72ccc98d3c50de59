"""``op_test``: one call that turns (op, NumPy reference, input strategy) into a property test.

::

    from gradcnn.testing import op_test, arrays
    test_exp = op_test(gradcnn.exp, np.exp, [arrays(max_value=3)])

The returned function is a hypothesis test pytest collects as-is. Each example draws inputs and a
config, then checks:

1. the forward matches the reference (``atol``/``rtol``);
2. the inputs were not changed;
3. gradients against central finite differences (:func:`gradcheck`) for every floating input;
4. with ``second_order=True``, second derivatives too (:func:`gradgradcheck`).

Floating inputs become float64 Tensors that require grad; integer and bool inputs (labels, masks)
become plain Tensors. Give ``kwargs`` (a dict, or a strategy drawing dicts) for configurations.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ..tensor import Tensor
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["op_test"]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def op_test(op, reference, inputs=None, *, kwargs=None, cases=None, atol=1e-7, rtol=1e-6,
            grad_atol=1e-5, grad_rtol=1e-3, eps=1e-6, second_order=False, fast=False, check_grad=True):
    """A hypothesis test of ``op`` (gradcnn, Tensors in) against ``reference`` (NumPy, arrays in).

    ``inputs`` is a list of strategies, one per positional input, or one strategy that draws the
    whole tuple (use that when shapes must agree). ``kwargs`` is a dict or a strategy of dicts,
    passed to both ``op`` and ``reference``. When the shapes depend on the config (convolution,
    pooling) give ``cases`` instead: a strategy drawing ``(arrays, config)`` pairs, such as
    :func:`gradcnn.testing.strategies.conv_cases`.
    """
    if cases is None:
        draw_inputs = st.tuples(*inputs) if isinstance(inputs, (list, tuple)) else inputs
        if kwargs is None:
            draw_kwargs = st.just({})
        elif isinstance(kwargs, dict):
            draw_kwargs = st.just(kwargs)
        else:
            draw_kwargs = kwargs
        cases = st.tuples(draw_inputs, draw_kwargs)
    elif inputs is not None or kwargs is not None:
        raise TypeError("op_test: give either cases, or inputs (and kwargs)")

    @given(case=cases)
    def test(case):
        arrays, config = case
        arrays = _as_tuple(arrays)
        # Floating inputs are checked in float64, whatever the strategy drew: finite differences
        # in float32 cannot tell a right gradient from a wrong one. None passes through as itself
        # (an absent bias, say).
        arrays = [a.astype(np.float64) if getattr(a, "dtype", None) is not None and a.dtype.kind == "f"
                  and a.dtype != np.float64 else a for a in arrays]
        originals = [None if a is None else np.array(a, copy=True) for a in arrays]
        tensors = []
        for a in arrays:
            t = None if a is None else Tensor._make(a)
            if t is not None and t.dtype.kind == "f":
                t.requires_grad = True
            tensors.append(t)
        out = _as_tuple(op(*tensors, **config))
        expected = _as_tuple(reference(*[None if o is None else o.copy() for o in originals], **config))
        assert len(out) == len(expected), f"{len(out)} outputs, reference gives {len(expected)}"
        for k, (o, e) in enumerate(zip(out, expected)):
            assert isinstance(o, Tensor), f"output {k} is {type(o).__name__}, not a Tensor"
            np.testing.assert_allclose(o._data, np.asarray(e), atol=atol, rtol=rtol,
                                       err_msg=f"forward output {k} differs from the reference")
            assert o.shape == np.shape(e), f"output {k} has shape {o.shape}, reference {np.shape(e)}"
        for i, (a, orig) in enumerate(zip(arrays, originals)):
            np.testing.assert_array_equal(a, orig, err_msg=f"input {i} was changed by the op")
        if not check_grad or not any(t is not None and t.requires_grad for t in tensors):
            return

        def fn(*ts):
            return op(*ts, **config)

        fn.__name__ = getattr(op, "__name__", "op")
        gradcheck(fn, tensors, eps=eps, atol=grad_atol, rtol=grad_rtol, fast=fast)
        if second_order:
            gradgradcheck(fn, tensors, eps=eps, atol=grad_atol, rtol=grad_rtol, fast=fast)

    test.__name__ = f"test_{getattr(op, '__name__', 'op')}"
    test.__doc__ = f"Property test of {getattr(op, '__name__', op)!s} against {getattr(reference, '__name__', reference)!s}."
    return test
