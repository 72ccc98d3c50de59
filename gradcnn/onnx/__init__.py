"""Export to ONNX: ``gradcnn.onnx.export(model, example_input, "model.onnx")``.

Needs the ``onnx`` package (``pip install gradcnn[onnx]``, which also brings onnxruntime to run the
file); ``import gradcnn.onnx`` works without it, and :func:`export` says what to install.

**How.** One forward pass of ``model`` on ``example_input`` is traced in eval mode without
gradients (the model's modes are restored afterwards): every primitive call, in order, with the
layer it ran in (:mod:`gradcnn.onnx.trace`). Each primitive becomes ONNX nodes
(:mod:`gradcnn.onnx.symbolic`); parameters and buffers become initializers under their
``state_dict`` names, and anything computed from constants alone is folded into an initializer
(:mod:`gradcnn.onnx.graph`). With ``dynamic_batch=True`` (the default) a second pass at another
batch size tells which sizes follow the batch: dim 0 of the inputs and outputs is called ``batch``
and the file runs at any batch size.

========================  =========================================================================
gradcnn primitive         ONNX
========================  =========================================================================
Add Mul Div Pow           Add Mul Div Pow (operands cast to the result's dtype)
Maximum Minimum           Max Min
Neg Exp Log Sqrt Abs      Neg Exp Log Sqrt Abs
Reciprocal                Reciprocal
Log1p                     Log(Add(x, 1))
Relu Sigmoid Tanh         Relu Sigmoid Tanh
LeakyRelu                 LeakyRelu
LogSoftmax                LogSoftmax
Clamp                     Clip
Where                     Where, its condition rebuilt (Greater, or Not(Or(IsInf, IsNaN)))
Cast                      Cast
Clone ToDevice            Identity
MatMul                    MatMul
Linear                    Gemm (2-D input), else MatMul + Add
Sum Amax Amin             ReduceSum ReduceMax ReduceMin
Reshape                   Reshape (-1 for the batch)
Permute                   Transpose
Expand                    Expand
SumTo                     ReduceSum (+ Reshape)
GetItem (basic)           Slice (+ Reshape for ints and None)
GetItem (one int array)   Gather
Cat                       Concat
Pad                       Pad (constant)
Conv                      Conv
ConvData                  ConvTranspose
MaxPool                   MaxPool; windows no pool has: Slice + ReduceMax + Concat
AvgPool                   AveragePool (+ Mul by the divisor's correction); else MatMul, MatMul, Div
========================  =========================================================================

Composites (``softmax``, ``batch_norm``, ``local_response_norm``, ``flatten``,
``conv1d``, ...) arrive as these primitives. A primitive outside the table (the backward-only ones,
``IndexPut`` from ``x[i] = v``) raises :class:`~gradcnn.errors.ExportError` naming it and the
layer it ran in.

**Limits**, as with any tracing exporter: Python control flow is frozen at the traced path, and a
value computed outside gradcnn's ops (a comparison, an integer cast, NumPy on ``.numpy()``) becomes
a constant. With ``dynamic_batch`` the export refuses such a constant when it differs between the
two passes, and refuses a ``where`` whose condition it cannot rebuild.
"""

import numbers
import os

import numpy as np

from ..backends import get_array_module
from ..creation import as_tensor
from ..errors import DTypeError, ExportError, GradcnnError, ShapeError
from ..nn import Module
from ..tensor import Tensor
from ..version import __version__

__all__ = ["export", "default_opset", "MIN_OPSET", "MAX_DEFAULT_OPSET"]

MIN_OPSET = 13  # from 13 on, ReduceSum, Slice, Pad and Clip take axes, bounds and pads as inputs
MAX_DEFAULT_OPSET = 21
_TWO_GIB = 2**31 - 2**26  # protobuf's limit, with room for the graph: larger weights go to a side file


def _onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ExportError(
            "onnx.export needs the onnx package, which is not installed: pip install 'gradcnn[onnx]' "
            "(or pip install onnx onnxruntime)"
        ) from exc
    return onnx


def _onnxruntime_opset():
    """The newest ai.onnx opset the installed onnxruntime has kernels for, or None without it."""
    try:
        from onnxruntime.capi import _pybind_state
    except ImportError:
        return None
    try:
        kernels = _pybind_state.get_all_opkernel_def()
        return max(k.version_range[0] for k in kernels if k.domain in ("", "ai.onnx"))
    except (AttributeError, ValueError):  # an onnxruntime without this listing: trust onnx's limit
        return None


def default_opset():
    """The opset :func:`export` writes by default: the newest that the installed onnx and
    onnxruntime (when installed) both support, and at most :data:`MAX_DEFAULT_OPSET`."""
    newest = _onnx().defs.onnx_opset_version()
    runtime = _onnxruntime_opset()
    return min(MAX_DEFAULT_OPSET, newest, runtime if runtime is not None else newest)


