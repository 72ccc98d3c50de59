"""The bad and edge values the fuzz tables draw from, by kind of argument, and the small tensors
the cases run on. Every array here is tiny: the whole fuzz suite has to run in CI in a few minutes.
"""

import numpy as np
from fuzz_harness import Raw

NAN = float("nan")
INF = float("inf")


def arr(*shape, dtype=np.float32, seed=0, low=None):
    """A fixed pseudo-random array (standard normal, or uniform in ``[low, 1)``) of ``shape``."""
    rng = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 3, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    a = rng.uniform(low, 1, size=shape) if low is not None else rng.standard_normal(shape)
    return a.astype(dtype)


def with_nan(a, inf=False):
    """``a`` with a NaN (or +inf and -inf) in its first entries."""
    a = a.copy()
    flat = a.reshape(-1)
    if inf:
        flat[0], flat[-1] = np.inf, -np.inf
    else:
        flat[0] = np.nan
    return a


# -- by kind of argument ---------------------------------------------------------------------------

# An int, or a tuple of ints (kernel_size, stride, padding, dilation): wrong types, wrong lengths,
# out of range, huge, NumPy ints (which are accepted).
GEOMETRY = [
    0, -1, -(2**40), 2**40, 2.0, 2.5, True, False, None, "1", (), (1, 1, 1), [1, 0], (1, -1), (1.0, 1),
    (True, 1), (None, 1), np.int64(1), np.int32(2), (np.int64(1), 1), np.float64(1.0), NAN,
]

# A float hyperparameter (negative_slope, alpha, eps, momentum, delta, ...).
SCALAR = [NAN, INF, -INF, -1.0, 0, 0.0, None, "a", True, np.float32(0.5), np.float64(2.0), 2**40, (1.0,), 1j]

# A plain int count (num_groups, size, pieces, num_features, ...).
COUNT = [0, -1, 2**40, 2.0, 2.5, True, None, "2", NAN, np.int64(2), (2,)]

# A bool flag (ceil_mode, return_indices, count_include_pad, training, inplace, ...).
FLAG = [None, "yes", 2, 0, np.bool_(True), 1.0]

# A dim argument, for a tensor of 4 dims (2 dims for the 2-d ones).
DIM = [-5, 4, 5, 2**40, 1.0, None, "a", True, (0, 0), np.int64(1), [1]]

# A reduction argument of a loss.
REDUCTION = ["none", "sum", "mean", "bogus", None, 1, "MEAN", ""]


def tensor_inputs(shape, dtype=np.float32):
    """Bad and edge values for a float tensor input of ``shape``: not a tensor, empty, 0-d, too few
    and too many dims, other dtypes, NaN and inf."""
    a = arr(*shape, dtype=dtype)
    out = [None, [1.0, 2.0], Raw(a.copy()), 3.0, np.zeros((), dtype), with_nan(a), with_nan(a, inf=True)]
    out += [np.zeros((0, *shape[1:]), dtype)]  # empty batch
    if len(shape) > 1:
        out += [a[0]]  # one dim fewer (unbatched)
    out += [a[None]]  # one dim more
    out += [a.astype(np.float64), a.astype(np.float16), a.astype(np.int64), a > 0]
    return out
