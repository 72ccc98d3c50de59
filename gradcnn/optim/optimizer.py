"""``Optimizer``: parameter groups, per-parameter state, and a state dict shaped like PyTorch's.

Subclasses write ``_update(p, grad, state, group)`` for one parameter; ``step()`` calls it under
``no_grad`` for every parameter that has a gradient, then bumps the parameter's version so that a
graph which saved it for backward notices the change. A gradient must have its parameter's shape
and dtype: ``step()`` refuses one that would broadcast.

Hyperparameters are checked when a group is added: numbers (NumPy scalars too, stored as Python
numbers), finite, in PyTorch's ranges. Switches (``maximize``, ``amsgrad``, ``nesterov``, ...) are
read by their truth, as PyTorch reads them (``amsgrad=1`` is ``True``), and stored as bools;
``differentiable`` must be a bool. PyTorch's implementation switches
(``foreach``, ``fused``, ``capturable``) are accepted and change nothing here: every optimizer
runs one loop over the parameters, PyTorch's single-tensor algorithm. SGD and Adam/AdamW update
each float32 or float64 parameter with one backend kernel (one pass over the parameter, its
gradient and its buffers, no temporary arrays; :func:`fused_update_applies`) that computes exactly
what their array code computes. ``differentiable=True`` is refused: ``step()`` is not recorded on
the tape.
"""

import functools
import inspect
import math
import warnings
from collections.abc import Mapping

import numpy as np

from ..arguments import flag as check_flag
from ..arguments import integer
from ..arguments import number as check_range
from ..autograd.tape import enable_grad, no_grad
from ..backends import get_array_module, to_device
from ..errors import DTypeError, GradcnnError, ShapeError
from ..tensor import Tensor, check_devices

__all__ = ["Optimizer", "ParamGroupKeyError"]


class _Required:
    def __repr__(self):
        return "<required>"


required = _Required()


def _to_numpy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if hasattr(value, "get") and hasattr(value, "__cuda_array_interface__"):
        return value.get()
    return value


def check_switch(op, name, value, allow_none=False):
    """``value`` as a bool by its truth, as PyTorch's optimizers and schedulers read their switches
    (``if group["amsgrad"]:``); None stays None with ``allow_none``. DTypeError when it has no
    truth value (an array of several elements)."""
    if allow_none and value is None:
        return None
    try:
        return bool(value)
    except Exception:  # noqa: BLE001  (whatever __bool__ raises: the value has no truth)
        raise DTypeError(f"{op}: {name} must be a bool, got {value!r} ({type(value).__name__}), "
                         "which has no truth value") from None


def checked_signature(method):
    """``method`` that raises DTypeError naming the class, the method and the argument when called
    with an unknown keyword or a missing argument (Python's TypeError would name neither)."""
    signature = inspect.signature(method)
    suffix = "" if method.__name__ == "__init__" else f".{method.__name__}"

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            signature.bind(self, *args, **kwargs)
        except TypeError as exc:
            raise DTypeError(f"{type(self).__name__}{suffix}: {exc}") from None
        return method(self, *args, **kwargs)

    return wrapper


class ParamGroupKeyError(GradcnnError, KeyError):
    """A param group or an optimizer's state dict lacks an entry (``params``, ``param_groups``,
    ``state``): PyTorch raises a KeyError there."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def check_betas(op, betas):
    """``(beta1, beta2)``, each a number in [0, 1), as a tuple of floats."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise DTypeError(f"{op}: betas must be a pair (beta1, beta2), got {betas!r}")
    checked = []
    for i, beta in enumerate(betas):
        beta = check_range(op, f"betas[{i}]", beta, -math.inf)  # a finite number
        if not 0 <= beta < 1:
            raise ShapeError(f"{op}: betas[{i}] must be in [0, 1), got betas={tuple(betas)}")
        checked.append(float(beta))
    return tuple(checked)


def fused_update_applies(p, grad, *buffers):
    """Whether the backend's one-pass update kernel can update ``p`` (a Tensor) from ``grad`` and
    ``buffers`` (arrays, or None for one not made yet): float32 or float64, one dtype, one array
    type, C-contiguous. Other cases (float16, a strided gradient) take the plain array code, whose
    results the kernels reproduce."""
    data = p._data
    if data.dtype not in _FUSED_DTYPES or not data.flags.c_contiguous:
        return False
    for a in (grad, *buffers):
        if a is not None and (type(a) is not type(data) or a.dtype != data.dtype or not a.flags.c_contiguous):
            return False
    return True


_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def implementation_flags(foreach=None, fused=None, capturable=False, differentiable=False):
    """PyTorch's implementation switches, for ``defaults``: accepted, checked, without effect."""
    return {"foreach": foreach, "fused": fused, "capturable": capturable, "differentiable": differentiable}


