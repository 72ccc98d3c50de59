"""Fuzz table of the functional API: convolutions, pools, activations, elementwise math, losses,
normalisations, shape ops, reductions, indexing and creation, each argument given every bad or
edge value of its kind, each compared with PyTorch (see fuzz_harness for what a case expects)."""

import numpy as np
import pytest
from fuzz_harness import Case, DType, Raw, check_case, describe, params, variant, wrap
from fuzz_values import COUNT, DIM, FLAG, GEOMETRY, INF, NAN, REDUCTION, SCALAR, arr, tensor_inputs, with_nan

from gradcnn.errors import DTypeError, OutOfMemoryError, ShapeError


def resolve(t, path):
    obj = t
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def call_of(path, args, kwargs):
    """``path(*args, **kwargs)`` on library ``t``, the arrays among them made tensors."""
    def call(t):
        return resolve(t, path)(*[wrap(t, a) for a in args], **{k: wrap(t, v) for k, v in kwargs.items()})
    return call


def op_cases(path, args, kwargs=None, variants=None, names=None, **case_kw):
    """The base call ``path(*args, **kwargs)``, then one case per (argument, value) of ``variants``:
    a key that is an int replaces that positional argument (``names`` gives its name), a str the
    keyword. A case that raises must name the argument it changed."""
    kwargs = dict(kwargs or {})
    short = path.replace("nn.functional.", "F.")
    cases = [Case(f"{short}-base", call_of(path, args, kwargs), **case_kw)]
    for key, values in (variants or {}).items():
        name = names[key] if isinstance(key, int) else key
        for value in values:
            a, kw = list(args), dict(kwargs)
            if isinstance(key, int):
                a[key] = value
            else:
                kw[key] = value
            id = f"{short}-{name}={describe(value)}"
            if any(c.id == id for c in cases):  # two value sets that share a value
                continue
            def make(v, a=a, kw=kw, key=key):
                a, kw = list(a), dict(kw)
                if isinstance(key, int):
                    a[key] = v
                else:
                    kw[key] = v
                return call_of(path, a, kw)
            cases.append(variant(id, make, path.rsplit(".", 1)[-1], name, value, flag=name in FLAGS,
                                 **_float16_tolerance(value, case_kw)))
    return cases


FLAGS = {"ceil_mode", "return_indices", "count_include_pad", "training", "inplace", "keepdim", "largest", "sorted",
         "descending", "stable", "log_target", "align_corners", "unbiased", "requires_grad", "affine", "bias",
         "track_running_stats", "elementwise_affine"}


def _float16_tolerance(value, case_kw):
    if isinstance(value, np.ndarray) and value.dtype == np.float16:
        return {**case_kw, "rtol": 1e-2, "atol": 2e-3}
    return case_kw


F = "nn.functional."

# -- convolutions --------------------------------------------------------------------------------


def conv_cases():
    cases = []
    for n in (1, 2):
        sp = (6,) * n
        x, w, b = arr(2, 4, *sp), arr(6, 4, *(3,) * n), arr(6)
        cases += op_cases(F + f"conv{n}d", [x, w, b], {"stride": 1, "padding": 1}, {
            0: tensor_inputs((2, 4, *sp)) + [arr(2, 3, *sp), arr(2, 4, *(2,) * n)],
            1: tensor_inputs((6, 4, *(3,) * n)) + [arr(6, 2, *(3,) * n), arr(0, 4, *(3,) * n), arr(6, 4, *(7,) * n)],
            2: [arr(5), arr(6, 1), np.zeros((), np.float32), arr(6).astype(np.float64), arr(6).astype(np.int64), [1.0] * 6],
            "stride": GEOMETRY, "padding": GEOMETRY + ["same", "valid", "SAME", "bogus", ""],
            "dilation": GEOMETRY, "groups": COUNT + [2, 3, 4, 6],
        }, names={0: "input", 1: "weight", 2: "bias"})
        xt, wt, bt = arr(2, 4, *(5,) * n), arr(4, 3, *(3,) * n), arr(3)
        cases += op_cases(F + f"conv_transpose{n}d", [xt, wt, bt], {"stride": 2, "padding": 1}, {
            0: tensor_inputs((2, 4, *(5,) * n)) + [arr(2, 3, *(5,) * n)],
            1: tensor_inputs((4, 3, *(3,) * n)) + [arr(4, 3, *(0,) * n)],
            2: [arr(5), arr(3).astype(np.float64)],
            "stride": GEOMETRY, "padding": GEOMETRY + ["same"], "output_padding": GEOMETRY + [1, 2],
            "dilation": GEOMETRY, "groups": COUNT + [2, 4],
        }, names={0: "input", 1: "weight", 2: "bias"})
    return cases


# -- pools ---------------------------------------------------------------------------------------


