"""Fuzz table of the layers: every constructor argument given every bad or edge value of its kind,
then the layer called on a small input; and every layer called on bad inputs. Parameters are set
to the same values in both libraries before the call, so outputs compare value for value."""

import tracemalloc

import numpy as np
import pytest
from fuzz_harness import Case, DType, check_case, describe, params, variant, wrap
from fuzz_values import COUNT, FLAG, GEOMETRY, INF, NAN, REDUCTION, SCALAR, arr, with_nan

from gradcnn.errors import DTypeError, OutOfMemoryError, ShapeError


def _set_parameters(module, t):
    """Give every parameter and float buffer fixed values, the same in both libraries."""
    with t.no_grad():
        for i, (_, p) in enumerate(sorted(module.named_parameters(), key=lambda kv: kv[0])):
            p.copy_(t.tensor(arr(*p.shape, seed=100 + i).astype(np.float64)).to(p.dtype))


def layer_call(name, args, kwargs, x, *, train=True):
    """Build ``nn.<name>(*args, **kwargs)``, set its parameters, and call it on ``x``."""
    def call(t):
        layer = getattr(t.nn, name)(*[wrap(t, a) for a in args], **{k: wrap(t, v) for k, v in kwargs.items()})
        _set_parameters(layer, t)
        layer.train(train)
        return layer(*[wrap(t, v) for v in (x if isinstance(x, list) else [x])])
    return call


def layer_cases(name, args, kwargs, x, variants, names=(), inputs=(), **case_kw):
    """The base layer call, one case per (constructor argument, value), one per input."""
    cases = [Case(f"nn.{name}-base", layer_call(name, args, kwargs, x), **case_kw)]
    for key, values in variants.items():
        arg = names[key] if isinstance(key, int) else key
        for value in values:
            a, kw = list(args), dict(kwargs)
            if isinstance(key, int):
                a[key] = value
            else:
                kw[key] = value
            id = f"nn.{name}-{arg}={describe(value)}"
            if any(c.id == id for c in cases):
                continue
            def make(v, a=a, kw=kw, key=key):
                a, kw = list(a), dict(kw)
                if isinstance(key, int):
                    a[key] = v
                else:
                    kw[key] = v
                return layer_call(name, a, kw, x)
            cases.append(variant(id, make, name, arg, value, flag=arg in FLAGS, **case_kw))
    for value in inputs:
        id = f"nn.{name}({describe(value)})"
        if not any(c.id == id for c in cases):
            cases.append(variant(id, lambda v: layer_call(name, args, kwargs, v), _functional_name(name), "input", value,
                                 **case_kw))
    return cases


FLAGS = {"ceil_mode", "return_indices", "count_include_pad", "inplace", "bias", "affine", "track_running_stats",
         "elementwise_affine"}


def _functional_name(layer):
    """The functional a layer calls, as its errors name it: MaxPool2d -> max_pool2d."""
    import re

    name = re.sub(r"(?<!^)(?=[A-Z])", "_", layer).lower()
    return {"conv_transpose1d": "conv_transpose1d"}.get(name, name).replace("_1d", "1d").replace("_2d", "2d")


def inputs_like(shape):
    a = arr(*shape)
    return [None, a[0], a[None], np.zeros((0, *shape[1:]), np.float32), a.astype(np.float64), a.astype(np.float16),
            a.astype(np.int64), with_nan(a), [a, a]]


MODES = ["zeros", "reflect", "replicate", "circular", "bogus", None]
LAYER_DTYPES = [DType("float64"), DType("float16"), DType("int64"), "float32", None, 1]


def conv_layer_cases():
    cases = []
    for n in (1, 2):
        shape = (2, 4, *(6,) * n)
        cases += layer_cases(f"Conv{n}d", [4, 6, 3], {"padding": 1}, arr(*shape), {
            0: COUNT + [3], 1: COUNT, 2: GEOMETRY + [(2.7, 3)[:n] if n == 1 else (2.7, 3), 7],
            "stride": GEOMETRY, "padding": GEOMETRY + ["same", "valid", "bogus"], "dilation": GEOMETRY,
            "groups": COUNT + [3, 4], "bias": FLAG, "padding_mode": MODES, "dtype": LAYER_DTYPES,
        }, names=("in_channels", "out_channels", "kernel_size"), inputs=inputs_like(shape))
        shape = (2, 4, *(5,) * n)
        cases += layer_cases(f"ConvTranspose{n}d", [4, 6, 3], {"stride": 2}, arr(*shape), {
            0: COUNT[:3], 1: COUNT[:3], 2: GEOMETRY[:8], "stride": GEOMETRY, "padding": GEOMETRY[:10] + ["same"],
            "output_padding": [1, 2, -1, 1.5], "groups": [0, 3, 4, True], "dilation": [0, -1, 2.5],
            "padding_mode": MODES,
        }, names=("in_channels", "out_channels", "kernel_size"), inputs=inputs_like(shape))
    return cases


