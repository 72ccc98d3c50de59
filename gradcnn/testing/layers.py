"""``check_layer``: one call that property-tests a layer (any ``gradcnn.nn.Module`` factory).

::

    from gradcnn.testing import check_layer
    from hypothesis import strategies as st

    def test_my_conv():
        check_layer(MyConv, input_shape=lambda cfg: (2, cfg["channels"], 6, 6),
                    config=st.fixed_dictionaries({"channels": st.integers(1, 3)}))

For every drawn example (a config for the factory, then an input) it checks, in float64:

1. the forward runs and, when ``output_shape`` is given, has that shape;
2. gradients with respect to the input and to every parameter agree with finite differences
   (random layers, dropout say, are re-seeded before each call so they stay deterministic);
3. ``state_dict`` round trip: a freshly built layer that loads the state computes the same output;
4. ``train()``/``eval()`` switch every sub-module, and eval mode is deterministic;
5. the input is not mutated;
6. the graph is released after ``backward()`` (every node on it dropped its saved tensors).

Failures shrink to the smallest failing example and print it.
"""

import gc
import weakref

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from .. import random as _random
from ..autograd.tape import no_grad
from ..tensor import Tensor
from .gradcheck import gradcheck, gradgradcheck, graph_nodes
from .strategies import arrays

__all__ = ["check_layer"]

_SEED = 1234
_FULL_JACOBIAN_LIMIT = 150  # elements of input plus parameters; above this the random-direction check


def _shape_strategy(input_shape, config):
    if callable(input_shape) and not isinstance(input_shape, st.SearchStrategy):
        input_shape = input_shape(config)
    if isinstance(input_shape, st.SearchStrategy):
        return input_shape
    return st.just(tuple(input_shape))


