"""gradcnn.dlpack: from_dlpack and Tensor.__dlpack__ share memory with NumPy, PyTorch and CuPy, both
ways (a write through one side is read through the other), with PyTorch's refusals."""

import numpy as np
import pytest

import gradcnn
from gradcnn.dlpack import from_dlpack
from gradcnn.errors import DeviceError, DLPackError, DTypeError


def test_from_numpy_array_shares_memory_both_ways():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = from_dlpack(a)
    assert t.shape == (2, 3) and t.dtype == np.float32 and t.device == "cpu"
    a[0, 1] = 42.0  # NumPy writes, gradcnn reads
    assert t[0, 1].item() == 42.0
    t[1, 2] = -7.0  # gradcnn writes, NumPy reads
    assert a[1, 2] == -7.0
    assert np.shares_memory(t.numpy(), a)


def test_numpy_takes_a_tensor_without_copying():
    t = gradcnn.arange(8, dtype=gradcnn.float64).reshape(2, 4)
    a = np.from_dlpack(t)
    a[1, 1] = 3.5
    assert t[1, 1].item() == 3.5
    t.fill_(2.0)
    assert (a == 2.0).all()
    assert t.__dlpack_device__() == (1, 0)


def test_strided_views_and_every_dtype_gradcnn_holds():
    base = np.arange(24, dtype=np.int64).reshape(4, 6)
    view = base[::2, 1::2]
    t = from_dlpack(view)
    assert t.tolist() == view.tolist()
    base[2, 3] = 100
    assert t[1, 1].item() == 100
    for dtype in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_):
        assert from_dlpack(np.zeros(3, dtype=dtype)).dtype == dtype


def test_copy_and_device_arguments():
    a = np.ones(3, dtype=np.float32)
    assert np.shares_memory(from_dlpack(a, copy=False).numpy(), a)
    copied = from_dlpack(a, copy=True)
    copied[0] = 5.0
    assert a[0] == 1.0
    assert np.shares_memory(from_dlpack(a, device="cpu").numpy(), a)


def test_a_tensor_that_requires_grad_is_refused_with_pytorchs_advice():
    w = gradcnn.ones(3, requires_grad=True)
    with pytest.raises(DLPackError, match=r"use tensor\.detach\(\)"):
        w.__dlpack__()
    with pytest.raises(BufferError, match="require gradient"):  # the family consumers expect
        np.from_dlpack(w)
    assert np.from_dlpack(w.detach()).tolist() == [1.0, 1.0, 1.0]


def test_what_cannot_be_shared_is_named():
    with pytest.raises(DTypeError, match="__dlpack__"):
        from_dlpack([1.0, 2.0])
    with pytest.raises(DTypeError, match="uint16 is not supported"):
        from_dlpack(np.zeros(2, dtype=np.uint16))
    with pytest.raises(DTypeError, match="complex128 is not supported"):
        from_dlpack(np.zeros(2, dtype=np.complex128))


# -- PyTorch ----------------------------------------------------------------------------------------


def test_torch_tensors_share_memory_both_ways():
    torch = pytest.importorskip("torch", reason="the PyTorch comparison needs torch")
    source = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    t = from_dlpack(source)
    source[0, 0] = 9.0  # torch writes, gradcnn reads
    assert t[0, 0].item() == 9.0
    t[1, 1] = -1.0  # gradcnn writes, torch reads
    assert source[1, 1].item() == -1.0

    back = torch.from_dlpack(gradcnn.zeros(2, 2))
    mine = from_dlpack(back)
    back[0, 1] = 4.0
    assert mine[0, 1].item() == 4.0
    g = gradcnn.zeros(3)
    shared = torch.from_dlpack(g)
    g.add_(2.5)  # in place in gradcnn, seen by torch
    assert shared.tolist() == [2.5, 2.5, 2.5]


def test_torch_refuses_a_tensor_that_requires_grad_as_torch_does():
    torch = pytest.importorskip("torch", reason="the PyTorch comparison needs torch")
    with pytest.raises(BufferError) as ours:
        torch.from_dlpack(gradcnn.ones(2, requires_grad=True))
    with pytest.raises(BufferError) as theirs:
        torch.ones(2, requires_grad=True).__dlpack__()
    assert str(ours.value) == str(theirs.value)


def test_a_torch_capsule_is_taken_once():
    torch = pytest.importorskip("torch", reason="the PyTorch comparison needs torch")
    source = torch.arange(4, dtype=torch.float64)
    capsule = torch.utils.dlpack.to_dlpack(source)
    t = from_dlpack(capsule)
    source[2] = 11.0
    assert t.tolist() == [0.0, 1.0, 11.0, 3.0]
    with pytest.raises(DLPackError, match="already consumed"):
        from_dlpack(capsule)


def test_a_dtype_numpy_cannot_hold_is_a_dtype_error():
    torch = pytest.importorskip("torch", reason="the PyTorch comparison needs torch")
    with pytest.raises(DTypeError, match="bfloat16"):
        from_dlpack(torch.ones(2, dtype=torch.bfloat16))


# -- other libraries ------------------------------------------------------------------------------


def test_jax_arrays_are_shared():
    jax = pytest.importorskip("jax", reason="JAX is not installed here; the protocol is the one NumPy and torch use")
    source = jax.numpy.arange(4.0)
    t = from_dlpack(source)  # JAX arrays are immutable: sharing shows as the same address
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert t.numpy().__array_interface__["data"][0] == source.unsafe_buffer_pointer()


def test_cuda_device_types_need_cupy_or_are_named():
    class OnDevice:
        def __init__(self, device):
            self.device = device

        def __dlpack__(self, **_):
            raise AssertionError("not reached")

        def __dlpack_device__(self):
            return self.device

    with pytest.raises(DeviceError, match="device type 8"):  # Metal
        from_dlpack(OnDevice((8, 0)))


@pytest.mark.gpu
def test_cupy_arrays_share_device_memory_both_ways():
    cupy = pytest.importorskip("cupy")
    if cupy.__version__ == "0.0-strict-fake":
        pytest.skip("the dry-run stand-in for CuPy holds host memory: there is no device memory to share")
    source = cupy.arange(6, dtype=cupy.float32)
    t = from_dlpack(source)
    assert t.device == "cuda:0"
    source[1] = 42.0  # CuPy writes, gradcnn reads
    assert t[1].item() == 42.0
    t[2] = -3.0  # gradcnn writes, CuPy reads
    assert float(source[2]) == -3.0
    back = cupy.from_dlpack(t)
    back[0] = 7.0
    assert t[0].item() == 7.0
    assert t.__dlpack_device__() == (2, 0)
