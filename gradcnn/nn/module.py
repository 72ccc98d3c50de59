"""``Module`` and ``Parameter``: the PyTorch-shaped way to hold weights and compose layers.

A module keeps three ordered registries, filled by plain attribute assignment: parameters
(``Parameter`` values), sub-modules (``Module`` values) and buffers (tensors registered with
``register_buffer``: state that is saved but not trained, such as batch-norm running statistics).
``state_dict()`` names every parameter and persistent buffer by its dotted path
(``layer1.0.conv1.weight``); ``load_state_dict`` copies values back in place, so optimizers that hold
the parameters keep working.

Calling a module runs its hooks around ``forward``, with PyTorch's names and order: forward
pre-hooks (which may replace the arguments), ``forward``, forward hooks (which may replace the
result). Full backward hooks see, once per backward pass through the call, the gradients with
respect to the module's positional Tensor arguments and its outputs; they are made of two identity
functions placed around ``forward`` (one over the arguments, one over the outputs), so the autograd
engine knows nothing of them. As in PyTorch, the outputs of a call with backward hooks are views of
what ``forward`` returned and cannot be changed in place.

Lazy modules (``LazyLinear``, ``LazyConv2d``, ...) hold :class:`UninitializedParameter` placeholders
until their first call, which sizes the parameters from the input, initialises them as the ordinary
layer would, and turns the module into that layer (its class changes, as in PyTorch). The
placeholders are the very objects that become the parameters, so an optimizer built before the
first call keeps working.
"""

from __future__ import annotations

import inspect
import itertools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from ..arguments import flag
from ..autograd.function import Function
from ..autograd.tape import is_grad_enabled, no_grad
from ..backends import get_array_module, is_array, parse_device, to_device
from ..errors import AutogradError, DTypeError, GradcnnError, ShapeError
from ..tensor import Tensor, resolve_dtype

__all__ = [
    "Module", "Parameter", "Buffer", "StateDictError", "IncompatibleKeys", "RemovableHandle",
    "UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin",
]


class StateDictError(GradcnnError, KeyError, RuntimeError):
    """A state dict does not fit the module: missing, unexpected or mis-shaped keys."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0])


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns; prints as PyTorch's does."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"

    __str__ = __repr__


class Parameter(Tensor):
    """A tensor that is a module's trainable state: it requires grad unless told otherwise, and
    assigning it to a module attribute registers it."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        requires_grad = flag("Parameter", "requires_grad", requires_grad)
        arr = _state_array("Parameter", data)
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

    def __init__(self, data=None, *, persistent=True):
        arr = _state_array("Buffer", data)
        super().__init__(arr, dtype=arr.dtype)
        self.persistent = flag("Buffer", "persistent", persistent)


def _state_array(what, data):
    """The array of a Parameter's or Buffer's ``data``: a Tensor's or an array's (NumPy or CuPy);
    None gives an empty float32 tensor, as in PyTorch; a number or a list is refused, as there."""
    if data is None:
        return np.empty((0,), np.float32)
    if isinstance(data, Tensor):
        return data._data
    if is_array(data):
        return _array(data)
    raise DTypeError(f"{what}: data must be a Tensor, got {data!r} ({type(data).__name__})")


# -- placeholders of lazy modules -------------------------------------------------------------------


def _placeholder(device, dtype, what):
    arr = np.empty((0,), dtype=np.float32 if dtype is None else resolve_dtype(dtype, what))
    return arr if device is None else to_device(arr, parse_device(device))


def _refuse(name):
    def refused(self, *args, **kwargs):
        raise ShapeError(
            f"{name}: this {type(self).__name__} has no shape or values yet; a lazy module sizes it "
            "on its first call, so run a forward pass (a dummy batch will do) first"
        )

    return refused


