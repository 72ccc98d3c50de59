"""Run under `gradcnn run --nproc N` with N CUDA devices: the 'nccl' backend's collectives and a
data-parallel step against one process; rank 0 writes what it found as JSON to argv[1]."""

import json
import sys

import numpy as np

import gradcnn
import gradcnn.distributed as dist
import gradcnn.functional as F
from gradcnn import nn, optim
from gradcnn.errors import DeviceError
from gradcnn.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
device = f"cuda:{gradcnn.cuda.current_device()}"
checks = {"backend": dist.get_backend() == "nccl"}

t = gradcnn.tensor(np.arange(4.0) + rank, device=device)
dist.all_reduce(t)
checks["sum"] = t.cpu().tolist() == [sum(i + r for r in range(world)) for i in range(4)]
t = gradcnn.tensor([float(rank)], dtype="float64", device=device)
dist.all_reduce(t, dist.ReduceOp.AVG)
checks["avg"] = t.item() == (world - 1) / 2
t = gradcnn.tensor([rank * 10.0], device=device)
dist.broadcast(t, world - 1)
checks["broadcast"] = t.item() == (world - 1) * 10.0
out = [gradcnn.zeros(2, device=device) for _ in range(world)]
dist.all_gather(out, gradcnn.tensor([rank, rank + 0.5], device=device))
checks["all_gather"] = [o.cpu().tolist() for o in out] == [[r, r + 0.5] for r in range(world)]
work = dist.all_reduce(gradcnn.ones(3, device=device), async_op=True)
checks["async"] = work.wait()
dist.barrier()
try:
    dist.all_reduce(gradcnn.ones(3))
    checks["cpu_refused"] = False
except DeviceError:
    checks["cpu_refused"] = True

B = 4
rng = np.random.default_rng(0)
X, Y = rng.standard_normal((3, world * B, 6)), rng.integers(0, 3, (3, world * B))


def build():
    gradcnn.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).double().to(device)


ddp, ref = DDP(build(), bucket_cap_mb=0.0005), build()
opt, ref_opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9), optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
mine = slice(rank * B, (rank + 1) * B)
for s in range(3):
    opt.zero_grad()
    F.cross_entropy(ddp(gradcnn.tensor(X[s][mine], device=device)), gradcnn.tensor(Y[s][mine], device=device)).backward()
    opt.step()
    ref_opt.zero_grad()
    F.cross_entropy(ref(gradcnn.tensor(X[s], device=device)), gradcnn.tensor(Y[s], device=device)).backward()
    ref_opt.step()
diff = max(float(np.max(np.abs(p.detach().cpu().numpy() - q.detach().cpu().numpy())))
           for p, q in zip(ddp.parameters(), ref.parameters()))
if rank == 0:
    with open(sys.argv[1], "w") as f:
        json.dump({"world_size": world, "checks": checks, "param_max_diff": diff}, f)
dist.destroy_process_group()
