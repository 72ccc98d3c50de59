"""``gradcnn.cuda`` and the device errors, on any machine: CuPy's absence and a CuPy that sees no
device are simulated, so these run (and mean the same) with or without a GPU. The GPU itself is
tested in tests/gpu."""

import sys
import types

import pytest

import gradcnn
from gradcnn import nn
from gradcnn.errors import DeviceError
from gradcnn.testing import pytest_plugin


@pytest.fixture
def no_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # ``import cupy`` raises ImportError


@pytest.fixture
def cupy_without_device(monkeypatch):
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(is_available=lambda: False)
    monkeypatch.setitem(sys.modules, "cupy", fake)


@pytest.fixture
def cupy_with_broken_driver(monkeypatch):
    def broken():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(is_available=broken)
    monkeypatch.setitem(sys.modules, "cupy", fake)


def test_is_available_agrees_with_the_gpu_marker():
    assert gradcnn.cuda.is_available() == pytest_plugin._cuda_available()
    if not gradcnn.cuda.is_available():
        assert gradcnn.cuda.device_count() == 0


@pytest.mark.parametrize("setup", ["no_cupy", "cupy_without_device", "cupy_with_broken_driver"])
def test_without_a_usable_gpu_nothing_is_available_and_nothing_raises(setup, request):
    request.getfixturevalue(setup)
    assert gradcnn.cuda.is_available() is False
    assert gradcnn.cuda.device_count() == 0


def test_without_cupy_the_errors_say_what_to_install(no_cupy):
    install = r"install gradcnn\[cuda12\] or gradcnn\[cuda13\]"
    with pytest.raises(DeviceError, match=r"device 'cuda:0' needs CuPy, which is not installed: " + install):
        gradcnn.zeros(2).to("cuda")
    with pytest.raises(DeviceError, match="needs CuPy"):
        gradcnn.tensor([1.0], device="cuda:1")
    with pytest.raises(DeviceError, match="needs CuPy"):
        nn.Linear(2, 2).to("cuda")
    with pytest.raises(DeviceError, match=r"gradcnn.cuda.synchronize: CuPy is not installed: " + install):
        gradcnn.cuda.synchronize()
    with pytest.raises(DeviceError, match="gradcnn.cuda.current_device: CuPy is not installed"):
        gradcnn.cuda.current_device()


def test_when_cupy_sees_no_device_the_errors_say_so(cupy_without_device):
    with pytest.raises(DeviceError, match="device 'cuda:0' is not available: CuPy sees no CUDA device"):
        gradcnn.ones(3).cuda()
    with pytest.raises(DeviceError, match="CuPy sees no CUDA device"):
        gradcnn.randn(2, device="cuda")
    with pytest.raises(DeviceError, match="CuPy sees no CUDA device"):
        gradcnn.zeros_like(gradcnn.ones(2), device="cuda", requires_grad=True)
    with pytest.raises(DeviceError, match="no CUDA device is visible to CuPy"):
        gradcnn.cuda.synchronize("cuda:0")


def test_here_without_a_gpu_moving_to_cuda_is_a_device_error():
    if gradcnn.cuda.is_available():
        pytest.skip("a CUDA device is visible here")
    with pytest.raises(DeviceError, match=r"device 'cuda:0' (needs CuPy|is not available: CuPy sees no CUDA device)"):
        gradcnn.zeros(2).to("cuda")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gradcnn.zeros(2, device="tpu"), r"unknown device 'tpu': expected 'cpu', 'cuda' or 'cuda:N'"),
        (lambda: gradcnn.tensor([1.0]).to("cuda:x"), r"unknown device 'cuda:x'"),
        (lambda: gradcnn.ones(2, device="cpu:1"), r"unknown device 'cpu:1': there is one cpu device"),
        (lambda: nn.Linear(2, 2).to("gpu"), r"unknown device 'gpu'"),
        (lambda: gradcnn.full_like(gradcnn.ones(1), 2.0, device="mps"), r"unknown device 'mps'"),
        (lambda: gradcnn.cuda.synchronize("tpu") if gradcnn.cuda.is_available() else gradcnn.backends.parse_device("tpu"),
         r"unknown device 'tpu'"),
    ],
)
def test_unknown_devices_are_named(call, match):
    with pytest.raises(DeviceError, match=match):
        call()


def test_the_cuda_namespace_is_public_and_documented():
    assert "cuda" in gradcnn.__all__
    for name in ("is_available", "device_count", "current_device", "synchronize"):
        assert callable(getattr(gradcnn.cuda, name)), name
        assert name in gradcnn.cuda.__doc__, name


def test_seeding_and_emptying_the_cache_are_accepted_with_or_without_a_gpu():
    from gradcnn.errors import DTypeError

    gradcnn.manual_seed(3)
    first = gradcnn.rand(3)
    gradcnn.manual_seed(3)
    gradcnn.cuda.manual_seed(7)  # the one generator is gradcnn.manual_seed's
    gradcnn.cuda.manual_seed_all(7)
    gradcnn.cuda.empty_cache()
    assert gradcnn.equal(gradcnn.rand(3), first)
    with pytest.raises(DTypeError, match="seed must be an int"):
        gradcnn.cuda.manual_seed(1.5)