def pool_cases():
    cases = []
    for n in (1, 2):
        shape = (2, 3, *(6,) * n)
        x = arr(*shape)
        inputs = tensor_inputs(shape) + [with_nan(np.full(shape, NAN, np.float32))]
        cases += op_cases(F + f"max_pool{n}d", [x, 2], {}, {
            0: inputs, 1: GEOMETRY + [7, 6], "stride": GEOMETRY + [[]], "padding": GEOMETRY + [1, 2],
            "dilation": GEOMETRY, "ceil_mode": FLAG + [True], "return_indices": FLAG + [True],
        }, names={0: "input", 1: "kernel_size"})
        avg = {0: inputs, 1: GEOMETRY + [7], "stride": GEOMETRY, "padding": GEOMETRY + [1, 2],
               "ceil_mode": FLAG + [True], "count_include_pad": FLAG + [False]}
        if n == 2:
            avg["divisor_override"] = [0, -1, 2.5, True, "a", 3, NAN]
        cases += op_cases(F + f"avg_pool{n}d", [x, 3], {"padding": 1}, avg, names={0: "input", 1: "kernel_size"})
        for kind in ("avg", "max"):
            variants = {0: inputs, 1: GEOMETRY + [1, 7, 2**20, (None,) * n]}
            if kind == "max":
                variants["return_indices"] = FLAG + [True]
            cases += op_cases(F + f"adaptive_{kind}_pool{n}d", [x, 4], {}, variants,
                              names={0: "input", 1: "output_size"})
    return cases


# -- activations and elementwise math ------------------------------------------------------------


def activation_cases():
    shape = (2, 3, 4)
    x = arr(*shape)
    inputs = tensor_inputs(shape) + [np.array([-0.0, 0.0, -1e-45], np.float32), np.array([[]], np.float32)]
    cases = []
    for name in ("relu", "sigmoid", "tanh"):
        cases += op_cases(F + name, [x], {}, {0: inputs}, names={0: "input"})
    cases += op_cases(F + "elu", [x], {}, {0: inputs, "alpha": SCALAR}, names={0: "input"})
    cases += op_cases(F + "leaky_relu", [x], {}, {0: inputs, "negative_slope": SCALAR}, names={0: "input"})
    for name in ("softmax", "log_softmax"):
        cases += op_cases(F + name, [x], {"dim": 1}, {
            0: inputs + [np.zeros((2, 0, 3), np.float32), np.full((2, 3), -INF, np.float32)],
            "dim": DIM[:1] + [3, -4, 1.0, "a", True, (0, 0), np.int64(1), [1]],
        }, names={0: "input"})
    cases += op_cases(F + "rrelu", [x], {"training": False}, {
        0: inputs, "lower": SCALAR, "upper": SCALAR + [0.1],
    }, names={0: "input"})
    cases += op_cases(F + "prelu", [arr(2, 3, 4), arr(1)], {}, {
        0: inputs, 1: [arr(3), arr(2), arr(4), np.zeros((), np.float32), None, 0.25, arr(1).astype(np.float64)],
    }, names={0: "input", 1: "weight"})
    return cases


ELEMENTWISE = ["abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
               "cosh", "tanh", "sigmoid", "ceil", "floor", "round", "trunc", "reciprocal", "isnan", "isinf",
               "isfinite", "logical_not"]
ELEMENTWISE_INPUTS = [
    with_nan(arr(3, 2)), with_nan(arr(3, 2), inf=True), np.zeros((0, 2), np.float32), np.array(2.0, np.float32),
    np.array([-1.0, 0.0, 0.5], np.float32), arr(3, 2).astype(np.float16), np.array([0, 3, -2]),
    np.array([True, False]), None, [1.0],
]


def elementwise_cases():
    cases = []
    for name in ELEMENTWISE:
        for value in ELEMENTWISE_INPUTS:
            cases.append(Case(f"{name}-input={describe(value)}", call_of(name, [value], {}), rtol=1e-4))
    binary = {"add": "__add__", "sub": "__sub__", "mul": "__mul__", "div": "__truediv__", "pow": "__pow__",
              "floordiv": "__floordiv__", "mod": "__mod__", "maximum": None, "minimum": None}
    others = [arr(3), arr(2, 3), arr(4), np.array(0.0, np.float32), np.array([0, 1, 2]), np.array(True), 2, 0, 2.5,
              NAN, None, "a", arr(2, 3).astype(np.float64), np.zeros((0, 3), np.float32)]
    for name, dunder in binary.items():
        for other in others:
            if dunder is None:
                call = call_of(name, [arr(2, 3), other], {})
            else:
                def call(t, dunder=dunder, other=other):
                    return getattr(t.tensor(arr(2, 3)), dunder)(wrap(t, other))
            cases.append(Case(f"{name}-other={describe(other)}", call, rtol=1e-4))
    return cases


# -- losses --------------------------------------------------------------------------------------


