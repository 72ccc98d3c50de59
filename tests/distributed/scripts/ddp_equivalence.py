"""Run under `gradcnn run --nproc N`: data-parallel training against one process on the combined
batch, and the collectives; rank 0 writes what it measured as JSON to argv[1]."""

import json
import os
import sys

import numpy as np

import gradcnn
import gradcnn.distributed as dist
import gradcnn.functional as F
from gradcnn import nn, optim
from gradcnn.autograd.tape import register_post_accumulate_grad_hook
from gradcnn.nn.parallel import DistributedDataParallel as DDP
from gradcnn.utils.data import DistributedSampler

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
report = {"world_size": world, "env": [os.environ["RANK"], os.environ["WORLD_SIZE"]]}
STEPS, B = 4, 3


def max_diff(a, b):
    return max(float(np.max(np.abs(x.detach().numpy() - y.detach().numpy()))) for x, y in zip(a, b))


def build(seed, norm=nn.BatchNorm2d):
    gradcnn.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), norm(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 16), nn.Tanh(), nn.Linear(16, 5)).double()


rng = np.random.default_rng(1234)
X = rng.standard_normal((STEPS, world * B, 2, 5, 5))
Y = rng.integers(0, 5, (STEPS, world * B))
mine = slice(rank * B, (rank + 1) * B)

# -- 1. DDP + SyncBatchNorm (different initial weights on every rank) against one process ---------
model = nn.SyncBatchNorm.convert_sync_batchnorm(build(100 + rank))
first = list(model.parameters())[0]  # the last gradient backward produces
launched_before_last = []
register_post_accumulate_grad_hook(first, lambda p: launched_before_last.append(ddp._next))
ddp = DDP(model, bucket_cap_mb=0.0005)
report["buckets"] = len(ddp._buckets)
opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
input_grads = []
for s in range(STEPS):
    x = gradcnn.tensor(X[s][mine], requires_grad=True)
    opt.zero_grad()
    F.cross_entropy(ddp(x), gradcnn.tensor(Y[s][mine])).backward()
    opt.step()
    input_grads.append(x.grad.numpy() / world)
report["launched_before_last_grad"] = min(launched_before_last)

ref = build(100)
ref_opt = optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
ref_input_grads = []
for s in range(STEPS):
    x = gradcnn.tensor(X[s], requires_grad=True)
    ref_opt.zero_grad()
    F.cross_entropy(ref(x), gradcnn.tensor(Y[s])).backward()
    ref_opt.step()
    ref_input_grads.append(x.grad.numpy()[mine])
report["param_max_diff"] = max_diff(list(model.parameters()), list(ref.parameters()))
report["buffer_max_diff"] = max_diff([model[1].running_mean, model[1].running_var],
                                     [ref[1].running_mean, ref[1].running_var])
report["input_grad_max_diff"] = max(float(np.max(np.abs(a - b))) for a, b in zip(input_grads, ref_input_grads))
gathered = [gradcnn.zeros(*first.shape, dtype=first.dtype) for _ in range(world)]
dist.all_gather(gathered, first.detach())
report["replicas_max_diff"] = max_diff(gathered, [gathered[0]] * world)

# -- 2. gradient accumulation with no_sync() ------------------------------------------------------
model = build(7, norm=lambda c: nn.Identity())
ddp = DDP(model, bucket_cap_mb=0.001)
opt = optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
ref = build(7, norm=lambda c: nn.Identity())
ref_opt = optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
for s in range(0, STEPS, 2):
    opt.zero_grad()
    with ddp.no_sync():
        F.cross_entropy(ddp(gradcnn.tensor(X[s][mine])), gradcnn.tensor(Y[s][mine])).backward()
    F.cross_entropy(ddp(gradcnn.tensor(X[s + 1][mine])), gradcnn.tensor(Y[s + 1][mine])).backward()
    opt.step()
    ref_opt.zero_grad()
    for k in (s, s + 1):
        F.cross_entropy(ref(gradcnn.tensor(X[k])), gradcnn.tensor(Y[k])).backward()
    ref_opt.step()
