"""Per-leaf post-accumulate-grad hooks (``torch.Tensor.register_post_accumulate_grad_hook``): when
they run, what they see, and what refuses them."""

import gc

import numpy as np
import pytest

import gradcnn
from gradcnn.autograd import Function, tape
from gradcnn.autograd.tape import register_post_accumulate_grad_hook
from gradcnn.errors import AutogradError, DTypeError


def leaf(*values):
    return gradcnn.tensor(np.array(values, dtype=np.float64), requires_grad=True)


class Logged(Function):
    """Identity whose backward writes ``name`` into ``log``."""

    @staticmethod
    def forward(ctx, x, *, log, name):
        ctx.log, ctx.name = log, name
        return x.copy()

    @staticmethod
    def backward(ctx, gy):
        ctx.log.append(ctx.name)
        return gy


def test_hook_sees_the_complete_gradient_once_per_backward():
    x = leaf(1.0, 2.0)
    seen = []
    register_post_accumulate_grad_hook(x, lambda t: seen.append(t.grad.numpy().copy()))
    (x * x + x * 3.0).sum().backward()  # two paths into x: the hook waits for both
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [5.0, 7.0])
    (x * 2.0).sum().backward()
    assert len(seen) == 2
    np.testing.assert_allclose(seen[1], [7.0, 9.0])  # accumulated, as .grad is


def test_a_leaf_is_finished_as_soon_as_its_last_consumer_has_run():
    # w2 feeds the last layer only: its hook must run before the first layer's backward.
    log = []
    w1, w2 = leaf(1.0, 1.0), leaf(2.0, 2.0)
    register_post_accumulate_grad_hook(w1, lambda t: log.append("hook w1"))
    register_post_accumulate_grad_hook(w2, lambda t: log.append("hook w2"))
    h = Logged.apply(w1 * 3.0, log=log, name="backward layer 1")
    out = Logged.apply(h * w2, log=log, name="backward layer 2")
    out.sum().backward()
    assert log == ["backward layer 2", "hook w2", "backward layer 1", "hook w1"]


def test_hooks_run_in_registration_order_and_handles_remove_them():
    x = leaf(1.0)
    log = []
    first = register_post_accumulate_grad_hook(x, lambda t: log.append(1))
    register_post_accumulate_grad_hook(x, lambda t: log.append(2))
    (x * 2.0).sum().backward()
    first.remove()
    first.remove()  # twice is harmless
    (x * 2.0).sum().backward()
    assert log == [1, 2, 2]
    with register_post_accumulate_grad_hook(x, lambda t: log.append(3)):
        (x * 2.0).sum().backward()
    (x * 2.0).sum().backward()
    assert log == [1, 2, 2, 2, 3, 2]


def test_grad_does_not_accumulate_and_calls_no_hook():
    x = leaf(1.0, 2.0)
    calls = []
    register_post_accumulate_grad_hook(x, calls.append)
    (g,) = gradcnn.grad((x * x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert calls == [] and x.grad is None


def test_a_root_that_is_a_leaf_and_create_graph_call_hooks_too():
    x = leaf(1.0, 2.0)
    calls = []
    register_post_accumulate_grad_hook(x, calls.append)
    gradcnn.autograd.backward(x, gradcnn.tensor([1.0, 1.0], dtype=np.float64))
    (x * x).sum().backward(create_graph=True)
    assert calls == [x, x]
    np.testing.assert_allclose(x.grad.detach().numpy(), [3.0, 5.0])


def test_refused_on_non_leaves_and_tensors_without_grad():
    x = leaf(1.0)
    with pytest.raises(AutogradError, match="leaf tensors only; this one was made by"):
        register_post_accumulate_grad_hook(x * 2.0, print)
    with pytest.raises(AutogradError, match="does not require grad"):
        register_post_accumulate_grad_hook(gradcnn.tensor([1.0]), print)


def test_a_non_callable_registers_and_fails_when_called():
    # As in PyTorch: registering checks nothing; the backward that calls it raises a TypeError.
    x = leaf(1.0)
    register_post_accumulate_grad_hook(x, 3)
    with pytest.raises(DTypeError, match="not callable"):
        (x * 2.0).sum().backward()


def test_the_registry_forgets_a_tensor_that_is_gone():
    before = len(tape._post_accumulate_hooks)
    x = leaf(1.0)
    register_post_accumulate_grad_hook(x, print)
    assert len(tape._post_accumulate_hooks) == before + 1
    del x
    gc.collect()
    assert len(tape._post_accumulate_hooks) == before
