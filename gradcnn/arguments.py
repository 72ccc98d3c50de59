"""Checks of scalar arguments shared by every part: flags, numbers in a range, ints.

Each returns the value as a plain Python ``bool``, ``int`` or ``float``, or raises before any work
is done: :class:`~gradcnn.errors.DTypeError` (a ``TypeError``, as PyTorch's argument parser raises)
when the value has the wrong type, :class:`~gradcnn.errors.ShapeError` (a ``ValueError``) when it has
the right type and a wrong value. Messages name the operation, the argument and the value.
"""

import math
import numbers

import numpy as np

from gradcnn.errors import DTypeError, ShapeError

__all__ = ["flag", "integer", "number", "probability"]


def _type_name(value):
    return type(value).__name__


def flag(op, name, value, allow_none=False):
    """``value`` as a bool; DTypeError unless it is a bool (NumPy's too), or None with ``allow_none``.

    Ints are refused, as PyTorch refuses them (``ceil_mode=1`` is a TypeError there)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if allow_none and value is None:
        return None
    kind = "a bool or None" if allow_none else "a bool"
    raise DTypeError(f"{op}: {name} must be {kind}, got {value!r} ({_type_name(value)})")


def integer(op, name, value, minimum=None, allow_none=False):
    """``value`` as an int (a NumPy integer too, not a bool), at least ``minimum`` when given."""
    if allow_none and value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise DTypeError(f"{op}: {name} must be an int, got {value!r} ({_type_name(value)})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ShapeError(f"{op}: {name} must be >= {minimum}, got {name}={value}")
    return value


def number(op, name, value, low=-math.inf, high=None, *, high_open=False, finite=True):
    """``value`` as a Python number: DTypeError unless it is a real number (a NumPy scalar or a
    one-element array too, not a bool); ShapeError unless it is finite (with ``finite``),
    ``low <= value`` and ``value < high`` (``high_open``) or ``value <= high``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise DTypeError(f"{op}: {name} must be a number, got {value!r} ({_type_name(value)})")
    value = int(value) if isinstance(value, numbers.Integral) else float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ShapeError(f"{op}: {name} must be a finite number, got {name}={value}")
    if value < low or (high is not None and (value >= high if high_open else value > high)):
        bound = "" if high is None else f" and {'<' if high_open else '<='} {high}"
        raise ShapeError(f"{op}: {name} must be >= {low}{bound}, got {name}={value}")
    return value


def probability(op, value, name="p"):
    """``value`` as a probability in [0, 1]; a bool is its 0 or 1, as PyTorch's dropouts take it."""
    return number(op, name, float(value) if isinstance(value, (bool, np.bool_)) else value, 0, 1)
