"""A small training loop: ``fit`` (epochs of forward / loss / backward / step, evaluation, history,
checkpoints, resume) and ``evaluate``.

Checkpoints hold the model, the optimizer and scheduler state, the epoch and the random generator's
state, so a resumed run continues exactly where the interrupted one stopped: on the CPU the two
give bitwise-identical weights.

Loaders yield CPU tensors; both functions move each batch to ``device``, by default the device of
the model's parameters, so ``model.to("cuda")`` is all it takes to train on a GPU.
"""

import json
import os
import time

from . import random as _random
from .autograd.tape import no_grad
from .backends import parse_device

__all__ = ["fit", "evaluate"]


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress bars are optional
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


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
            correct += int((out.data.argmax(1) == y.data).sum())
            count += len(y)
    model.train(was_training)
    return {"loss": total / max(count, 1), "accuracy": correct / max(count, 1)}


def _checkpoint(model, optimizer, scheduler, epoch, history):
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
             "rng": _random.get_rng_state(), "history": history}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    return state


def fit(model, train_loader, *, optimizer, loss, epochs, val_loader=None, scheduler=None,
        checkpoint=None, resume=False, progress=True, log=print, device=None):
    """Train ``model`` for ``epochs`` epochs; returns the history (a list of per-epoch dicts:
    train loss and accuracy, validation loss and accuracy, seconds).

    ``checkpoint``: a path written after every epoch (atomically, safetensors, from host copies);
    with ``resume`` an existing checkpoint there is loaded first and training continues from its
    epoch. ``device``: where each batch is moved before the forward pass; by default the device of
    the model's parameters (move the model, and create the optimizer, first).
    """
    from .io import load, save

    device = _device(model, device)
    history, start = [], 0
    if resume and checkpoint and os.path.exists(checkpoint):
        state = load(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(state["scheduler"])
        _random.set_rng_state(state["rng"])
        history = list(state.get("history", []))
        start = int(state["epoch"])
        log(f"resumed from {checkpoint} at epoch {start}")
    for epoch in range(start, epochs):
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
            correct += int((out.data.argmax(1) == y.data).sum())
            count += len(y)
            if bar is not train_loader:
                bar.set_postfix(loss=f"{total / count:.4f}", acc=f"{correct / count:.3f}")
        if scheduler is not None:
            scheduler.step()
        row = {"epoch": epoch + 1, "train_loss": total / max(count, 1),
               "train_accuracy": correct / max(count, 1), "seconds": time.perf_counter() - began}
        if val_loader is not None:
            val = evaluate(model, val_loader, loss, device=device)
            row.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        history.append(row)
        log(json.dumps({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}))
        if checkpoint:
            save(_checkpoint(model, optimizer, scheduler, epoch + 1, history), checkpoint)
    return history

