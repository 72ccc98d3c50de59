"""The backward pass reuses gradient arrays nobody else can see: a leaf's complete gradient becomes
its ``.grad`` without a copy, and gradients that meet are summed in place. Whatever else holds a
gradient (a second input of an Add, a hook, the caller's seed) must never see it change."""

import sys

import numpy as np
import pytest

import gradcnn
from gradcnn.autograd import tape
from gradcnn.autograd.function import Function


def _address(a):
    return a.__array_interface__["data"][0]


class _Twice(Function):
    """``2 x``, whose backward remembers where it put its gradient."""

    addresses = []

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        out = g._data * 2
        _Twice.addresses.append(_address(out))
        return gradcnn.Tensor._make(out)


@pytest.fixture
def seen_refs(monkeypatch):
    """The reference counts ``_owned`` sees, as (count, limit) pairs."""
    seen = []
    owned = tape._owned

    def spy(t, refs):
        # One more reference than in ``_owned`` itself: this frame's argument.
        seen.append((sys.getrefcount(t) - 1, refs))
        return owned(t, refs)

    monkeypatch.setattr(tape, "_owned", spy)
    return seen


def test_a_fresh_leaf_gradient_becomes_grad_without_a_copy():
    _Twice.addresses.clear()
    x = gradcnn.tensor(np.ones(1000, np.float32), requires_grad=True)
    _Twice.apply(x).sum().backward()
    assert _address(x.grad._data) == _Twice.addresses[-1]
    np.testing.assert_array_equal(x.grad.numpy(), 2.0)


def test_the_reference_counts_the_engine_expects_are_the_ones_it_holds(seen_refs):
    x = gradcnn.tensor(np.ones(8, np.float32), requires_grad=True)
    y = x * 2
    (y * 3 + y * 4).sum().backward()  # two gradients meet at y, then x's is complete
    assert seen_refs == [(tape._PENDING_REFS - 1, tape._PENDING_REFS), (tape._LEAF_REFS - 1, tape._LEAF_REFS)]
    np.testing.assert_array_equal(x.grad.numpy(), 14.0)


def test_inputs_of_one_add_get_separate_gradients():
    a = gradcnn.tensor(np.ones(5, np.float32), requires_grad=True)
    b = gradcnn.tensor(np.ones(5, np.float32), requires_grad=True)
    (a + b).sum().backward()
    assert _address(a.grad._data) != _address(b.grad._data)
    a.grad._data += 1
    np.testing.assert_array_equal(b.grad.numpy(), 1.0)


def test_the_callers_seed_is_never_the_grad_nor_changed():
    x = gradcnn.tensor(np.ones(4, np.float32), requires_grad=True)
    seed = gradcnn.tensor(np.full(4, 3.0, np.float32))
    y = x + 0.0
    y.backward(seed)
    assert _address(x.grad._data) != _address(seed._data)
    y2 = x + 0.0
    y2.backward(seed)  # accumulates into x.grad in place
    np.testing.assert_array_equal(x.grad.numpy(), 6.0)
    np.testing.assert_array_equal(seed.numpy(), 3.0)


def test_a_gradient_a_hook_kept_is_not_changed_by_accumulation():
    kept = []
    x = gradcnn.tensor(np.ones(4, np.float32), requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: kept.append(g))
    (y * 3 + y * 4).sum().backward()  # the two gradients of y meet after the hook saw neither
    z = x * 1
    z.register_hook(lambda g: kept.append(g))
    (z * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 19.0)
    np.testing.assert_array_equal(kept[-1].numpy(), 5.0)
    x.grad._data += 100  # .grad is not the array the hook kept
    np.testing.assert_array_equal(kept[-1].numpy(), 5.0)


def test_one_gradient_reaching_a_node_twice_is_summed_out_of_place():
    x = gradcnn.tensor(np.arange(3, dtype=np.float32), requires_grad=True)
    y = x * 1
    z = y + y  # Add hands the same gradient tensor to both edges, which lead to one node
    (z * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 4.0)


def test_retained_and_create_graph_passes_give_the_same_gradients():
    def grads(**kwargs):
        gradcnn.manual_seed(0)
        w = gradcnn.randn(6, 6, requires_grad=True)
        h = w @ w
        loss = (h * h).sum() + (h @ w).sum()
        (gw,) = gradcnn.grad(loss, w, **kwargs)
        return gw.detach().numpy()

    np.testing.assert_array_equal(grads(), grads(create_graph=True))


@pytest.mark.parametrize("hook_first", [True, False])
def test_a_gradient_a_hook_kept_and_passed_on_stays_as_it_was(hook_first):
    kept = []
    x = gradcnn.tensor(np.ones(4, np.float32), requires_grad=True)
    y = x + 0.0  # Add passes y's gradient on to x unchanged
    y.register_hook(lambda g: kept.append(g))
    a, b = (y * 2).sum(), (x * 3).sum()
    (a + b if hook_first else b + a).backward()
    np.testing.assert_array_equal(x.grad.numpy(), 5.0)
    np.testing.assert_array_equal(kept[0].numpy(), 2.0)
    x.grad._data += 100
    np.testing.assert_array_equal(kept[0].numpy(), 2.0)
