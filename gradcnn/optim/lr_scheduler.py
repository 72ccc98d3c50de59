"""Learning-rate schedulers with ``torch.optim.lr_scheduler``'s names, arguments and arithmetic.

Each follows PyTorch's arithmetic (its recurrences, not only its closed forms) so that learning
rates agree with PyTorch step for step. Call ``scheduler.step()`` after ``optimizer.step()``.

Every scheduler has ``last_epoch`` (the number of ``step()`` calls so far, counting the one the
constructor makes), ``get_last_lr()`` and ``state_dict()`` / ``load_state_dict()``. Building one
with ``last_epoch=n`` resumes a schedule, as in PyTorch: every param group must then hold the
``initial_lr`` the first scheduler set. ``step(epoch)`` jumps to ``epoch`` with the closed form,
with PyTorch's deprecation warning. ``OneCycleLR`` also cycles the momentum (``beta1`` for the
Adam family) unless ``cycle_momentum=False``.

Arguments are checked when the scheduler is built (numbers finite and in range, counts positive
ints, a float with an integral value too where PyTorch computes with it), with PyTorch's error
families; switches (``three_phase``, ``cycle_momentum``) are read by their truth, as PyTorch reads
them. gradcnn does not repeat PyTorch's warnings about the order of ``optimizer.step()`` and
``scheduler.step()``.
"""

import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter

import numpy as np

from ..arguments import integer, number
from ..errors import DTypeError, SchedulerResumeError, ShapeError
from ..geometry import positive_int
from .optimizer import Optimizer, check_range, check_switch, checked_signature

__all__ = [
    "SchedulerResumeError", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ExponentialLR",
    "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR", "OneCycleLR", "ReduceLROnPlateau",
    "SequentialLR", "StepLR",
]

_EPOCH_DEPRECATION = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available."
)


def _check_optimizer(op, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise DTypeError(f"{op}: expected an Optimizer, got {type(optimizer).__name__}")


def _check_last_epoch(op, last_epoch):
    if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral):
        raise DTypeError(f"{op}: last_epoch must be an int, got {last_epoch!r}")
    if last_epoch < -1:
        raise ShapeError(f"{op}: last_epoch must be >= -1 (-1 starts the schedule), got {last_epoch}")
    return int(last_epoch)


