"""Autograd semantics: tape order, accumulation, graph freeing, retain/create_graph, grad(),
grad mode, version counters, memory."""

import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
from gradcnn.autograd import Function
from gradcnn.errors import AutogradError, DTypeError, ShapeError


def leaf(*values, dtype=np.float64):
    return gradcnn.tensor(np.array(values, dtype=dtype), requires_grad=True)


# -- backward basics ---------------------------------------------------------------------------


def test_backward_chain_rule_matches_hand_derivative():
    x = leaf(0.5, -1.5, 2.0)
    y = (x * x * 3.0 + x.exp()).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x._data + np.exp(x._data))


def test_gradients_accumulate_until_cleared():
    x = leaf(1.0, 2.0)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.grad = None
    (x * 4.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])


def test_shared_gradient_arrays_are_not_aliased_between_leaves():
    a, b = leaf(1.0), leaf(2.0)
    (a + b).sum().backward()  # Add hands the same gradient array to both inputs
    a.grad._data += 10
    assert b.grad.item() == 1.0


def test_diamond_graph_sums_both_paths():
    x = leaf(3.0)
    h = x * 2.0
    y = h * h + h  # dy/dx = (2h + 1) * 2
    y.backward()
    assert x.grad.item() == pytest.approx((2 * 6.0 + 1) * 2)


def test_deep_chain_needs_no_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(sys.getrecursionlimit() * 3):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_backward_of_non_scalar_needs_gradient():
    x = leaf(1.0, 2.0)
    y = x * 3.0
    with pytest.raises(ShapeError, match=r"shape \(2,\)"):
        y.backward()
    y.backward(gradcnn.tensor([1.0, -1.0], dtype=np.float64))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, -3.0])


def test_backward_gradient_shape_is_checked():
    y = leaf(1.0, 2.0) * 2.0
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2,\)"):
        y.backward(gradcnn.ones(3, dtype=np.float64))


def test_backward_without_grad_raises():
    with pytest.raises(AutogradError, match="does not require grad"):
        gradcnn.tensor([1.0]).sum().backward()


