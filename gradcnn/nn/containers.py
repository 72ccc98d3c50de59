"""Containers: ``Sequential`` (call in order), ``ModuleList`` and ``ModuleDict`` (hold and register),
and ``DataParallel`` (a pass-through wrapper on one device)."""

import warnings
from collections import OrderedDict
from collections.abc import Iterable

from ..errors import DTypeError, IndexOutOfRangeError
from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict", "DataParallel"]


def _check(module, where, allow_none=False):
    """``module``, or a DTypeError unless it is a Module (or None, an empty slot, where PyTorch
    allows one)."""
    if not isinstance(module, Module) and not (allow_none and module is None):
        raise DTypeError(f"{where}: expected a Module, got {type(module).__name__}")
    return module


def _iterable(modules, where):
    if not isinstance(modules, Iterable) or isinstance(modules, (str, bytes)):
        raise DTypeError(f"{where}: expected an iterable of Modules, got {type(modules).__name__}")
    return modules


class Sequential(Module):
    """Modules called one after the other: ``Sequential(conv, relu, pool)`` or
    ``Sequential(OrderedDict(conv=..., relu=...))`` for named children."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, _check(m, f"Sequential[{name!r}]", allow_none=True))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), _check(m, f"Sequential[{i}]", allow_none=True))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if not -len(items) <= index < len(items):
            raise IndexOutOfRangeError(f"Sequential: index {index} is out of range for {len(items)} modules")
        return items[index][1]

    def append(self, module):
        self.add_module(str(len(self)), _check(module, "Sequential.append"))
        return self

    def forward(self, input):
        for name, module in self._modules.items():
            if module is None:
                raise DTypeError(f"Sequential: module {name!r} is None, which cannot be called")
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules, registered so their parameters are found; indexable and iterable."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        if not -len(items) <= index < len(items):
            raise IndexOutOfRangeError(f"ModuleList: index {index} is out of range for {len(items)} modules")
        return items[index]

    def append(self, module):
        self.add_module(str(len(self)), _check(module, "ModuleList.append", allow_none=True))
        return self

    def extend(self, modules):
        for m in _iterable(modules, "ModuleList.extend"):
            self.append(m)
        return self


class ModuleDict(Module):
    """A dict of modules, registered so their parameters are found; keeps insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        for name, m in (modules or {}).items():
            self[name] = m

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, _check(module, f"ModuleDict[{key!r}]"))

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


class DataParallel(Module):
    """PyTorch's single-process data parallelism, on one device: calls ``module`` as it is (which
    is also what PyTorch does without GPUs), so programs written for it run unchanged; the wrapped
    module is ``.module`` and the state dict keys start with ``module.``, as in PyTorch. Use
    ``DistributedDataParallel`` (``gradcnn.nn.parallel``) to train on several devices."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = _check(module, "DataParallel")
        self.device_ids = [] if device_ids is None else list(device_ids)
        if output_device is None and self.device_ids:
            output_device = self.device_ids[0]
        self.output_device = output_device
        self.dim = dim
        if len(self.device_ids) > 1:
            warnings.warn(
                f"DataParallel: gradcnn runs the module on one device; device_ids {self.device_ids} "
                "beyond the first are not used (DistributedDataParallel trains on several)",
                UserWarning,
                stacklevel=2,
            )

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
