"""``Module`` and ``Parameter``: the PyTorch-shaped way to hold weights and compose layers.

A module keeps three ordered registries, filled by plain attribute assignment: parameters
(``Parameter`` values), sub-modules (``Module`` values) and buffers (tensors registered with
``register_buffer``: state that is saved but not trained, such as batch-norm running statistics).
``state_dict()`` names every parameter and persistent buffer by its dotted path
(``layer1.0.conv1.weight``); ``load_state_dict`` copies values back in place, so optimizers that hold
the parameters keep working.
"""

from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd.tape import no_grad
from ..backends import is_array, parse_device, to_device
from ..errors import DTypeError, GradcnnError
from ..tensor import Tensor, resolve_dtype

__all__ = ["Module", "Parameter", "StateDictError", "IncompatibleKeys"]


class StateDictError(GradcnnError, KeyError):
    """A state dict does not fit the module: missing, unexpected or mis-shaped keys."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0])


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A tensor that is a module's trainable state: it requires grad unless told otherwise, and
    assigning it to a module attribute registers it."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        arr = data._data if isinstance(data, Tensor) else _array(data)
        super().__init__(arr, dtype=arr.dtype)
        if requires_grad:
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A tensor that is module state but not trained, as ``torch.nn.Buffer``: assigning it to a
    module attribute registers it as a buffer (saved in ``state_dict`` unless ``persistent=False``);
    the module keeps a plain Tensor sharing its data."""

    __slots__ = ("persistent",)

    def __init__(self, data, *, persistent=True):
        arr = data._data if isinstance(data, Tensor) else _array(data)
        super().__init__(arr, dtype=arr.dtype)
        self.persistent = bool(persistent)


class Module:
    """Base class of layers and networks: subclass it, assign parameters and sub-modules in
    ``__init__``, and write ``forward``. Call the module, not ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration -----------------------------------------------------------------------

    def _check_init(self):
        if "_parameters" not in self.__dict__:
            raise GradcnnError(
                f"{type(self).__name__}: call super().__init__() in __init__ before assigning "
                "parameters, buffers or sub-modules"
            )

    def __setattr__(self, name, value):
        if isinstance(value, Buffer):
            self.register_buffer(name, Tensor._make(value._data), persistent=value.persistent)
        elif isinstance(value, Parameter):
            self._check_init()
            self._drop(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init()
            self._drop(name)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise DTypeError(
                    f"{type(self).__name__}.{name} is a parameter: assign a Parameter or None, not "
                    f"{type(value).__name__}"
                )
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise DTypeError(
                    f"{type(self).__name__}.{name} is a buffer: assign a Tensor or None, not "
                    f"{type(value).__name__}"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _drop(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._drop(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise DTypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._check_init()
        self._drop(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register a tensor that is module state but not trained (saved in ``state_dict`` unless
        ``persistent=False``)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise DTypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        self._check_init()
        self._drop(name)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise DTypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._check_init()
        self._drop(name)
        self._modules[name] = module

    register_module = add_module

    # -- calling ----------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- traversal --------------------------------------------------------------------------

    def named_modules(self, prefix="", memo=None):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named(self, registry, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        """``(dotted name, Parameter)`` pairs; a parameter shared by two modules appears once."""
        return self._named("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        return self._named("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes and gradients ----------------------------------------------------------------

    def train(self, mode=True):
        """Set training mode (dropout active, batch norm on batch statistics) here and below."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode here and below: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of every parameter (to ``None``, or to zeros in place)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on this one; returns ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- state ------------------------------------------------------------------------------

    def state_dict(self, prefix=""):
        """Every parameter and persistent buffer by dotted name, as detached tensors sharing memory."""
        out = OrderedDict()
        for mod_prefix, module in self.named_modules(prefix.rstrip(".")):
            lead = f"{mod_prefix}." if mod_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[lead + name] = p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[lead + name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` (tensors or arrays) into this module's parameters and
        buffers, in place. With ``strict`` every key must match; the error lists the missing,
        unexpected and mis-shaped keys. Returns ``(missing_keys, unexpected_keys)``."""
        own = self.state_dict()
        targets = {}
        for mod_prefix, module in self.named_modules():
            lead = f"{mod_prefix}." if mod_prefix else ""
            for registry in (module._parameters, module._buffers):
                for name, t in registry.items():
                    if t is not None:
                        targets[lead + name] = t
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mis_shaped = []
        for key, value in state_dict.items():
            if key not in own:
                continue
            shape = tuple(_array(getattr(value, "data", value)).shape)
            if shape != own[key].shape:
                mis_shaped.append(f"{key}: checkpoint {shape}, model {own[key].shape}")
        if mis_shaped or (strict and (missing or unexpected)):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            if mis_shaped:
                parts.append(f"mis-shaped keys [{'; '.join(mis_shaped)}]")
            raise StateDictError(
                f"load_state_dict into {type(self).__name__}: " + ", ".join(parts)
            )
        with no_grad():
            for key, value in state_dict.items():
                if key in targets:
                    target = targets[key]
                    # Values may live on any device (a CUDA state dict into a CPU model, say).
                    target.data[...] = to_device(_array(getattr(value, "data", value)), target.device)
                    target._version.value += 1
        return IncompatibleKeys(missing, unexpected)

    def to(self, *args, dtype=None, device=None):
        """Move and/or cast every parameter and buffer in place (floating ones only for dtypes);
        parameters keep their identity, so optimizers built earlier still hold them."""
        for a in args:
            if isinstance(a, str):
                device = a
            else:
                dtype = a
        device = None if device is None else parse_device(device)
        dtype = None if dtype is None else resolve_dtype(dtype, "Module.to")
        if dtype is not None and dtype.kind != "f":
            raise DTypeError(f"Module.to: only floating dtypes apply to a module, got {dtype.name}")
        for t in list(self.parameters()) + list(self.buffers()):
            arr = t.data
            if device is not None:
                arr = to_device(arr, device)
            if dtype is not None and arr.dtype.kind == "f":
                arr = arr.astype(dtype)
            t.data = arr
            if t.grad is not None:
                g = t.grad.data
                if device is not None:
                    g = to_device(g, device)
                if dtype is not None:
                    g = g.astype(dtype)
                t.grad = Tensor._make(g)
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    # -- display ----------------------------------------------------------------------------

    def extra_repr(self):
        """The settings shown between the parentheses of ``repr``; override in layers."""
        return ""

    def __repr__(self):
        children = [f"({name}): " + _indent(repr(child)) for name, child in self.named_children()]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def _array(value):
    """``value`` as an array: NumPy and CuPy arrays as they are, anything else through NumPy."""
    if is_array(value):
        return value
    return np.asarray(value)


def _indent(text):
    return text.replace("\n", "\n  ")