def pool_layer_cases():
    cases = []
    for n in (1, 2):
        shape = (2, 3, *(6,) * n)
        x = arr(*shape)
        cases += layer_cases(f"MaxPool{n}d", [2], {}, x, {
            0: GEOMETRY, "stride": GEOMETRY, "padding": GEOMETRY + [1, 2], "dilation": GEOMETRY,
            "ceil_mode": FLAG + [True], "return_indices": FLAG + [True],
        }, names=("kernel_size",), inputs=inputs_like(shape))
        cases += layer_cases(f"AvgPool{n}d", [3], {"padding": 1}, x, {
            0: GEOMETRY, "stride": GEOMETRY, "padding": GEOMETRY[:8], "ceil_mode": FLAG[:3],
            "count_include_pad": FLAG[:3],
        }, names=("kernel_size",), inputs=inputs_like(shape))
        for kind in ("Avg", "Max"):
            cases += layer_cases(f"Adaptive{kind}Pool{n}d", [3], {}, x, {0: GEOMETRY[:12] + [2**40]},
                                 names=("output_size",), inputs=inputs_like(shape)[:5])
    return cases


def other_layer_cases():
    x = arr(2, 3, 4, 4)
    cases = []
    cases += layer_cases("ReLU", [], {}, x, {"inplace": FLAG}, inputs=inputs_like((2, 3, 4, 4)))
    cases += layer_cases("LeakyReLU", [], {}, x, {"negative_slope": SCALAR, "inplace": FLAG})
    cases += layer_cases("ELU", [], {}, x, {"alpha": SCALAR})
    cases += layer_cases("RReLU", [], {}, x, {"lower": SCALAR, "upper": SCALAR[:8]})
    cases += layer_cases("PReLU", [], {}, x, {"num_parameters": COUNT + [3, 4], "init": SCALAR})
    for name in ("Softmax", "LogSoftmax"):
        cases += layer_cases(name, [1], {}, x, {0: [4, -5, 1.5, "a", True, None]}, names=("dim",),
                             inputs=inputs_like((2, 3, 4, 4))[:6])
    for name, shape in (("Dropout", (2, 3, 4, 4)), ("Dropout1d", (2, 3, 4)), ("Dropout2d", (2, 3, 4, 4))):
        cases += [Case(c.id, c.call, values=False, match=c.match) for c in
                  layer_cases(name, [0.5], {}, arr(*shape), {0: [-0.1, 1.1, NAN, INF, None, "a", True, 0.0, 1.0]},
                              names=("p",), inputs=inputs_like(shape)[:5])]
    for n, shape in ((1, (4, 3, 5)), (2, (4, 3, 2, 2))):
        cases += layer_cases(f"BatchNorm{n}d", [3], {}, arr(*shape), {
            0: COUNT + [4], "eps": SCALAR, "momentum": SCALAR + [None, 1.5], "affine": FLAG[:2],
            "track_running_stats": FLAG[:2], "dtype": LAYER_DTYPES,
        }, names=("num_features",), inputs=inputs_like(shape) + [arr(1, *shape[1:])])
    cases += layer_cases("LayerNorm", [(4, 4)], {}, x, {
        0: [(4,), (3, 4), (5,), (), 4, -1, 2.0, None, "4", [4, 4], (0,), 2**40], "eps": SCALAR,
        "elementwise_affine": FLAG[:2],
    }, names=("normalized_shape",), inputs=inputs_like((2, 3, 4, 4)))
    cases += layer_cases("GroupNorm", [2, 4], {}, arr(2, 4, 3, 3), {
        0: COUNT + [3], 1: COUNT + [3, 6], "eps": SCALAR, "affine": FLAG[:2],
    }, names=("num_groups", "num_channels"), inputs=inputs_like((2, 4, 3, 3)))
    cases += layer_cases("LocalResponseNorm", [2], {}, x, {
        0: COUNT + [1, 7], "alpha": SCALAR, "beta": SCALAR, "k": SCALAR,
    }, names=("size",), inputs=inputs_like((2, 3, 4, 4)))
    cases += layer_cases("Linear", [3, 4], {}, arr(2, 3), {
        0: COUNT + [0], 1: COUNT + [0], "bias": FLAG[:3], "dtype": LAYER_DTYPES,
    }, names=("in_features", "out_features"), inputs=inputs_like((2, 3)) + [arr(2, 4), arr(3)])
    idx = np.array([[0, 4], [2, 2]])
    cases += layer_cases("Embedding", [5, 3], {}, idx, {
        0: COUNT + [0], 1: COUNT + [0], "padding_idx": [0, 4, -1, -5, 5, -6, 1.5, True, "a"],
    }, names=("num_embeddings", "embedding_dim"),
        inputs=[np.array([5]), np.array([-1]), np.array([0.0]), None, np.zeros((0,), np.int64), np.array(2)])
    cases += layer_cases("Flatten", [], {}, x, {"start_dim": [4, -5, 1.5, None, 3], "end_dim": [0, 4, -5, "a"]})
    cases += layer_cases("Unflatten", [1, (3, 1)], {}, arr(2, 3, 4), {
        0: [3, -4, 1.5, None], 1: [(2, 2), (-1, 3), (-1, -1), (), 3, (3.0, 1), None],
    }, names=("dim", "unflattened_size"))
    cases += layer_cases("Upsample", [], {"scale_factor": 2}, arr(1, 2, 3, 3), {
        "scale_factor": [0, -1, 0.5, NAN, INF, "2", (2, 2, 2), 2**20], "mode": ["bilinear", "bicubic", "bogus", None],
        "size": [(6, 6), 0, -1, (6,), 6.0],
    }, inputs=inputs_like((1, 2, 3, 3))[:6])
    cases += layer_cases("ConstantPad2d", [1, 0.5], {}, x, {
        0: [-1, -3, (1, 1), (1, 1, 1), 1.5, None, (1, 1, 1, 1, 1)], 1: [NAN, None, "a", INF],
    }, names=("padding", "value"))
    cases += layer_cases("ZeroPad2d", [1], {}, x, {0: [-1, (1, 1, 1), 1.5, None, "a"]}, names=("padding",))
    return cases


