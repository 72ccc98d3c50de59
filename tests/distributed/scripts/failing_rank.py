"""Run on 2 ranks: rank 1 fails in the way argv[1] names (or does not, with "none"); rank 0 goes
on to a collective that cannot complete without rank 1."""

import os
import signal
import sys
import time

import gradcnn
import gradcnn.distributed as dist

mode = sys.argv[1]
if mode == "early" and os.environ.get("RANK") == "1":
    raise RuntimeError("failed before joining the group")
dist.init_process_group("mpi", timeout=float(sys.argv[2]) if len(sys.argv) > 2 else None)
rank = dist.get_rank()
if rank == 1:
    time.sleep(0.2)  # rank 0 is waiting in its all_reduce by now
    if mode == "raise":
        raise ValueError("rank one broke on purpose")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "exit":
        sys.exit(3)
    if mode == "silent":
        time.sleep(600)
t = gradcnn.ones(3) * (rank + 1)
dist.all_reduce(t)
print(f"rank {rank} of {dist.get_world_size()} RANK={os.environ['RANK']} sum={t.tolist()}", flush=True)
