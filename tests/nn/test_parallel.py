"""``gradcnn.nn.parallel`` without a process group: SyncBatchNorm falls back to BatchNorm,
``convert_sync_batchnorm`` rewires a model in place, and DistributedDataParallel asks for a group.
With a group: tests/distributed/ (test_ddp_logic.py in one process, test_multirank.py across ranks)."""

import numpy as np
import pytest

import gradcnn
from gradcnn import nn
from gradcnn.errors import ShapeError
from gradcnn.nn.parallel import DistributedDataParallel, SyncBatchNorm


def test_names_where_pytorch_has_them():
    assert nn.SyncBatchNorm is SyncBatchNorm
    assert nn.parallel.DistributedDataParallel is DistributedDataParallel


def test_without_a_group_sync_batchnorm_is_batchnorm():
    gradcnn.manual_seed(0)
    x = gradcnn.randn(4, 3, 5, 5)
    sync, plain = SyncBatchNorm(3), nn.BatchNorm2d(3)
    for mode in (True, False):
        sync.train(mode)
        plain.train(mode)
        np.testing.assert_array_equal(sync(x).detach().numpy(), plain(x).detach().numpy())
    np.testing.assert_array_equal(sync.running_var.numpy(), plain.running_var.numpy())
    assert list(sync.state_dict()) == list(plain.state_dict())
    assert sync(gradcnn.randn(4, 3)).shape == (4, 3)  # any (N, C, *) input


def test_sync_batchnorm_input_errors():
    layer = SyncBatchNorm(3)
    with pytest.raises(ShapeError, match="expected at least 2-D input"):
        layer(gradcnn.randn(3))
    with pytest.raises(ShapeError, match=r"input has 4 channels \(dim 1 of \(2, 4, 5\)\) but the layer was "
                                         "built for num_features=3"):
        layer(gradcnn.randn(2, 4, 5))


def test_convert_sync_batchnorm_takes_over_parameters_statistics_and_mode():
    inner = nn.BatchNorm1d(3, momentum=None, eps=1e-3)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.Linear(2, 3), inner))
    inner.eval()
    weight, running = inner.weight, inner.running_mean
    out = SyncBatchNorm.convert_sync_batchnorm(model)
    assert out is model
    assert isinstance(model[1], SyncBatchNorm) and isinstance(model[2][1], SyncBatchNorm)
    converted = model[2][1]
    assert converted.weight is weight and converted.running_mean is running
    assert (converted.eps, converted.momentum, converted.training) == (1e-3, None, False)
    assert sum(p is weight for p in model.parameters()) == 1
    root = nn.BatchNorm2d(4)
    assert isinstance(SyncBatchNorm.convert_sync_batchnorm(root), SyncBatchNorm)
    already = SyncBatchNorm(2)
    assert SyncBatchNorm.convert_sync_batchnorm(already) is already


def test_distributed_data_parallel_needs_a_process_group():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))
