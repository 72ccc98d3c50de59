"""From a :class:`~gradcnn.onnx.trace.Trace` to an ONNX graph.

Every array the traced pass made is a *value*: computed (it depends on a graph input, and has a
name in the graph) or constant (parameters, buffers, numbers, and whatever was computed from
constants alone). A call whose tensor arguments are all constant is folded: its result becomes an
initializer and no node is written, as ``torch.onnx.export`` does with ``do_constant_folding``; so an
eval-mode batch norm becomes a subtraction, a division, a multiplication and an addition by
per-channel constants. Parameters and buffers used as they are keep their ``state_dict`` names.

**A dynamic batch** comes from a second traced pass on a batch one larger (the example's rows in
reverse order, then its first row again). Sizes that differ between the two passes follow the
batch: a reshape writes -1 there, an expand 1, and the graph's inputs and outputs call the dim
``batch``. Everything else must agree: the sequence of ops, their configuration, every number and
every constant tensor. A constant that differs was computed from the input outside the traced ops
(a comparison, an integer cast, NumPy on ``.numpy()``), and the export stops rather than freeze it.
"""

import numpy as np
from onnx import helper

from ..errors import ExportError
from ..ops import elementwise, shape
from ..tensor import Tensor
from . import symbolic
from .symbolic import host as _host

__all__ = ["build"]

# Configuration that legitimately follows the batch size: target shapes, replayed from the outputs.
# The condition of ``where`` is checked against the traced values instead (see symbolic.where).
_SHAPE_KWARGS = {shape.Reshape: ("shape",), shape.Expand: ("shape",), shape.SumTo: ("shape",),
                 elementwise.Where: ("cond", "watch")}


class Value:
    """One array of the traced pass: a computed graph value (``name``) or a constant (``array``)."""

    __slots__ = ("array", "name", "dyn", "const", "counter", "version", "missing")

    def __init__(self, array, name=None, dyn=None, const=False, counter=None, version=None, missing=None):
        self.array = array  # the traced array (a host copy for constants)
        self.name = name
        self.dyn = dyn if dyn is not None else (False,) * np.ndim(array)  # dims that follow the batch
        self.const = const
        self.counter, self.version = counter, version  # to notice a change in place
        self.missing = missing  # why a computed value has no graph name (max-pool indices)

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def shape(self):
        return tuple(self.array.shape)


