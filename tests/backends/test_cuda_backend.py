"""The CUDA backend, checked without a GPU.

* Every ``.cu`` source compiles to PTX for ``compute_90`` with NVRTC 13.0 and CuPy's compile flags,
  and the PTX defines exactly the kernels the launcher asks for.
* The same sources, compiled for the host with an emulation prelude (tests/cuda_emulation.py), run
  the whole backend -- launcher, chunking, GEMM layouts, geometry uploads, kernels -- on NumPy arrays:
  every convolution and pooling op is property-tested through it against the NumPy references, with
  gradients and second derivatives against finite differences, exactly as the CPU backend is.

What needs a real GPU (CuPy arrays, cuBLAS, thread races) is in tests/gpu/, marked ``gpu``.
"""

import contextlib
import ctypes
import functools
import os
import re
import sys
import types

import numpy as np
import pytest
from hypothesis import given
from reference import (
    ref_adaptive_avg_pool_nd,
    ref_adaptive_max_pool_nd,
    ref_avg_pool_nd,
    ref_conv_nd,
    ref_conv_transpose_nd,
    ref_max_pool_nd,
    values_only,
)

import gradcnn
import gradcnn.functional as F
import gradcnn.ops.conv
import gradcnn.ops.pool
from gradcnn.backends import cpu as cpu_backend
from gradcnn.backends import cuda as cuda_backend
from gradcnn.backends.cuda import launch as cuda_launch
from gradcnn.backends.cuda import pool as cuda_pool
from gradcnn.testing import op_test
from gradcnn.testing.strategies import conv_cases, pool_cases

cuda_emulation = pytest.importorskip("cuda_emulation")

# -- the sources compile with NVRTC 13.0 ----------------------------------------------------------

#: Options CuPy 14 gives NVRTC for a RawModule on an sm_90 device, besides include directories:
#: its default language standard unless the module names one, then, in compiler.py, flush-to-zero,
#: the architecture (PTX, as CuPy emits for an arch newer than its NVRTC knows) and device code by
#: default. ``test_cupy_flags_match`` checks this list against an installed CuPy.
CUPY_FLAGS = ("-ftz=true", "-arch=compute_90", "--device-as-default-execution-space")


def _nvrtc():
    try:
        from cuda.bindings import nvrtc
    except ImportError:
        if os.environ.get("GRADCNN_REQUIRE_NVRTC") == "1":
            raise
        pytest.skip("NVRTC is not installed (pip install 'gradcnn[test]' brings nvidia-cuda-nvrtc 13.0)")
    return nvrtc


def _cupy_options(options):
    """CuPy's own assembly of RawModule options, where CuPy is installed (it needs no GPU)."""
    try:
        import cupy._core.core as core
    except ImportError:
        return None
    return tuple(core.assemble_cupy_compiler_options(tuple(options)))


def _compile_ptx(nvrtc, name, text, options):
    def check(result):
        err = result[0]
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise AssertionError(f"NVRTC: {nvrtc.nvrtcGetErrorString(err)[1].decode()}")
        return result[1:]

    (prog,) = check(nvrtc.nvrtcCreateProgram(text.encode(), name.encode(), 0, [], []))
    try:
        opts = [o.encode() for o in options]
        err = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)[0]
        (size,) = check(nvrtc.nvrtcGetProgramLogSize(prog))
        # NVRTC writes into the buffer: a bytearray, never a bytes object (b" " * 1 is the
        # interpreter's shared one-byte string).
        log = bytearray(size)
        check(nvrtc.nvrtcGetProgramLog(prog, log))
        log = bytes(log).decode(errors="replace").strip("\x00 \n")
        assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS, f"{name} does not compile:\n{log}"
        assert "warning" not in log, f"{name} compiles with warnings:\n{log}"
        (size,) = check(nvrtc.nvrtcGetPTXSize(prog))
        ptx = bytearray(size)
        check(nvrtc.nvrtcGetPTX(prog, ptx))
        return bytes(ptx).decode().rstrip("\x00")
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def test_nvrtc_is_13_0():
    nvrtc = _nvrtc()
    err, major, minor = nvrtc.nvrtcVersion()
    assert (major, minor) == (13, 0), "the PTX of newer NVRTC releases does not load on the lent GPUs' driver"


