"""DistributedDataParallel and SyncBatchNorm in one process, over conftest's Loopback (every
"rank" holds what this process holds, so averages are the local values and sums are multiples):
buckets, hooks, the order of collectives, no_sync, unused parameters and the errors. The real
thing, across ranks, is in test_multirank.py."""

import gc

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
from gradcnn import nn
from gradcnn.autograd.tape import register_post_accumulate_grad_hook
from gradcnn.distributed import process_group
from gradcnn.errors import AutogradError, DeviceError, DTypeError, ShapeError
from gradcnn.nn.parallel import DistributedDataParallel as DDP
from gradcnn.nn.parallel import distributed as ddp_module


def mlp(seed=0):
    gradcnn.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3)).double()


def batch(seed=1, n=4):
    rng = np.random.default_rng(seed)
    return gradcnn.tensor(rng.standard_normal((n, 6))), gradcnn.tensor(rng.integers(0, 3, n))


def reductions(backend):
    return [c for c in backend.calls if c[:2] == ("all_reduce", "AVG")]


def test_wrapping_compares_models_broadcasts_rank_0_and_buckets_in_reverse(loopback):
    backend = loopback()
    model = nn.Sequential(nn.Linear(6, 8).double(), nn.BatchNorm1d(8), nn.Linear(8, 3))
    ddp = DDP(model, bucket_cap_mb=1e-6)  # every parameter over the cap: one bucket each
    kinds = [c[0] for c in backend.calls]
    assert kinds[:2] == ["all_reduce", "all_gather"]  # the descriptions (their longest length, then them)
    assert kinds.count("broadcast") == 3  # float64, float32, int64 (num_batches_tracked)
    params = list(model.parameters())
    assert [b.indices for b in ddp._buckets] == [[i] for i in reversed(range(len(params)))]
    big = DDP(model)  # 25 MB: one bucket per dtype, the newest parameters first
    assert [[params[i].dtype.name for i in b.indices] for b in big._buckets] == [["float32"] * 4, ["float64"] * 2]
    assert big._buckets[0].indices == [5, 4, 3, 2]
    assert ddp.module is model and list(ddp.state_dict())[0] == "module.0.weight"
    assert "world_size=2" in repr(ddp)


def test_gradients_are_averaged_bucket_by_bucket_during_backward(loopback):
    backend = loopback()
    model, ref = mlp(), mlp()
    first = list(model.parameters())[0]  # its gradient is the last one backward makes
    seen = []
    register_post_accumulate_grad_hook(first, lambda p: seen.append(len(reductions(backend))))
    ddp = DDP(model, bucket_cap_mb=1e-6)
    x, y = batch()
    F.cross_entropy(ddp(x), y).backward()
    F.cross_entropy(ref(x), y).backward()
    # All buckets but the first layer's two (its weight and bias come out of one node) had left.
    assert seen == [len(ddp._buckets) - 2]
    assert len(reductions(backend)) == len(ddp._buckets) == 6
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-15)
    assert ddp._state == "reduced"


def test_no_sync_accumulates_locally_and_the_next_backward_averages_the_sum(loopback):
    backend = loopback()
    ddp, ref = DDP(mlp()), mlp()
    x, y = batch()
    with ddp.no_sync():
        F.cross_entropy(ddp(x), y).backward()
    assert reductions(backend) == []
    F.cross_entropy(ddp(x), y).backward()
    assert len(reductions(backend)) == len(ddp._buckets)
    for _ in range(2):
        F.cross_entropy(ref(x), y).backward()
    for p, q in zip(ddp.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-15)


def test_one_backward_per_forward(loopback):
    loopback()
    ddp = DDP(mlp())
    x, y = batch()
    loss = F.cross_entropy(ddp(x), y)
    loss.backward(retain_graph=True)
    with pytest.raises(AutogradError, match="got a second gradient after this iteration's gradients were "
                                            "averaged; run forward before each backward"):
        loss.backward()


def test_forward_without_grad_neither_arms_nor_broadcasts_buffers(loopback):
    backend = loopback()
    ddp = DDP(nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4)))
    before = len(backend.calls)
    with gradcnn.no_grad():
        ddp(gradcnn.ones(3, 6))
    assert len(backend.calls) == before and ddp._state == "idle"
    ddp(gradcnn.ones(3, 6))
    assert [c[0] for c in backend.calls[before:]] == ["broadcast", "broadcast"]  # float32 and int64 buffers
    assert ddp._state == "armed"


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.used, self.spare = nn.Linear(4, 4), nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x):
        return self.used(self.body(x))