def test_mixed_dtypes_give_leaf_dtype_gradients():
    x = gradcnn.tensor([1.0, 2.0], requires_grad=True)  # float32
    y = gradcnn.tensor([3.0, 4.0], dtype=np.float64)
    (x * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


# -- graph freeing and retain_graph ------------------------------------------------------------


def test_second_backward_raises_and_names_retain_graph():
    x = leaf(1.0)
    y = (x.exp() * 2.0).sum()
    y.backward()
    with pytest.raises(AutogradError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf(1.0)
    y = (x.exp() * 2.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(4 * np.e)


def test_saved_arrays_are_released_after_backward():
    x = leaf(*np.linspace(-1, 1, 16))
    w = leaf(*np.linspace(1, 2, 16))
    h = x.exp()  # Exp saves its output, Mul saves both inputs: h's array is saved twice
    ref = weakref.ref(h._data)
    loss = (h * w).sum()
    del h
    gc.collect()
    assert ref() is not None, "forward must keep the saved array alive until backward"
    loss.backward()
    assert ref() is None, "backward must release the arrays it saved"
    assert loss.item() != 0  # the loss tensor itself is still usable


def test_unused_graph_is_freed_with_its_tensors():
    x = leaf(*range(8))
    y = x.exp()
    ref = weakref.ref(y._data)
    node = weakref.ref(y.grad_fn)
    del y
    assert ref() is None and node() is None


def test_training_loop_memory_is_flat():
    gradcnn.manual_seed(0)
    w = gradcnn.randn(16, 32, requires_grad=True)
    b = gradcnn.zeros(16, requires_grad=True)
    x = gradcnn.randn(8, 32)
    target = gradcnn.randint(0, 16, (8,))

    def step():
        loss = F.cross_entropy(F.relu(F.linear(x, w, b)), target)
        w.grad = b.grad = None
        loss.backward()
        with gradcnn.no_grad():
            w.sub_(w.grad * 0.01)
            b.sub_(b.grad * 0.01)

    for _ in range(50):
        step()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(100):
            step()
        gc.collect()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(900):
            step()
        gc.collect()
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert now - base < 64 * 1024, f"traced memory grew by {now - base} bytes over 900 steps"


# -- grad() and higher derivatives -------------------------------------------------------------


def test_grad_returns_without_accumulating():
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    (gx,) = gradcnn.grad(y, x)
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0])
    assert x.grad is None


def test_grad_of_intermediate_tensor():
    x = leaf(1.0, 2.0)
    h = x * 3.0
    y = (h * h).sum()
    gh, gx = gradcnn.grad(y, [h, x])
    np.testing.assert_allclose(gh.numpy(), 2 * h._data)
    np.testing.assert_allclose(gx.numpy(), 18 * x._data)


def test_grad_unused_input():
    x, z = leaf(1.0), leaf(2.0)
    y = (x * 2.0).sum()
    with pytest.raises(AutogradError, match="allow_unused"):
        gradcnn.grad(y, [x, z], retain_graph=True)
    gx, gz = gradcnn.grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_grad_with_grad_outputs_is_a_vjp():
    x = leaf(1.0, 2.0, 3.0)
    (gx,) = gradcnn.grad(x * x, x, grad_outputs=gradcnn.tensor([1.0, 0.0, -1.0], dtype=np.float64))
    np.testing.assert_allclose(gx.numpy(), [2.0, 0.0, -6.0])


def test_create_graph_gives_second_and_third_derivatives():
    x = leaf(0.7)
    y = x**4
    (g1,) = gradcnn.grad(y, x, create_graph=True)
    (g2,) = gradcnn.grad(g1, x, create_graph=True)
    (g3,) = gradcnn.grad(g2, x)
    assert g1.item() == pytest.approx(4 * 0.7**3)
    assert g2.item() == pytest.approx(12 * 0.7**2)
    assert g3.item() == pytest.approx(24 * 0.7)


def test_backward_create_graph_leaves_differentiable_grad():
    x = leaf(1.5)
    x.tanh().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (gg,) = gradcnn.grad(g, x)
    t = np.tanh(1.5)
    assert gg.item() == pytest.approx(-2 * t * (1 - t * t))
    y = leaf(1.5)
    y.sin().backward(create_graph=True)
    (gg,) = gradcnn.grad(y.grad, y)
    assert gg.item() == pytest.approx(-np.sin(1.5))


def test_gradient_penalty_through_softmax():
    # d/dw of |d loss/dx|^2: a double backward through log_softmax and linear.
    gradcnn.manual_seed(1)
    x = gradcnn.randn(3, 4, dtype=np.float64, requires_grad=True)
    w = gradcnn.randn(5, 4, dtype=np.float64, requires_grad=True)
    t = gradcnn.tensor([0, 3, 4])

    def penalty(w_):
        loss = F.cross_entropy(F.linear(x, w_), t)
        (gx,) = gradcnn.grad(loss, x, create_graph=True)
        return (gx * gx).sum()

    gradcnn.testing.gradcheck(penalty, (w,))


# -- grad mode ---------------------------------------------------------------------------------


def test_no_grad_records_nothing_and_nests():
    x = leaf(1.0)
    with gradcnn.no_grad():
        y = x * 2.0
        with gradcnn.enable_grad():
            z = x * 2.0
        assert not gradcnn.is_grad_enabled()
    assert gradcnn.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None and z.requires_grad


def test_no_grad_as_decorator_restores_on_error():
    @gradcnn.no_grad()
    def boom():
        assert not gradcnn.is_grad_enabled()
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    assert gradcnn.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = leaf(2.0)
    y = (x * x).detach() * x
    y.backward()
    assert x.grad.item() == 4.0


# -- in-place changes and version counters -----------------------------------------------------


def test_inplace_change_of_saved_tensor_is_reported_by_op_name():
    x = leaf(1.0, 2.0)
    c = gradcnn.tensor([3.0, 4.0], dtype=np.float64)
    y = (x * c).sum()
    c.add_(1.0)
    with pytest.raises(AutogradError, match=r"Mul: saved tensor 1 .*version 0 -> 1"):
        y.backward()


def test_inplace_change_through_a_view_is_detected():
    x = leaf(1.0, 2.0, 3.0, 4.0)
    c = gradcnn.tensor(np.arange(4.0))
    y = (x * c).sum()
    c.reshape(2, 2)[0].zero_()
    with pytest.raises(AutogradError, match="modified in place"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_is_refused_in_grad_mode():
    x = leaf(1.0)
    with pytest.raises(AutogradError, match="no_grad"):
        x.add_(1.0)
    with gradcnn.no_grad():
        x.add_(1.0)
    assert x.item() == 2.0


def test_inplace_on_non_leaf_is_recorded():
    x = leaf(1.0, 2.0, 3.0)
    y = x * 2.0
    y[1] = 0.0
    y.mul_(3.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 0.0, 6.0])


def test_setitem_value_gets_gradient():
    x = gradcnn.zeros(4, dtype=np.float64)
    v = leaf(5.0)
    y = x * 1.0
    y[1:3] = v
    (y * gradcnn.tensor([1.0, 2.0, 3.0, 4.0], dtype=np.float64)).sum().backward()
    assert v.grad.item() == 5.0


# -- custom functions --------------------------------------------------------------------------


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * x * x


class WrongShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g.sum()


def test_custom_function_first_and_second_order():
    x = leaf(0.5, -1.0, 2.0)
    gradcnn.testing.gradcheck(Cube.apply, (x,))
    gradcnn.testing.gradgradcheck(Cube.apply, (x,))


def test_backward_returning_wrong_shape_names_the_function():
    x = leaf(1.0, 2.0)
    with pytest.raises(AutogradError, match=r"WrongShape.backward .*shape \(\).*\(2,\)"):
        WrongShape.apply(x).sum().backward()


def _logged(name, log):
    class Logged(Function):
        @staticmethod
        def forward(ctx, *xs):
            return sum(xs[1:], xs[0] * 1.0)

        @staticmethod
        def backward(ctx, g):
            log.append(name)
            return (g,) * len(ctx.needs_input_grad)

    Logged.__name__ = name
    return Logged


def test_backward_runs_a_node_only_after_every_consumer_of_its_output():
    # c = f3(a, b) with b = f2(a): walking edges depth-first from c reaches f1 (a's maker) before
    # f2 has added its share to a's gradient; the replay must still run f3, f2, then f1.
    log = []
    x = leaf(1.0)
    a = _logged("f1", log).apply(x)
    b = _logged("f2", log).apply(a)
    c = _logged("f3", log).apply(a, b)
    c.backward()
    assert log == ["f3", "f2", "f1"]
    assert x.grad.item() == 2.0  # both paths, each exactly once


class MinMaxPair(Function):
    """Two differentiable outputs and one that is not."""

    @staticmethod
    def forward(ctx, x):
        idx = np.argmax(x, keepdims=True).astype(np.float64)  # a float output, marked by hand
        ctx.save_for_backward(x)
        ctx.mark_non_differentiable(idx)
        return np.asarray(x.min()), np.asarray(x.max()), idx

    @staticmethod
    def backward(ctx, g_lo, g_hi, g_idx):
        assert g_idx is None
        (x,) = ctx.saved_tensors
        zero = x * 0.0
        lo = (x == x.min()).double() if g_lo is not None else zero
        hi = (x == x.max()).double() if g_hi is not None else zero
        return lo * (0.0 if g_lo is None else g_lo) + hi * (0.0 if g_hi is None else g_hi)


def test_a_function_with_several_outputs_has_one_node_and_a_gradient_per_output():
    x = gradcnn.tensor([3.0, -1.0, 2.0], dtype=np.float64, requires_grad=True)
    lo, hi, idx = MinMaxPair.apply(x)
    assert lo.requires_grad and hi.requires_grad and not idx.requires_grad
    assert lo.grad_fn is hi.grad_fn
    (2.0 * lo + 10.0 * hi).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 2.0, 0.0])
    x.grad = None
    _, hi, _ = MinMaxPair.apply(x)
    hi.backward()  # only output 1 receives a gradient: output 0's is None
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 0.0])