def _non_negative_int(op, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DTypeError(f"{op}: {name} must be a non-negative int, got {value!r}")
    if value < 0:
        raise ShapeError(f"{op}: {name} must be a non-negative int, got {value}")
    return int(value)


def _integral_float(value):
    return isinstance(value, (float, np.floating)) and float(value).is_integer()


def _count(op, name, value, minimum=1):
    """A count PyTorch only computes with (``step_size``, ``T_max``, ``total_iters``): an int of at
    least ``minimum``, or a float with an integral value (``2.0``), as that int."""
    return integer(op, name, int(value) if _integral_float(value) else value, minimum)


def _strict_count(op, name, value):
    """A count PyTorch checks is an int (``T_0``, ``total_steps``, ``epochs``): a float is a
    ShapeError there (PyTorch's ValueError), a non-number a DTypeError."""
    if isinstance(value, (float, np.floating)):
        raise ShapeError(f"{op}: {name} must be a positive int, got {name}={value!r} (a float)")
    return positive_int(op, name, value)


def _choice(op, name, value, choices):
    """``value``, one of the strings ``choices``: DTypeError for a non-string (PyTorch's TypeError),
    ShapeError for another string."""
    if not isinstance(value, str):
        raise DTypeError(f"{op}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r} "
                         f"({type(value).__name__})")
    if value not in choices:
        raise ShapeError(f"{op}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _per_group(op, name, value, optimizer, low=0.0, high=None, high_open=False):
    """One number per param group: ``value`` repeated, or a list or tuple of one per group."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ShapeError(f"{op}: got {len(value)} {name} values for {groups} param groups")
        return [check_range(op, f"{name}[{i}]", v, low, high, high_open=high_open) for i, v in enumerate(value)]
    return [check_range(op, name, value, low, high, high_open=high_open)] * groups


def _check_resume(op, optimizer, last_epoch):
    """Any ``last_epoch`` but -1 resumes a schedule, which needs the ``initial_lr`` of every group
    (checked first, as PyTorch checks it: ``last_epoch=-2`` is a KeyError there too)."""
    if isinstance(last_epoch, numbers.Real) and not isinstance(last_epoch, bool) and last_epoch == -1:
        return
    for i, group in enumerate(optimizer.param_groups):
        if "initial_lr" not in group:
            raise SchedulerResumeError(
                f"{op}: param group {i} has no 'initial_lr', which resuming with "
                f"last_epoch={last_epoch!r} needs: load the optimizer's state dict first, or "
                "start the schedule with last_epoch=-1"
            )


class LRScheduler:
    """Base class: sets ``initial_lr`` in every group (or, resuming, requires it), then takes the
    first step, which keeps the lr at the start of a schedule."""

    _is_initial = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = checked_signature(cls.__dict__["__init__"])

    def __init__(self, optimizer, last_epoch=-1):
        op = type(self).__name__
        _check_optimizer(op, optimizer)
        _check_resume(op, optimizer, last_epoch)
        last_epoch = _check_last_epoch(op, last_epoch)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rates of the step being taken (PyTorch's recurrence)."""
        raise NotImplementedError

    def step(self, epoch=None):
        """Advance the schedule by one step (or, deprecated, jump to ``epoch``)."""
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_DEPRECATION, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = _check_last_epoch(type(self).__name__, epoch)
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def state_dict(self):
        """Every attribute but the optimizer (numbers, lists and dicts of them): it can be saved
        with :func:`gradcnn.save`."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """``base_lr * lr_lambda(last_epoch)``; one function, or a list of one per param group.
    ``state_dict`` holds the ``__dict__`` of callable objects (not plain functions), as in PyTorch."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer("LambdaLR", optimizer)
        groups = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ShapeError(f"LambdaLR: expected {groups} lr_lambdas (one per param group), got {len(lambdas)}")
        for i, fn in enumerate(lambdas):
            if not callable(fn):
                raise DTypeError(f"LambdaLR: lr_lambda[{i}] must be callable, got {type(fn).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = []
        for i, (fn, base) in enumerate(zip(self.lr_lambdas, self.base_lrs)):
            factor = fn(self.last_epoch)
            if isinstance(factor, (str, bytes)) or not (
                    isinstance(factor, (numbers.Number, np.ndarray)) or hasattr(factor, "__float__")):
                raise DTypeError(f"LambdaLR: lr_lambda[{i}] must return a number, returned {factor!r} "
                                 f"({type(factor).__name__}) at epoch {self.last_epoch}")
            lrs.append(base * factor)
        return lrs

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) or not hasattr(fn, "__dict__")
                               else dict(fn.__dict__) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _count("StepLR", "step_size", step_size)
        self.gamma = check_range("StepLR", "gamma", gamma, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone (a milestone listed twice counts twice)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        op = "MultiStepLR"
        try:
            milestones = list(milestones)
        except TypeError:
            raise DTypeError(f"{op}: milestones must be an iterable of ints, got {milestones!r}") from None
        self.milestones = Counter(_non_negative_int(op, f"milestones[{i}]", m) for i, m in enumerate(milestones))
        self.gamma = check_range(op, "gamma", gamma, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch not in self.milestones:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch] for group in groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch) for base in self.base_lrs]

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        # after gradcnn.save / load (or JSON) the Counter is a dict, its keys perhaps strings
        self.milestones = Counter({int(k): v for k, v in dict(self.milestones).items()})


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every step."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = check_range("ExponentialLR", "gamma", gamma, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr by a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then keep it."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        op = "LinearLR"
        start_factor = check_range(op, "start_factor", start_factor, 0, 1)
        if start_factor == 0:
            raise ShapeError(f"{op}: start_factor must be > 0 and <= 1, got start_factor=0")
        self.start_factor = start_factor
        self.end_factor = check_range(op, "end_factor", end_factor, 0, 1)
        self.total_iters = _count(op, "total_iters", total_iters, minimum=0)  # 0: start_factor throughout
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        change = self.end_factor - self.start_factor
        return [group["lr"] * (1.0 + change / (self.total_iters * self.start_factor
                                               + (self.last_epoch - 1) * change)) for group in groups]

    def _get_closed_form_lr(self):
        if self.total_iters == 0:
            raise ShapeError("LinearLR.step(epoch): with total_iters=0 the schedule has no closed form "
                             "(PyTorch divides by zero); call step() without an epoch")
        return [base * (self.start_factor + (self.end_factor - self.start_factor)
                        * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """``eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``, computed by PyTorch's
    recurrence from the current lr (so changes made to the lr by hand carry on)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):  # noqa: N803  (PyTorch's name)
        self.T_max = _count("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_range("CosineAnnealingLR", "eta_min", eta_min, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, t, T = self.optimizer.param_groups, self.last_epoch, self.T_max  # noqa: N806
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:
            return [self.eta_min + (base - self.eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base - self.eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - self.eta_min) + self.eta_min for group in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_i`` steps, then a restart;
    ``T_i`` starts at ``T_0`` and is multiplied by ``T_mult`` at each restart (SGDR).
    ``step(epoch)`` takes fractional epochs (``epoch + i / iters``), without a warning."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):  # noqa: N803
        op = "CosineAnnealingWarmRestarts"
        self.T_0 = _strict_count(op, "T_0", T_0)
        self.T_i = self.T_0
        self.T_mult = _strict_count(op, "T_mult", T_mult)
        self.eta_min = check_range(op, "eta_min", eta_min, 0)
        _check_optimizer(op, optimizer)
        _check_resume(op, optimizer, last_epoch)
        self.T_cur = _check_last_epoch(op, last_epoch)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            epoch = check_range(type(self).__name__, "epoch", epoch, 0)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** (n)
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after the other, switching at each of the ``milestones`` (one fewer
    than the schedulers); every scheduler must drive ``optimizer``."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        op = "SequentialLR"
        _check_optimizer(op, optimizer)
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ShapeError(f"{op}: expects at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise DTypeError(f"{op}: schedulers[{i}] must be a scheduler, got {type(s).__name__}")
            if isinstance(s, ReduceLROnPlateau):
                raise ShapeError(f"{op}: schedulers[{i}] is a ReduceLROnPlateau, whose step() needs a "
                                 "metric: it cannot be sequenced")
            if s.optimizer is not optimizer:
                raise ShapeError(f"{op}: schedulers[{i}] ({type(s).__name__}) drives another optimizer "
                                 "than the one given; all must drive the same")
        if len(milestones) != len(schedulers) - 1:
            raise ShapeError(f"{op}: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones, "
                             f"got {len(milestones)}")
        for i, m in enumerate(milestones):
            if isinstance(m, bool) or not isinstance(m, numbers.Integral):
                raise DTypeError(f"{op}: milestones[{i}] must be an int, got {m!r}")
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = _check_last_epoch(op, last_epoch) + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # back to the start: the schedulers' constructors stepped
            group["lr"] = group["initial_lr"]
        self._undo(self)
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def _undo(self, scheduler):
        if isinstance(scheduler, SequentialLR) and "_schedulers" in scheduler.__dict__:
            for s in scheduler._schedulers:
                self._undo(s)
        elif scheduler is not self:
            scheduler.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, saved):
            s.load_state_dict(sd)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` (not below ``min_lr``) when the metric given to ``step(metric)``
    has not improved for more than ``patience`` steps, then wait ``cooldown`` steps. Improvement is
    relative (``threshold_mode="rel"``: below ``best * (1 - threshold)`` in ``"min"`` mode) or
    absolute; a change of the lr smaller than ``eps`` is skipped."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        op = "ReduceLROnPlateau"
        _check_optimizer(op, optimizer)
        self.factor = check_range(op, "factor", factor, 0, 1, high_open=True)
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _per_group(op, "min_lr", min_lr, optimizer)
        else:
            self.default_min_lr = check_range(op, "min_lr", min_lr, 0)
            self.min_lrs = [self.default_min_lr] * len(optimizer.param_groups)
        # numbers of epochs PyTorch only compares and counts down: any number >= 0 (inf: never)
        self.patience = number(op, "patience", patience, 0, finite=False)
        self.cooldown = number(op, "cooldown", cooldown, 0, finite=False)
        self.eps = check_range(op, "eps", eps, 0)
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.mode = _choice(op, "mode", mode, ("min", "max"))
        self.threshold_mode = _choice(op, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.threshold = check_range(op, "threshold", threshold, 0)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    @checked_signature
    def step(self, metrics, epoch=None):
        """Record ``metrics`` (a number or a one-element tensor) for this epoch."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise DTypeError(f"ReduceLROnPlateau.step: metrics must be a number, got {metrics!r}") from None
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_DEPRECATION, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ShapeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups but "
                                 f"min_lr has {len(self.min_lrs)} values: set min_lrs to one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up from ``max_lr / div_factor`` to ``max_lr`` over ``pct_start`` of
    the steps, then anneal to ``initial_lr / final_div_factor`` (``three_phase`` comes back down to
    the initial lr first). The lr is set per step, not per epoch. With ``cycle_momentum`` the
    momentum (``beta1`` for optimizers with ``betas``) moves the other way, between
    ``max_momentum`` and ``base_momentum``."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        op = "OneCycleLR"
        _check_optimizer(op, optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            total_steps = _strict_count(op, "total_steps", total_steps)
            self._total_steps_from = f"total_steps={total_steps}"
        elif epochs is not None and steps_per_epoch is not None:
            epochs = _strict_count(op, "epochs", epochs)
            steps_per_epoch = _strict_count(op, "steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
            self._total_steps_from = f"epochs={epochs} x steps_per_epoch={steps_per_epoch} = {total_steps} steps"
        else:
            raise ShapeError(f"{op}: pass total_steps, or epochs and steps_per_epoch")
        self.total_steps = total_steps
        pct_start = number(op, "pct_start", pct_start, 0, 1)
        if isinstance(pct_start, int):  # PyTorch asks for a float
            raise ShapeError(f"{op}: pct_start must be a float in [0, 1], got pct_start={pct_start!r} (an int)")
        if anneal_strategy not in ("cos", "linear"):  # PyTorch's ValueError, whatever the type
            raise ShapeError(f"{op}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self._anneal_func_type = anneal_strategy
        div_factor = check_range(op, "div_factor", div_factor, 0)
        final_div_factor = check_range(op, "final_div_factor", final_div_factor, 0)
        if div_factor == 0 or final_div_factor == 0:
            raise ShapeError(f"{op}: div_factor and final_div_factor must be > 0, got "
                             f"div_factor={div_factor}, final_div_factor={final_div_factor}")
        three_phase = check_switch(op, "three_phase", three_phase)
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                {"end_step": up, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * total_steps) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr", "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
                {"end_step": total_steps - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": up, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": total_steps - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]
        max_lrs = _per_group(op, "max_lr", max_lr, optimizer)
        _check_resume(op, optimizer, last_epoch)
        last_epoch = _check_last_epoch(op, last_epoch)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = check_switch(op, "cycle_momentum", cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ShapeError(f"{op}: cycle_momentum=True needs an optimizer with momentum or betas; "
                                 f"{type(optimizer).__name__} has neither (pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group(op, "max_momentum", max_momentum, optimizer)
            base_momentums = _per_group(op, "base_momentum", base_momentum, optimizer)
            if last_epoch == -1:
                for top, base, group in zip(max_momentums, base_momentums, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (top, *group["betas"][1:])
                    else:
                        group["momentum"] = top
                    group["max_momentum"] = top
                    group["base_momentum"] = base
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ShapeError(f"OneCycleLR: stepped {step} times, but the schedule has "
                             f"{getattr(self, '_total_steps_from', f'total_steps={self.total_steps}')}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                        if self.use_beta1:
                            group["betas"] = (momentum, *group["betas"][1:])
                        else:
                            group["momentum"] = momentum
                    break
                start_step = end_step
        return lrs


_LRScheduler = LRScheduler  # PyTorch's older name, which programs still subclass


def __getattr__(name):
    from ..absent import missing  # a leaf module; imported here so the table loads only on a miss

    raise missing("gradcnn.optim.lr_scheduler", name)
