"""The process-group API in one process: what is refused and how it says so, the NCCL backend's
device checks, and the collectives' plumbing over a stand-in backend (conftest's Loopback).
The collectives across real ranks are tested in test_multirank.py."""

import datetime

import numpy as np
import pytest

import gradcnn
import gradcnn.distributed as dist
from gradcnn.distributed import nccl, process_group
from gradcnn.errors import DeviceError, DTypeError, IndexOutOfRangeError, ShapeError


@pytest.mark.parametrize("call", [
    lambda: dist.get_rank(), lambda: dist.get_world_size(), lambda: dist.get_backend(),
    lambda: dist.all_reduce(gradcnn.ones(1)), lambda: dist.broadcast(gradcnn.ones(1), 0),
    lambda: dist.all_gather([gradcnn.ones(1)], gradcnn.ones(1)), lambda: dist.barrier(),
    lambda: dist.destroy_process_group(),
])
def test_without_a_group_every_call_says_to_initialize_one(call):
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized, please make sure "
                                         "to call init_process_group"):
        call()


def test_availability_answers_without_starting_anything():
    assert dist.is_available() is True
    assert isinstance(dist.is_mpi_available(), bool) and isinstance(dist.is_nccl_available(), bool)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"backend": "gloo"}, ShapeError, "backend must be one of 'mpi', 'nccl', got 'gloo'"),
    ({"init_method": "tcp://10.0.0.1:23456"}, ShapeError, "ranks meet through MPI"),
    ({"store": object()}, ShapeError, "store= is not supported"),
    ({"pg_options": object()}, ShapeError, "pg_options= is not supported"),
    ({"timeout": -1}, ShapeError, "timeout must be a positive datetime.timedelta or number of seconds, got -1"),
    ({"timeout": datetime.timedelta(0)}, ShapeError, "timeout must be a positive"),
    ({"device_id": 0}, ShapeError, "device_id is for the 'nccl' backend"),
    ({"group_name": 3}, DTypeError, "group_name must be a str"),
])
def test_init_process_group_refuses_what_it_cannot_do_before_starting_mpi(kwargs, error, message):
    with pytest.raises(error, match=message):
        dist.init_process_group(**kwargs)
    assert not dist.is_initialized()


