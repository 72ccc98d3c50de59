"""A layer-by-layer summary of any model, and the receptive field of every layer.

``gradcnn.summary(model, (3, 224, 224))`` and ``gradcnn.receptive_field(model, (3, 224, 224))``
take any :class:`~gradcnn.nn.Module` (a built-in or plugin architecture, a ``Sequential``, a
hand-written network) or a list of layers, and one sample's input shape (no batch dim), or an
example input tensor (with its batch dim).

**How.** Both run one forward pass, in eval mode, on a zero input of that shape, after wrapping
``forward`` of every *leaf* module (a module without sub-modules) so that each call is recorded in
call order: name, type, output shape, parameters, multiply-adds and the receptive field. A
``Sequential`` is nothing special: its calls are its layers in order. Wrappers and modes are
restored afterwards, and the running statistics of batch norms are left untouched.

**Receptive fields.** Each tensor carries, per spatial axis, its receptive field ``r`` (input
pixels one unit sees), its jump ``j`` (input pixels between neighbouring units: the product of the
strides so far) and ``start`` (the input coordinate, in pixels counted from 0, of the centre of the
first unit's field; negative when it lies in the padding). The input has ``r = 1, j = 1,
start = 0``. A layer with ``kernel_size`` ``k``, ``stride`` ``s``, ``padding`` ``p`` and
``dilation`` ``d`` (convolutions, pools, and any custom layer with those attributes) maps::

    k_eff = d * (k - 1) + 1
    j_out = j_in * s
    r_out = r_in + (k_eff - 1) * j_in
    start_out = start_in + ((k_eff - 1) / 2 - p) * j_in

Transposed convolutions divide the jump by ``s`` and widen ``r`` by ``(ceil(k_eff / s) - 1) *
j_in`` (an upper bound when dilated); adaptive pools use the window their actual input and output
sizes give (``n / o`` when ``o`` divides ``n``: a global average pool sees the whole input). Other
layers whose output keeps spatial dims (activations, batch norm, dropout, LRN) keep the field; a
layer whose output has none (``Linear`` after ``Flatten``) has no spatial field: ``rf is None``. A
spatial map that does not come from one of the input's rank (an embedding's ``(N, L, C)`` output; a
map reshaped from a ``Linear``) starts afresh at ``r = 1``: its fields count its own positions.

**Branches.** The field of a layer's input is looked up through the autograd graph of the traced
pass: the input tensor's field if a recorded layer made it, else the fields found by walking back
through the unrecorded operations that made it (``out + identity`` in a ResNet block, ``cat`` of
Inception branches, ``flatten``), taking the largest. So for a branching network every layer's
field is that of the path with the maximum receptive field through it, which is the network's
receptive field. The limits: only leaf modules count as layers, so a convolution or pool called
through ``gradcnn.functional`` inside a ``forward`` is invisible (its field is not added); and a
module with sub-modules that also owns parameters shows them only in the totals.

**Multiply-adds** are per sample: a convolution ``out_elements * (in_channels / groups) * kH * kW``
(a transposed one ``in_elements * (out_channels / groups) * kH * kW``), a ``Linear``
``rows * in_features * out_features``; bias additions, pooling, normalisation and activations count
0. A custom layer can report its own count with a ``macs(input_shape, output_shape)`` method (both
without the batch dim).
"""

import dataclasses
import math

import numpy as np

from . import geometry
from .autograd import enable_grad
from .autograd.tape import node_of
from .creation import zeros
from .errors import ShapeError
from .nn import Conv1d, Conv2d, ConvTranspose1d, Linear, Module, Sequential
from .tensor import Tensor

__all__ = ["LayerRecord", "Summary", "summary", "receptive_field"]


@dataclasses.dataclass
class LayerRecord:
    """One call of a leaf module during the traced forward pass."""

    name: str  # dotted path in the model ("features.0"); a module called twice appears twice
    type: str  # class name
    output_shape: tuple  # one sample's, without the batch dim
    params: int  # parameters the module owns, counted at its first call only
    rf: tuple | None  # receptive field per spatial axis, in input pixels; None: no spatial dims
    jump: tuple | None  # input pixels between neighbouring output units, per axis
    start: tuple | None  # input coordinate of the centre of the first unit's field, per axis
    macs: int  # multiply-adds per sample