class Optimizer:
    """Base class of optimizers: holds ``param_groups`` (dicts of ``params`` and hyperparameters)
    and ``state`` (a dict from parameter to its buffers)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = checked_signature(cls.__dict__["__init__"])

    def __init__(self, params, defaults):
        op = type(self).__name__
        if isinstance(params, Tensor):
            raise DTypeError(
                f"{op}: params must be an iterable of Tensors or of dicts, got a Tensor of shape "
                f"{tuple(params.shape)}; pass [tensor] or model.parameters()"
            )
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        try:
            groups = list(params)
        except TypeError:
            raise DTypeError(f"{op}: params must be an iterable of Tensors or of dicts, got {params!r} "
                             f"({type(params).__name__})") from None
        if not groups:
            raise ShapeError(f"{op}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"

    # Subclasses list their hyperparameters: name -> (low, high, high_open) for numbers, and the
    # names of their bool flags; _validate checks them (and betas), then calls _check_group.
    _ranges = {}
    _flags = ()

    def _validate(self, group):
        """Raise a gradcnn error naming any bad hyperparameter of ``group``; numbers are stored
        back as Python numbers."""
        op = type(self).__name__
        for name, (low, high, high_open) in self._ranges.items():
            group[name] = check_range(op, name, group[name], low, high, high_open=high_open)
        if "betas" in group:
            group["betas"] = check_betas(op, group["betas"])
        for name in self._flags:
            group[name] = check_switch(op, name, group[name])
        for name in ("foreach", "fused"):
            if name in group:
                group[name] = check_switch(op, name, group[name], allow_none=True)
        if "capturable" in group:
            group["capturable"] = check_switch(op, "capturable", group["capturable"])
        if "differentiable" in group:  # PyTorch hands it to set_grad_enabled, which takes only a bool
            group["differentiable"] = check_flag(op, "differentiable", group["differentiable"])
        if group.get("differentiable"):
            raise ShapeError(f"{op}: differentiable=True is not supported: gradcnn does not record "
                             "optimizer steps on the tape")
        self._check_group(group)

    def _check_group(self, group):
        """Checks that involve several hyperparameters (SGD's nesterov, say)."""

    def add_param_group(self, param_group):
        """Add a group of parameters, with hyperparameters that override the defaults."""
        op = type(self).__name__
        if not isinstance(param_group, dict):
            raise DTypeError(f"{op}: a param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        index = len(self.param_groups)
        if "params" not in group:
            raise ParamGroupKeyError(f"{op}: param group {index} has no 'params' entry")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise DTypeError(f"{op}: params must be an ordered collection, not a set")
        else:
            try:
                params = list(params) if params is not None else []
            except TypeError:
                raise DTypeError(f"{op}: the params of param group {index} must be an iterable of Tensors, "
                                 f"got {params!r} ({type(params).__name__})") from None
        if not params:
            raise ShapeError(f"{op}: param group {index} has no parameters")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise DTypeError(f"{op}: params[{i}] must be a Tensor, got {type(p).__name__}")
            if p._node is not None:
                raise ShapeError(f"{op}: params[{i}] is not a leaf tensor and cannot be optimized")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen & {id(p) for p in params}:
            raise ShapeError(f"{op}: some parameters appear in more than one group")
        if len({id(p) for p in params}) != len(params):
            warnings.warn(f"{op}: param group {index} holds a parameter twice; it is updated twice a step "
                          "(PyTorch warns the same and will refuse it)", UserWarning, stacklevel=3)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ShapeError(f"{op}: param group {len(self.param_groups)} must set {name}")
            group.setdefault(name, default)
        self._validate(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set them to None, or to zeros with ``set_to_none=False``."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:  # in place, as PyTorch: the buffer is reused by the next backward
                    try:
                        p.grad._data[...] = 0
                    except ValueError:  # a read-only array (a broadcast one someone assigned)
                        p.grad = Tensor._make(get_array_module(p.grad).zeros_like(p.grad._data))

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            if not callable(closure):
                raise DTypeError(f"{type(self).__name__}.step: closure must be callable (it re-evaluates the "
                                 f"model and returns the loss), got {closure!r} ({type(closure).__name__})")
            with enable_grad():
                loss = closure()
        index = 0
        # (out-of-range hyperparameters, RMSprop's alpha > 1 say, give NaN as in PyTorch, silently)
        with no_grad(), np.errstate(all="ignore"):
            for group in self.param_groups:
                for p in group["params"]:
                    index += 1
                    if p.grad is None:
                        continue
                    state = self.state.setdefault(p, {})
                    grad = p.grad._data
                    if grad.shape != p._data.shape or grad.dtype != p._data.dtype:
                        self._check_grad(index - 1, p, grad)
                    if type(p._data) is not np.ndarray or type(grad) is not np.ndarray or not all(
                        type(v) is np.ndarray or type(v) is float for v in state.values()
                    ):
                        self._check_devices(index - 1, p, grad, state)
                    self._update(p, grad, state, group)
                    p._version.value += 1
        return loss

    def _check_grad(self, index, p, grad):
        op = f"{type(self).__name__}.step"
        if grad.shape != p._data.shape:
            raise ShapeError(
                f"{op}: parameter {index} has shape {tuple(p.shape)} but its .grad has shape "
                f"{tuple(grad.shape)}; a gradient must have its parameter's shape (it is not broadcast)"
            )
        raise DTypeError(f"{op}: parameter {index} has dtype {p.dtype} but its .grad has dtype "
                         f"{grad.dtype}; a gradient must have its parameter's dtype")

    def _check_devices(self, index, p, grad, state):
        """A parameter, its gradient and its buffers must share a device: moving a model after its
        optimizer made buffers would otherwise mix devices in the update."""
        named = [(f"its {name}", value) for name, value in state.items()]
        check_devices(f"{type(self).__name__}.step", (f"parameter {index}", p), ("its gradient", grad), *named)

    def _update(self, p, grad, state, group):
        raise NotImplementedError

    # -- state dict -------------------------------------------------------------------------

    def state_dict(self):
        """``{"state": {index: {name: ndarray or number}}, "param_groups": [{..., "params":
        [indices]}]}``: parameters are numbered in group order, as PyTorch numbers them."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: _to_numpy(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and buffers saved by :meth:`state_dict` (arrays are copied to
        each parameter's dtype and device; ``state`` keys may be strings, as after JSON)."""
        op = f"{type(self).__name__}.load_state_dict"
        groups, saved_state = self._check_state_dict(op, state_dict)
        params = {}
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ShapeError(
                    f"{op}: param group {i} has {len(saved['params'])} parameters "
                    f"in the state dict and {len(group['params'])} in the optimizer"
                )
            params.update(zip(saved["params"], group["params"]))
        new_state = {}
        for key, buffers in saved_state.items():
            try:
                p = params.get(int(key))
            except (TypeError, ValueError):
                p = None
            if p is None:  # PyTorch keeps state no parameter claims; nothing here would read it
                continue
            if not isinstance(buffers, Mapping):
                raise DTypeError(f"{op}: the state of parameter {key} must be a dict of buffers, "
                                 f"got {type(buffers).__name__}")
            new_state[p] = {name: self._load_value(name, value, p) for name, value in buffers.items()}
        merged = []
        for saved, group in zip(groups, self.param_groups):
            new = dict(group)
            for name, value in saved.items():
                if name == "params":
                    continue
                if isinstance(group.get(name), tuple) and isinstance(value, list):
                    value = tuple(value)
                new[name] = value
            self._validate(new)  # the checks a new group gets, before anything changes
            merged.append(new)
        for group, new in zip(self.param_groups, merged):
            group.update(new)
        self.state = new_state

    def _check_state_dict(self, op, state_dict):
        """``state_dict``'s param groups and state, after checking its layout against this optimizer."""
        if not isinstance(state_dict, Mapping):
            raise DTypeError(f"{op}: state_dict must be a dict with 'state' and 'param_groups', got "
                             f"{type(state_dict).__name__}")
        for key in ("param_groups", "state"):
            if key not in state_dict:
                raise ParamGroupKeyError(f"{op}: the state dict has no {key!r} entry")
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, (list, tuple)):
            raise DTypeError(f"{op}: param_groups must be a list of dicts, got {type(groups).__name__}")
        if not isinstance(saved_state, Mapping):
            raise DTypeError(f"{op}: state must be a dict, got {type(saved_state).__name__}")
        if len(groups) != len(self.param_groups):
            raise ShapeError(
                f"{op}: the state dict has {len(groups)} param groups, the optimizer {len(self.param_groups)}"
            )
        for i, saved in enumerate(groups):
            if not isinstance(saved, Mapping):
                raise DTypeError(f"{op}: param_groups[{i}] must be a dict, got {type(saved).__name__}")
            if "params" not in saved:
                raise ParamGroupKeyError(f"{op}: param_groups[{i}] has no 'params' entry")
            if not isinstance(saved["params"], (list, tuple)):
                raise DTypeError(f"{op}: param_groups[{i}]['params'] must be a list of indices, got "
                                 f"{type(saved['params']).__name__}")
            for j, index in enumerate(saved["params"]):
                integer(op, f"param_groups[{i}]['params'][{j}]", index)
        return groups, saved_state

    # state entries that are numbers, not arrays shaped like the parameter
    _SCALAR_STATE = ("step", "mu_product")

    @classmethod
    def _load_value(cls, name, value, p):
        if isinstance(value, (int, float)) or value is None:
            return value
        array = np.asarray(_to_numpy(value))
        if array.dtype.kind not in "biuf":
            raise DTypeError(f"load_state_dict: state {name!r} must be a number or an array of numbers, "
                             f"got {type(value).__name__} of dtype {array.dtype}")
        if array.ndim == 0 and name in cls._SCALAR_STATE:
            return float(array)
        if array.shape != p.shape:
            raise ShapeError(f"load_state_dict: state {name!r} has shape {array.shape}, the parameter {p.shape}")
        return to_device(array.astype(p.dtype, copy=True), p.device)