def loss_cases():
    cases = []
    x, y = arr(4, 3), arr(4, 3, seed=1)
    p, q = arr(4, 3, low=0.0), arr(4, 3, seed=2, low=0.0)
    empties = [(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)), (np.zeros((0,), np.float32),) * 2]
    pair_inputs = tensor_inputs((4, 3)) + [arr(3), arr(4, 1), arr(5, 3)]
    for name, a, b, extra in [
        ("mse_loss", x, y, {}), ("l1_loss", x, y, {}), ("smooth_l1_loss", x, y, {"beta": SCALAR}),
        ("huber_loss", x, y, {"delta": SCALAR}), ("binary_cross_entropy", p, q, {}),
        ("binary_cross_entropy_with_logits", x, q, {"pos_weight": [arr(3, low=0.0), arr(2), NAN, None]}),
        ("kl_div", np.log(p + 0.1), q, {"log_target": FLAG + [True]}),
    ]:
        variants = {0: pair_inputs, 1: pair_inputs, "reduction": REDUCTION, **extra}
        cases += op_cases(F + name, [a, b], {}, variants, names={0: "input", 1: "target"})
        for e, (ea, eb) in enumerate(empties):
            for reduction in ("mean", "sum", "none"):
                cases.append(Case(f"{name}-empty{e}-{reduction}", call_of(F + name, [ea, eb], {"reduction": reduction})))
    if True:  # BCE's probabilities outside [0, 1]
        for bad in (np.array([1.5], np.float32), np.array([-0.1], np.float32), np.array([NAN], np.float32)):
            cases.append(Case(f"binary_cross_entropy-input-range={describe(bad)}",
                              call_of(F + "binary_cross_entropy", [bad, np.array([1.0], np.float32)], {})))
            cases.append(Case(f"binary_cross_entropy-target-range={describe(bad)}",
                              call_of(F + "binary_cross_entropy", [np.array([0.5], np.float32), bad], {})))
    logits, labels = arr(4, 5), np.array([0, 4, 2, 1])
    label_bad = [np.array([0, 5, 2, 1]), np.array([0, -1, 2, 1]), np.array([0, 1, 2]), np.array([0.0, 1, 2, 3]),
                 np.array([0, 1, 2, 3], np.int32), np.array([0, 1, 2, 3], np.uint8), np.array([True, False, True, True]),
                 np.array(1), np.zeros((0,), np.int64), np.array([[0, 1, 2, 3]]), arr(4, 5, low=0.0), arr(4, 4, low=0.0),
                 np.array([0, -100, 2, 1]), None, [0, 1, 2, 3]]
    for name in ("cross_entropy", "nll_loss"):
        inp = logits if name == "cross_entropy" else np.log(arr(4, 5, low=0.05))
        variants = {
            0: tensor_inputs((4, 5)) + [arr(4), arr(4, 5, 2), np.zeros((0, 5), np.float32)],
            1: label_bad, "reduction": REDUCTION, "ignore_index": [0, 4, -1, 2**40, 1.5, None, True, "a"],
            "weight": [arr(5, low=0.0), arr(4), arr(5, low=0.0).astype(np.float64), np.zeros(5, np.float32), None,
                       [1.0] * 5],
        }
        if name == "cross_entropy":
            variants["label_smoothing"] = [0.1, 1.0, 1.5, -0.1, NAN, None, "a", np.float32(0.2), True]
        cases += op_cases(F + name, [inp, labels], {}, variants, names={0: "input", 1: "target"})
        for reduction in ("mean", "sum", "none"):
            cases.append(Case(f"{name}-empty-{reduction}", call_of(
                F + name, [np.zeros((0, 5), np.float32), np.zeros((0,), np.int64)], {"reduction": reduction})))
            cases.append(Case(f"{name}-all-ignored-{reduction}", call_of(
                F + name, [inp, np.full(4, -100)], {"reduction": reduction})))
        cases.append(Case(f"{name}-spatial", call_of(F + name, [arr(2, 5, 3, 3), np.zeros((2, 3, 3), np.int64)], {})))
        cases.append(Case(f"{name}-spatial-bad-target", call_of(F + name, [arr(2, 5, 3, 3), np.zeros((2, 3, 4), np.int64)], {})))
    return cases


# -- normalisation -------------------------------------------------------------------------------


def norm_cases():
    x = arr(2, 3, 4, 4)
    rm, rv = arr(3), arr(3, low=0.5)
    cases = op_cases(F + "batch_norm", [x, rm, rv], {"training": False}, {
        0: tensor_inputs((2, 3, 4, 4)) + [arr(2, 4, 4, 4), arr(2, 3)],
        1: [arr(4), None, arr(3).astype(np.float64), np.zeros((), np.float32)],
        2: [arr(4, low=0.5), None, -arr(3, low=0.5), np.zeros(3, np.float32)],
        "weight": [arr(4), arr(3), np.zeros((), np.float32)], "bias": [arr(4), arr(3)],
        "training": FLAG + [True], "momentum": SCALAR, "eps": SCALAR,
    }, names={0: "input", 1: "running_mean", 2: "running_var"})
    for n in (0, 1):  # training on an empty batch, and on one value per channel
        cases.append(Case(f"batch_norm-train-batch{n}", call_of(
            F + "batch_norm", [np.zeros((n, 3, 1, 1), np.float32), None, None], {"training": True})))
    cases += op_cases(F + "layer_norm", [x, (4, 4)], {}, {
        0: tensor_inputs((2, 3, 4, 4)), 1: [(4,), (3, 4), (5,), (), 4, -1, (0,), 2.0, None, "4", [4, 4], (4.0, 4)],
        "weight": [arr(4, 4), arr(4), arr(3, 4, 4)], "bias": [arr(4, 4), arr(5, 4)], "eps": SCALAR,
    }, names={0: "input", 1: "normalized_shape"})
    xg = arr(2, 4, 3, 3)
    cases += op_cases(F + "group_norm", [xg, 2], {}, {
        0: tensor_inputs((2, 4, 3, 3)), 1: COUNT + [3, 4, 1, 8],
        "weight": [arr(4), arr(3), arr(4, 1)], "bias": [arr(4), arr(2)], "eps": SCALAR,
    }, names={0: "input", 1: "num_groups"})
    cases += op_cases(F + "local_response_norm", [x, 2], {}, {
        0: tensor_inputs((2, 3, 4, 4)) + [arr(2, 3)], 1: COUNT + [1, 3, 7],
        "alpha": SCALAR, "beta": SCALAR, "k": SCALAR,
    }, names={0: "input", 1: "size"})
    return cases