def _outputs(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def check_layer(factory, input_shape, *, config=None, input=None, output_shape=None, min_value=-2.0,
                max_value=2.0, avoid=(), second_order=False, fast=None, atol=1e-5, rtol=1e-3, eps=1e-6,
                max_examples=None):
    """Property-test the layers ``factory(**config)`` builds; raises on the first failure.

    * ``input_shape``: a shape, a hypothesis strategy of shapes, or ``config -> shape``.
    * ``config``: a dict or a strategy drawing dicts of keyword arguments for ``factory``.
    * ``input``: instead of ``input_shape``, a strategy (or ``config -> strategy``) drawing the
      input array itself (integer inputs, say, for an embedding; then only parameters are checked).
    * ``output_shape``: the expected shape, or ``(input_shape, config) -> shape``.
    * ``avoid``: input values to keep away from (kinks of ReLU-like layers: ``avoid=(0,)``).
    * ``fast``: force (True) or forbid (False) the random-direction gradient check; by default it is
      used when the input and parameters hold more than 150 numbers.
    """
    configs = st.just(config or {}) if config is None or isinstance(config, dict) else config

    @st.composite
    def cases(draw):
        cfg = draw(configs)
        if input is not None:
            source = input(cfg) if callable(input) and not isinstance(input, st.SearchStrategy) else input
            x = draw(source)
        else:
            shape = draw(_shape_strategy(input_shape, cfg))
            x = draw(arrays(shape, min_value=min_value, max_value=max_value, avoid=avoid))
        return cfg, x

    @given(case=cases())
    def run(case):
        cfg, x = case
        _check_one(factory, cfg, np.asarray(x), output_shape, second_order, fast, atol, rtol, eps)

    # No deadline: the first example's call compiles (or loads) kernels, outside pytest's profiles
    # too (``gradcnn check-plugin`` runs without them).
    run = settings(deadline=None, **({} if max_examples is None else {"max_examples": max_examples}))(run)
    run()


def _build(factory, cfg):
    _random.manual_seed(_SEED)
    layer = factory(**cfg)
    if not hasattr(layer, "parameters") or not callable(layer):
        raise TypeError(f"check_layer: factory returned {type(layer).__name__}, not a Module")
    return layer.double()


def _check_one(factory, cfg, x, output_shape, second_order, fast, atol, rtol, eps):
    name = getattr(factory, "__name__", "layer")
    layer = _build(factory, cfg)
    original = x.copy()
    floating = x.dtype.kind == "f"
    xt = Tensor._make(x.astype(np.float64) if floating else x)
    if floating:
        xt.requires_grad = True
    params = [p for p in layer.parameters() if p.requires_grad]

    # 1. forward and output shape
    layer.train()
    _random.manual_seed(_SEED)
    out = _outputs(layer(xt))
    if output_shape is not None:
        expected = output_shape(x.shape, cfg) if callable(output_shape) else tuple(output_shape)
        assert out[0].shape == tuple(expected), (
            f"{name}({cfg}): output shape {out[0].shape}, expected {tuple(expected)} for input {x.shape}"
        )

    # 5. the input is untouched
    np.testing.assert_array_equal(xt._data, original, err_msg=f"{name}({cfg}) changed its input")

    # 6. graph released after backward: no node keeps saved tensors, and once the caller drops the
    # outputs nothing else (a cache on the layer, say) keeps them alive
    seeds = [Tensor._make(np.ones(o.shape)) for o in out if o.requires_grad]
    live = [o for o in out if o.requires_grad]
    if live:
        from ..autograd import grad

        grad(live, [xt] if floating else params, seeds, allow_unused=True)
        held = [n.name() for n in graph_nodes(live) if n.ctx is not None]
        assert not held, f"{name}({cfg}): nodes {held} kept their saved tensors after backward"
    refs = [weakref.ref(o._data) for o in out if o._data is not xt._data and o._data.base is None]
    del out, live, seeds
    if any(r() is not None for r in refs):
        gc.collect()  # only then: a full collection per example would dominate the run time
    kept = sum(r() is not None for r in refs)
    assert not kept, f"{name}({cfg}): {kept} output array(s) still referenced after the caller dropped them"

    # 2. gradients against finite differences (train mode, re-seeded for determinism)
    inputs = ([xt] if floating else []) + params
    if inputs:
        def fn(*_):
            _random.manual_seed(_SEED)
            return layer(xt)

        fn.__name__ = name
        size = sum(t.numel() for t in inputs)
        use_fast = fast if fast is not None else size > _FULL_JACOBIAN_LIMIT
        gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast=use_fast)
        if second_order:
            gradgradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast=use_fast)

    np.testing.assert_array_equal(xt._data, original, err_msg=f"{name}({cfg}) changed its input")

    # 4. train/eval switch every module; eval is deterministic
    assert layer.eval() is layer and not any(m.training for m in layer.modules()), f"{name}: eval() left modules training"
    with no_grad():
        first = _outputs(layer(xt))
        second = _outputs(layer(xt))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a._data, b._data, err_msg=f"{name}({cfg}): eval mode is not deterministic")
    assert layer.train() is layer and all(m.training for m in layer.modules()), f"{name}: train() missed modules"

    # 3. state_dict round trip into a freshly built layer (different seed, so different init)
    _random.manual_seed(_SEED + 1)
    fresh = factory(**cfg).double()
    result = fresh.load_state_dict(layer.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    layer.eval()
    fresh.eval()
    with no_grad():
        for a, b in zip(_outputs(layer(xt)), _outputs(fresh(xt))):
            np.testing.assert_allclose(a._data, b._data, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{name}({cfg}): output differs after a state_dict round trip")


def check_objects(objects, *, report=print):
    """Run :func:`check_layer` on each ``(kind, name, obj)`` of ``objects`` (what
    ``gradcnn.plugins.plugin_objects(plugin)`` lists for a plugin) that says how to test itself: a
    ``check_layer_example`` attribute (a dict, or a callable returning one, of ``check_layer``
    keyword arguments; it may name ``factory`` too). Returns ``(passed, failed, without_example)``
    name lists; ``report`` receives one line per object."""
    passed, failed, missing = [], [], []
    for kind, name, obj in objects:
        example = getattr(obj, "check_layer_example", None)
        if example is None:
            missing.append(name)
            report(f"{kind[:-1]} {name}: no check_layer_example, not checked")
            continue
        kwargs = dict(example() if callable(example) else example)
        factory = kwargs.pop("factory", obj)
        try:
            check_layer(factory, kwargs.pop("input_shape", None), **kwargs)
        except Exception as exc:  # report every object, then fail
            failed.append(name)
            report(f"{kind[:-1]} {name}: FAILED: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        else:
            passed.append(name)
            report(f"{kind[:-1]} {name}: ok")
    return passed, failed, missing