def loss_layer_cases():
    cases = []
    x, y = arr(4, 3), arr(4, 3, seed=1)
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCEWithLogitsLoss", "KLDivLoss"):
        cases += layer_cases(name, [], {}, [x, np.abs(y) / 4], {"reduction": REDUCTION},
                             inputs=[[x, arr(5, 3)], [x, None], [None, x], [np.zeros((0, 3), np.float32)] * 2])
    cases += layer_cases("HuberLoss", [], {}, [x, y], {"delta": SCALAR})[1:]
    cases += layer_cases("SmoothL1Loss", [], {}, [x, y], {"beta": SCALAR})[1:]
    logits, labels = arr(4, 5), np.array([0, 4, 2, 1])
    for name in ("CrossEntropyLoss", "NLLLoss"):
        variants = {"reduction": REDUCTION, "ignore_index": [0, -1, 1.5, None, "a"],
                    "weight": [arr(5, low=0.0), arr(4), None, [1.0] * 5]}
        if name == "CrossEntropyLoss":
            variants["label_smoothing"] = [0.1, 1.0, 1.5, -0.1, NAN, None, "a", np.float32(0.2)]
        cases += layer_cases(name, [], {}, [logits, labels], variants,
                             inputs=[[logits, np.array([0, 5, 2, 1])], [logits, np.array([0.5, 1, 2, 3])],
                                     [np.zeros((0, 5), np.float32), np.zeros((0,), np.int64)]])
    return cases


def container_cases():
    def sequential(*items):
        def call(t):
            return t.nn.Sequential(*[wrap(t, i) if not isinstance(i, str) else getattr(t.nn, i)() for i in items])
        return call
    cases = [Case(f"nn.Sequential-{describe(v)}", sequential(v)) for v in (None, 1, "a", arr(2), lambda x: x)]
    cases.append(Case("nn.Sequential-ReLU-ReLU", sequential("ReLU", "ReLU")))
    def module_list(v):
        return lambda t: t.nn.ModuleList(wrap(t, v))
    cases += [Case(f"nn.ModuleList-{describe(v)}", module_list(v)) for v in (None, 1, [1], [None], "ab")]
    def parameter(v, **kw):
        return lambda t: t.nn.Parameter(wrap(t, v), **kw)
    cases += [Case(f"nn.Parameter-{describe(v)}", parameter(v), values=True)
              for v in (arr(2), np.array([1, 2]), np.array([True]), None, [1.0], 2.0, np.zeros((0,), np.float32))]
    def add_module(name, value):
        def call(t):
            m = t.nn.Module()
            m.add_module(name, wrap(t, value) if not isinstance(value, str) else getattr(t.nn, value)())
            return m
        return call
    for name in ("a.b", "", 1, None, "ok", "training"):
        cases.append(Case(f"nn.Module.add_module-name={describe(name)}", add_module(name, "ReLU")))
    for value in (1, "x", arr(2)):
        cases.append(Case(f"nn.Module.add_module-module={describe(value)}", add_module("m", value)))
    def register_buffer(name, value, **kw):
        def call(t):
            m = t.nn.Module()
            m.register_buffer(name, wrap(t, value), **kw)
            return m
        return call
    for name, value in (("a.b", arr(2)), ("", arr(2)), (1, arr(2)), ("b", 1.0), ("b", [1.0]), ("b", None),
                        ("b", arr(2))):
        cases.append(Case(f"nn.Module.register_buffer-{describe(name)}-{describe(value)}", register_buffer(name, value)))
    def register_parameter(name, value):
        def call(t):
            m = t.nn.Module()
            m.register_parameter(name, value(t) if callable(value) else wrap(t, value))
            return m
        return call
    for name, value in (("a.b", lambda t: t.nn.Parameter(t.zeros(2))), ("p", arr(2)), ("p", None), (2, None),
                        ("", lambda t: t.nn.Parameter(t.zeros(2)))):
        cases.append(Case(f"nn.Module.register_parameter-{describe(name)}-{describe(value)}",
                          register_parameter(name, value)))
    return cases


