"""One forward pass, recorded for export: every primitive call in order, with the layer it ran in.

:func:`trace` runs ``model`` in eval mode under ``no_grad`` with
:func:`~gradcnn.autograd.function.observe_calls` listening, after wrapping ``forward`` of every
module so that a stack says which layer is running (the same wrapping ``gradcnn.summary`` uses);
the wrappers, and each module's ``training`` flag, are restored afterwards. Composite ops appear as
the primitives they are made of; a :class:`Call` keeps the arguments as given (Tensors, numbers,
arrays), the configuration, the output arrays, the version of each tensor argument (so that a value
changed in place after it was made is noticed) and the label of the layer.

A ``where`` condition is computed outside the traced ops (comparisons make no Function), so for
``Where`` the trace also keeps which function called ``where``: the exporter knows the conditions
that gradcnn's own composites use (``logsumexp``, ``prelu``, ``elu``).
"""

import sys
from dataclasses import dataclass

from ..autograd import no_grad
from ..autograd.function import observe_calls
from ..ops import elementwise
from ..tensor import Tensor

__all__ = ["Call", "Trace", "trace"]


@dataclass
class Call:
    fn: type
    args: tuple
    kwargs: dict
    outputs: tuple  # the arrays made, one per output
    versions: tuple  # each Tensor argument's version at the call (None for other arguments)
    out_versions: tuple  # (version counter, version) of each output tensor
    layer: str  # "features.0 (Conv2d)"
    caller: object = None  # for Where: the code object of the function that called ``where``


@dataclass
class Trace:
    calls: list
    inputs: tuple  # Tensors
    outputs: object  # the model's result: a Tensor, or a tuple or list of them


def _label(name, module):
    return f"{name or '<model>'} ({type(module).__name__})"


def _where_caller():
    """The code object of the function that called ``gradcnn.ops.elementwise.where``."""
    frame = sys._getframe(2)
    target = elementwise.where.__code__
    while frame is not None and frame.f_code is not target:
        frame = frame.f_back
    return None if frame is None or frame.f_back is None else frame.f_back.f_code


def trace(model, inputs):
    """Run ``model(*inputs)`` once in eval mode without gradients and return the :class:`Trace`."""
    names = {}
    for name, module in model.named_modules():
        names.setdefault(id(module), _label(name, module))
    stack = [names[id(model)]]
    calls = []

    def on_call(fn, args, kwargs, result):
        outputs = result if isinstance(result, tuple) else (result,)
        versions = tuple(a._version.value if isinstance(a, Tensor) else None for a in args)
        caller = _where_caller() if fn is elementwise.Where else None
        made = tuple((o._version, o._version.value) for o in outputs)
        calls.append(Call(fn, args, kwargs, tuple(o._data for o in outputs), versions, made, stack[-1], caller))

    def wrap(module, label):
        original = module.forward

        def forward(*args, **kwargs):
            stack.append(label)
            try:
                return original(*args, **kwargs)
            finally:
                stack.pop()

        return forward

    saved = [(m, m.__dict__.get("forward"), m.training) for m in model.modules()]
    try:
        model.eval()
        for m, _, _ in saved:
            object.__setattr__(m, "forward", wrap(m, names[id(m)]))
        with no_grad(), observe_calls(on_call):
            outputs = model(*inputs)
    finally:
        for m, forward, training in saved:
            if forward is None:
                m.__dict__.pop("forward", None)
            else:
                object.__setattr__(m, "forward", forward)
            object.__setattr__(m, "training", training)
    return Trace(calls, tuple(inputs), outputs)
