"""gradcnn: convolutional networks on a readable tape autograd.

``import gradcnn`` is cheap: it loads NumPy and the engine, never Numba or CuPy (kernels load on
first use; :mod:`gradcnn.cuda` imports CuPy only when one of its functions is called).
"""

import numpy as _np

from . import accelerator, cuda, data, distributed, functional, nn, onnx, ops, optim, random, testing, utils  # noqa: F401  (ops attaches Tensor methods)
from .dlpack import from_dlpack  # also attaches Tensor.__dlpack__ and __dlpack_device__
from .backends import device
from .autograd import (
    Function, enable_grad, grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_grad_enabled,
)
from .creation import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones,
    ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros, zeros_like,
)
from .absent import missing
from .errors import GradcnnError
from .hookspecs import hookimpl
from .introspect import receptive_field, summary
from .ops import (
    abs, amax, amin, argmax, argmin, cat, chunk, clamp, exp, flatten, log, log1p, logsumexp,
    matmul, max, maximum, mean, min, minimum, permute, reshape, sigmoid, split, sqrt, squeeze,
    stack, std, sum, tanh, transpose, unsqueeze, var, where,
)
from .ops import allclose, argsort, equal, isclose, log_softmax, relu, softmax, unique
from .ops import (
    bitwise_and, bitwise_not, bitwise_or, bitwise_xor, floor_divide, logical_and, logical_or, logical_xor,
    remainder,
)
from .ops import (
    acos, asin, atan, bmm, ceil, cos, cosh, cumsum, dot, flip, floor, gather, isfinite, isinf, isnan,
    logical_not, masked_fill, meshgrid, mm, norm, outer, reciprocal, round, rsqrt, scatter, scatter_add, sin,
    sinh, sort, t, tan, topk, trunc, unflatten,
)
from .creation import normal, randperm
from .backends.cpu import num_threads as get_num_threads
from .backends.cpu import set_num_threads
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .tensor import Tensor
from .version import __version__


concat = concatenate = cat  # PyTorch's other names for cat
clip = clamp


def is_tensor(obj):
    """Whether ``obj`` is a gradcnn Tensor."""
    return isinstance(obj, Tensor)


def numel(input):
    """The number of elements of ``input``."""
    return input.numel()


def warmup(verbose=False, device="cpu"):
    """Compile every kernel of ``device``'s backend for float32 and float64 now (or load them from
    the on-disk cache) instead of at first use; returns the seconds it took. On the CPU, when the
    cache turns out to be empty and there are two worker threads or more, a helper process (the same
    Python) compiles half the kernels into the cache meanwhile. On ``"cuda:N"`` the kernels are built
    for that device."""
    from .backends import backend_of, parse_device, to_device

    device = parse_device(device)
    if device == "cpu":
        from .backends import cpu

        seconds = cpu.warmup()
    else:
        probe = to_device(_np.zeros(1, dtype=_np.float32), device)  # DeviceError without CuPy or a GPU
        with probe.device:
            seconds = backend_of(probe).warmup()
    if verbose:
        print(f"gradcnn: kernels ready in {seconds:.2f} s")
    return seconds


# The registries live in gradcnn.plugins, imported on first use so that ``import gradcnn`` neither
# imports nor loads any plugin.
_PLUGIN_API = ("create_dataset", "create_layer", "create_model", "list_datasets", "list_layers",
               "list_models", "plugin_report")


def __getattr__(name):
    if name in _PLUGIN_API:
        from . import plugins

        return getattr(plugins, name)
    if name == "visualize":  # matplotlib loads only when pictures are asked for
        import importlib

        return importlib.import_module(".visualize", __name__)
    if name in ("save", "load"):
        from . import io

        return getattr(io, name)
    raise missing("gradcnn", name)


pi, e, inf, nan = _np.pi, _np.e, _np.inf, _np.nan  # torch.pi and friends: plain floats

float16 = _np.dtype(_np.float16)
float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
int8 = _np.dtype(_np.int8)
int16 = _np.dtype(_np.int16)
int32 = _np.dtype(_np.int32)
int64 = _np.dtype(_np.int64)
uint8 = _np.dtype(_np.uint8)
bool_ = _np.dtype(_np.bool_)
float = float32
double = float64
long = int64
half = float16
int = int32
short = int16
bool = bool_

__all__ = [
    "Function", "GradcnnError", "Tensor", "abs", "accelerator", "device",
    "allclose", "argsort", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "clip", "concat",
    "concatenate", "equal", "floor_divide", "isclose", "log_softmax", "logical_and", "logical_or", "logical_xor",
    "relu", "remainder", "softmax", "unique",
    "pi", "e", "inf", "nan", "Generator", "distributed", "from_dlpack", "onnx", "inference_mode", "is_inference_mode_enabled", "acos", "asin", "atan", "bmm", "ceil", "cos", "cosh", "cumsum", "dot", "flip", "floor",
    "gather", "get_num_threads", "initial_seed", "is_tensor", "isfinite", "isinf", "isnan", "logical_not",
    "masked_fill", "meshgrid", "mm", "normal", "norm", "numel", "outer", "randperm", "reciprocal", "round",
    "rsqrt", "scatter", "scatter_add", "set_num_threads", "sin", "sinh", "sort", "t", "tan", "topk",
    "trunc", "unflatten", "amax", "amin", "arange", "argmax", "argmin",
    "as_tensor", "bool_", "cat", "chunk", "clamp", "create_dataset", "cuda", "create_layer",
    "create_model", "data", "double", "empty", "empty_like", "enable_grad", "exp", "eye", "flatten",
    "float", "float16", "float32", "float64", "from_numpy", "full", "full_like", "functional",
    "get_rng_state", "grad", "hookimpl", "int16", "int32", "int64", "int8", "is_grad_enabled",
    "linspace", "list_datasets", "list_layers", "list_models", "load", "log", "log1p", "logsumexp",
    "long", "manual_seed", "matmul", "max", "maximum", "mean", "min", "minimum", "nn", "no_grad", "ones",
    "ones_like", "optim", "half", "int", "short", "bool", "permute", "plugin_report", "rand", "rand_like", "randint", "randn", "randn_like",
    "random", "receptive_field", "reshape", "save", "seed", "set_grad_enabled", "set_rng_state", "sigmoid",
    "split", "sqrt", "squeeze", "stack", "std", "sum", "summary", "tanh", "tensor", "testing",
    "transpose", "uint8", "unsqueeze", "utils", "var", "warmup", "where", "zeros", "zeros_like",
]