def _check_opset(opset_version):
    if opset_version is None:
        return default_opset()
    newest = _onnx().defs.onnx_opset_version()
    if isinstance(opset_version, bool) or not isinstance(opset_version, numbers.Integral):
        raise DTypeError(f"onnx.export: opset_version must be an int, got {opset_version!r}")
    if not MIN_OPSET <= opset_version <= newest:
        raise ShapeError(
            f"onnx.export: opset_version {opset_version} is outside the supported range "
            f"[{MIN_OPSET}, {newest}] (gradcnn writes opset {MIN_OPSET} and up; the installed onnx "
            f"{_onnx().__version__} knows up to {newest})"
        )
    return int(opset_version)


def _inputs(example_input):
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    if not items:
        raise ShapeError("onnx.export: example_input is empty; pass a Tensor or a tuple of Tensors")
    out = []
    for i, x in enumerate(items):
        if isinstance(x, Tensor):
            out.append(x.detach())
        elif isinstance(x, np.ndarray):
            out.append(as_tensor(x))
        else:
            raise DTypeError(f"onnx.export: example_input[{i}] must be a Tensor or a NumPy array, got "
                             f"{type(x).__name__}")
    return tuple(out)


def _grown(inputs):
    """The inputs at a batch one larger: the example's rows reversed, then its first row again, so
    that a value computed from the input outside the traced ops differs between the two passes."""
    grown = []
    for i, x in enumerate(inputs):
        if x.ndim == 0 or x.shape[0] == 0:
            raise ShapeError(f"onnx.export: dynamic_batch needs a batch dim: example_input[{i}] has shape "
                             f"{x.shape}. Pass a batch, or dynamic_batch=False")
        n = x.shape[0]
        rows = get_array_module(x._data).asarray(list(range(n - 1, -1, -1)) + [0])
        grown.append(Tensor._make(x._data[rows]))
    return tuple(grown)


def _names(names, count, what, default):
    if names is None:
        return [default] if count == 1 else [f"{default}{i}" for i in range(count)]
    names = list(names)
    if len(names) != count or not all(isinstance(n, str) and n for n in names):
        raise ShapeError(f"onnx.export: {what} must be {count} non-empty strings, one per "
                         f"{'input' if what == 'input_names' else 'output'}, got {names!r}")
    return names


def export(model, example_input, path, opset_version=None, dynamic_batch=True, input_names=None,
           output_names=None):
    """Write ``model`` as an ONNX file at ``path`` (a path or a writable binary file).

    ``example_input``: a Tensor (or NumPy array), or a tuple of them for a model of several inputs;
    one forward pass on it is traced in eval mode. ``opset_version``: by default
    :func:`default_opset`; from :data:`MIN_OPSET` up. ``dynamic_batch``: make dim 0 of the inputs and
    outputs symbolic (``batch``) so the file runs at any batch size. ``input_names`` and
    ``output_names`` name the graph's inputs and outputs (default ``input`` and ``output``, numbered
    when there are several). The file passes ``onnx.checker.check_model``; weights over 2 GiB go to
    a ``<name>.data`` file beside it. Returns None, as ``torch.onnx.export`` does.
    """
    onnx = _onnx()
    if not isinstance(model, Module):
        raise DTypeError(f"onnx.export: model must be a gradcnn.nn.Module, got {type(model).__name__}")
    opset = _check_opset(opset_version)
    inputs = _inputs(example_input)
    input_names = _names(input_names, len(inputs), "input_names", "input")
    if output_names is not None:
        output_names = list(output_names)

    from . import graph as _graph  # imports onnx: only once it is known to be there
    from .trace import trace

    first = trace(model, inputs)
    second = None
    if dynamic_batch:
        grown = _grown(inputs)
        try:
            second = trace(model, grown)
        except GradcnnError as exc:
            raise ExportError(f"onnx.export: dynamic_batch traces a second pass at batch {grown[0].shape[0]}, "
                              f"and the model fails there ({type(exc).__name__}: {exc}). Export with "
                              "dynamic_batch=False for a file of batch size "
                              f"{inputs[0].shape[0]} only") from exc
    if second is not None and len(second.calls) != len(first.calls):
        raise ExportError(f"onnx.export: the forward pass makes {len(first.calls)} calls at batch "
                          f"{inputs[0].shape[0]} but {len(second.calls)} at batch {inputs[0].shape[0] + 1}: "
                          "it depends on the batch size or the input's values. Export with "
                          "dynamic_batch=False")
    graph = _graph.build(first, second, model, opset, input_names, output_names, type(model).__name__)
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="gradcnn",
                                   producer_version=__version__)
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    _save(onnx, proto, path)


def _save(onnx, proto, path):
    size = onnx.helper.tensor_dtype_to_np_dtype
    big = sum(int(np.prod(t.dims)) * size(t.data_type).itemsize for t in proto.graph.initializer) > _TWO_GIB
    if big and hasattr(path, "write"):
        raise ExportError("onnx.export: the weights pass 2 GiB, which needs a side file: pass a path, "
                          "not a file object")
    if big:
        path = os.fspath(path)
        onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data")
        onnx.checker.check_model(path)
        return
    data = proto.SerializeToString()  # once, for the checker and the file
    onnx.checker.check_model(data)
    if hasattr(path, "write"):
        path.write(data)
    else:
        with open(os.fspath(path), "wb") as f:
            f.write(data)