@pytest.mark.parametrize("name", cuda_backend.SOURCES)
def test_source_compiles_to_ptx_with_every_kernel(name):
    nvrtc = _nvrtc()
    options = _cupy_options(cuda_backend.COMPILE_OPTIONS) or cuda_backend.COMPILE_OPTIONS
    ptx = _compile_ptx(nvrtc, name, cuda_backend.source(name), options + CUPY_FLAGS)
    assert ".target sm_90" in ptx
    entries = set(re.findall(r"\.entry\s+(\w+)\s*\(", ptx))
    expected = {f"{k}_{s}" for k in cuda_backend.KERNELS[name] for s in ("f32", "f64")}
    assert entries == expected, f"{name}: PTX defines {sorted(entries)}, the launcher expects {sorted(expected)}"


def test_a_broken_kernel_fails_the_compile_check():
    nvrtc = _nvrtc()
    broken = cuda_backend.source("pool.cu").replace("out[t] = best;", "out[t] = best")
    with pytest.raises(AssertionError, match="does not compile"):
        _compile_ptx(nvrtc, "pool.cu", broken, cuda_backend.COMPILE_OPTIONS + CUPY_FLAGS)


def test_cupy_flags_match():
    """Where CuPy is installed, its option assembly adds nothing but include directories to ours."""
    options = _cupy_options(cuda_backend.COMPILE_OPTIONS)
    if options is None:
        pytest.skip("CuPy is not installed: the recorded flags are used as they are")
    assert [o for o in options if not o.startswith("-I")] == list(cuda_backend.COMPILE_OPTIONS)
    import cupy.cuda.compiler as compiler

    text = open(compiler.__file__, encoding="utf-8").read()
    for flag in ("-ftz=true", "--device-as-default-execution-space", "-arch=compute_"):
        assert flag in text, f"CuPy's compiler no longer adds {flag}"


def test_sources_ship_as_package_data():
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '[tool.setuptools.package-data]\n"gradcnn.backends.cuda" = ["*.cu"]' in pyproject
    for name in cuda_backend.SOURCES:
        assert 'extern "C" __global__' in cuda_backend.source(name)


# -- the backend on the host emulation ------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _needs_compiler():
    if cuda_emulation.compiler() is None:
        pytest.skip("no C++ compiler (g++) for the host emulation of the CUDA kernels")


_emulated = None


def _emu():
    global _emulated
    if _emulated is None:
        _emulated = cuda_emulation.emulated_backend()
    return _emulated


@contextlib.contextmanager
def emulation(algorithm="auto"):
    """Route the conv and pool ops' kernels to the emulated CUDA backend, convolutions by
    ``algorithm``; fail if no kernel ran."""
    emu = _emu()
    saved = gradcnn.ops.conv.backend_of, gradcnn.ops.pool.backend_of, emu.conv.CONV_ALGORITHM
    gradcnn.ops.conv.backend_of = gradcnn.ops.pool.backend_of = lambda x: emu
    emu.conv.CONV_ALGORITHM = algorithm
    cuda_emulation.launches.clear()
    try:
        yield emu
    finally:
        gradcnn.ops.conv.backend_of, gradcnn.ops.pool.backend_of, emu.conv.CONV_ALGORITHM = saved
    assert cuda_emulation.launches, "no emulated kernel ran"


def emulated(test, algorithm="auto"):
    @functools.wraps(test)
    def run():
        with emulation(algorithm):
            test()

    return run


_small = dict(max_batch=1, max_channels=2, max_size=3, max_kernel=2, max_stride=2, bias=True)

