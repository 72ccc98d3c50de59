"""A small training loop: ``fit`` (epochs of forward / loss / backward / step, evaluation, history,
checkpoints, resume) and ``evaluate``.

Checkpoints hold the model, the optimizer and scheduler state, the epoch and the random generator's
state, so a resumed run continues exactly where the interrupted one stopped: on the CPU the two
give bitwise-identical weights.

Loaders yield CPU tensors; both functions move each batch to ``device``, by default the device of
the model's parameters, so ``model.to("cuda")`` is all it takes to train on a GPU.

Data-parallel training: give ``fit`` a :class:`~gradcnn.nn.parallel.DistributedDataParallel`
model and, on every rank, a loader over this rank's share (a
:class:`~gradcnn.utils.data.DistributedSampler`, whose ``set_epoch`` ``fit`` calls). Then the
reported losses and accuracies are over every rank's samples (all-reduced), only rank 0 logs,
shows progress and writes the checkpoint (the wrapped model's own state dict, so a checkpoint
resumes with any number of ranks, or none), and every rank resumes from it. ``evaluate`` given a
``DistributedDataParallel`` model likewise sums over the ranks' loaders, so every rank must call it.
"""

import json
import os
import time

import numpy as np

from . import distributed as dist
from . import random as _random
from .arguments import integer
from .autograd.tape import no_grad
from .backends import parse_device, to_device
from .errors import CheckpointError
from .nn.parallel import DistributedDataParallel
from .tensor import Tensor

__all__ = ["fit", "evaluate"]


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress bars are optional
        return iterable
    # tqdm.auto's class (tqdm.asyncio's) calls iter() on what it wraps when it is made, and again
    # when iterated: a shuffling loader would draw one epoch order too many, so that the progress bar
    # changed the training. It gets an iterator, whose iter() is itself.
    return tqdm(iter(iterable), total=total, desc=desc, leave=False, dynamic_ncols=True)


def _device(model, device):
    """``device`` normalised, or where the model's first parameter (or buffer) lives."""
    if device is not None:
        return parse_device(device)
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return "cpu"


def _batch(x, y, device):
    return x.to(device), y.to(device)  # no copy for a batch already there


def _unwrap(model):
    """The model whose state a checkpoint holds: the module inside a DistributedDataParallel."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def _rank(model):
    """This process's rank when ``model`` trains data-parallel, else 0."""
    return dist.get_rank() if isinstance(model, DistributedDataParallel) else 0


def _summed(model, device, *values):
    """``values`` summed over the ranks when ``model`` trains data-parallel (every rank calls this);
    the sums travel on ``device``, the model's, where an NCCL group wants them."""
    if not isinstance(model, DistributedDataParallel):
        return values
    totals = Tensor._make(to_device(np.array(values, dtype=np.float64), device))
    dist.all_reduce(totals)
    return tuple(to_device(totals._data, "cpu").tolist())


def evaluate(model, loader, loss, *, device=None):
    """Mean loss and accuracy of ``model`` over ``loader`` in eval mode, without a graph.
    Batches move to ``device`` (default: the model's)."""
    device = _device(model, device)
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    with no_grad():
        for x, y in loader:
            x, y = _batch(x, y, device)
            out = model(x)
            total += float(loss(out, y).item()) * len(y)
            correct += int((out.argmax(1) == y).sum())
            count += len(y)
    model.train(was_training)
    total, correct, count = _summed(model, device, total, correct, count)
    return {"loss": total / max(count, 1), "accuracy": correct / max(count, 1)}


def _checkpoint(model, optimizer, scheduler, epoch, history):
    state = {"model": _unwrap(model).state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
             "rng": _random.get_rng_state(), "history": history}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    return state


_RESUME_KEYS = ("model", "optimizer", "epoch", "rng")


def fit(model, train_loader, *, optimizer, loss, epochs, val_loader=None, scheduler=None,
        checkpoint=None, resume=False, progress=True, log=print, device=None):
    """Train ``model`` for ``epochs`` epochs; returns the history (a list of per-epoch dicts:
    train loss and accuracy, validation loss and accuracy, seconds).

    ``checkpoint``: a path written after every epoch (atomically, safetensors, from host copies);
    with ``resume`` an existing checkpoint there is loaded first and training continues from its
    epoch. ``device``: where each batch is moved before the forward pass; by default the device of
    the model's parameters (move the model, and create the optimizer, first). A
    ``DistributedDataParallel`` model trains data-parallel (see the module docstring).
    """
    from .io import load, save

    epochs = integer("fit", "epochs", epochs, minimum=0)
    device = _device(model, device)
    main = _rank(model) == 0
    if not main:  # one voice and one writer: rank 0
        progress, log = False, (lambda *_args, **_kwargs: None)
    history, start = [], 0
    if resume and checkpoint and os.path.exists(checkpoint):
        state = load(checkpoint)
        missing = [key for key in _RESUME_KEYS if not isinstance(state, dict) or key not in state]
        if missing:
            raise CheckpointError(f"fit: {checkpoint!r} is not a training checkpoint (it has no "
                                  f"{', '.join(map(repr, missing))}); resume needs one that fit wrote")
        _unwrap(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(state["scheduler"])
        _random.set_rng_state(state["rng"])
        history = list(state.get("history", []))
        start = int(state["epoch"])
        log(f"resumed from {checkpoint} at epoch {start}")
    sampler = getattr(train_loader, "sampler", None)
    for epoch in range(start, epochs):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        model.train()
        began = time.perf_counter()
        total, correct, count = 0.0, 0, 0
        bar = _progress(train_loader, len(train_loader), f"epoch {epoch + 1}/{epochs}", progress)
        for x, y in bar:
            x, y = _batch(x, y, device)
            out = model(x)
            batch_loss = loss(out, y)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            value = float(batch_loss.item())
            total += value * len(y)
            correct += int((out.argmax(1) == y).sum())
            count += len(y)
            if bar is not train_loader:
                bar.set_postfix(loss=f"{total / count:.4f}", acc=f"{correct / count:.3f}")
        if scheduler is not None:
            scheduler.step()
        total, correct, count = _summed(model, device, total, correct, count)
        row = {"epoch": epoch + 1, "train_loss": total / max(count, 1),
               "train_accuracy": correct / max(count, 1), "seconds": time.perf_counter() - began}
        if val_loader is not None:
            val = evaluate(model, val_loader, loss, device=device)
            row.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        history.append(row)
        log(json.dumps({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}))
        if checkpoint and main:
            save(_checkpoint(model, optimizer, scheduler, epoch + 1, history), checkpoint)
    return history

