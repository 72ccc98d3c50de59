"""The machinery of the fuzz tables: a case, how it runs on gradcnn and on PyTorch, and how the two
outcomes are compared.

A :class:`Case` is a call that takes a library module (``gradcnn`` or ``torch``) and uses only the
names the two share, so the same function runs on both with the same data (arrays are made here,
then given to ``t.tensor`` of each library). What a case expects:

* by default, **PyTorch's outcome**: where torch returns, gradcnn returns the same thing (shape,
  dtype and values, NaN where torch has NaN); where torch raises, gradcnn raises a gradcnn error
  (:class:`~gradcnn.errors.GradcnnError`) of the same built-in family (``IndexError``,
  ``TypeError``, ``ValueError``, ``RuntimeError``, ...), whose message contains ``match`` when the
  case gives one (the argument's name);
* ``error=``: a gradcnn error of that class whose message contains ``match``, whatever torch does
  (for the differences on purpose of docs/porting.md, ``differs=`` says which);
* ``check=``: gradcnn returns, and ``check(result)`` holds.

Whatever a case expects, gradcnn never answers with a bare NumPy, Numba or Python exception, never
warns from its own code (``RuntimeWarning`` is an error in this project's test runs), and never
takes more than :data:`TIMEOUT` seconds. Without torch, the comparison part of each case is skipped
(the gradcnn part still runs); one test says so.
"""

import importlib.util
import math
import signal
import threading
from collections.abc import Mapping

import numpy as np
import pytest

import gradcnn
from gradcnn.errors import DTypeError, GradcnnError, OutOfMemoryError, ShapeError

HAVE_TORCH = importlib.util.find_spec("torch") is not None
if HAVE_TORCH:
    import torch
else:  # pragma: no cover - exercised where torch is not installed
    torch = None

TIMEOUT = 60  # seconds: a kernel's first call may compile it

# The built-in families an error is matched by, most specific first: an IndexOutOfRangeError is an
# IndexError and a ValueError, and torch's IndexError asks for the former. NotImplementedError
# ("not implemented for 'Long'") is the RuntimeError it derives from.
FAMILIES = (IndexError, KeyError, TypeError, ValueError, RuntimeError, OSError)
# What torch raises when a non-tensor meets its duck typing ("'NoneType' object has no attribute
# 'dim'") is an accident, not a contract: any gradcnn error answers it.
ACCIDENTS = (AttributeError, AssertionError, ZeroDivisionError, OverflowError)
# torch's argument parser found no overload: it does not say which argument was wrong, or how.
NO_OVERLOAD = "received an invalid combination of arguments"


class Hang(Exception):
    """A case ran past :data:`TIMEOUT`."""


# -- inputs: the same data on both libraries -------------------------------------------------------


class Raw:
    """An argument given as it is to both libraries (a NumPy array, say), not made a tensor."""

    def __init__(self, value):
        self.value = value


class Grad:
    """An array made a tensor that requires grad."""

    def __init__(self, array):
        self.array = np.asarray(array)