class Graph:
    """Nodes and initializers being written, and the helpers the op table uses."""

    def __init__(self, opset, param_names, values):
        self.opset = opset
        self.nodes, self.initializers = [], []
        self.param_names = param_names  # id(array) -> state_dict name
        self.values = values  # id(array) -> Value
        self._names = set()
        self._consts = {}  # (id(array), dtype) or (bytes, dtype, shape) -> initializer name
        self._pinned = []  # arrays whose id keys _consts
        self.call = None  # the call being lowered, for names and errors
        self.scope = ""

    # -- names and errors ---------------------------------------------------------------------

    def unique(self, hint):
        name, n = hint, 1
        while name in self._names:
            name, n = f"{hint}_{n}", n + 1
        self._names.add(name)
        return name

    def fail(self, message):
        call = self.call
        where = f"{call.fn.__name__} ({call.fn.__module__}) in layer {call.layer}" if call else "export"
        raise ExportError(f"onnx.export: {where}: {message}")

    # -- initializers -------------------------------------------------------------------------

    def const(self, array, hint="const", key=None):
        """The name of an initializer holding ``array`` (one per distinct array or value)."""
        array = np.asarray(_host(array))
        if key is None:
            key = (array.tobytes(), array.dtype.str, array.shape) if array.size <= 64 else (id(array), array.dtype.str)
            if array.size > 64:
                self._pinned.append(array)
        name = self._consts.get(key)
        if name is None:
            name = self.unique(hint)
            self.initializers.append((name, array))
            self._consts[key] = name
        return name

    def ints(self, values):
        return self.const(np.asarray(list(values), dtype=np.int64), f"{self.scope}/ints")

    def scalar(self, value, dtype):
        return self.const(np.asarray(value, dtype=dtype), f"{self.scope}/scalar")

    # -- values -------------------------------------------------------------------------------

    def ref(self, value, dtype=None):
        """The graph name of ``value`` (a :class:`Value`), cast to ``dtype`` if it differs."""
        if value.missing:
            self.fail(f"uses {value.missing}, which has no ONNX counterpart")
        if value.const:
            if value.name is None:
                hint = self.param_names.get(id(value.array), f"{self.scope}/const")
                value.name = self.const(value.array, hint, key=(id(value.array), value.array.dtype.str))
                self._pinned.append(value.array)
            if dtype is not None and np.dtype(dtype) != value.dtype:
                return self.const(value.array.astype(dtype), f"{value.name}/{np.dtype(dtype).name}")
            return value.name
        if dtype is not None and np.dtype(dtype) != value.dtype:
            return self.node("Cast", [value.name], to=self.dtype_code(dtype))
        return value.name

    def operand(self, x, dtype):
        """An argument of an op as a graph name of ``dtype``: a Value, or a number or array (a
        constant); ``None`` is the empty name of an omitted optional input."""
        if x is None:
            return ""
        if isinstance(x, Value):
            return self.ref(x, dtype)
        return self.const(np.asarray(_host(x) if hasattr(x, "shape") else x, dtype=dtype), f"{self.scope}/const")

    def lookup(self, array):
        return self.values.get(id(array))

    @staticmethod
    def dtype_code(dtype):
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def node(self, op, inputs, outputs=1, **attrs):
        """Append a node; returns its output name (or a list of ``outputs`` names)."""
        base = f"{self.scope}/{op}" if self.scope else op
        names = [self.unique(base if outputs == 1 else f"{base}:{i}") for i in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), names, name=self.unique(f"{base}#node"), **attrs))
        return names[0] if outputs == 1 else names

    def reshape(self, name, shape, dyn):
        """``Reshape`` to ``shape``, with -1 where the size follows the batch."""
        if sum(dyn) > 1:
            self.fail(f"reshaping to {shape} would need {sum(dyn)} sizes that follow the batch "
                      f"(dims {[i for i, d in enumerate(dyn) if d]}); ONNX's Reshape can infer only "
                      "one. Export with dynamic_batch=False, or keep the batch in one dim")
        target = [-1 if d else s for s, d in zip(shape, dyn)]
        return self.node("Reshape", [name, self.ints(target)])


# -- the two passes -------------------------------------------------------------------------------


def _same(a, b):
    """Whether two pieces of configuration (numbers, tuples, arrays, slices, objects) are equal."""
    if a is b:
        return True
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _same(a._data, b._data)
    if hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(b, "shape"):
        return tuple(a.shape) == tuple(b.shape) and bool(np.array_equal(_host(a), _host(b)))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    slots = getattr(type(a), "__slots__", None)
    if slots and type(a) is type(b):
        return all(_same(getattr(a, s), getattr(b, s)) for s in slots)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _batch_dependent(g, what, first, second, n1, n2):
    g.fail(f"{what} depends on the batch size or on the input's values ({_show(first)} at batch {n1}, "
           f"{_show(second)} at batch {n2}), so it cannot follow a dynamic batch: it was computed "
           "outside gradcnn's ops (comparisons, integer casts and NumPy are not traced). Export with "
           "dynamic_batch=False to freeze it")


def _show(x):
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(_show(y) for y in x) + ")"
    if isinstance(x, Tensor):
        x = x._data
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"an array of shape {tuple(x.shape)}"
    return repr(x)


def _check_config(g, c1, c2, n1, n2):
    """The second pass must make the same call with the same configuration and constants."""
    if c2 is None or c2.fn is not c1.fn:
        got = "nothing" if c2 is None else c2.fn.__name__
        g.fail(f"the forward pass changes with the batch size: at batch {n2} the same step runs {got}. "
               "Export with dynamic_batch=False")
    if len(c2.args) != len(c1.args):
        g.fail(f"the forward pass changes with the batch size: this step takes {len(c1.args)} arguments at "
               f"batch {n1} and {len(c2.args)} at batch {n2}. Export with dynamic_batch=False")
    exempt = _SHAPE_KWARGS.get(c1.fn, ())
    for key, value in c1.kwargs.items():
        other = c2.kwargs.get(key)
        if key not in exempt and not _same(*_strip(g, value, other)):
            _batch_dependent(g, f"its argument {key}", value, other, n1, n2)


