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


# Fully connected layers large enough that their products are cut into parts (a VGG-like
# classifier at a small batch: columns; a large batch through a narrow layer: rows).
LINEAR_SHAPES = [(4, 8192, 1024), (2048, 256, 64)]


def _linear_digest(dtype=np.float32):
    gradcnn.manual_seed(2)
    h = hashlib.sha256()
    for n, i, o in LINEAR_SHAPES:
        x = gradcnn.randn(n, i, dtype=dtype, requires_grad=True)
        layer = gradcnn.nn.Linear(i, o, dtype=dtype)
        y = layer(x)
        (y * y).sum().backward()
        for a in (y.detach(), x.grad, layer.weight.grad, layer.bias.grad):
            h.update(a.numpy().tobytes())
    return h.hexdigest()


def test_fully_connected_products_are_bitwise_identical_across_thread_counts(restore_threads):
    seen = {}
    for threads in (1, 2, 3, 2):
        set_num_threads(threads)
        seen.setdefault(_linear_digest(), []).append(threads)
    assert len(seen) == 1, f"results depend on the thread count: {seen}"


@pytest.mark.parametrize("shape", LINEAR_SHAPES + [(3, 5, 7)], ids=str)
@pytest.mark.parametrize("transposed", [False, True], ids=["b", "b.T"])
def test_the_cut_product_equals_numpys(shape, transposed, restore_threads):
    from gradcnn.backends.cpu.gemm import PART_FLOPS, matmul2d, plan

    m, k, n = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k))
    b = np.ascontiguousarray(rng.standard_normal((n, k))).T if transposed else rng.standard_normal((k, n))
    for threads in (1, 2):
        set_num_threads(threads)
        np.testing.assert_allclose(matmul2d(a, b), a @ b, rtol=1e-12, atol=1e-12)
    parts = plan(m, k, n)[1]
    assert parts[0][0] == 0 and all(hi == lo for (_, hi), (lo, _) in zip(parts, parts[1:]))
    assert parts[-1][1] == (m if plan(m, k, n)[0] else n)
    if 2 * m * k * n >= 2 * PART_FLOPS:
        assert len(parts) > 1, "a large product must be cut so that two threads share it"


def test_the_product_plan_does_not_depend_on_threads(restore_threads):
    from gradcnn.backends.cpu.gemm import plan

    plans = set()
    for threads in (1, 2, 7):
        set_num_threads(threads)
        plans.add(tuple((by, tuple(parts)) for by, parts in (plan(*s) for s in LINEAR_SHAPES)))
    assert len(plans) == 1
    (cols, by_cols), (rows, by_rows) = next(iter(plans))
    assert not cols and rows and len(by_cols) > 1 and len(by_rows) > 1