class DType:
    """A dtype by name, given as each library's own dtype object (``t.float32``)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"DType({self.name})"


def wrap(t, value):
    """``value`` for library ``t``: arrays become tensors (copies), markers are resolved, lists and
    tuples of them are wrapped entry by entry."""
    if isinstance(value, Raw):
        return value.value
    if isinstance(value, Grad):
        return t.tensor(value.array.copy(), requires_grad=True)
    if isinstance(value, DType):
        return getattr(t, value.name)
    if isinstance(value, np.ndarray):
        return t.tensor(value.copy())
    if isinstance(value, (list, tuple)) and any(isinstance(v, (np.ndarray, Raw, Grad, DType)) for v in value):
        return type(value)(wrap(t, v) for v in value)
    if isinstance(value, dict):
        return {k: wrap(t, v) for k, v in value.items()}
    return value


def describe(value):
    """A short, stable text for a value in a case id."""
    if isinstance(value, Raw):
        return f"raw-{describe(value.value)}"
    if isinstance(value, Grad):
        return f"grad-{describe(value.array)}"
    if isinstance(value, np.ndarray):
        if 0 < value.size <= 4 and value.ndim == 1:  # small enough to spell out
            return f"{value.dtype.name}{value.tolist()!r}".replace(" ", "")
        shape = "x".join(map(str, value.shape)) or "0d"
        extra = "-nan" if value.dtype.kind == "f" and value.size and np.isnan(value).any() else ""
        extra += "-inf" if value.dtype.kind == "f" and value.size and np.isinf(value).any() else ""
        return f"{value.dtype.name}[{shape}]{extra}"
    if isinstance(value, np.generic):
        return f"np.{type(value).__name__}({value})"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ",".join(describe(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**16:
        return f"2**{int(math.log2(abs(value)))}" if value > 0 else f"-2**{int(math.log2(-value))}"
    return repr(value) if not callable(value) else getattr(value, "__name__", "fn")


# -- cases ---------------------------------------------------------------------------------------


class Case:
    """One input: ``call(t)`` runs it on library ``t``; see the module docstring for the rest."""

    __slots__ = ("id", "call", "error", "match", "check", "values", "rtol", "atol", "torch_call", "differs", "compare",
                 "value", "refuse_ok")

    def __init__(self, id, call, *, error=None, match=None, check=None, values=True, rtol=1e-5, atol=1e-6,
                 torch_call=None, differs=None, compare=True, value=None, refuse_ok=False):
        self.id = id
        self.call = call
        self.error = error
        self.match = (match,) if isinstance(match, str) else match  # any of these names the argument
        self.value = value  # the bad value the case gives (for the rules below)
        # gradcnn may refuse, naming the argument, a value PyTorch lets through (a bool for a number,
        # a NaN, an infinity or a negative hyperparameter: docs/porting.md, "Differences on purpose")
        self.refuse_ok = refuse_ok
        self.check = check
        self.values = values  # False: compare shape and dtype only (random results)
        self.rtol = rtol
        self.atol = atol
        self.torch_call = torch_call  # where the torch spelling differs
        self.differs = differs  # the reason gradcnn does not follow torch here (docs/porting.md)
        self.compare = compare and differs is None  # False where torch has no such name

    def __repr__(self):
        return f"Case({self.id})"


# Arguments that take tensors: an error about one names the op and the shapes, not the argument.
TENSOR_ARGS = {"input", "weight", "bias", "target", "other", "condition", "mask", "index", "src", "tensors", "data",
               "running_mean", "running_var", "a", "b", "pos_weight"}
# Other words a message may use for an argument ("kernel (7x7) is larger than ...").
ALIASES = {"kernel_size": ("kernel",), "output_size": ("output",), "start_dim": ("dim",), "end_dim": ("dim",),
           "groups": ("group", "bias"), "scale_factor": ("output", "scale"), "size": ("output",),
           "num_parameters": ("weight",), "normalized_shape": ("shape",), "unflattened_size": ("size",),
           "ignore_index": ("target",), "padding_idx": ("padding",), "in_channels": ("channel",),
           "out_channels": ("channel",), "num_features": ("channel", "running"), "num_channels": ("channel", "group"),
           "init": ("weight",), "pad": ("pad",), "dim0": ("dim",), "dim1": ("dim",), "dims": ("dim",), "steps": ("steps",), "fill_value": ("fill",)}


def _python(value):
    """``value`` with NumPy scalars made Python numbers (torch's parser refuses some NumPy scalars
    that gradcnn accepts as their value)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return type(value)(_python(v) for v in value)
    return value


def _numpy_scalars(value):
    return isinstance(value, np.generic) or (isinstance(value, (tuple, list)) and any(isinstance(v, np.generic) for v in value))


