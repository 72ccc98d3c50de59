"""Grad mode and anomaly mode: per thread, usable as calls, blocks and decorators, as in PyTorch."""

import threading

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
from gradcnn import optim
from gradcnn.autograd import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from gradcnn.errors import AutogradError, DTypeError


def test_set_grad_enabled_works_as_a_call_a_block_and_a_decorator():
    x = gradcnn.ones(2, requires_grad=True)
    gradcnn.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        gradcnn.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with gradcnn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with gradcnn.enable_grad():
            assert (x * 2).requires_grad
        assert not gradcnn.is_grad_enabled()
    assert gradcnn.is_grad_enabled()

    @gradcnn.no_grad()
    def doubled(t):
        return t * 2

    assert not doubled(x).requires_grad and not doubled(x).requires_grad
    assert gradcnn.is_grad_enabled()


def test_inference_mode_records_nothing_and_can_be_turned_off():
    x = gradcnn.ones(2, requires_grad=True)
    with gradcnn.inference_mode():
        assert gradcnn.is_inference_mode_enabled() and not (x * 2).requires_grad
    with gradcnn.inference_mode(False):
        assert (x * 2).requires_grad


def test_no_grad_in_one_thread_does_not_switch_another_off():
    inside = threading.Event()
    release = threading.Event()

    def hold_no_grad():
        with gradcnn.no_grad():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold_no_grad)
    worker.start()
    try:
        assert inside.wait(10)
        x = gradcnn.ones(2, requires_grad=True)
        assert gradcnn.is_grad_enabled() and (x * 2).requires_grad
    finally:
        release.set()
        worker.join()


def test_two_models_trained_in_two_threads_at_once_match_their_runs_alone():
    # The models draw their initial weights before the threads start (one generator is shared).
    alone = [_train_prepared(_prepare(0)), _train_prepared(_prepare(1))]
    results = [None, None]
    barrier = threading.Barrier(2)

    def run(i):
        barrier.wait()
        results[i] = _train_prepared(models[i])

    models = [_prepare(0), _prepare(1)]
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (losses, params), (got_losses, got_params) in zip(alone, results):
        assert got_losses == losses
        for a, b in zip(params, got_params):
            np.testing.assert_array_equal(a, b)


def _prepare(seed):
    gradcnn.manual_seed(seed)
    model = gradcnn.create_model("lenet5")
    x = gradcnn.randn(16, 1, 32, 32)
    y = gradcnn.randint(0, 10, (16,))
    return model, x, y


def _train_prepared(prepared, steps=4):
    model, x, y = prepared
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def test_detect_anomaly_names_the_op_and_where_its_forward_ran():
    x = gradcnn.tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        assert is_anomaly_enabled()
        y = gradcnn.sqrt(x).sum()  # d sqrt / dx at 0 is inf
        with np.errstate(divide="ignore"), pytest.raises(AutogradError, match=r"Sqrt\.backward returned Inf") as info:
            y.backward()
    assert "test_modes.py" in str(info.value)
    assert not is_anomaly_enabled()


def test_without_anomaly_mode_the_same_backward_gives_inf_silently_as_pytorch():
    x = gradcnn.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        gradcnn.sqrt(x).sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_set_detect_anomaly_as_a_call():
    set_detect_anomaly(True)
    try:
        assert is_anomaly_enabled()
    finally:
        set_detect_anomaly(False)
    assert not is_anomaly_enabled()


@pytest.mark.parametrize("value", ["yes", None, 1])
def test_mode_switches_take_bools_only(value):
    with pytest.raises(DTypeError, match="set_grad_enabled: mode must be a bool"):
        gradcnn.set_grad_enabled(value)
    with pytest.raises(DTypeError, match="set_detect_anomaly: mode must be a bool"):
        set_detect_anomaly(value)
    assert gradcnn.is_grad_enabled() and not is_anomaly_enabled()


def test_no_grad_exit_without_enter_turns_recording_off_as_in_pytorch():
    try:
        gradcnn.no_grad().__exit__(None, None, None)
        assert not gradcnn.is_grad_enabled()
    finally:
        gradcnn.set_grad_enabled(True)
