"""Every CUDA backend function against the CPU backend, on a real GPU (float32 and float64).

The ops' own tests on "cuda" are in test_cuda_ops.py; these call the backends directly, with the
geometry the ops would compute, so a failure names the kernel."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcnn.ops.pool as pool_ops
from gradcnn.backends import cpu as cpu_backend
from gradcnn.backends import cuda as cuda_backend
from gradcnn.backends.cuda import launch as cuda_launch

pytestmark = pytest.mark.gpu

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _cupy():
    import cupy

    return cupy


def _close(got, expected, dtype):
    got = got.get()
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, **TOL[dtype])


@st.composite
def conv_geometry(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    cg = draw(st.integers(1, 3))
    og = draw(st.integers(1, 3))
    n = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = ((draw(st.integers(0, 2)), draw(st.integers(0, 2))), (draw(st.integers(0, 2)), draw(st.integers(0, 2))))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - sum(pads[0])), 9))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - sum(pads[1])), 9))
    ho = (h + sum(pads[0]) - dh * (kh - 1) - 1) // sh + 1
    wo = (w + sum(pads[1]) - dw * (kw - 1) - 1) // sw + 1
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return dict(n=n, c=cg * groups, o=og * groups, cg=cg, groups=groups, k=(kh, kw), s=(sh, sw), d=(dh, dw),
                pads=pads, hw=(h, w), out=(ho, wo), dtype=dtype, bias=draw(st.booleans()))


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
@given(g=conv_geometry(), seed=st.integers(0, 2**16))
def test_conv_kernels_match_the_cpu_backend(algorithm, g, seed):
    with cuda_backend.use_conv_algorithm(algorithm):
        _conv_kernels_match(g, seed)


def _conv_kernels_match(g, seed):
    cp = _cupy()
    rng = np.random.default_rng(seed)
    dtype = g["dtype"]
    x = rng.standard_normal((g["n"], g["c"]) + g["hw"]).astype(dtype)
    w = rng.standard_normal((g["o"], g["cg"]) + g["k"]).astype(dtype)
    b = rng.standard_normal(g["o"]).astype(dtype) if g["bias"] else None
    gy = rng.standard_normal((g["n"], g["o"]) + g["out"]).astype(dtype)
    geo = (g["s"], g["pads"], g["d"], g["groups"])
    _close(cuda_backend.conv2d_forward(cp.asarray(x), cp.asarray(w), None if b is None else cp.asarray(b), *geo, g["out"]),
           cpu_backend.conv2d_forward(x, w, b, *geo, g["out"]), dtype)
    _close(cuda_backend.conv2d_backward_data(cp.asarray(gy), cp.asarray(w), *geo, g["hw"]),
           cpu_backend.conv2d_backward_data(gy, w, *geo, g["hw"]), dtype)
    _close(cuda_backend.conv2d_backward_weight(cp.asarray(x), cp.asarray(gy), g["k"], *geo),
           cpu_backend.conv2d_backward_weight(x, gy, g["k"], *geo), dtype)


@st.composite
def pool_geometry(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    hw = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 10)) for ki, di, pi in zip(k, d, p))
    out = tuple((ni + 2 * pi - di * (ki - 1) - 1) // si + 1 for ni, ki, si, pi, di in zip(hw, k, s, p, d))
    return dict(shape=(n, c) + hw, k=k, s=s, p=p, d=d, out=out, dtype=draw(st.sampled_from([np.float32, np.float64])))


@given(g=pool_geometry(), seed=st.integers(0, 2**16))
def test_max_pool_kernels_match_the_cpu_backend(g, seed):
    cp = _cupy()
    rng = np.random.default_rng(seed)
    dtype = g["dtype"]
    x = rng.permutation(int(np.prod(g["shape"]))).reshape(g["shape"]).astype(dtype)  # no ties
    dims = [pool_ops._max_dim(o, n, k, s, p, d) for o, n, k, s, p, d in zip(g["out"], g["shape"][2:], g["k"], g["s"],
                                                                          g["p"], g["d"])]
    args = (*dims[0], *dims[1], g["out"])
    y_cpu, i_cpu = cpu_backend.max_pool2d_forward(x, *args)
    y_gpu, i_gpu = cuda_backend.max_pool2d_forward(cp.asarray(x), *args)
    _close(y_gpu, y_cpu, dtype)
    np.testing.assert_array_equal(i_gpu.get(), i_cpu)
    gy = rng.standard_normal(y_cpu.shape).astype(dtype)
    _close(cuda_backend.max_pool2d_scatter(cp.asarray(gy), i_gpu, g["shape"][2:]),
           cpu_backend.max_pool2d_scatter(gy, i_cpu, g["shape"][2:]), dtype)
    gg = rng.standard_normal(g["shape"]).astype(dtype)
    _close(cuda_backend.max_pool2d_gather(cp.asarray(gg), i_gpu), cpu_backend.max_pool2d_gather(gg, i_cpu), dtype)


@given(g=pool_geometry(), include_pad=st.booleans(), seed=st.integers(0, 2**16))
def test_avg_pool_kernels_match_the_cpu_backend(g, include_pad, seed):
    cp = _cupy()
    rng = np.random.default_rng(seed)
    dtype = g["dtype"]
    x = rng.standard_normal(g["shape"]).astype(dtype)
    (hs, he, dh), (ws, we, dw) = [pool_ops._avg_dim(o, n, k, s, p, include_pad)
                                  for o, n, k, s, p in zip(g["out"], g["shape"][2:], g["k"], g["s"], g["p"])]
    div = np.outer(dh, dw)
    _close(cuda_backend.avg_pool2d_forward(cp.asarray(x), hs, he, ws, we, div),
           cpu_backend.avg_pool2d_forward(x, hs, he, ws, we, div), dtype)
    gy = rng.standard_normal((g["shape"][0], g["shape"][1]) + div.shape).astype(dtype)
    _close(cuda_backend.avg_pool2d_backward(cp.asarray(gy), hs, he, ws, we, div, g["shape"][2:]),
           cpu_backend.avg_pool2d_backward(gy, hs, he, ws, we, div, g["shape"][2:]), dtype)


def test_scatter_adds_where_overlapping_windows_share_a_maximum():
    """Atomics: a 3x3/1 max pool over a plane with one large value picks it in nine windows."""
    cp = _cupy()
    x = np.zeros((2, 3, 5, 5))
    x[:, :, 2, 2] = 10.0
    dims = [pool_ops._max_dim(3, 5, 3, 1, 0, 1)] * 2
    y, idx = cuda_backend.max_pool2d_forward(cp.asarray(x), *dims[0], *dims[1], (3, 3))
    assert (idx.get() == 2 * 5 + 2).all()
    gx = cuda_backend.max_pool2d_scatter(cp.ones((2, 3, 3, 3)), idx, (5, 5)).get()
    assert gx[:, :, 2, 2].tolist() == [[9.0] * 3] * 2 and gx.sum() == 2 * 3 * 9


def test_large_batch_runs_in_several_chunks(monkeypatch):
    cp = _cupy()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 3, 11, 10)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    geo = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    expected = cpu_backend.conv2d_forward(x, w, None, *geo, (11, 10))
    monkeypatch.setattr(cuda_launch, "CHUNK_BYTES", 1)
    _close(cuda_backend.conv2d_forward(cp.asarray(x), cp.asarray(w), None, *geo, (11, 10)), expected, np.float32)


def test_warmup_builds_every_kernel_on_the_device():
    import gradcnn

    seconds = gradcnn.warmup(device="cuda")
    assert seconds >= 0
    dev = _cupy().cuda.Device().id
    assert {(dev, name) for name in cuda_backend.SOURCES} <= set(cuda_launch._modules)