report["no_sync_max_diff"] = max_diff(list(model.parameters()), list(ref.parameters()))

# -- 3. unused parameters -------------------------------------------------------------------------


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.used, self.spare = nn.Linear(4, 4), nn.Linear(4, 2), nn.Linear(4, 2)

    def forward(self, x):
        return self.used(self.body(x))


x4 = gradcnn.tensor(np.ones((2, 4), np.float32) * (rank + 1))
ddp = DDP(TwoHeads(), find_unused_parameters=True)
for _ in range(2):
    ddp(x4).sum().backward()
report["unused_grad_is_none"] = ddp.module.spare.weight.grad is None
report["used_grad"] = ddp.module.used.bias.grad.tolist()
ddp = DDP(TwoHeads())
ddp(x4).sum().backward()
try:
    ddp(x4)
    report["unused_error"] = None
except gradcnn.errors.AutogradError as exc:
    report["unused_error"] = str(exc)

# -- 4. every rank must wrap the same model -------------------------------------------------------
try:
    DDP(nn.Sequential(nn.Linear(4, 3 if rank == 1 else 2)))
    report["mismatch_error"] = None
except gradcnn.errors.ShapeError as exc:
    report["mismatch_error"] = str(exc)

# -- 5. the collectives ---------------------------------------------------------------------------
checks = {}
for name in ("float16", "float32", "float64", "int8", "int32", "int64", "uint8"):
    t = gradcnn.tensor(np.arange(3) + rank, dtype=name)
    dist.all_reduce(t)
    checks[f"sum_{name}"] = t.tolist() == [sum(i + r for r in range(world)) for i in range(3)]
for op, expect in ((dist.ReduceOp.MAX, world - 1.0), (dist.ReduceOp.MIN, 0.0),
                   (dist.ReduceOp.PRODUCT, float(np.prod([r + 1.0 for r in range(world)])) - 1),
                   (dist.ReduceOp.AVG, (world - 1) / 2)):
    t = gradcnn.tensor([rank + (1.0 if op is dist.ReduceOp.PRODUCT else 0.0)], dtype="float64")
    dist.all_reduce(t, op)
    checks[f"op_{op.name}"] = t.item() == expect + (1.0 if op is dist.ReduceOp.PRODUCT else 0.0)
flags = gradcnn.tensor([rank == 0, False])
dist.all_reduce(flags)
checks["bool_or"] = flags.tolist() == [True, False]
base = gradcnn.tensor(np.arange(12.0).reshape(3, 4) * (rank + 1))
view = base[:, 1]  # not contiguous
dist.broadcast(view, src=world - 1)
checks["broadcast_view"] = base.numpy()[:, 1].tolist() == [world * v for v in (1.0, 5.0, 9.0)]
checks["broadcast_left_rest"] = base.numpy()[:, 0].tolist() == [(rank + 1) * v for v in (0.0, 4.0, 8.0)]
t = gradcnn.tensor([float(rank)])
work = dist.all_reduce(t, async_op=True)
checks["async"] = work.wait() and t.item() == sum(range(world)) and work.is_completed()
x = gradcnn.tensor(np.full(3, rank + 1.0), requires_grad=True)
y = dist.nn.functional.all_reduce(x * x)
(y * (rank + 1.0)).sum().backward()
checks["differentiable_sum"] = y.tolist() == [sum((r + 1.0) ** 2 for r in range(world))] * 3
checks["differentiable_grad"] = x.grad.tolist() == [2 * (rank + 1.0) * sum(r + 1.0 for r in range(world))] * 3
dist.barrier()
sampler = DistributedSampler(range(11), shuffle=False)
checks["sampler_from_env"] = (sampler.num_replicas, sampler.rank) == (world, rank)
report["checks"] = checks
report["all_gather_json"] = dist.process_group._all_gather_json({"rank": rank}, "test")

if rank == 0:
    with open(sys.argv[1], "w") as f:
        json.dump(report, f, indent=1)
dist.destroy_process_group()