def test_gradcnn_grad_reaches_an_input_through_a_second_output():
    x = gradcnn.tensor([3.0, -1.0, 2.0], dtype=np.float64, requires_grad=True)
    _, hi, _ = MinMaxPair.apply(x)
    (g,) = gradcnn.grad(hi * 3.0, [x])
    np.testing.assert_array_equal(g.numpy(), [3.0, 0.0, 0.0])
    _, hi, _ = MinMaxPair.apply(x)
    (g_hi,) = gradcnn.grad(hi * 3.0, [hi])  # a non-leaf that is output 1 of its node
    assert g_hi.item() == 3.0


def test_max_pool_indices_are_a_second_output_that_needs_no_grad():
    x = gradcnn.randn(1, 1, 4, 4, dtype=np.float64, requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert idx.dtype == np.int64 and not idx.requires_grad
    y.sum().backward()
    assert x.grad.sum().item() == 4.0


class ExpSavesOutput(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)  # a NumPy scalar when x is 0-d
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


def test_saved_output_of_0d_op_stays_in_the_graph():
    x = gradcnn.tensor(0.3, dtype=np.float64, requires_grad=True)
    (g,) = gradcnn.grad(ExpSavesOutput.apply(x), x, create_graph=True)
    assert g.requires_grad
    (gg,) = gradcnn.grad(g, x)
    assert gg.item() == pytest.approx(np.exp(0.3))


def test_ndarray_matmul_tensor():
    w = gradcnn.ones(3, 2, dtype=np.float64, requires_grad=True)
    out = np.ones((4, 3)) @ w
    assert isinstance(out, gradcnn.Tensor) and out.shape == (4, 2)
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 2), 4.0))


# -- hooks, retain_grad, grad_fn introspection -----------------------------------------------------


