"""Learning-rate schedulers: ``StepLR``, ``CosineAnnealingLR`` and ``OneCycleLR``.

Each follows PyTorch's arithmetic (its recurrences, not only its closed forms) so that the learning
rates agree with ``torch.optim.lr_scheduler`` step for step. Call ``scheduler.step()`` after
``optimizer.step()``.
"""

import math

from ..errors import DTypeError, ShapeError
from ..geometry import positive_int
from .optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "LRScheduler", "OneCycleLR", "StepLR"]


class LRScheduler:
    """Base class: sets ``initial_lr`` in every group, then takes step 0 (which keeps the lr)."""

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise DTypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self):
        raise NotImplementedError

    def step(self):
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def state_dict(self):
        """Every attribute but the optimizer (numbers, lists and dicts of them)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        positive_int("StepLR", "step_size", step_size)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """``eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``, computed by PyTorch's
    recurrence from the current lr (so changes made to the lr by hand carry on)."""

    def __init__(self, optimizer, T_max, eta_min=0):  # noqa: N803  (PyTorch's name)
        positive_int("CosineAnnealingLR", "T_max", T_max)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

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


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up from ``max_lr / div_factor`` to ``max_lr`` over ``pct_start`` of
    the steps, then anneal to ``initial_lr / final_div_factor`` (``three_phase`` comes back down to
    the initial lr first). The lr is set per step, not per epoch; momentum is not cycled."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
                 three_phase=False):
        op = "OneCycleLR"
        if total_steps is not None:
            positive_int(op, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            positive_int(op, "epochs", epochs)
            positive_int(op, "steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        else:
            raise ShapeError(f"{op}: pass total_steps, or epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ShapeError(f"{op}: pct_start must be a float in [0, 1], got pct_start={pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ShapeError(f"{op}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                {"end_step": up, "start_lr": "initial_lr", "end_lr": "max_lr"},
                {"end_step": float(2 * pct_start * total_steps) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr"},
                {"end_step": total_steps - 1, "start_lr": "initial_lr", "end_lr": "min_lr"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": up, "start_lr": "initial_lr", "end_lr": "max_lr"},
                {"end_step": total_steps - 1, "start_lr": "max_lr", "end_lr": "min_lr"},
            ]
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
        if isinstance(max_lr, (list, tuple)):
            if len(max_lr) != len(groups):
                raise ShapeError(f"{op}: got {len(max_lr)} max_lr values for {len(groups)} param groups")
            max_lrs = list(max_lr)
        else:
            max_lrs = [max_lr] * len(groups)
        for group, top in zip(groups, max_lrs):
            group["initial_lr"] = top / div_factor
            group["max_lr"] = top
            group["min_lr"] = group["initial_lr"] / final_div_factor
        super().__init__(optimizer)

    @staticmethod
    def _anneal(strategy, start, end, pct):
        if strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ShapeError(
                f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(self.anneal_strategy, group[phase["start_lr"]],
                                            group[phase["end_lr"]], pct))
                    break
                start_step = end_step
        return lrs