def _stricter(value):
    """A value gradcnn may refuse where PyTorch lets it through: a bool given for a number, a NaN, an
    infinity, a negative number."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, (int, float, np.number)) and not isinstance(value, complex):
        return math.isnan(value) or math.isinf(value) or value < 0
    return False


def _tensorish(value):
    return isinstance(value, (np.ndarray, Raw, Grad)) or (
        isinstance(value, (list, tuple)) and any(isinstance(v, (np.ndarray, Raw)) for v in value))


def variant(id, make_call, op, name, value, *, flag=False, **kw):
    """The case that gives argument ``name`` of ``op`` the value ``value``; ``make_call(value)`` makes
    its call. An error must name the argument (or, for a tensor argument, the op); a NumPy scalar is
    compared with torch given the Python number; a stricter refusal is allowed for a number (not for
    a bool ``flag``)."""
    if name in TENSOR_ARGS or _tensorish(value):
        match = (op,)
    else:
        match = (name, *ALIASES.get(name, ()))
    torch_call = make_call(_python(value)) if _numpy_scalars(value) else None
    refuse_ok = not _tensorish(value) and not isinstance(value, (tuple, list)) and (
        _wrong_type(value) or (not flag and _stricter(value)))
    if _huge(value):  # torch overflows its int32 paths there, or loops for hours in C: gradcnn alone
        kw = {**kw, "compare": False}
    return Case(id, make_call(value), match=match, value=value, refuse_ok=refuse_ok, torch_call=torch_call, **kw)


def _huge(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return abs(int(value)) >= 2**31
    return isinstance(value, (tuple, list)) and any(_huge(v) for v in value)


def _float16_result(result):
    return result.dtype == np.float16


def _dtype_float32(result):
    return result.dtype == np.float32


def _deliberate(case_id):
    """``(reason, check, error)`` for a case where gradcnn departs from torch on purpose (the
    differences of docs/porting.md), else None: gradcnn's result must pass ``check``, or it must
    raise ``error``."""
    if case_id in ("F.local_response_norm-input=float16[2x3x4x4]", "local_response_norm-float16",
                   "nn.LocalResponseNorm(float16[2x3x4x4])"):
        return ("float16 local response norm computes, with float32 accumulation; torch's CPU lacks the kernel",
                _float16_result, None)
    if case_id.endswith(("-dtype='float32'", "-dtype=float32")) and not case_id.startswith("nn."):
        # a NumPy dtype, or its name, to a function (layers refuse them, as PyTorch does)
        return "a dtype may be given as NumPy's dtype or its name", _dtype_float32, None
    if case_id == "nn.MaxPool2d-stride0":
        return "a stride of 0 is refused when the layer is built", None, ShapeError
    if case_id == "SGD-params-group-bad-lr":
        return "hyperparameters must be finite, in parameter groups too", None, ShapeError
    if case_id.startswith("tensor-data=raw-complex"):
        return "complex dtypes are not supported", None, DTypeError
    return None


# Cases whose results are random (dropout and RReLU in training mode): shapes and dtypes are
# compared, not values.
RANDOM = {"F.dropout-training=np.bool(True)", "F.dropout1d-training=np.bool(True)",
          "F.dropout2d-training=np.bool(True)", "nn.RReLU-base", "nn.RReLU-lower=0", "nn.RReLU-lower=0.0"}


def params(cases):
    """``pytest.param``s of ``cases``, with their ids; duplicate ids are a mistake in a table. A case
    of fuzz_known.KNOWN is a strict xfail with its reason."""
    from fuzz_known import KNOWN

    seen = set()
    out = []
    for case in cases:
        if case.id in seen:
            raise AssertionError(f"duplicate fuzz case id {case.id}")
        seen.add(case.id)
        deliberate = _deliberate(case.id)
        if deliberate is not None:
            case.differs, case.check, case.error = deliberate
            case.compare = False
        if case.id in RANDOM:
            case.values = False
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN[case.id])] if case.id in KNOWN else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def _alarm(signum, frame):
    raise Hang(f"still running after {TIMEOUT} s")


def outcome(call, t):
    """``("ok", value)`` or ``("error", exception)`` of ``call(t)``, with the timeout."""
    main = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
    if main:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(TIMEOUT)
    grad_mode = t.is_grad_enabled()
    try:
        return "ok", call(t)
    except Hang:
        raise
    except Exception as exc:  # every exception is an outcome to compare
        return "error", exc
    finally:
        t.set_grad_enabled(grad_mode)  # a case that switched grad mode off leaves it to itself
        if main:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


def family(exc):
    if isinstance(exc, ACCIDENTS):
        return GradcnnError
    for cls in FAMILIES:
        if isinstance(exc, cls):
            return cls
    return type(exc)


def _summary(exc):
    return f"{type(exc).__name__}: {str(exc)[:300]}"


# -- comparing results -----------------------------------------------------------------------------


def _is_tensor(value):
    return isinstance(value, gradcnn.Tensor) or (torch is not None and isinstance(value, torch.Tensor))


def _array(value):
    return value.detach().cpu().numpy()


def _dtype_name(dtype):
    return str(dtype).removeprefix("torch.").replace("bool_", "bool")


def same(ours, theirs, case, where="result"):
    """Assert that gradcnn's result ``ours`` is torch's ``theirs``."""
    if _is_tensor(ours) or _is_tensor(theirs):
        assert _is_tensor(ours) and _is_tensor(theirs), f"{where}: {type(ours).__name__} vs torch's {type(theirs).__name__}"
        a, b = _array(ours), _array(theirs)
        assert a.shape == b.shape, f"{where}: shape {a.shape}, torch {b.shape}"
        assert a.dtype.name == b.dtype.name, f"{where}: dtype {a.dtype}, torch {b.dtype}"
        assert bool(ours.requires_grad) == bool(theirs.requires_grad), f"{where}: requires_grad {ours.requires_grad}"
        if case.values and a.size:
            if a.dtype.kind in "biu":
                np.testing.assert_array_equal(a, b, err_msg=where)
            else:
                rtol = max(case.rtol, 1e-2) if a.dtype == np.float16 else case.rtol
                np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=case.atol,
                                           equal_nan=True, err_msg=where)
        return
    if isinstance(ours, (gradcnn.nn.Module,)) or (torch is not None and isinstance(theirs, torch.nn.Module)):
        ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        theirs_shapes = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert ours_shapes == theirs_shapes, f"{where}: state_dict shapes {ours_shapes}, torch {theirs_shapes}"
        return
    if isinstance(ours, np.dtype) or (torch is not None and isinstance(theirs, torch.dtype)):
        assert _dtype_name(ours) == _dtype_name(theirs), f"{where}: dtype {ours}, torch {theirs}"
        return
    if isinstance(theirs, (tuple, list)) and not isinstance(theirs, str):
        assert isinstance(ours, (tuple, list)), f"{where}: {type(ours).__name__}, torch a {type(theirs).__name__}"
        assert len(ours) == len(theirs), f"{where}: {len(ours)} entries, torch {len(theirs)}"
        for i, (x, y) in enumerate(zip(ours, theirs)):
            same(x, y, case, f"{where}[{i}]")
        return
    if isinstance(theirs, Mapping):
        assert isinstance(ours, Mapping) and list(ours) == list(theirs), f"{where}: keys {ours!r} vs {theirs!r}"
        for k in theirs:
            same(ours[k], theirs[k], case, f"{where}[{k!r}]")
        return
    if isinstance(theirs, bool) or isinstance(ours, bool):
        assert ours == theirs, f"{where}: {ours!r}, torch {theirs!r}"
        return
    if isinstance(theirs, (int, float)) and isinstance(ours, (int, float, np.number)):
        if isinstance(theirs, float) and math.isnan(theirs):
            assert math.isnan(ours), f"{where}: {ours!r}, torch nan"
        else:
            assert ours == pytest.approx(theirs, rel=case.rtol, abs=case.atol), f"{where}: {ours!r}, torch {theirs!r}"
        return
    if theirs is None or isinstance(theirs, str):
        assert ours == theirs, f"{where}: {ours!r}, torch {theirs!r}"
    # other objects (an optimizer, a scheduler, a handle): that both returned is the comparison


# -- running a case --------------------------------------------------------------------------------


def check_case(case):
    """Run ``case`` on gradcnn, then (torch installed) on torch, and assert the expectation."""
    kind, ours = outcome(case.call, gradcnn)
    if kind == "error":
        assert isinstance(ours, GradcnnError), f"raw exception, not a gradcnn error: {_summary(ours)}"
        # a result too large for memory is named by its shape and the bytes it would need
        if case.match is not None and not isinstance(ours, OutOfMemoryError):
            text = str(ours).lower().replace("_", "")
            assert any(m.lower().replace("_", "") in text for m in case.match), \
                f"message does not name {' or '.join(case.match)}: {_summary(ours)}"
    if case.error is not None:
        assert kind == "error", f"returned {_short(ours)}; expected {case.error.__name__}"
        assert isinstance(ours, case.error), f"expected {case.error.__name__}, got {_summary(ours)}"
    if case.check is not None:
        assert kind == "ok", f"raised {_summary(ours)}; expected a result"
        verdict = case.check(ours)  # a check asserts, or returns whether the result is right
        assert verdict is None or verdict, f"returned {_short(ours)}, which fails the case's check"
    if not (case.compare and HAVE_TORCH):
        return
    theirs_kind, theirs = outcome(case.torch_call or case.call, torch)
    if theirs_kind == "error":
        assert kind == "error", f"returned {_short(ours)}; torch raises {_summary(theirs)}"
        expected = GradcnnError if NO_OVERLOAD in str(theirs) else family(theirs)
        if _wrong_type(case.value):
            expected = (expected, TypeError)  # torch's error is its next check tripping on the type
        assert isinstance(ours, expected), \
            f"torch raises {family(theirs).__name__} ({_summary(theirs)}); gradcnn {_summary(ours)}"
    elif kind == "error" and case.refuse_ok:
        return
    else:
        assert kind == "ok", f"raised {_summary(ours)}; torch returns {_short(theirs)}"
        same(ours, theirs, case)


def _wrong_type(value):
    """Whether ``value`` is of a type no int or float argument takes (a DTypeError is right for it)."""
    return value is None or isinstance(value, (str, complex, tuple, list, bool)) or (
        isinstance(value, (float, np.floating)) and not float(value).is_integer())


def _short(value):
    if _is_tensor(value):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return repr(value)[:200]