def _peak_stays_small(call, limit=2**24):
    """``call`` raises OutOfMemoryError, and the peak of Python-tracked memory stays under ``limit``."""
    def run(t):
        tracemalloc.start()
        try:
            call(t)
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert peak < limit, f"peak {peak} bytes before the error"
    return run


def special_cases():
    cases = [
        Case("nn.MaxPool2d-stride0", lambda t: t.nn.MaxPool2d(2, stride=0), error=ShapeError, match="stride"),
        Case("nn.Conv2d-kernel(2.7,3)", lambda t: t.nn.Conv2d(3, 4, (2.7, 3)), error=DTypeError, match="kernel_size"),
        Case("nn.Linear-2**40-oom-small-peak", _peak_stays_small(lambda t: t.nn.Linear(2**40, 2**40)),
             error=OutOfMemoryError, match="1099511627776"),
        Case("nn.Conv2d-padding-2**20-oom-small-peak", _peak_stays_small(
            lambda t: t.nn.Conv2d(1, 1, 3, padding=2**20)(t.ones(1, 1, 4, 4))), error=OutOfMemoryError, match="conv2d"),
        Case("nn.AdaptiveAvgPool2d-2**40-oom-small-peak", _peak_stays_small(
            lambda t: t.nn.AdaptiveAvgPool2d(2**40)(t.ones(1, 1, 4, 4))), error=OutOfMemoryError),
        Case("nn.BatchNorm2d-empty-batch-train", layer_call("BatchNorm2d", [3], {}, np.zeros((0, 3, 2, 2), np.float32))),
        Case("nn.BatchNorm2d-empty-batch-eval", layer_call("BatchNorm2d", [3], {}, np.zeros((0, 3, 2, 2), np.float32),
                                                           train=False)),
        Case("nn.LocalResponseNorm-empty-batch", layer_call("LocalResponseNorm", [2], {}, np.zeros((0, 3, 2, 2), np.float32))),
    ]
    for name, args, shape in [("Conv2d", [2, 3, 3], (1, 2, 5, 5)), ("Conv1d", [2, 3, 3], (1, 2, 5)),
                              ("ConvTranspose2d", [2, 3, 3], (1, 2, 3, 3)), ("MaxPool2d", [2], (1, 2, 4, 4)),
                              ("AvgPool2d", [2], (1, 2, 4, 4)), ("AdaptiveAvgPool2d", [2], (1, 2, 5, 5)),
                              ("LocalResponseNorm", [3], (1, 4, 3, 3)), ("BatchNorm2d", [2], (2, 2, 2, 2)),
                              ("Linear", [3, 2], (2, 3))]:
        def call(t, name=name, args=args, shape=shape):
            layer = getattr(t.nn, name)(*args).to(t.float16)
            _set_parameters(layer, t)
            return layer(t.tensor(arr(*shape)).to(t.float16))
        differs = "float16 local response norm computes (float32 accumulation)" if name == "LocalResponseNorm" else None
        cases.append(Case(f"nn.{name}-float16", call, rtol=2e-2, atol=2e-3, differs=differs,
                          check=(lambda r: r.dtype == np.float16) if differs else None))
    return cases


CASES = conv_layer_cases() + pool_layer_cases() + other_layer_cases() + loss_layer_cases() + container_cases() + special_cases()


@pytest.mark.parametrize("case", params(CASES))
def test_layers(case):
    check_case(case)