# -- shape ops: pad, cat, interpolate, dropout, embedding, linear --------------------------------


def shape_cases():
    x = arr(2, 3, 4, 4)
    cases = op_cases(F + "pad", [x, (1, 1)], {}, {
        0: tensor_inputs((2, 3, 4, 4)),
        1: [(1,), (1, 1, 1), (1, 1, 1, 1, 1, 1, 1, 1, 1, 1), (), (-1, -1), (-3, -3), (-4, 0), (1.0, 1), (True, 1), None,
            1, [1, 2], (2**40, 0), (np.int64(1), 1), "a"],
        "value": [None, NAN, INF, "a", True, 2, np.float32(1.5), (1.0,), 1j],
        "mode": ["constant", "reflect", "replicate", "circular", "bogus", None, 1],
    }, names={0: "input", 1: "pad"})
    a, b = arr(2, 3), arr(2, 3, seed=1)
    cat_variants = {
        0: [[], [a], [a, arr(3, 3)], [a, arr(2, 4)], [a, arr(2)], [a, np.zeros((0,), np.float32)],
            [a, b.astype(np.float64)], [a, np.array([[1, 2, 3]])], [a, None], (a, b), a, None, [a, Raw(b)],
            [np.zeros((), np.float32), np.zeros((), np.float32)]],
        "dim": [1, -1, -2, 2, -3, 1.0, None, "a", True],
    }
    # gradcnn.functional also holds cat (the architectures' only way to it): compared with torch.cat
    for ours, theirs in zip(op_cases(F + "cat", [[a, b]], {}, cat_variants, names={0: "tensors"}),
                            op_cases("cat", [[a, b]], {}, cat_variants, names={0: "tensors"})):
        ours.torch_call = ours.torch_call or theirs.call
        cases.append(ours)
    for path in ("stack",):
        cases += op_cases(path, [[a, b]], {}, {
            0: [[], [a, arr(3, 3)], [a, b.astype(np.float64)], [np.zeros((), np.float32)] * 2, None],
            "dim": [2, -3, 3, -4, 1.5, None],
        }, names={0: "tensors"})
    xi = arr(1, 2, 3, 3)
    cases += op_cases(F + "interpolate", [xi], {"scale_factor": 2}, {
        0: tensor_inputs((1, 2, 3, 3)) + [arr(2, 3)],
        "scale_factor": [0, -1, 0.5, 1.5, NAN, INF, None, "2", (2, 2, 2), (2, 0.5), True, 1e-9, 2**20],
        "mode": ["nearest", "bilinear", "linear", "bicubic", "area", "nearest-exact", "bogus", None],
        "size": [(6, 6), 0, -1, (6,), (6, 6, 6), 6.0, (6.0, 6), (2**40, 2**40)],
        "align_corners": [True, False, "yes"],
    }, names={0: "input"})
    xd = arr(3, 4, 2, 2)
    for name in ("dropout", "dropout1d", "dropout2d"):
        shape = {"dropout": (3, 4, 2, 2), "dropout1d": (3, 4, 2), "dropout2d": (3, 4, 2, 2)}[name]
        xx = arr(*shape)
        cases += op_cases(F + name, [xx], {"training": False}, {
            0: tensor_inputs(shape) if name == "dropout" else [None, arr(2), np.zeros((0, *shape[1:]), np.float32)],
            "p": [0.0, 1.0, -0.1, 1.1, NAN, None, "a", True, np.float32(0.5), 2],
            "training": FLAG, "inplace": FLAG,
        }, names={0: "input"})
        for p in (0.0, 1.0, 0.5):
            cases.append(Case(f"{name}-train-p={p}", call_of(F + name, [xx], {"p": p, "training": True}),
                              values=p != 0.5))
    del xd
    w = arr(5, 3)
    idx = np.array([[0, 4], [2, 2]])
    cases += op_cases(F + "embedding", [idx, w], {}, {
        0: [np.array([5]), np.array([-1]), np.array([0.0, 1.0]), np.array([True]), np.zeros((0,), np.int64),
            np.array(2), np.array([0, 1], np.int32), np.array([0, 1], np.uint8), None, [0, 1]],
        1: [arr(5), arr(5, 3, 1), arr(0, 3), np.zeros((), np.float32), arr(5, 3).astype(np.int64), None],
        "padding_idx": [0, 4, -1, -5, 5, -6, 1.5, True, "a", np.int64(2)],
    }, names={0: "input", 1: "weight"})
    cases += op_cases(F + "linear", [arr(2, 3), arr(4, 3), arr(4)], {}, {
        0: tensor_inputs((2, 3)) + [arr(2, 4), arr(3)], 1: tensor_inputs((4, 3)) + [arr(4, 2)],
        2: [arr(3), arr(4, 1), arr(4).astype(np.float64), None, np.zeros((), np.float32)],
    }, names={0: "input", 1: "weight", 2: "bias"})
    return cases