@dataclasses.dataclass(repr=False)
class Summary:
    """What :func:`summary` found; ``str()`` (and ``repr()``) is the table."""

    records: list
    total_params: int
    trainable_params: int
    total_macs: int
    receptive_field: tuple | None  # the network's: the largest of any layer's
    input_shape: tuple

    def __str__(self):
        header = ("Layer", "Type", "Output shape", "Params", "RF", "Jump", "Mult-adds")
        rows = [(r.name, r.type, "x".join(map(str, r.output_shape)), f"{r.params:,}", _axes(r.rf),
                 _axes(r.jump), f"{r.macs:,}") for r in self.records]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        right = (3, 4, 5, 6)  # numbers

        def line(row):
            return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                             for i, (v, w) in enumerate(zip(row, widths))).rstrip()

        rule = "-" * len(line(header))
        out = [f"input {'x'.join(map(str, self.input_shape))}", rule, line(header), rule,
               *map(line, rows), rule]
        out.append(f"Total params: {self.total_params:,}")
        out.append(f"Trainable params: {self.trainable_params:,}")
        out.append(f"Non-trainable params: {self.total_params - self.trainable_params:,}")
        outside = self.total_params - sum(r.params for r in self.records)
        if outside:
            out.append(f"Params outside the traced layers: {outside:,}")
        out.append(f"Mult-adds per sample: {self.total_macs:,} ({self.total_macs / 1e6:.2f} M)")
        out.append(f"Receptive field: {_axes(self.receptive_field)}")
        return "\n".join(out)

    __repr__ = __str__


def summary(model, input_shape):
    """Trace ``model`` on a zero input of one sample's ``input_shape`` (``(3, 224, 224)``; or an
    example input tensor with its batch dim) and return a :class:`Summary`: a row per layer call
    (name, type, output shape, parameters, receptive field, jump, multiply-adds) and the totals.
    ``print(gradcnn.summary(model, (1, 32, 32)))`` shows the table. See the module docstring for
    how layers are found and what is counted."""
    model = _as_module(model)
    records, example = _trace(model, input_shape)
    params = list(model.parameters())
    return Summary(records, sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad),
                   sum(r.macs for r in records), _largest(records), tuple(example.shape[1:]))


def receptive_field(model_or_layers, input_shape):
    """The receptive field of every layer of a model (or a list of layers) on ``input_shape``:
    ``(records, r)``, the :class:`LayerRecord` of each layer call in call order and ``r``, the
    network's field per axis: the largest of any layer's (``(212, 212)`` for VGG-16). See the
    module docstring for the recurrence and how branches are followed."""
    records, _ = _trace(_as_module(model_or_layers), input_shape)
    return records, _largest(records)


def _widest(fields):
    """Where branches merge: per axis, the field of the branch that sees the most along it (the
    largest size, then the largest jump), so an asymmetric branch does not skew the other axis."""
    axes = len(fields[0][0])
    best = [max(fields, key=lambda f, a=a: (f[0][a], f[1][a])) for a in range(axes)]
    return tuple(tuple(best[a][k][a] for a in range(axes)) for k in range(len(fields[0])))


def _largest(records):
    """The network's receptive field: the largest of its layers' (fields only grow along a path,
    so this is the field of the deepest spatial layer, whatever order branches were called in)."""
    spatial = [r.rf for r in records if r.rf is not None]
    return max(spatial, key=sum) if spatial else None


# -- tracing ------------------------------------------------------------------------------------


def _as_module(model):
    if isinstance(model, Module):
        return model
    if isinstance(model, (list, tuple)):
        return Sequential(*model)
    raise ShapeError(f"summary: expected a Module or a list of layers, got {type(model).__name__}")


def _example(model, input_shape):
    if isinstance(input_shape, Tensor):
        return input_shape.detach()
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if not shape or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in shape):
        raise ShapeError(f"summary: input_shape must be one sample's shape as positive ints, such as "
                         f"(3, 224, 224), or an example tensor; got {input_shape!r}")
    param = next((p for p in model.parameters() if p.dtype.kind == "f"), None)
    dtype, device = (param.dtype, param.device) if param is not None else (np.float32, "cpu")
    return zeros(1, *shape, dtype=dtype).to(device)