def test_unused_parameters_are_named_unless_allowed(loopback):
    backend = loopback()
    ddp = DDP(TwoHeads())
    x = gradcnn.ones(2, 4)
    ddp(x).sum().backward()
    with pytest.raises(AutogradError, match="these parameters got no gradient: spare.weight, spare.bias.*"
                                            "find_unused_parameters=True"):
        ddp(x)
    allowed = DDP(TwoHeads(), find_unused_parameters=True)
    calls = len(backend.calls)
    allowed(x).sum().backward()
    assert allowed.module.spare.weight.grad is None and allowed.module.used.weight.grad is not None
    assert ("all_reduce", "SUM", 6) in backend.calls[calls:]  # which ranks used which parameter
    assert allowed._state == "reduced"


def test_a_replaced_wrapper_stops_reducing(loopback):
    backend = loopback()
    model = mlp()
    DDP(model)
    gc.collect()
    ddp = DDP(model)  # the first wrapper is gone; its hooks must not fire (or raise)
    x, y = batch()
    for _ in range(2):
        F.cross_entropy(ddp(x), y).backward()
    assert len(reductions(backend)) == 2 * len(ddp._buckets)


def test_every_rank_must_wrap_the_same_model(loopback, monkeypatch):
    loopback()
    model = mlp()
    other = ddp_module._describe(model)
    other[2] = ["parameter", "2.weight", [8, 9], "float64", True]
    monkeypatch.setattr(process_group, "_all_gather_json", lambda obj, what: [obj, other])
    with pytest.raises(ShapeError, match=r"every rank must wrap the same model, but parameter '2.weight' has "
                                         r"shape \(8, 9\) on rank 1 but \(8, 8\) on rank 0"):
        DDP(model)


@pytest.mark.parametrize("edit, message", [
    (lambda rows: rows.pop(1), "parameter '0.bias' exists on rank 0 but not on rank 1"),
    (lambda rows: rows[0].__setitem__(3, "float32"), "parameter '0.weight' is float32 on rank 1 but float64"),
    (lambda rows: rows[0].__setitem__(4, False), "has requires_grad=False on rank 1 but True on rank 0"),
    (lambda rows: rows.append(["buffer", "extra", [1], "int64", False]), "buffer 'extra' exists on rank 1 but not"),
    (lambda rows: rows.reverse(), "registered in a different order on rank 1"),
])
def test_model_differences_are_described(edit, message):
    mine = ddp_module._describe(mlp())
    theirs = [list(r) for r in mine]
    edit(theirs)
    assert message in ddp_module._difference(mine, theirs, 1)
    assert ddp_module._difference(mine, mine, 1) is None


def test_wrapper_arguments_are_checked(loopback):
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DDP(mlp())
    loopback()
    with pytest.raises(DTypeError, match="module must be a gradcnn.nn.Module, got function"):
        DDP(lambda x: x)
    with pytest.raises(ShapeError, match="bucket_cap_mb must be a positive number of megabytes, got 0"):
        DDP(mlp(), bucket_cap_mb=0)
    with pytest.raises(DeviceError, match=r"device_ids=\[0\] but the module is on cpu"):
        DDP(mlp(), device_ids=[0])
    assert DDP(mlp(), device_ids=["cpu"], output_device="cpu").module is not None


def test_sync_batchnorm_is_batchnorm_over_every_ranks_batch(loopback):
    loopback()  # 2 ranks holding the same batch: the combined batch is it twice
    gradcnn.manual_seed(0)
    x = gradcnn.randn(3, 4, 5, 5, dtype="float64")
    sync, plain = nn.SyncBatchNorm(4).double(), nn.BatchNorm2d(4).double()
    with gradcnn.no_grad():
        for layer in (sync, plain):
            layer.weight.copy_(gradcnn.tensor(np.linspace(0.5, 2.0, 4)))
            layer.bias.copy_(gradcnn.tensor(np.linspace(-1.0, 1.0, 4)))
    xs = x.detach().requires_grad_()
    xp = F.cat([x, x]).detach().requires_grad_()
    w = gradcnn.tensor(np.random.default_rng(3).standard_normal((6, 4, 5, 5)))
    synced, out = sync(xs), plain(xp)
    (synced * w[:3]).sum().backward()
    np.testing.assert_allclose(synced.detach().numpy(), out[:3].detach().numpy(), atol=1e-12)
    (out * F.cat([w[:3], w[:3]])).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xp.grad.numpy()[:3], atol=1e-12)
    np.testing.assert_allclose(sync.weight.grad.numpy(), plain.weight.grad.numpy() / 2, atol=1e-12)
    np.testing.assert_allclose(sync.running_var.numpy(), plain.running_var.numpy(), atol=1e-12)
    np.testing.assert_allclose(sync.running_mean.numpy(), plain.running_mean.numpy(), atol=1e-12)
    assert int(sync.num_batches_tracked.item()) == 1
