"""check_layer must catch broken layers, not only pass good ones."""

import numpy as np
import pytest

import gradcnn
import gradcnn.nn as nn
from gradcnn.autograd import Function
from gradcnn.errors import GradcheckError
from gradcnn.testing import check_layer


class WrongGrad(Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g * w, (g * x * 2.0).sum(0)  # the weight gradient is doubled


class BadWeightGrad(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.ones(3))

    def forward(self, x):
        return WrongGrad.apply(x, self.weight)


class Mutates(nn.Module):
    def forward(self, x):
        x._data[...] = 0
        return x * 1.0


class ForgetsState(nn.Module):
    """Keeps a learned-looking scale in a plain attribute: state_dict cannot carry it."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.ones(3))
        self.scale = float(gradcnn.rand(1).item()) + 1.0

    def forward(self, x):
        return x * self.weight * self.scale


class NoisyEval(nn.Module):
    def forward(self, x):
        return x + gradcnn.randn(*x.shape, dtype=gradcnn.float64) * 0.1


class CachesOutput(nn.Module):
    """Keeps its last output (and so its whole graph and activations) alive: a memory leak."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.ones(3))

    def forward(self, x):
        self.last = (x * self.weight).exp()
        return self.last


def test_good_layer_passes():
    check_layer(nn.Linear, (2, 3), config={"in_features": 3, "out_features": 2})


def test_wrong_parameter_gradient_is_caught():
    with pytest.raises(GradcheckError, match="input 1"):
        check_layer(BadWeightGrad, (2, 3))


def test_input_mutation_is_caught():
    with pytest.raises(AssertionError, match="changed its input"):
        check_layer(Mutates, (2, 3), min_value=1, max_value=2)


def test_state_outside_state_dict_is_caught():
    with pytest.raises(AssertionError, match="state_dict round trip"):
        check_layer(ForgetsState, (2, 3))


def test_nondeterministic_eval_is_caught():
    with pytest.raises(AssertionError, match="eval mode is not deterministic"):
        check_layer(NoisyEval, (2, 3))


def test_outputs_kept_alive_by_the_layer_are_caught():
    with pytest.raises(AssertionError, match="still referenced"):
        check_layer(CachesOutput, (2, 3), max_value=1)


def test_wrong_output_shape_is_caught():
    with pytest.raises(AssertionError, match=r"output shape \(2, 2\), expected \(2, 5\)"):
        check_layer(nn.Linear, (2, 3), config={"in_features": 3, "out_features": 2}, output_shape=(2, 5))


def test_a_slow_first_call_is_not_a_failure_even_outside_the_pytest_profiles():
    """The first call of a layer compiles kernels; check_layer sets no deadline of its own."""
    import time

    from hypothesis import settings

    calls = []

    def slow_first(features):
        if not calls:
            time.sleep(0.3)  # hypothesis' own default deadline is 0.2 s
        calls.append(1)
        return nn.Linear(features, 2)

    previous = getattr(settings, "_current_profile", None) or "default"
    settings.register_profile("gradcnn-deadline-test", deadline=200)  # as gradcnn check-plugin has it
    settings.load_profile("gradcnn-deadline-test")
    try:
        check_layer(slow_first, (2, 3), config={"features": 3}, max_examples=3)
    finally:
        settings.load_profile(previous)