def _trace(model, input_shape):
    x = _example(model, input_shape)
    if x.dtype.kind == "f":
        x.requires_grad_()  # so that the graph reaches back to the input (see field_of)
    names = {}
    for name, m in model.named_modules():
        names.setdefault(id(m), name or type(m).__name__)
    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    root = _root(x.ndim - 2)
    fields = {}  # id(node) -> (r, j, start), or None for no spatial dims
    keep = []  # the nodes behind those ids, alive until the trace ends
    counted = set()
    records = []

    def field_of(t):
        if t is x or t._node is None:
            return root
        found, stack, seen = [], [t._node], set()
        while stack:
            node = node_of(stack.pop())
            if id(node) in seen:
                continue
            seen.add(id(node))
            if id(node) in fields:
                found.append(fields[id(node)])
                continue
            for edge in node.edges:
                if edge is x:
                    found.append(root)
                elif edge is not None and not isinstance(edge, Tensor):
                    stack.append(edge)
        spatial = [f for f in found if f is not None]
        spatial = [f for f in spatial if len(f[0]) == len(spatial[0][0])] if spatial else []
        if spatial:
            return _widest(spatial)
        return None if found else root

    def record(module, inp, out):
        field, rank = field_of(inp), out.ndim - 2
        if rank < 1:
            field = None
        else:
            if field is None or len(field[0]) != rank:  # a new spatial map: an embedding's output, say
                field = _root(rank)
            geometry = _geometry(module, inp.shape[2:], out.shape[2:])
            if geometry is not None:
                field = _step(field, *geometry)
        if out._node is not None:
            fields[id(out._node)] = field
            keep.append(out._node)
        params = 0
        if id(module) not in counted:
            counted.add(id(module))
            params = sum(p.numel() for p in module.parameters(recurse=False))
        records.append(LayerRecord(names.get(id(module), type(module).__name__), type(module).__name__,
                                   tuple(out.shape[1:]), params, *(field or (None, None, None)),
                                   _macs(module, inp.shape, out.shape)))

    def wrap(module):
        original = module.forward

        def forward(*args, **kwargs):
            out = original(*args, **kwargs)
            inp = next((a for a in args if isinstance(a, Tensor)), None)
            first = out[0] if isinstance(out, (tuple, list)) and out else out
            if isinstance(inp, Tensor) and isinstance(first, Tensor):
                record(module, inp, first)
            return out

        return forward

    saved = [(m, m.__dict__.get("forward"), m.training) for m in model.modules()]
    try:
        model.eval()
        for m in leaves:
            object.__setattr__(m, "forward", wrap(m))
        with enable_grad():
            model(x)
    finally:
        for m, forward, training in saved:
            if forward is None:
                m.__dict__.pop("forward", None)
            else:
                object.__setattr__(m, "forward", forward)
            object.__setattr__(m, "training", training)
    return records, x


def _root(rank):
    """The field of an input pixel: r = 1, j = 1, start = 0 on each of ``rank`` axes."""
    return (1,) * rank, (1,) * rank, (0,) * rank


def _geometry(module, in_sizes, out_sizes):
    """``(k, s, p, d, transposed)`` per axis for a layer that slides a window, else None. ``p`` is
    the padding before the input (``"same"`` puts its odd zero after)."""
    nd = len(in_sizes)
    if hasattr(module, "kernel_size"):
        stride = getattr(module, "stride", None)
        if stride in (None, (), []):  # a pool's default
            stride = module.kernel_size
        k, s, padding, d, _ = geometry.conv_args(type(module).__name__, nd, module.kernel_size, stride,
                                                 getattr(module, "padding", 0), getattr(module, "dilation", 1))
        p = tuple(before for before, _ in geometry.resolve_padding(padding, in_sizes, k, s, d))
        return k, s, p, d, bool(getattr(module, "transposed", False))
    if hasattr(module, "output_size"):  # adaptive pooling: PyTorch's windows
        k, s, first = [], [], []
        for n, o in zip(in_sizes, out_sizes):
            starts, ends = geometry.adaptive_windows(n, o)
            k.append(int((ends - starts).max()))
            s.append(n // o if n % o == 0 else n / o)
            first.append(int(ends[0]))
        # the first window, not the widest, fixes where the first unit is centred
        return tuple(k), tuple(s), tuple((ki - f) / 2 for f, ki in zip(first, k)), (1,) * nd, False
    return None


def _step(field, k, s, p, d, transposed):
    rs, js, starts = [], [], []
    for r, j, start, ki, si, pi, di in zip(*field, k, s, p, d):
        k_eff = geometry.effective_kernel_size(ki, di)
        if transposed:
            rs.append(r + (math.ceil(k_eff / si) - 1) * j)
            js.append(_num(j / si))
            starts.append(_num(start + (pi - (k_eff - 1) / 2) * j / si))
        else:
            rs.append(r + (k_eff - 1) * j)
            js.append(_num(j * si))
            starts.append(_num(start + ((k_eff - 1) / 2 - pi) * j))
    return tuple(map(_num, rs)), tuple(js), tuple(starts)


def _num(v):
    return int(v) if float(v).is_integer() else float(v)


def _macs(module, in_shape, out_shape):
    if isinstance(module, Linear):
        return int(np.prod(out_shape[1:-1], dtype=np.int64)) * module.in_features * module.out_features
    if isinstance(module, (Conv1d, Conv2d)):
        taps = module.in_channels // module.groups * int(np.prod(module.kernel_size))
        return int(np.prod(out_shape[1:], dtype=np.int64)) * taps
    if isinstance(module, ConvTranspose1d):  # ConvTranspose2d is a subclass
        taps = module.out_channels // module.groups * int(np.prod(module.kernel_size))
        return int(np.prod(in_shape[1:], dtype=np.int64)) * taps
    count = getattr(module, "macs", None)
    return int(count(tuple(in_shape[1:]), tuple(out_shape[1:]))) if callable(count) else 0


def _axes(values):
    if values is None:
        return "-"
    values = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    return values[0] if len(set(values)) == 1 else "x".join(values)