# -- reductions and tensor functions -------------------------------------------------------------


def reduction_cases():
    x = arr(2, 3, 4)
    empty = np.zeros((2, 0), np.float32)
    inputs = [with_nan(x), with_nan(x, inf=True), empty, np.zeros((), np.float32), np.array([1, 2, 3]),
              np.array([True, False]), x.astype(np.float16), None]
    dims = [-4, 3, 2**40, 1.5, "a", True, (0, 0), (0, 5), [0, 1], (), np.int64(1), None]
    cases = []
    for name in ("sum", "mean", "amax", "amin", "argmax", "argmin", "logsumexp", "var", "std", "max", "min",
                 "cumsum", "norm"):
        kw = {"dim": 1}
        variants = {0: inputs, "dim": dims, "keepdim": FLAG + [True]}
        if name == "cumsum":
            del variants["keepdim"]
        if name in ("var", "std"):
            variants["correction"] = [0, 1, 2, 5, -1, 1.5, None, "a"]
            variants["unbiased"] = [False, None, 0]
        cases += op_cases(name, [x], kw, variants, names={0: "input"}, rtol=1e-4)
        for e in (np.zeros((0,), np.float32), np.zeros((3, 0), np.float32)):
            cases.append(Case(f"{name}-all-of-empty{e.shape}", call_of(name, [e], {}) if name != "cumsum"
                              else call_of(name, [e], {"dim": 0})))
            if name != "cumsum":
                cases.append(Case(f"{name}-dim0-of-empty{e.shape}", call_of(name, [e], {"dim": 0})))
    cases += op_cases("topk", [arr(3, 5), 2], {}, {
        1: [0, 5, 6, -1, 1.5, None, True], "dim": [0, 2, -3, None], "largest": FLAG, "sorted": FLAG,
    }, names={0: "input", 1: "k"})
    cases += op_cases("sort", [with_nan(arr(3, 5))], {}, {"dim": [0, 2, -3, 1.5, None], "descending": FLAG + [True],
                                                           "stable": FLAG + [True]}, names={})
    cases += op_cases("clamp", [with_nan(arr(3, 4))], {"min": -0.5}, {
        "min": [None, NAN, INF, "a", arr(4), arr(5), np.array([1, 2, 3, 4])], "max": [None, NAN, -1.0, arr(4), arr(2)],
    }, names={})
    cases.append(Case("clamp-no-bounds", call_of("clamp", [arr(3)], {})))
    cases += op_cases("where", [arr(3, 4) > 0, arr(3, 4), arr(3, 4, seed=1)], {}, {
        0: [arr(3, 4), np.zeros((3, 4), np.int64), arr(3, 5) > 0, None, np.array(True), arr(3, 4, dtype=np.uint8)],
        1: [arr(3, 5), 1.0, NAN, None, arr(3, 4).astype(np.float64), np.array([1, 2, 3, 4])], 2: [arr(5), "a", 0],
    }, names={0: "condition", 1: "input", 2: "other"})
    cases += op_cases("gather", [arr(3, 4), 1, np.array([[0, 1], [3, 2], [1, 1]])], {}, {
        1: [2, -3, 1.5, None], 2: [np.array([[0, 4]]), np.array([[-1, 0]]), np.array([[0.0, 1.0]]), np.array([0, 1]),
                                   np.zeros((3, 0), np.int64), np.array([[0, 1]], np.int32), None],
    }, names={0: "input", 1: "dim", 2: "index"})
    cases += op_cases("scatter", [arr(3, 4), 1, np.array([[0, 1], [3, 2], [1, 1]]), arr(3, 2)], {}, {
        2: [np.array([[0, 4]]), np.array([[-5, 0]]), np.array([[0.0, 1.0]])], 3: [arr(1, 1), arr(3, 2).astype(np.float64),
                                                                                   2.0, None],
        1: [2, -3, 1.5],
    }, names={0: "input", 1: "dim", 2: "index", 3: "src"})
    cases += op_cases("scatter_add", [arr(3, 4), 0, np.array([[0, 1, 2, 0]]), arr(1, 4)], {}, {
        2: [np.array([[0, 1, 2, 3]]), np.array([[0, 1, 2, -4]]), np.array([[0, 1, 2, 0]], np.int32)], 3: [arr(1, 3), 1.0],
    }, names={0: "input", 1: "dim", 2: "index", 3: "src"})
    cases += op_cases("masked_fill", [arr(3, 4), arr(3, 4) > 0, 0.0], {}, {
        1: [arr(4) > 0, arr(3, 5) > 0, np.zeros((3, 4), np.int64), arr(3, 4), None],
        2: [NAN, INF, "a", None, np.array(2.0, np.float32), arr(2), True, 2],
    }, names={0: "input", 1: "mask", 2: "value"})
    for path, a, b in [("matmul", arr(2, 3), arr(3, 4)), ("mm", arr(2, 3), arr(3, 4)), ("bmm", arr(2, 2, 3), arr(2, 3, 4)),
                       ("dot", arr(3), arr(3, seed=1)), ("outer", arr(3), arr(2))]:
        cases += op_cases(path, [a, b], {}, {
            0: [arr(2, 5), arr(5), np.zeros((), np.float32), a.astype(np.float64), a.astype(np.int64), None,
                np.zeros((0, 3), np.float32), np.zeros((2, 0), np.float32)],
            1: [arr(4, 3), arr(3), b.astype(np.float64), np.zeros((3, 0), np.float32), None, 2.0],
        }, names={0: "input", 1: "other"}, rtol=1e-4)
    xs = arr(2, 3, 4)
    for path, args, variants in [
        ("reshape", [xs, (4, 6)], {1: [(5, 5), (-1, -1), (-1, 5), (0, -1), (2.0, 12), (True, 24), None, (-2, 12), 24,
                                       (2**40, 2**40), (0,), ()]}),
        ("flatten", [xs], {"start_dim": [3, -4, 2, 1.5, None], "end_dim": [0, 3, -4, "a"]}),
        ("squeeze", [arr(2, 1, 3)], {"dim": [1, 0, 3, -4, (0, 1), (1, 1), None, 1.5]}),
        ("unsqueeze", [xs, 0], {1: [3, 4, -4, -5, 1.5, None, (0,)]}),
        ("transpose", [xs, 0, 1], {1: [3, -4, 1.5, None], 2: [3, -4, "a"]}),
        ("permute", [xs, (2, 0, 1)], {1: [(0, 1), (0, 0, 1), (0, 1, 3), (-1, 0, 1), (0.0, 1, 2), None, (0, 1, 2, 3)]}),
        ("flip", [xs, (0,)], {1: [(3,), (0, 0), (), (-4,), 1, None, (1.5,)]}),
        ("chunk", [xs, 2], {1: [0, -1, 5, 1.5, None, True], "dim": [3, -4, 1.5]}),
        ("split", [xs, 2], {1: [0, -1, 5, [1, 1], [1, 2, 1], [3, -1], [], 1.5, None], "dim": [3, -4, 1.5]}),
        ("unflatten", [xs, 2, (2, 2)], {1: [3, -4, 1.5], 2: [(3, 2), (-1, 2), (-1, -1), (), (4,), (0, 4), (2.0, 2), 4]}),
        ("t", [arr(2, 3)], {0: [arr(2, 3, 4), np.zeros((), np.float32), arr(3), None]}),
    ]:
        cases += op_cases(path, args, {}, variants, names={0: "input", **ARG_NAMES.get(path, {})})
    cases += op_cases("meshgrid", [arr(2), arr(3)], {"indexing": "ij"}, {
        "indexing": ["xy", "ji", None, 1], 0: [arr(2, 2), np.zeros((), np.float32), None], 1: [arr(3).astype(np.float64)],
    }, names={0: "a", 1: "b"})
    return cases


