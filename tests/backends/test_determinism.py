"""Deterministic by default: the same computation gives bitwise the same numbers on every run and
on any number of worker threads (the chunk plan depends on the problem alone, partial sums are added
in chunk order, and chunk GEMMs never let BLAS split a reduction differently)."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
from gradcnn import optim
from gradcnn.backends.cpu import num_threads, set_num_threads

# (N, C, H, W, out channels, kernel): one chunk, several chunks, a long reduction per chunk, and
# a deep layer at a small batch (few bytes of columns, many FLOPs: cut in two for the arithmetic).
SHAPES = [(64, 6, 14, 14, 16, 5), (8, 3, 64, 64, 64, 7), (32, 64, 16, 16, 64, 3), (4, 256, 4, 4, 256, 3)]


@pytest.fixture
def restore_threads():
    before = num_threads()
    yield
    set_num_threads(before)


def _conv_digest():
    gradcnn.manual_seed(0)
    h = hashlib.sha256()
    for n, c, hh, ww, o, k in SHAPES:
        x = gradcnn.randn(n, c, hh, ww, requires_grad=True)
        w = gradcnn.randn(o, c, k, k, requires_grad=True)
        y = F.conv2d(x, w, padding=1)
        (y * y).sum().backward()
        for a in (y.detach(), w.grad, x.grad):
            h.update(a.numpy().tobytes())
    return h.hexdigest()


def _training_digest():
    gradcnn.manual_seed(1)
    model = gradcnn.create_model("lenet5")
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = gradcnn.randn(128, 1, 32, 32)
    y = gradcnn.randint(0, 10, (128,))
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("digest", [_conv_digest, _training_digest], ids=["conv", "training"])
def test_results_are_bitwise_identical_across_thread_counts_and_runs(digest, restore_threads):
    seen = {}
    for threads in (1, 2, 3, 1, 2):
        set_num_threads(threads)
        seen.setdefault(digest(), []).append(threads)
    assert len(seen) == 1, f"results depend on the thread count: {seen}"


def test_the_environment_variable_gives_the_same_numbers():
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import test_determinism as t; print(t._conv_digest())"
            )
    digests = set()
    for threads in ("1", "2"):
        env = dict(os.environ, GRADCNN_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_the_chunk_plan_does_not_depend_on_threads(restore_threads):
    from gradcnn.backends.cpu.threads import chunk_plan

    plans = set()
    for threads in (1, 2, 7):
        set_num_threads(threads)
        plans.add((tuple(chunk_plan(100, 1 << 20)), tuple(chunk_plan(4, 1 << 10, 10 ** 8))))
    assert len(plans) == 1
    by_bytes, by_flops = next(iter(plans))
    assert len(by_bytes) > 1 and by_flops == ((0, 2), (2, 4))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_bad_counts(bad):
    with pytest.raises(gradcnn.errors.ShapeError, match="positive int"):
        set_num_threads(bad)


def test_training_is_reproducible_in_float64_too():
    gradcnn.manual_seed(3)
    a = gradcnn.randn(16, 3, 12, 12, dtype=np.float64, requires_grad=True)
    w = gradcnn.randn(5, 3, 3, 3, dtype=np.float64, requires_grad=True)
    F.conv2d(a, w).sum().backward()
    first = w.grad.numpy().copy()
    w.grad = None
    F.conv2d(a, w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), first)
