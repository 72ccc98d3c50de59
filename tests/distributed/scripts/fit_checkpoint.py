"""Run under `gradcnn run --nproc N`: gradcnn.train.fit with a DistributedDataParallel model;
every call of gradcnn.io.save is logged with the rank that made it (argv[1] is the directory)."""

import os
import pathlib
import sys

import numpy as np

import gradcnn
import gradcnn.distributed as dist
import gradcnn.functional as F
import gradcnn.io
from gradcnn import nn, optim
from gradcnn.nn.parallel import DistributedDataParallel
from gradcnn.train import evaluate, fit
from gradcnn.utils.data import DataLoader, DistributedSampler, TensorDataset

out = pathlib.Path(sys.argv[1])
dist.init_process_group()
rank = dist.get_rank()
real_save = gradcnn.io.save


def logged_save(obj, path, **kwargs):
    with open(out / "saves.log", "a") as f:
        f.write(f"{rank}\n")
    return real_save(obj, path, **kwargs)


gradcnn.io.save = logged_save
rng = np.random.default_rng(0)
data = TensorDataset(gradcnn.tensor(rng.standard_normal((40, 5)).astype(np.float32)), gradcnn.tensor(rng.integers(0, 2, 40)))
gradcnn.manual_seed(0)
model = DistributedDataParallel(nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2)))
loader = DataLoader(data, batch_size=4, sampler=DistributedSampler(data, seed=1))
history = fit(model, loader, optimizer=optim.SGD(model.parameters(), lr=0.1), loss=F.cross_entropy, epochs=2,
              checkpoint=str(out / "checkpoint.safetensors"), progress=False,
              log=lambda line: print(f"rank {rank}: {line}", flush=True))
result = evaluate(model, DataLoader(data, batch_size=8, sampler=DistributedSampler(data, shuffle=False)),
                  F.cross_entropy)
print(f"rank {rank} evaluated {result['accuracy']:.6f} {history[-1]['train_loss']:.6f} pid {os.getpid()}")