def _strip(g, first, second):
    """Both passes' ``first`` and ``second`` with every value the graph computes in the first
    (a Tensor or an array, such as an embedding's token ids) and its counterpart replaced by a
    marker: those may follow the batch."""
    if isinstance(first, (tuple, list)) and isinstance(second, (tuple, list)) and len(first) == len(second):
        pairs = [_strip(g, a, b) for a, b in zip(first, second)]
        return tuple(a for a, _ in pairs), tuple(b for _, b in pairs)
    if _computed(g, first._data if isinstance(first, Tensor) else first):
        return _COMPUTED, _COMPUTED
    return first, second


_COMPUTED = object()


def _mentions_computed(g, items):
    """Whether configuration (an index key, say) holds a value the graph computes."""
    for x in items:
        if isinstance(x, (tuple, list)):
            if _mentions_computed(g, x):
                return True
        elif _computed(g, x._data if isinstance(x, Tensor) else x):
            return True
    return False


def _computed(g, x):
    v = g.lookup(x) if hasattr(x, "shape") else None
    return v is not None and not v.const


def _dyn(g, first, second):
    if second is None:
        return (False,) * first.ndim
    if first.ndim != second.ndim:
        g.fail(f"an output has {first.ndim} dims at one batch size and {second.ndim} at another")
    return tuple(a != b for a, b in zip(first.shape, second.shape))