# The names PyTorch gives the positional arguments of the shape ops (what an error must name).
ARG_NAMES = {"reshape": {1: "shape"}, "unsqueeze": {1: "dim"}, "transpose": {1: "dim0", 2: "dim1"},
             "permute": {1: "dims"}, "flip": {1: "dims"}, "chunk": {1: "chunks"},
             "split": {1: "split_size_or_sections"}, "unflatten": {1: "dim", 2: "sizes"}}


# -- indexing ------------------------------------------------------------------------------------


def getitem(array, index):
    def call(t):
        return t.tensor(array)[wrap(t, index)]
    return call


def setitem(array, index, value):
    def call(t):
        x = t.tensor(array)
        x[wrap(t, index)] = wrap(t, value)
        return x
    return call


INDICES = [
    3, -4, 2, -3, 2**40, 1.5, np.float32(1.0), None, Ellipsis, True, False, "a", (0, 0, 0, 0), (0, 0, 0),
    (Ellipsis, 0), (Ellipsis, Ellipsis), (None, 0, None), slice(None, None, 0), slice(None, None, -1),
    slice(5, 10), slice(-10, 10), slice(2, 1), slice(0.5, 2), [0, 2], [0, 5], [-4], [], [True, False, True],
    [True, False], (slice(None), [0, 3]), ([0, 1], [0, 1]), ([0, 1], [0, 1, 2]), np.int64(1), np.array([0, 2]),
    np.array([0, 3]), np.array([0.0, 1.0]), np.array([True, False, True]), np.array([True]),
    np.zeros((3, 4), bool), np.ones((3, 4, 2), bool), np.array(1), np.array([], np.int64), np.array([0, 1], np.int32),
    np.array([0, 1], np.uint8), (np.array([0, 1]), np.array([1, 2])), Raw(np.array([0, 2])), [[0, 1], [1, 2]],
    {"a": 1}, (0, slice(None), None, 0),
]


def indexing_cases():
    x = arr(3, 4, 2)
    cases = [Case(f"getitem-{describe(i)}", getitem(x, i)) for i in INDICES]
    for value in (1.0, NAN, arr(4, 2), arr(3), np.array([1, 2]), None, "a", arr(2).astype(np.float64), np.zeros((), np.float32)):
        for index in (0, -4, slice(None, None, 0), np.array([0, 2]), np.array([True, False, True]), np.zeros((3, 4), bool),
                      (0, 0, 0), 1.5, slice(5, 10)):
            cases.append(Case(f"setitem-{describe(index)}-value={describe(value)}", setitem(x, index, value)))
    return cases