def test_nccl_without_a_gpu_or_its_library_fails_before_mpi_starts():
    if nccl.available() and gradcnn.cuda.is_available():
        pytest.skip("a GPU with NCCL is here: tests/gpu covers the real backend")  # never on CI
    with pytest.raises((dist.DistBackendError, DeviceError), match="nvidia-nccl|needs a CUDA device"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_nccl_device_index_rules():
    assert nccl.device_index(None, 3, 2) == 1  # local rank modulo the devices
    assert nccl.device_index("cuda:1", 0, 2) == 1
    assert nccl.device_index(0, 5, 1) == 0
    with pytest.raises(DeviceError, match=r"device_id=5 but CuPy sees 2 CUDA device\(s\), cuda:0 to cuda:1"):
        nccl.device_index(5, 0, 2)
    with pytest.raises(DeviceError, match="drives a CUDA device, got device_id='cpu'"):
        nccl.device_index("cpu", 0, 1)
    with pytest.raises(DeviceError, match="needs a CUDA device; CuPy sees none"):
        nccl.device_index(None, 0, 0)


def test_nccl_group_refuses_tensors_that_are_not_on_its_gpu(loopback):
    backend = object.__new__(nccl.NcclBackend)
    backend.rank, backend.size, backend.device = 0, 2, "cuda:0"
    backend.buffer_device = "cuda:0"
    loopback(backend)
    for call in (lambda t: dist.all_reduce(t), lambda t: dist.broadcast(t, 0),
                 lambda t: dist.all_gather([t, t], t)):
        with pytest.raises(DeviceError, match="tensor is on cpu but this rank's 'nccl' group works on cuda:0"):
            call(gradcnn.ones(3))
    assert dist.get_backend() == "nccl"


def test_collective_arguments_are_checked(loopback):
    loopback()
    t = gradcnn.ones(2, 3)
    with pytest.raises(DTypeError, match="all_reduce: tensor must be a gradcnn Tensor, got ndarray"):
        dist.all_reduce(np.ones(3))
    with pytest.raises(DTypeError, match="op must be a gradcnn.distributed.ReduceOp"):
        dist.all_reduce(t, "sum")
    with pytest.raises(DTypeError, match="ReduceOp.AVG needs a floating tensor, got int64"):
        dist.all_reduce(gradcnn.tensor([1, 2]), dist.ReduceOp.AVG)
    with pytest.raises(IndexOutOfRangeError, match=r"src must be a rank in \[0, 2\), got 2"):
        dist.broadcast(t, 2)
    with pytest.raises(IndexOutOfRangeError, match="got None"):
        dist.broadcast(t)
    with pytest.raises(ShapeError, match="tensor_list has 1 tensors but the group has 2 ranks"):
        dist.all_gather([gradcnn.ones(2, 3)], t)
    with pytest.raises(ShapeError, match=r"tensor_list\[1\] has shape \(3, 2\) but tensor has shape \(2, 3\)"):
        dist.all_gather([gradcnn.ones(2, 3), gradcnn.ones(3, 2)], t)
    with pytest.raises(DTypeError, match=r"tensor_list\[0\] is float64 but tensor is float32"):
        dist.all_gather([gradcnn.ones(2, 3, dtype="float64"), gradcnn.ones(2, 3)], t)
    with pytest.raises(DTypeError, match="must be a list of 2 tensors, got tuple"):
        dist.all_gather((t, t), t)
    with pytest.raises(ShapeError, match="only the default process group exists"):
        dist.all_reduce(t, group=object())
    with pytest.raises(dist.DistError, match="already initialized"):
        dist.init_process_group()


def test_collectives_write_in_place_through_views_and_bump_versions(loopback):
    backend = loopback()
    base = gradcnn.tensor(np.arange(6.0).reshape(2, 3))
    column = base[:, 1]  # not contiguous: reduced through a copy that is written back
    version = base._version.value
    dist.all_reduce(column)
    np.testing.assert_array_equal(base.numpy(), [[0.0, 2.0, 2.0], [3.0, 8.0, 5.0]])
    assert base._version.value > version
    work = dist.all_reduce(base, dist.ReduceOp.AVG, async_op=True)
    assert work.wait() and work.is_completed()
    gathered = [gradcnn.zeros(2), gradcnn.zeros(2)]
    dist.all_gather(gathered, gradcnn.tensor([1.0, 2.0]))
    assert [g.tolist() for g in gathered] == [[1.0, 2.0], [1.0, 2.0]]
    assert dist.barrier() is None
    assert [c[0] for c in backend.calls] == ["all_reduce", "all_reduce", "all_gather", "barrier"]
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 2, "mpi")


def test_a_wait_that_outlasts_the_timeout_names_the_rank_and_the_call(loopback):
    loopback(stuck=True, rank=1, timeout=0.05)
    with pytest.raises(dist.DistBackendError, match="all_reduce: rank 1 of 2 waited 0.05 s and the other ranks "
                                                    "did not take part"):
        dist.all_reduce(gradcnn.ones(1))
    work = dist.barrier(async_op=True)
    assert not work.is_completed()
    with pytest.raises(dist.DistBackendError, match="barrier: rank 1 of 2 waited 0.01 s"):
        work.wait(timeout=datetime.timedelta(milliseconds=10))


def test_the_differentiable_all_reduce_sums_values_and_gradients(loopback):
    loopback()
    x = gradcnn.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = dist.nn.functional.all_reduce(x * 3.0)
    assert y.tolist() == [6.0, 12.0] and x.tolist() == [1.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]  # 3 x (the gradient summed over the 2 ranks)
    with pytest.raises(DTypeError, match="only ReduceOp.SUM is differentiable"):
        dist.nn.functional.all_reduce(x, dist.ReduceOp.MAX)


def test_all_gather_json_returns_every_ranks_object(loopback):
    loopback()
    assert process_group._all_gather_json({"a": [1, 2]}, "test") == [{"a": [1, 2]}, {"a": [1, 2]}]