# Convolutions twice: through im2col + GEMM, and through the direct kernels (the weight gradient
# is im2col + GEMM either way).
for _alg in ("im2col", "direct"):
    globals().update({
        f"test_conv1d_{_alg}": emulated(op_test(F.conv1d, ref_conv_nd, cases=conv_cases(nd=1)), _alg),
        f"test_conv2d_{_alg}": emulated(op_test(F.conv2d, ref_conv_nd, cases=conv_cases(nd=2)), _alg),
        f"test_conv_transpose1d_{_alg}": emulated(op_test(F.conv_transpose1d, ref_conv_transpose_nd,
                                                          cases=conv_cases(nd=1, transposed=True)), _alg),
        f"test_conv_transpose2d_{_alg}": emulated(op_test(F.conv_transpose2d, ref_conv_transpose_nd,
                                                          cases=conv_cases(nd=2, transposed=True)), _alg),
        f"test_conv2d_second_order_{_alg}": emulated(op_test(F.conv2d, ref_conv_nd, cases=conv_cases(nd=2, **_small),
                                                             second_order=True), _alg),
    })
test_max_pool1d = emulated(op_test(F.max_pool1d, values_only(ref_max_pool_nd), cases=pool_cases(1, "max"),
                                   second_order=True))
test_max_pool2d = emulated(op_test(F.max_pool2d, values_only(ref_max_pool_nd), cases=pool_cases(2, "max"),
                                   second_order=True))
test_avg_pool1d = emulated(op_test(F.avg_pool1d, ref_avg_pool_nd, cases=pool_cases(1, "avg"), second_order=True))
test_avg_pool2d = emulated(op_test(F.avg_pool2d, ref_avg_pool_nd, cases=pool_cases(2, "avg"), second_order=True))
test_adaptive_avg_pool2d = emulated(op_test(F.adaptive_avg_pool2d, ref_adaptive_avg_pool_nd,
                                            cases=pool_cases(2, "adaptive_avg"), second_order=True))
test_adaptive_max_pool2d = emulated(op_test(F.adaptive_max_pool2d, values_only(ref_adaptive_max_pool_nd),
                                            cases=pool_cases(2, "adaptive_max"), second_order=True))