# -- creation ------------------------------------------------------------------------------------


SIZES = [-1, (2, -1), 2.5, (2.0, 2), True, None, "3", (2, None), (2**40, 2**40), (2**31, 2**31, 2**31), 0, (0, 3), (),
         np.int64(2), (np.int64(2), np.int32(3)), [2, 3]]
DEVICES = ["cpu", "cpu:0", "tpu", "", None, 0, "cuda:x", "cpu:-1"]
DTYPES = [DType("float32"), DType("float64"), DType("int64"), DType("bool"), DType("float16"), DType("uint8"),
          "float32", np.float32, None, 1, DType("int32")]


def creation_cases():
    cases = []
    for name in ("zeros", "ones", "empty", "rand", "randn"):
        values = name not in ("empty", "rand", "randn")
        for size in SIZES:
            cases.append(Case(f"{name}-size={describe(size)}", call_of(name, [size], {}), values=values))
        for dtype in DTYPES:
            cases.append(Case(f"{name}-dtype={describe(dtype)}", call_of(name, [2, 3], {"dtype": dtype}), values=values))
        for device in DEVICES:
            cases.append(Case(f"{name}-device={describe(device)}", call_of(name, [2], {"device": device}), values=values))
        cases.append(Case(f"{name}-requires-grad-int", call_of(name, [2], {"dtype": DType("int64"), "requires_grad": True}),
                          values=values))
    cases += op_cases("full", [(2, 3), 1.5], {}, {
        0: SIZES[:9], 1: [NAN, INF, "a", None, True, 2, np.float32(2.5), arr(2), np.array(2.0), 2**70, 1j],
        "dtype": DTYPES,
    }, names={0: "size", 1: "fill_value"})
    cases += op_cases("arange", [0, 5], {}, {
        0: [NAN, INF, 6, 5, 1.5, None, "a", True, np.int64(1), 2**62], 1: [NAN, INF, -1, 0.5, None, 2**70],
        "step": [0, -1, 0.5, NAN, INF, None, "a", 1e-20, 2**70], "dtype": DTYPES,
    }, names={0: "start", 1: "end"})
    cases += op_cases("linspace", [0.0, 1.0, 5], {}, {
        2: [0, 1, -1, 2.5, None, "5", True, 2**62], 0: [NAN, INF, None, "a"], 1: [NAN, -INF], "dtype": DTYPES,
    }, names={0: "start", 1: "end", 2: "steps"})
    cases += op_cases("eye", [3], {}, {0: [0, -1, 2.5, None, "3", 2**40, True], "m": [0, -1, 2, 2.5, None],
                                       "dtype": DTYPES}, names={0: "n"})
    cases += op_cases("randint", [0, 5, (3,)], {}, {
        0: [5, 6, -1, 1.5, None], 1: [0, -1, 2.5, NAN, 2**70], 2: SIZES[:8] + [3, []], "dtype": DTYPES,
    }, names={0: "low", 1: "high", 2: "size"}, values=False)
    cases += op_cases("randperm", [4], {}, {0: [0, -1, 2.5, None, "3", True, 2**62, np.int64(3)], "dtype": DTYPES},
                      names={0: "n"}, values=False)
    cases += op_cases("normal", [0.0, 1.0, (3,)], {}, {
        0: [NAN, None, "a", arr(3)], 1: [-1.0, 0.0, NAN, INF, None, arr(3)], 2: SIZES[:8],
    }, names={0: "mean", 1: "std", 2: "size"}, values=False)
    cases += op_cases("tensor", [[1.0, 2.0]], {}, {
        0: [[[1, 2], [3]], "abc", None, [None, 1], [1, "a"], {"a": 1}, {1, 2}, [[]], [], [[], []], 2**70, -(2**70), [2**63],
            [1, 2.5], [True, 2], [np.float32(1.0), 2], [np.array(1.0), 2.0], Raw(np.array(["a"])), Raw(np.zeros(2, complex)),
            Raw(np.array([1, 2], dtype=object)), 1j, NAN, (1, 2), range(3), [[1, 2], [3, 4]]],
        "dtype": DTYPES, "requires_grad": [True, "yes", None, 1],
    }, names={0: "data"})
    like = arr(2, 3)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        values = name in ("zeros_like", "ones_like")
        cases += op_cases(name, [like], {}, {0: [None, [1.0], Raw(like), np.zeros((0, 3), np.float32), np.array([1, 2])],
                                             "dtype": DTYPES}, names={0: "input"}, values=values)
    cases += op_cases("full_like", [like, 2.0], {}, {1: [NAN, "a", None, 2**70], "dtype": DTYPES}, names={0: "input", 1: "fill_value"})
    return cases


# -- cases that need more than a table -----------------------------------------------------------


def _grad_of_relu_at(value):
    def call(t):
        x = t.tensor([value, -1.0, 1.0], requires_grad=True)
        t.nn.functional.relu(x).sum().backward()
        return x.grad
    return call


def _pool_nan_grad(name, *args):
    def call(t):
        x = t.tensor(with_nan(arr(1, 1, 4, 4)), requires_grad=True)
        out = getattr(t.nn.functional, name)(x, *args)
        out.sum().backward()
        return out, x.grad
    return call