def build(trace1, trace2, model, opset, input_names, output_names, graph_name):
    """The ONNX ``GraphProto`` of ``trace1``; ``trace2`` (a pass at another batch size, or None)
    marks the sizes that follow the batch."""
    param_names = {}
    for name, t in list(model.state_dict().items()) + list(model.named_parameters()) + list(model.named_buffers()):
        param_names.setdefault(id(t._data), name)
    values = {}
    g = Graph(opset, param_names, values)
    n1 = trace1.inputs[0].shape[0] if trace1.inputs and trace1.inputs[0].ndim else None
    n2 = trace2.inputs[0].shape[0] if trace2 is not None else None

    graph_inputs = []
    for i, t in enumerate(trace1.inputs):
        dyn = _dyn(g, t._data, trace2.inputs[i]._data if trace2 is not None else None)
        name = input_names[i]
        if name in g._names:
            raise ExportError(f"onnx.export: input_names has {name!r} twice")
        g._names.add(name)
        values[id(t._data)] = Value(t._data, name, dyn, counter=t._version, version=t._version.value)
        graph_inputs.append(_value_info(name, t.dtype, t.shape, dyn))

    for k, c1 in enumerate(trace1.calls):
        c2 = trace2.calls[k] if trace2 is not None and k < len(trace2.calls) else None
        g.call, g.scope = c1, c1.layer.split(" (")[0].replace("<model>", "")
        if trace2 is not None:
            _check_config(g, c1, c2, n1, n2)
        ins, computed = [], False
        for i, a in enumerate(c1.args):
            if not isinstance(a, Tensor):
                if c2 is not None and not _same(*_strip(g, a, c2.args[i])):
                    _batch_dependent(g, f"argument {i}", a, c2.args[i], n1, n2)
                ins.append(a)
                continue
            v = values.get(id(a._data))
            if v is None:  # a parameter, a buffer, or a tensor made outside the traced ops
                if trace2 is not None and id(a._data) not in param_names and not _same(a, c2.args[i]):
                    _batch_dependent(g, f"argument {i} (a tensor that no traced op made)", a, c2.args[i], n1, n2)
                v = Value(a._data, const=True)
            elif v.counter is a._version and c1.versions[i] != v.version:
                g.fail(f"argument {i} was changed in place (version {v.version} -> {c1.versions[i]}) after "
                       "the op that made it; in-place ops cannot be exported, use out-of-place ones")
            computed = computed or not v.const
            ins.append(v)
        computed = computed or _mentions_computed(g, c1.kwargs.values())
        dyns = [_dyn(g, o, c2.outputs[j] if c2 is not None else None) for j, o in enumerate(c1.outputs)]
        if not computed:  # fold: the result is a constant, which must not change with the batch
            if c2 is not None and not all(_same(a, b) for a, b in zip(c1.outputs, c2.outputs)):
                _batch_dependent(g, "its result (computed from constants alone)", c1.outputs, c2.outputs, n1, n2)
            results = [Value(np.array(_host(o)), const=True) for o in c1.outputs]
        else:
            emit = symbolic.TABLE.get(c1.fn)
            if emit is None:
                g.fail("this operation has no ONNX mapping (gradcnn.onnx maps the primitives of an "
                       "eval-mode forward pass; this one is not among them)")
            outs = [symbolic.Out(o.shape, o.dtype, d) for o, d in zip(c1.outputs, dyns)]
            names = emit(g, c1, ins, outs)
            results = [Value(o, n, d, missing=None if n else f"output {j} of {c1.fn.__name__}")
                       for j, (o, n, d) in enumerate(zip(c1.outputs, names, dyns))]
        for (counter, version), r in zip(c1.out_versions, results):
            r.counter, r.version = counter, version
        for o, r in zip(c1.outputs, results):
            values[id(o)] = r

    g.call, g.scope = None, ""
    outputs = _flatten_outputs(g, trace1.outputs)
    outputs2 = _flatten_outputs(g, trace2.outputs) if trace2 is not None else [None] * len(outputs)
    if output_names is None:
        output_names = ["output"] if len(outputs) == 1 else [f"output{i}" for i in range(len(outputs))]
    elif len(output_names) != len(outputs):
        raise ExportError(f"onnx.export: output_names has {len(output_names)} names but the model "
                          f"returns {len(outputs)} tensors")
    graph_outputs, reserved = [], {i.name for i in graph_inputs}
    for t, t2, wanted in zip(outputs, outputs2, output_names):
        v = values.get(id(t._data))
        if v is None:
            v = Value(np.array(_host(t._data)), const=True)
        elif v.counter is t._version and t._version.value != v.version:
            raise ExportError(f"onnx.export: the model's output {wanted!r} was changed in place (version "
                              f"{v.version} -> {t._version.value}) after the op that made it; in-place ops "
                              "cannot be exported, use out-of-place ones")
        if v.const and t2 is not None and not _same(t, t2):
            _batch_dependent(g, "a model output that no traced op made", t, t2, n1, n2)
        dyn = v.dyn if not v.const else (False,) * t.ndim
        name = _name_output(g, v, wanted, reserved)
        graph_outputs.append(_value_info(name, t.dtype, t.shape, dyn))

    graph = helper.make_graph(g.nodes, graph_name, graph_inputs, graph_outputs)
    for name, array in g.initializers:  # written in place: one copy of each weight, not two
        tensor = graph.initializer.add()
        tensor.name = name
        tensor.data_type = helper.np_dtype_to_tensor_dtype(array.dtype)
        tensor.dims.extend(array.shape)
        tensor.raw_data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return graph


def _flatten_outputs(g, out):
    items = [out] if isinstance(out, Tensor) else list(out) if isinstance(out, (tuple, list)) else None
    if not items or not all(isinstance(t, Tensor) for t in items):
        g.fail(f"the model must return a Tensor or a tuple or list of Tensors, got {type(out).__name__}")
    return items


def _name_output(g, value, wanted, reserved):
    """Give the graph output the name ``wanted``: rename the node output that made the value, or
    add an Identity (for an input, a constant, or a value that is already an output)."""
    if value.missing:
        g.fail(f"the model returns {value.missing}, which has no ONNX counterpart")
    if wanted in g._names:
        raise ExportError(f"onnx.export: output name {wanted!r} is already the name of an input or of a "
                          "value in the graph; choose another in output_names")
    source = g.ref(value)
    g._names.add(wanted)
    if value.const or source in reserved:
        g.nodes.append(helper.make_node("Identity", [source], [wanted], name=g.unique(f"{wanted}#node")))
    else:
        for node in g.nodes:
            for seq in (node.input, node.output):
                for i, name in enumerate(seq):
                    if name == source:
                        seq[i] = wanted
        value.name = wanted
    reserved.add(wanted)
    return wanted


def _value_info(name, dtype, shape, dyn):
    dims = ["batch" if d else int(s) for s, d in zip(shape, dyn)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), dims)