def _grads(fn, arrays, config, dtype):
    tensors = [None if a is None else gradcnn.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    y = fn(*tensors, **config)
    gradcnn.manual_seed(1)
    gy = gradcnn.randn(*y.shape, dtype=y.dtype)
    (y * gy).sum().backward()
    return [y.detach().numpy()] + [t.grad.numpy() for t in tensors if t is not None]


def _same_on_both(fn, arrays, config, dtype, algorithm="auto"):
    on_cpu = _grads(fn, arrays, config, dtype)
    with emulation(algorithm):
        on_emu = _grads(fn, arrays, config, dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for a, b in zip(on_cpu, on_emu):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(b, a, **tol)


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
@given(case=conv_cases(nd=2, bias=True))
def test_conv2d_float32_and_float64_match_the_cpu_backend(algorithm, case):
    arrays, config = case
    for dtype in (np.float32, np.float64):
        _same_on_both(F.conv2d, arrays, config, dtype, algorithm)


@given(case=pool_cases(2, "max"))
def test_max_pool2d_float32_matches_the_cpu_backend(case):
    (x,), config = case
    _same_on_both(F.max_pool2d, (x,), config, np.float32)
    y_cpu, i_cpu = F.max_pool2d(gradcnn.tensor(x), return_indices=True, **config)
    with emulation():
        y_emu, i_emu = F.max_pool2d(gradcnn.tensor(x), return_indices=True, **config)
    np.testing.assert_array_equal(i_emu.numpy(), i_cpu.numpy())
    np.testing.assert_array_equal(y_emu.numpy(), y_cpu.numpy())


@given(case=pool_cases(2, "avg"))
def test_avg_pool2d_float32_matches_the_cpu_backend(case):
    (x,), config = case
    _same_on_both(F.avg_pool2d, (x,), config, np.float32)


def test_chunked_batches_match_one_chunk(monkeypatch):
    """Tiny chunks: every sample of the batch in its own im2col/GEMM round."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4, 9, 7))
    w = rng.standard_normal((6, 2, 3, 3))
    args = ((2, 1), ((1, 1), (2, 0)), (1, 2), 2)
    out_hw = ((9 + 2 - 3) // 2 + 1, (7 + 2 - 5) // 1 + 1)
    emu = _emu()
    monkeypatch.setattr(emu.conv, "CONV_ALGORITHM", "im2col")
    whole = [emu.conv2d_forward(x, w, None, *args, out_hw)]
    gy = rng.standard_normal((5, 6) + out_hw)
    whole += [emu.conv2d_backward_data(gy, w, *args, (9, 7)), emu.conv2d_backward_weight(x, gy, (3, 3), *args)]
    monkeypatch.setattr(emu.launch, "CHUNK_BYTES", 1)
    cuda_emulation.launches.clear()
    chunked = [emu.conv2d_forward(x, w, None, *args, out_hw), emu.conv2d_backward_data(gy, w, *args, (9, 7)),
               emu.conv2d_backward_weight(x, gy, (3, 3), *args)]
    assert cuda_emulation.launches.count("im2col") >= 10
    expected = [cpu_backend.conv2d_forward(x, w, None, *args, out_hw), cpu_backend.conv2d_backward_data(gy, w, *args, (9, 7)),
                cpu_backend.conv2d_backward_weight(x, gy, (3, 3), *args)]
    for a, b, c in zip(whole, chunked, expected):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_64_bit_index_path_matches_the_cpu_backend(monkeypatch, algorithm):
    monkeypatch.setattr(cuda_emulation, "defines", ("GRADCNN_FORCE_INDEX64",))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 8, 7))
    w = rng.standard_normal((6, 2, 3, 2))
    gy = rng.standard_normal((2, 6, 4, 7))
    args = ((2, 1), ((1, 1), (1, 1)), (1, 2), 2)  # out (8 + 2 - 3) // 2 + 1 = 4, 7 + 2 - 3 + 1 = 7
    emu = _emu()
    monkeypatch.setattr(emu.conv, "CONV_ALGORITHM", algorithm)
    got = [emu.conv2d_forward(x, w, None, *args, (4, 7)), emu.conv2d_backward_data(gy, w, *args, (8, 7)),
           emu.conv2d_backward_weight(x, gy, (3, 2), *args)]
    expected = [cpu_backend.conv2d_forward(x, w, None, *args, (4, 7)), cpu_backend.conv2d_backward_data(gy, w, *args, (8, 7)),
                cpu_backend.conv2d_backward_weight(x, gy, (3, 2), *args)]
    assert ("conv.cu", ("GRADCNN_FORCE_INDEX64",)) in cuda_emulation._libraries
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_empty_windows_give_minus_inf_and_no_gradient():
    # Width 2, padding 1, kernel 2 dilated by 3: the one window per row taps columns -1 and 2, both
    # in the padding.
    config = dict(kernel_size=(1, 2), padding=(0, 1), dilation=(1, 3), return_indices=True)
    x = gradcnn.tensor(np.arange(4.0).reshape(1, 1, 2, 2), requires_grad=True)
    with emulation():
        y, idx = F.max_pool2d(x, **config)
        y.backward(gradcnn.ones_like(y))
    assert y.shape == (1, 1, 2, 1)
    np.testing.assert_array_equal(y.detach().numpy(), -np.inf)
    np.testing.assert_array_equal(idx.numpy(), -1)
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_nan_wins_the_max_as_on_the_cpu():
    x = np.array([[[[1.0, np.nan, 3.0, 2.0]]]])
    expected = F.max_pool1d(gradcnn.tensor(x[:, :, 0]), 2).numpy()
    with emulation():
        got = F.max_pool1d(gradcnn.tensor(x[:, :, 0]), 2).numpy()
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[0, 0, 0]) and got[0, 0, 1] == 3.0


def test_ties_go_to_the_first_maximum_as_on_the_cpu():
    """Few distinct values and overlapping windows: many ties, each must pick the first position."""
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, (2, 3, 7, 6)).astype(np.float64)
    config = dict(kernel_size=3, stride=1, padding=1, return_indices=True)
    gy = rng.standard_normal((2, 3, 7, 6))
    got = []
    for routed in (contextlib.nullcontext, emulation):
        xt = gradcnn.tensor(x, requires_grad=True)
        with routed():
            y, idx = F.max_pool2d(xt, **config)
            y.backward(gradcnn.tensor(gy))
        got.append((idx.numpy(), xt.grad.numpy()))
    (i_cpu, g_cpu), (i_emu, g_emu) = got
    assert len(np.unique(x)) <= 3
    np.testing.assert_array_equal(i_emu, i_cpu)
    np.testing.assert_allclose(g_emu, g_cpu, rtol=1e-12, atol=1e-12)


def test_cover_holds_every_window_containing_each_input():
    rng = np.random.default_rng(0)
    for _ in range(50):
        size = int(rng.integers(1, 12))
        outs = int(rng.integers(1, 8))
        lo = np.sort(rng.integers(0, size, outs))
        hi = np.minimum(lo + rng.integers(0, 4, outs), size)
        first, last = cuda_pool._cover(lo, hi, size)
        for i in range(size):
            holding = [o for o in range(outs) if lo[o] <= i < hi[o]]
            assert all(first[i] <= o < last[i] for o in holding)
            if not holding:
                assert first[i] == last[i]


def test_launch_grid_and_argument_types(monkeypatch):
    """The real launcher: grid size, int64 scalars, the dtype suffix (CuPy replaced by a recorder)."""
    calls = []

    class Fn:
        def __call__(self, grid, block, args):
            calls.append((grid, block, args))

    class Module:
        def get_function(self, name):
            calls.append(name)
            return Fn()

    monkeypatch.setattr(cuda_launch, "_module", lambda cupy, name: Module())
    monkeypatch.setattr(cuda_launch, "_functions", {})
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDevice=lambda: 0)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    cuda_launch._launch("im2col", np.float64, 1000, 7, np.int32(3))
    cuda_launch._launch("max_pool_fwd", np.float32, 10**12)
    cuda_launch._launch("col2im", np.float32, 0)
    assert calls[0] == "im2col_f64"
    grid, block, args = calls[1]
    assert grid == (4,) and block == (256,)
    assert [type(a) for a in args] == [np.int64, np.int64]
    assert calls[2] == "max_pool_fwd_f32" and calls[3][0] == (cuda_launch.MAX_BLOCKS,)
    assert len(calls) == 4  # an empty launch launches nothing
    cuda_launch._launch("im2col", np.float64, 1000)
    assert calls[4:] == [calls[1][:2] + ((),)]  # the handle is cached: no second get_function


def test_backend_functions_run_on_the_device_of_their_arrays(monkeypatch):
    """CuPy allocates and launches on the *current* device: each function makes its arrays' device
    current first (a model on cuda:1 must not run on device 0)."""
    current = [0]
    seen = []

    class Device:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            self.before, current[0] = current[0], self.index

        def __exit__(self, *exc):
            current[0] = self.before

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(Device=Device)
    array_type = type("ndarray", (), {"__module__": "cupy", "device": types.SimpleNamespace(id=1)})
    monkeypatch.setitem(sys.modules, "cupy", fake)

    @cuda_launch.on_device
    def kernel(*args):
        seen.append(current[0])

    kernel(array_type(), np.zeros(1))
    kernel(np.zeros(1), 3)
    assert seen == [1, 0] and current[0] == 0


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_results_do_not_depend_on_the_order_threads_run_in(monkeypatch, algorithm):
    """One writer per element: running the emulated threads backwards changes no bit (the max-pool
    scatter adds with atomics; its sums may round differently)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 2, 3, 2))
    gy = rng.standard_normal((2, 6, 4, 6))
    geo = ((2, 1), ((1, 1), (1, 0)), (1, 2), 2)  # out (7 + 2 - 3) // 2 + 1 = 4, (6 + 1 - 3) + 1 = 5
    emu = _emu()
    monkeypatch.setattr(emu.conv, "CONV_ALGORITHM", algorithm)
    # 3x3 windows, stride 2, padding 1: out (7 + 2 - 3) // 2 + 1 = 4 rows, (6 + 2 - 3) // 2 + 1 = 3 columns
    pool_dims = [gradcnn.ops.pool._max_dim(4, 7, 3, 2, 1, 1), gradcnn.ops.pool._max_dim(3, 6, 3, 2, 1, 1)]
    avg_dims = [gradcnn.ops.pool._avg_dim(4, 7, 3, 2, 1, True), gradcnn.ops.pool._avg_dim(3, 6, 3, 2, 1, True)]
    (hs, he, dh), (ws, we, dw) = avg_dims
    div = np.outer(dh, dw)

    def run():
        y, idx = emu.max_pool2d_forward(x, *pool_dims[0], *pool_dims[1], (4, 3))
        g3 = rng_g.standard_normal(y.shape)
        return [emu.conv2d_forward(x, w, None, *geo, (4, 5)), emu.conv2d_backward_data(gy[..., :5], w, *geo, (7, 6)),
                emu.conv2d_backward_weight(x, gy[..., :5], (3, 2), *geo), y, idx, emu.max_pool2d_gather(x, idx),
                emu.avg_pool2d_forward(x, hs, he, ws, we, div), emu.avg_pool2d_backward(g3, hs, he, ws, we, div, (7, 6)),
                emu.max_pool2d_scatter(g3, idx, (7, 6))]

    rng_g = np.random.default_rng(6)
    forward = run()
    monkeypatch.setattr(cuda_emulation, "order", "reverse")
    rng_g = np.random.default_rng(6)
    backward = run()
    for a, b in zip(forward[:-1], backward[:-1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(forward[-1], backward[-1], rtol=1e-14)


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_empty_batch_gives_empty_results_and_zero_weight_gradient(monkeypatch, algorithm):
    x = gradcnn.zeros(0, 2, 5, 5, dtype=gradcnn.float64, requires_grad=True)
    w = gradcnn.ones(3, 2, 3, 3, dtype=gradcnn.float64, requires_grad=True)
    emu = _emu()
    monkeypatch.setattr(emu.conv, "CONV_ALGORITHM", algorithm)
    saved = gradcnn.ops.conv.backend_of
    gradcnn.ops.conv.backend_of = lambda a: emu
    try:
        y = F.conv2d(x, w, padding=1)
        y.sum().backward()
    finally:
        gradcnn.ops.conv.backend_of = saved
    assert y.shape == (0, 3, 5, 5) and x.grad.shape == (0, 2, 5, 5)
    np.testing.assert_array_equal(w.grad.numpy(), 0)


def _conv_launches(emu, x_shape, w_shape, groups, stride=(1, 1)):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    kh, kw = w_shape[2:]
    out_hw = ((x_shape[2] - kh) // stride[0] + 1, (x_shape[3] - kw) // stride[1] + 1)
    geo = (stride, ((0, 0), (0, 0)), (1, 1), groups)
    gy = rng.standard_normal((x_shape[0], w_shape[0]) + out_hw)
    cuda_emulation.launches.clear()
    emu.conv2d_forward(x, w, None, *geo, out_hw)
    forward = list(cuda_emulation.launches)
    cuda_emulation.launches.clear()
    emu.conv2d_backward_data(gy, w, *geo, x_shape[2:])
    return forward, list(cuda_emulation.launches)


def test_auto_runs_short_reductions_direct_and_long_ones_through_gemm():
    emu = _emu()
    assert emu.conv.CONV_ALGORITHM == "auto"
    # Depthwise 3x3 on 8 channels: 9 terms per output, 9 per input element.
    assert _conv_launches(emu, (2, 8, 6, 6), (8, 1, 3, 3), 8) == (["conv_direct_fwd"], ["conv_direct_bwd_data"])
    # A first layer, 3 channels to 16, 5x5: 75 terms forward (GEMM); 16 * 25 = 400 backward (GEMM).
    assert _conv_launches(emu, (1, 3, 9, 9), (16, 3, 5, 5), 1) == (["im2col"], ["col2im"])
    # 2 channels 3x3 to 4 (18 terms forward, direct); 4 * 9 = 36 backward, direct too.
    assert _conv_launches(emu, (1, 2, 7, 7), (4, 2, 3, 3), 1) == (["conv_direct_fwd"], ["conv_direct_bwd_data"])
    # 16 channels 3x3 to 16: 144 terms forward; 16 * 9 / (2 * 2) = 36 backward with stride 2.
    assert _conv_launches(emu, (1, 16, 7, 7), (16, 16, 3, 3), 1, stride=(2, 2)) == (["im2col"], ["conv_direct_bwd_data"])


def test_an_unknown_conv_algorithm_is_an_error(monkeypatch):
    emu = _emu()
    monkeypatch.setattr(emu.conv, "CONV_ALGORITHM", "winograd")
    with pytest.raises(ValueError, match="CONV_ALGORITHM is 'winograd'"):
        emu.conv2d_forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1, (2, 2))


def test_the_32_bit_index_path_is_taken_exactly_below_2_to_the_30():
    lib = cuda_emulation.library("conv.cu")
    fits = lib.gradcnn_emu_fits_int
    direct_fits = lib.gradcnn_emu_direct_fits_int
    fits.argtypes = [ctypes.c_longlong] * 8
    direct_fits.argtypes = [ctypes.c_longlong] * 10
    big = 2**30
    # (n, c, h, w, kh, kw, ho, wo): the image, then the column matrix n*c*kh*kw*ho*wo, at the limit.
    assert fits(1, 1, 1, big - 1, 1, 1, 1, 1) == 1
    assert fits(1, 1, 1, big, 1, 1, 1, 1) == 0
    assert fits(2, 4, 1, 1, 8, 1, big // 64 - 1, 1) == 1
    assert fits(2, 4, 1, 1, 8, 1, big // 64, 1) == 0
    # (n, c, h, w, o, groups, kh, kw, ho, wo): the input, the output, the weight o*(c/g)*kh*kw.
    assert direct_fits(1, 1, 1, big - 1, 1, 1, 1, 1, 1, 1) == 1
    assert direct_fits(1, 1, 1, big, 1, 1, 1, 1, 1, 1) == 0
    assert direct_fits(4, 1, 1, 1, 2, 1, 1, 1, 1, big // 8 - 1) == 1
    assert direct_fits(4, 1, 1, 1, 2, 1, 1, 1, 1, big // 8) == 0
    assert direct_fits(1, 4, 1, 1, big // 2, 2, 1, 1, 1, 1) == 0  # weight: (2**29) * 2 = 2**30
    assert direct_fits(1, 4, 1, 1, big // 2 - 1, 2, 1, 1, 1, 1) == 1


def test_float32_average_pooling_sums_in_float64_as_on_the_cpu():
    # Summed in float32, 1e8 + 1 - 1e8 + 1 loses a 1; the forward kernels of both backends sum in double.
    x = np.array([1e8, 1.0, -1e8, 1.0], dtype=np.float32).reshape(1, 1, 4)
    y_cpu = F.avg_pool1d(gradcnn.tensor(x), 4).numpy()
    with emulation():
        y_emu = F.avg_pool1d(gradcnn.tensor(x), 4).numpy()
    assert y_cpu[0, 0, 0] == 0.5
    np.testing.assert_array_equal(y_emu, y_cpu)


def test_use_conv_algorithm_sets_and_restores_the_choice():
    assert cuda_backend.conv.CONV_ALGORITHM == "auto"
    with cuda_backend.use_conv_algorithm("direct"):
        assert cuda_backend.conv.CONV_ALGORITHM == "direct"
        assert cuda_backend.conv_algorithm(10**6) == "direct"
    assert cuda_backend.conv.CONV_ALGORITHM == "auto"
    with pytest.raises(ValueError, match="CONV_ALGORITHM is 'winograd'"):
        with cuda_backend.use_conv_algorithm("winograd"):
            pass
    assert cuda_backend.conv.CONV_ALGORITHM == "auto"


def test_the_emulated_backend_leaves_the_real_one_alone(monkeypatch):
    """Settings changed on the emulated copy do not reach the real backend, and its launches
    stay the real launcher's."""
    emu = _emu()
    monkeypatch.setattr(emu.conv, "CONV_ALGORITHM", "direct")
    monkeypatch.setattr(emu.launch, "CHUNK_BYTES", 1)
    assert cuda_backend.conv.CONV_ALGORITHM == "auto" and cuda_launch.CHUNK_BYTES == 256 << 20
    assert emu.conv_algorithm(10**6) == "direct" and cuda_backend.conv_algorithm(10**6) == "im2col"
    assert emu.conv.launch is emu.launch and emu.pool.launch is emu.launch
    assert emu.launch._launch is cuda_emulation.launch and cuda_launch._launch is not cuda_emulation.launch
    assert set(vars(emu)) >= set(cuda_backend.__all__)