def special_cases():
    cases = [
        Case("relu-nan-is-nan", call_of(F + "relu", [np.array([NAN, -1.0, 1.0], np.float32)], {}),
             check=lambda r: np.isnan(r.numpy()[0])),
        Case("relu-None", call_of(F + "relu", [None], {}), error=DTypeError, match="relu"),
        Case("relu-grad-at-nan", _grad_of_relu_at(NAN)),
        Case("relu-grad-at-0", _grad_of_relu_at(0.0)),
        Case("pad-value-None-pads-zeros", call_of(F + "pad", [arr(2, 2), (1, 1)], {"value": None}),
             check=lambda r: np.all(r.numpy()[:, 0] == 0)),
        Case("conv2d-padding-2**20-oom", call_of(F + "conv2d", [arr(1, 1, 4, 4), arr(1, 1, 3, 3)], {"padding": 2**20}),
             error=OutOfMemoryError, match="conv2d"),
        Case("adaptive_avg_pool2d-2**40-oom", call_of(F + "adaptive_avg_pool2d", [arr(1, 1, 4, 4), 2**40], {}),
             error=OutOfMemoryError, match="adaptive_avg_pool2d"),
        Case("adaptive_max_pool2d-2**40-oom", call_of(F + "adaptive_max_pool2d", [arr(1, 1, 4, 4), 2**40], {}),
             error=OutOfMemoryError, match="adaptive_max_pool2d"),
        Case("max_pool2d-stride0", call_of(F + "max_pool2d", [arr(1, 1, 4, 4), 2], {"stride": 0}),
             error=ShapeError, match="stride"),
        Case("cross_entropy-label_smoothing-None", call_of(F + "cross_entropy", [arr(2, 3), np.array([0, 1])],
                                                               {"label_smoothing": None}), error=DTypeError,
             match="label_smoothing"),
        Case("cross_entropy-label_smoothing-negative", call_of(F + "cross_entropy", [arr(2, 3), np.array([0, 1])],
                                                                   {"label_smoothing": -0.1}),
             error=ShapeError, match="label_smoothing", differs="a negative label_smoothing is refused"),
        Case("softmax-empty-dim", call_of(F + "softmax", [np.zeros((2, 0), np.float32)], {"dim": 1}),
             check=lambda r: r.shape == (2, 0)),
    ]
    for name in ("relu", "sigmoid", "tanh", "elu", "leaky_relu", "softmax", "log_softmax", "rrelu"):
        kw = {"dim": 1} if "softmax" in name else {}
        cases.append(Case(f"{name}-all-nan", call_of(F + name, [np.full((2, 3), NAN, np.float32)], kw),
                          check=lambda r: np.isnan(r.numpy()).all()))
    for name, args in [("max_pool2d", (2,)), ("avg_pool2d", (2,)), ("adaptive_max_pool2d", (2,)),
                       ("adaptive_avg_pool2d", (2,)), ("max_pool2d", (3, 1, 1)), ("avg_pool2d", (3, 1, 1)),
                       ("max_pool2d", (2, 2, 0, 2))]:
        cases.append(Case(f"{name}{args}-nan-forward-and-grad", _pool_nan_grad(name, *args)))
    for name, call in [
        ("conv2d", lambda t, h: t.nn.functional.conv2d(t.tensor(arr(1, 2, 5, 5)).to(h), t.tensor(arr(3, 2, 3, 3)).to(h))),
        ("conv1d", lambda t, h: t.nn.functional.conv1d(t.tensor(arr(1, 2, 5)).to(h), t.tensor(arr(3, 2, 3)).to(h))),
        ("conv_transpose2d", lambda t, h: t.nn.functional.conv_transpose2d(t.tensor(arr(1, 2, 3, 3)).to(h),
                                                                           t.tensor(arr(2, 3, 3, 3)).to(h))),
        ("max_pool2d", lambda t, h: t.nn.functional.max_pool2d(t.tensor(arr(1, 2, 4, 4)).to(h), 2)),
        ("avg_pool2d", lambda t, h: t.nn.functional.avg_pool2d(t.tensor(arr(1, 2, 4, 4)).to(h), 2)),
        ("adaptive_avg_pool2d", lambda t, h: t.nn.functional.adaptive_avg_pool2d(t.tensor(arr(1, 2, 5, 5)).to(h), 2)),
        ("max_pool1d", lambda t, h: t.nn.functional.max_pool1d(t.tensor(arr(1, 2, 4)).to(h), 2)),
        ("local_response_norm", lambda t, h: t.nn.functional.local_response_norm(t.tensor(arr(1, 4, 3, 3)).to(h), 3)),
        ("batch_norm", lambda t, h: t.nn.functional.batch_norm(t.tensor(arr(2, 3, 2, 2)).to(h), None, None, training=True)),
    ]:
        cases.append(Case(f"{name}-float16", lambda t, call=call: call(t, t.float16), rtol=2e-2, atol=2e-3))
    return cases


CASES = (conv_cases() + pool_cases() + activation_cases() + elementwise_cases() + loss_cases() + norm_cases()
         + shape_cases() + reduction_cases() + indexing_cases() + creation_cases() + special_cases())


@pytest.mark.parametrize("case", params(CASES))
def test_functional(case):
    check_case(case)