def test_tensor_hooks_retain_grad_and_next_functions_match_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (gradcnn, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: g * 2)
        y = x * 3
        y.retain_grad()
        handle = y.register_hook(lambda g: g * 10)
        z = (y * y).sum()
        z.backward()
        results.append((y.grad.tolist(), x.grad.tolist(), y.retains_grad, len(z.grad_fn.next_functions)))
        handle.remove()
        x.grad = None
        (x * 3).sum().backward()
        results.append(x.grad.tolist())
    assert results[:2] == results[2:]


def test_next_functions_reach_the_leaves_and_names_are_methods():
    x = gradcnn.tensor([1.0], requires_grad=True)
    y = (x * 2).exp()
    assert y.grad_fn.name() == "Exp"
    (mul, index), = y.grad_fn.next_functions
    assert mul.name() == "Mul" and index == 0
    leaf, _ = mul.next_functions[0]
    assert leaf.name() == "AccumulateGrad" and leaf.variable is x
    assert mul.next_functions[1] == (None, 0)  # the constant 2


def test_hooks_see_gradcnn_grad_and_must_be_callable():
    x = gradcnn.tensor([3.0], requires_grad=True)
    handle = x.register_hook(lambda g: g + 1)
    (g,) = gradcnn.grad((x * x).sum(), [x])
    assert g.item() == 7.0
    handle.remove()
    x.register_hook(5)  # registers, as in PyTorch; the backward that calls it raises
    with pytest.raises(DTypeError, match="not callable"):
        (x * x).sum().backward()
    with pytest.raises(AutogradError, match="does not require grad"):
        gradcnn.ones(2).register_hook(lambda g: g)


# -- the arguments of backward() and grad() -------------------------------------------------------


def test_backward_inputs_accumulates_into_those_only():
    x, w = gradcnn.tensor([1.0, 2.0], requires_grad=True), gradcnn.tensor([3.0, 4.0], requires_grad=True)
    h = x * 1
    (h * w).sum().backward(inputs=[x])
    assert x.grad.tolist() == [3.0, 4.0] and w.grad is None
    y = x * 1
    (y * w).sum().backward(inputs=[y, w, w])  # a non-leaf input gets .grad too; duplicates count once
    assert y.grad.tolist() == [3.0, 4.0] and w.grad.tolist() == [1.0, 2.0]
    with pytest.raises(ShapeError, match="inputs cannot be empty"):
        (x * w).sum().backward(inputs=[])
    with pytest.raises(AutogradError, match=r"inputs\[0\] .* does not require grad"):
        (x * w).sum().backward(inputs=[gradcnn.ones(2)])
    with pytest.raises(DTypeError, match=r"inputs\[0\] must be a Tensor, got float"):
        (x * w).sum().backward(inputs=[1.0])


def test_backward_and_grad_check_their_seeds_and_flags():
    x = gradcnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(DTypeError, match=r"grad_tensors\[0\] must be a Tensor or None, got float"):
        (x * 2).backward([1.0, 1.0, 1.0])
    with pytest.raises(ShapeError, match="scalar"):
        (x * 2).backward()
    with pytest.raises(ShapeError, match="scalar"):
        gradcnn.grad(x * 2, x)
    with pytest.raises(DTypeError, match="retain_graph"):
        (x * 2).sum().backward(retain_graph="yes")
    with pytest.raises(DTypeError, match="create_graph"):
        gradcnn.grad((x * 2).sum(), x, create_graph=None)
    (x * 2).sum().backward(retain_graph=1)  # an int is its truth value, as in PyTorch
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_grad_inputs_and_materialize_grads():
    x, w = gradcnn.tensor([1.0, 2.0], requires_grad=True), gradcnn.tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(ShapeError, match="inputs cannot be empty"):
        gradcnn.grad((x * 2).sum(), [])
    (gw,) = gradcnn.grad((x * 2).sum(), w, materialize_grads=True)
    assert gw.tolist() == [0.0, 0.0]
    with pytest.raises(ShapeError, match="allow_unused"):
        gradcnn.grad((x * 2).sum(), w, materialize_grads=True, allow_unused=False)
    with pytest.raises(AutogradError, match="not used"):
        gradcnn.grad([], x)


def test_what_a_gradient_hook_returns_is_checked():
    for returned, error, words in ((lambda g: "a", DTypeError, "returned str"),
                                   (lambda g: gradcnn.ones(4), ShapeError, r"shape .* \(3,\) to \(4,\)"),
                                   (lambda g: g.to(gradcnn.float64), DTypeError, "dtype")):
        x = gradcnn.ones(3, requires_grad=True)
        x.register_hook(returned)
        with pytest.raises(error, match=words):
            (x * 2).sum().backward()
