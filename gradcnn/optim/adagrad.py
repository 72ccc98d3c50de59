"""Adagrad (Duchi et al., 2011)."""

from ..backends import get_array_module
from .optimizer import Optimizer, implementation_flags

__all__ = ["Adagrad"]

_NON_NEGATIVE = (0, None, False)


class Adagrad(Optimizer):
    """PyTorch's Adagrad: ``s += g * g``, ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) +
    eps)`` (``g`` with ``weight_decay * p`` added, negated first with ``maximize``).

    As in PyTorch, the state of every parameter (``step`` 0 and ``sum`` filled with
    ``initial_accumulator_value``) exists from construction on; parameters of groups added later
    get theirs at their first step, from the constructor's ``initial_accumulator_value``.
    """

    _ranges = {name: _NON_NEGATIVE for name in ("lr", "lr_decay", "weight_decay",
                                                "initial_accumulator_value", "eps")}
    _flags = ("maximize",)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize,
                        **implementation_flags(foreach, fused, differentiable=differentiable))
        defaults.pop("capturable")
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, self.state.setdefault(p, {}))

    def _init_state(self, p, state):
        state["step"] = 0.0
        state["sum"] = get_array_module(p).full_like(p._data, self.defaults["initial_accumulator_value"])

    def _update(self, p, grad, state, group):
        if not state:
            self._init_state(p, state)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p._data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state_sum = state["sum"]
        state_sum += grad * grad
        std = get_array_module(p).sqrt(state_sum)
        std += group["eps"]
        p._data += -clr * grad / std