class _Uninitialized:
    """What the two placeholders share: ``materialize`` and the refusal of everything that needs
    a shape or values. Device and dtype are known (``Module.to`` moves and casts placeholders)."""

    __slots__ = ()
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Give the placeholder ``shape`` (uninitialised values) and make it a ``cls_to_become``."""
        arr = self._data
        if device is not None:
            arr = to_device(arr, parse_device(device))
        dtype = arr.dtype if dtype is None else resolve_dtype(dtype, "materialize")
        self._data = get_array_module(arr).empty(tuple(shape), dtype=dtype)
        self.__class__ = self.cls_to_become

    shape = property(_refuse("shape"))
    ndim = property(_refuse("ndim"))
    size, numel, dim, item, tolist, numpy = (_refuse(n) for n in ("size", "numel", "dim", "item", "tolist", "numpy"))
    __len__, __getitem__, __array__ = (_refuse(n) for n in ("len", "indexing", "__array__"))

    def __repr__(self):
        return f"<{type(self).__name__}>"


class UninitializedParameter(_Uninitialized, Parameter):
    """The parameter of a lazy module before its first call: no shape yet, but a device, a dtype
    and an identity, which it keeps when :meth:`materialize` makes it a :class:`Parameter`."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        Parameter.__init__(self, _placeholder(device, dtype, "UninitializedParameter"), requires_grad)


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer of a lazy module before its first call (batch norm's running statistics)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None):
        Tensor.__init__(self, _placeholder(device, dtype, "UninitializedBuffer"), requires_grad=requires_grad)


def _is_lazy(t):
    return isinstance(t, _Uninitialized)


# -- hooks ------------------------------------------------------------------------------------------


class RemovableHandle:
    """What ``register_*_hook`` returns: ``remove()`` unregisters the hook (also as a context
    manager, on exit)."""

    _next_id = itertools.count()

    def __init__(self, *registries):
        self.id = next(RemovableHandle._next_id)
        self._registries = registries

    def remove(self):
        for registry in self._registries:
            if isinstance(registry, dict):
                registry.pop(self.id, None)
            else:
                registry.discard(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookIdentity(Function):
    """The identity on several tensors, whose backward hands all their gradients at once to a
    callback (a call's backward hooks) and returns what it returns."""

    @staticmethod
    def forward(ctx, *arrays, on_backward):
        ctx.on_backward = on_backward
        return arrays

    @staticmethod
    def backward(ctx, *grads):
        return ctx.on_backward(grads)


def _through_identity(tensors, on_backward):
    """``tensors`` through :class:`_HookIdentity`: the results share data and version counter with
    them and, like views, refuse in-place changes while they require grad."""
    outs = _HookIdentity.apply(*tensors, on_backward=on_backward)
    for out, t in zip(outs, tensors):
        out._version = t._version
        out._is_view = True
    return outs


def _pack(grads, positions, n):
    out = [None] * n
    for i, g in zip(positions, grads):
        out[i] = g
    return tuple(out)


class _BackwardHooks:
    """The backward hooks of one module call: which arguments and outputs were wrapped, and the
    gradients with respect to the outputs, kept until those with respect to the arguments arrive."""

    def __init__(self, module):
        self.module = module
        self.n_args = 0
        self.arg_positions = None
        self.grad_outputs = None

    def wrap_args(self, args):
        self.n_args = len(args)
        if not self.module._backward_hooks:
            return args
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not positions:
            return args
        self.arg_positions = positions
        # Other Tensor arguments get zeros in grad_input, as PyTorch gives them.
        self.zero_args = [(i, a._data.shape, a._data.dtype, get_array_module(a._data))
                          for i, a in enumerate(args) if isinstance(a, Tensor) and i not in positions]
        args = list(args)
        for i, out in zip(positions, _through_identity([args[i] for i in positions], self._on_args)):
            args[i] = out
        return tuple(args)

    def wrap_result(self, result):
        single = isinstance(result, Tensor)
        if not single and not isinstance(result, tuple):
            warnings.warn(
                f"{type(self.module).__name__}: backward hooks see Tensor outputs or tuples of them; "
                f"this call returned {type(result).__name__}, so they will not run for it",
                UserWarning,
                stacklevel=3,
            )
            return result
        items = (result,) if single else result
        positions = [i for i, t in enumerate(items) if isinstance(t, Tensor) and t.requires_grad]
        if not positions:
            return result
        self.n_outputs, self.output_positions = len(items), positions
        items = list(items)
        for i, out in zip(positions, _through_identity([items[i] for i in positions], self._on_outputs)):
            items[i] = out
        return items[0] if single else tuple(items)

    def _on_outputs(self, grads):
        module = self.module
        grad_outputs = _pack(grads, self.output_positions, self.n_outputs)
        for hook in list(module._backward_pre_hooks.values()):
            replaced = hook(module, grad_outputs)
            if replaced is not None:
                grad_outputs = _checked_grads(replaced, len(grad_outputs), module, "backward pre-hook", "grad_output")
        self.grad_outputs = grad_outputs
        if self.arg_positions is None and module._backward_hooks:
            warnings.warn(
                f"{type(module).__name__}: full backward hooks run when the gradients with respect to "
                "the outputs are known, since no argument of the call requires grad",
                UserWarning,
                stacklevel=2,
            )
            grad_inputs = (None,) * self.n_args
            for hook in list(module._backward_hooks.values()):
                result = hook(module, grad_inputs, grad_outputs)
                if result is not None and any(g is not None for g in result):
                    raise AutogradError(
                        f"{type(module).__name__}: a backward hook of a call where no argument requires "
                        "grad must return None, or None for every gradient"
                    )
        return tuple(grad_outputs[i] for i in self.output_positions)

    def _on_args(self, grads):
        module = self.module
        grad_inputs = list(_pack(grads, self.arg_positions, self.n_args))
        for i, shape, dtype, xp in self.zero_args:
            grad_inputs[i] = Tensor._make(xp.zeros(shape, dtype=dtype))
        grad_inputs = tuple(grad_inputs)
        for hook in list(module._backward_hooks.values()):
            replaced = hook(module, grad_inputs, self.grad_outputs)
            if replaced is not None:
                grad_inputs = _checked_grads(replaced, len(grad_inputs), module, "backward hook", "grad_input")
        return tuple(grad_inputs[i] for i in self.arg_positions)


def _checked_grads(grads, n, module, hook, name):
    if not isinstance(grads, (tuple, list)) or len(grads) != n:
        got = f"{len(grads)} entries" if isinstance(grads, (tuple, list)) else type(grads).__name__
        raise AutogradError(
            f"{type(module).__name__}: a {hook} must return None or a tuple of {n} gradients "
            f"(one per entry of {name}), got {got}"
        )
    return tuple(grads)


# -- Module -----------------------------------------------------------------------------------------


_HOOK_REGISTRIES = (
    "_forward_pre_hooks", "_forward_hooks", "_backward_hooks", "_backward_pre_hooks",
)


class Module:
    """Base class of layers and networks: subclass it, assign parameters and sub-modules in
    ``__init__``, and write ``forward``. Call the module, not ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        for name in _HOOK_REGISTRIES:
            object.__setattr__(self, name, OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_hooks_always_called", set())
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
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise DTypeError(
                    f"{type(self).__name__}.{name} is a sub-module: assign a Module or None, not "
                    f"{type(value).__name__}"
                )
            self._modules[name] = None
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

    def _check_name(self, what, name):
        if not isinstance(name, str):
            raise DTypeError(f"{type(self).__name__}: a {what} name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise StateDictError(
                f"{type(self).__name__}: a {what} name must be non-empty and without '.', got {name!r} "
                "(dots separate the names of nested modules)"
            )

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a Parameter or None) under ``name``."""
        self._check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise DTypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._check_init()
        self._drop(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is module state but not trained (saved in ``state_dict`` unless
        ``persistent=False``)."""
        self._check_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise DTypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        self._check_init()
        self._drop(name)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` (a Module or None) as the child ``name``."""
        self._check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise DTypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._check_init()
        if name not in self._modules and hasattr(self, name):
            raise StateDictError(f"add_module: {type(self).__name__} already has an attribute {name!r}")
        self._drop(name)
        self._modules[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias of :meth:`add_module`."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The sub-module at dotted path ``target`` (``""`` is this module), or AttributeError
        naming the step that failed."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}` (looking up {target!r})")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module (looking up {target!r})")
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target`` (``"layer1.0.weight"``)."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}` (looking up {target!r})")
        value = getattr(module, name)
        if not isinstance(value, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter (looking up {target!r})")
        return value

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target`` (``"bn.running_mean"``)."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}` (looking up {target!r})")
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer (looking up {target!r})")
        return module._buffers[name]

    # -- hooks ------------------------------------------------------------------------------

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before every ``forward``; a result that is not None
        replaces ``args`` (a non-tuple is wrapped in one). With ``with_kwargs=True`` the hook is
        ``hook(module, args, kwargs)`` and returns None or ``(args, kwargs)``."""
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        _insert(self._forward_pre_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` after every ``forward``; a result that is not None
        replaces the output. ``with_kwargs=True``: ``hook(module, args, kwargs, output)``;
        ``always_call=True``: also when ``forward`` raised."""
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs,
                                 self._forward_hooks_always_called)
        _insert(self._forward_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if always_call:
            self._forward_hooks_always_called.add(handle.id)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients with respect to a call's outputs
        are known; a result that is not None replaces ``grad_output`` (a tuple, one entry per
        output, None for outputs that got no gradient)."""
        handle = RemovableHandle(self._backward_pre_hooks)
        _insert(self._backward_pre_hooks, handle.id, hook, prepend)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to a
        call's positional arguments are known: tuples with one entry per positional argument and per
        output (None for non-Tensors and those that need no gradient). A result that is not None
        replaces ``grad_input``. Keyword arguments are not seen, as in PyTorch."""
        handle = RemovableHandle(self._backward_hooks)
        _insert(self._backward_hooks, handle.id, hook, prepend)
        return handle

    # -- calling ----------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        try:
            if d.get("_forward_pre_hooks") or d.get("_forward_hooks") or d.get("_backward_hooks") or d.get(
                    "_backward_pre_hooks"):
                return self._call_with_hooks(args, kwargs)
            return self.forward(*args, **kwargs)
        except GradcnnError as exc:
            _name_module(exc, self)
            raise
        except TypeError as exc:
            # Arguments that ``forward`` cannot take are the caller's mistake, not a bug inside it.
            try:
                inspect.signature(self.forward).bind(*args, **kwargs)
            except TypeError as wrong:
                raise DTypeError(f"{self._get_name()}: forward got arguments it does not take: {wrong}") from exc
            except ValueError:  # no signature to check against
                pass
            raise

    def _call_with_hooks(self, args, kwargs):
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise DTypeError(
                            f"{type(self).__name__}: a forward pre-hook registered with_kwargs=True must "
                            f"return None or (args, kwargs), got {result!r:.80}"
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward_hooks = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            backward_hooks = _BackwardHooks(self)
            args = backward_hooks.wrap_args(args)
        try:
            result = self.forward(*args, **kwargs)
        except Exception:
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called:
                    try:
                        self._run_forward_hook(hook_id, hook, args, kwargs, None)
                    except Exception as exc:  # the forward's error is the one to raise
                        warnings.warn(f"{type(self).__name__}: a forward hook with always_call=True raised "
                                      f"{type(exc).__name__}: {exc} while forward was failing", UserWarning,
                                      stacklevel=2)
            raise
        for hook_id, hook in list(self._forward_hooks.items()):
            replaced = self._run_forward_hook(hook_id, hook, args, kwargs, result)
            if replaced is not None:
                result = replaced
        if backward_hooks is not None:
            result = backward_hooks.wrap_result(result)
        return result

    def _run_forward_hook(self, hook_id, hook, args, kwargs, result):
        if hook_id in self._forward_hooks_with_kwargs:
            return hook(self, args, kwargs, result)
        return hook(self, args, result)

    # -- traversal --------------------------------------------------------------------------

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module and every one below it, depth first; a module
        reached twice is given once unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        if recurse:
            modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        else:
            modules = [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs; a parameter shared by two modules appears once
        unless ``remove_duplicate=False``."""
        return self._named("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes and gradients ----------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm on batch statistics) here and, through
        each child's ``train``, below; returns ``self``."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ShapeError(f"{type(self).__name__}.train: mode must be a bool, got {mode!r}")
        object.__setattr__(self, "training", bool(mode))
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode here and below: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter (to ``None``, or to zeros in place)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad._data[...] = 0

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn(module)`` on every sub-module, then on this one; returns ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- state ------------------------------------------------------------------------------

    def state_dict(self, prefix: str = "") -> OrderedDict:
        """Every parameter and persistent buffer by dotted name, as detached tensors sharing memory
        (the placeholders themselves for a lazy module not called yet, as PyTorch keeps them)."""
        out = OrderedDict()
        for mod_prefix, module in self.named_modules(prefix=prefix.rstrip(".")):
            lead = f"{mod_prefix}." if mod_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[lead + name] = p if _is_lazy(p) else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[lead + name] = b if _is_lazy(b) else b.detach()
        return out

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (tensors or arrays) into this module's parameters and
        buffers, in place. With ``strict`` every key must match; the error lists the missing,
        unexpected and mis-shaped keys. Returns ``(missing_keys, unexpected_keys)``.

        A lazy module's placeholders take the shapes of the values loaded into them, as in
        PyTorch; a placeholder in ``state_dict`` loads nothing."""
        if not hasattr(state_dict, "items") or not hasattr(state_dict, "__contains__"):
            raise DTypeError(f"load_state_dict: state_dict must be a dict of names to tensors, got "
                             f"{type(state_dict).__name__}")
        targets = OrderedDict()
        for mod_prefix, module in self.named_modules():
            lead = f"{mod_prefix}." if mod_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    targets[lead + name] = p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    targets[lead + name] = b
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        mis_shaped = []
        for key, value in state_dict.items():
            target = targets.get(key)
            if target is None:
                continue
            if not (isinstance(value, Tensor) or is_array(value)):
                raise StateDictError(f"load_state_dict into {type(self).__name__}: {key}: expected a Tensor, "
                                     f"got {type(value).__name__}")
            if _is_lazy(target):
                continue
            if _is_lazy(value):
                mis_shaped.append(f"{key}: checkpoint uninitialized, model {target.shape}")
                continue
            shape = tuple(_array(value._data if isinstance(value, Tensor) else value).shape)
            if shape != target.shape:
                mis_shaped.append(f"{key}: checkpoint {shape}, model {target.shape}")
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
                target = targets.get(key)
                if target is None or _is_lazy(value):
                    continue
                array = value._data if isinstance(value, Tensor) else _array(value)
                if _is_lazy(target):
                    target.materialize(array.shape)
                # Values may live on any device (a CUDA state dict into a CPU model, say).
                target._data[...] = to_device(array, target.device)
                target._version.value += 1
        return IncompatibleKeys(missing, unexpected)

    def to(self, *args, dtype=None, device=None, non_blocking=False, memory_format=None):  # noqa: ARG002
        """Move and/or cast every parameter and buffer in place (floating ones only for dtypes);
        parameters keep their identity, so optimizers built earlier still hold them.
        ``non_blocking`` and ``memory_format`` are accepted, as in PyTorch, and change nothing."""
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
            arr = t._data
            if device is not None:
                arr = to_device(arr, device)
            if dtype is not None and arr.dtype.kind == "f":
                arr = arr.astype(dtype)
            t._data = arr
            if t.grad is not None:
                g = t.grad._data
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

    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The settings shown between the parentheses of ``repr``; override in layers."""
        return ""

    def __repr__(self):
        children = [f"({name}): " + _indent(repr(child)) for name, child in self._modules.items()
                    if child is not None]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def _name_module(exc, module):
    """Put the innermost module whose ``forward`` failed in front of the message of ``exc``, with
    its settings (``Linear(in_features=2, ...): linear: input (2, 3) has 3 features ...``), unless
    the message names it already."""
    if getattr(exc, "_module_named", False):
        return
    exc._module_named = True
    if not exc.args or not isinstance(exc.args[0], str):
        return
    name, message = module._get_name(), exc.args[0]
    if message.startswith(name):
        return
    extra = module.extra_repr()
    where = f"{name}({extra})" if extra and "\n" not in extra and len(extra) <= 120 else name
    exc.args = (f"{where}: {message}", *exc.args[1:])


def _insert(registry, key, hook, prepend):
    registry[key] = hook
    if prepend:
        registry.move_to_end(key, last=False)


# -- lazy modules -----------------------------------------------------------------------------------


class LazyModuleMixin:
    """Mixed in before a layer class (``class LazyLinear(LazyModuleMixin, Linear)``): the module
    starts with placeholders, and its first call runs ``initialize_parameters(*args, **kwargs)``,
    which must materialize them, then turns the module into ``cls_to_become``."""

    cls_to_become = None

    def _lazy_init(self):
        """``Module.__init__`` plus the hook that initializes on the first call (PyTorch's is a
        forward pre-hook too, so user pre-hooks registered later see the initialized module)."""
        Module.__init__(self)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self):
        """Whether any parameter or buffer is still a placeholder."""
        return any(_is_lazy(t) for t in itertools.chain(self._parameters.values(), self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define initialize_parameters()")


def _infer_parameters(module, args, kwargs):
    with no_grad():
        module.initialize_parameters(*args, **kwargs)
    if module.has_uninitialized_params():
        raise ShapeError(f"{type(module).__name__}: initialize_parameters() left placeholders unmaterialized")
    module._initialize_hook.remove()
    del module._initialize_hook
    module.__class__ = module.cls_to_become


def _array(value):
    """``value`` as an array: NumPy and CuPy arrays as they are, anything else through NumPy."""
    if is_array(value):
        return value
    return np.asarray(value)


def _indent(text):
    return text.replace("\n", "\n  ")
