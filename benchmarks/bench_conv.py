"""Convolution and max-pooling on the CPU: gradcnn against PyTorch and a NumPy reference, same process.

    python benchmarks/bench_conv.py [--repeat 5] [--only vgg,pool_2x2,...] [--json results.json]
                                    [--no-hazards]

Workloads, all float32: ``conv2d`` forward (under ``no_grad``) and forward+backward (gradients for
input, weight and bias from ``y.backward(ones)``) on six layer shapes from LeNet, VGG, ResNet and
AlexNet plus a 1x1 convolution; ``max_pool2d`` forward+backward with 2x2/2 and 3x3/2 windows. Each
runs on the same data in gradcnn, in ``torch.nn.functional`` (when torch is importable) and in a
NumPy reference written here: im2col through ``sliding_window_view`` and ``np.tensordot``, its
backward as two more tensordots and a col2im of one strided add per kernel tap; max-pooling as an
argmax over the windows and a scatter through ``np.add.at``.

Method: before timing a shape, gradcnn's output and gradients are compared with every reference
(``rtol`` 1e-3, ``atol`` 1e-3 times the reference's largest magnitude) and the run stops if they
disagree. Then, per workload, one warm-up call per library and ``--repeat`` rounds (fewer for calls
slower than a second); a round takes one sample of each library back to back, the order alternating,
so that the libraries share the machine's load; a sample times a loop of enough calls to last
~0.2 s, after a quarter of a second idle (the threads the other library left spinning are then
asleep) and one untimed call (which wakes the library's own). Reported: each library's median and the ratio of the medians, with its spread (the lowest
and highest ratio of one round's samples). ``--no-numpy`` leaves the NumPy reference out of the
timing (torch is then the only reference).

Hazards (skip with ``--no-hazards``), each shown as a before/after pair:

* BLAS spin: after a NumPy GEMM, OpenBLAS's threads spin for a while; a Numba parallel kernel launched
  then fights them for the cores. A GEMM followed by a small conv is timed in subprocesses (Numba's
  threading layer is fixed per process): gradcnn's conv (serial kernels on gradcnn's own pool, BLAS
  held to one thread inside), against the design it replaced: the same im2col as a Numba ``prange``
  kernel, under the ``omp`` and ``workqueue`` threading layers.
* Workspace reuse: a whole-batch im2col of the VGG layer into a fresh 231 MB buffer against a
  reused one (page faults cost more than the copy), and gradcnn's chunked AlexNet conv1 forward
  with its per-thread workspaces kept or released before every call.
* Compile times: ``import gradcnn`` and ``gradcnn.warmup()`` with an empty kernel cache, then the
  warmup again from that cache, each in a fresh subprocess.

Threads are reported, not set. Do not launch this with ``OMP_NUM_THREADS=1``: convolution is a GEMM
on NumPy's BLAS threads (and torch's intra-op pool), so pinning them measures a different program.
The machine's load average is printed because a busy machine inflates every number here.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from types import SimpleNamespace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import gradcnn
import gradcnn.functional as gF
from gradcnn.backends import cpu

SEED = 0
# A sample loops a call until this long: shorter calls are swamped by timer jitter, and the first
# calls after an idle spell pay for waking the cores (the sample is a steady state, as training is).
MIN_SAMPLE_S = 0.2
SLOW_CALL_S = 1.0  # calls slower than this get at most SLOW_REPEAT samples
SLOW_REPEAT = 3
RTOL, ATOL_SCALE = 1e-3, 1e-3  # float32 sums over thousands of terms differ in the 4th digit
# Idle seconds before each sample: threads the previous library left spinning (OpenMP's, OpenBLAS's)
# would otherwise take a core from the next one.
SETTLE_S = 0.25
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

# name: (N, C, H, W, out_channels, kernel, stride, padding)
CONV_SHAPES = {
    "lenet_c1": (64, 1, 32, 32, 6, 5, 1, 0),
    "lenet_c3": (64, 6, 14, 14, 16, 5, 1, 0),
    "vgg": (32, 64, 56, 56, 64, 3, 1, 1),
    "resnet": (32, 128, 28, 28, 128, 3, 1, 1),
    "alexnet_conv1": (16, 3, 227, 227, 96, 11, 4, 0),
    "conv1x1": (32, 256, 14, 14, 64, 1, 1, 0),
}
# name: (N, C, H, W, kernel, stride)
POOL_SHAPES = {
    "pool_2x2": (64, 32, 56, 56, 2, 2),
    "pool_3x3": (64, 32, 56, 56, 3, 2),
}
HAZARDS = ("blas_spin", "workspace", "compile")

GEMM_SIZE = 512  # the GEMM that leaves OpenBLAS's threads spinning
SPIN_ITERATIONS = 20
IDLE_ITERATIONS = 8
IDLE_S = 0.3  # long enough for OpenBLAS's threads to stop spinning and sleep
WORKSPACE_SHAPE = "alexnet_conv1"
BUFFER_SHAPE = "vgg"
SPIN_SHAPE = "lenet_c3"


# -- libraries ------------------------------------------------------------------------------------


def gradcnn_lib():
    return SimpleNamespace(
        name="gradcnn", tensor=gradcnn.tensor, ones_like=gradcnn.ones_like, F=gF, no_grad=gradcnn.no_grad
    )


def torch_lib():
    """PyTorch under the same names, or ``None`` when it is not installed."""
    try:
        import torch
        import torch.nn.functional as tF
    except ImportError:
        return None
    return SimpleNamespace(
        name="torch", tensor=torch.tensor, ones_like=torch.ones_like, F=tF, no_grad=torch.no_grad
    )


def to_numpy(t):
    return np.asarray(t.detach())


# -- data -----------------------------------------------------------------------------------------


def conv_data(shape, seed=SEED):
    n, c, h, w, oc, k, _, _ = shape
    rng = np.random.default_rng(seed)
    bound = 1.0 / math.sqrt(c * k * k)
    return {
        "x": rng.standard_normal((n, c, h, w)).astype(np.float32),
        "w": rng.uniform(-bound, bound, (oc, c, k, k)).astype(np.float32),
        "b": rng.uniform(-bound, bound, oc).astype(np.float32),
    }


def pool_data(shape, seed=SEED):
    n, c, h, w = shape[:4]
    return {"x": np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)}


# -- workloads ------------------------------------------------------------------------------------
# Each takes a library, the data and the shape, and returns ``step()``: one call, which returns its
# output (and gradients) so that the libraries can be compared before anything is timed.


def conv_fwd(lib, data, shape):
    stride, pad = shape[6], shape[7]
    x, w, b = (lib.tensor(data[k]) for k in ("x", "w", "b"))

    def step():
        with lib.no_grad():
            return (lib.F.conv2d(x, w, b, stride=stride, padding=pad),)

    return step


def conv_fwd_bwd(lib, data, shape):
    stride, pad = shape[6], shape[7]
    x, w, b = (lib.tensor(data[k], requires_grad=True) for k in ("x", "w", "b"))
    gy = None

    def step():
        nonlocal gy
        x.grad = w.grad = b.grad = None
        y = lib.F.conv2d(x, w, b, stride=stride, padding=pad)
        if gy is None:
            gy = lib.ones_like(y)
        y.backward(gy)
        return y, x.grad, w.grad, b.grad

    return step


def pool_fwd_bwd(lib, data, shape):
    k, s = shape[4], shape[5]
    x = lib.tensor(data["x"], requires_grad=True)
    gy = None

    def step():
        nonlocal gy
        x.grad = None
        y = lib.F.max_pool2d(x, k, s)
        if gy is None:
            gy = lib.ones_like(y)
        y.backward(gy)
        return y, x.grad

    return step


# -- NumPy reference ------------------------------------------------------------------------------


def _windows(xp, k, s):
    """``(N, C, H, W) -> (N, C, Ho, Wo, k, k)``: a strided view, nothing copied yet."""
    return sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]


def ref_conv2d(x, w, b, s, p):
    """Forward; also returns the windows, which the backward needs (as autograd would save x)."""
    win = _windows(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))), w.shape[2], s)
    # tensordot gathers the windows into one (N*Ho*Wo, C*k*k) matrix (im2col) and calls one GEMM.
    y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return y + b.reshape(1, -1, 1, 1), win


def ref_conv2d_backward(gy, win, w, x_shape, s, p):
    """Gradients in x, w and b of ``ref_conv2d``."""
    n, c, h, wd = x_shape
    k = w.shape[2]
    ho, wo = gy.shape[2:]
    gb = gy.sum(axis=(0, 2, 3))
    gw = np.tensordot(gy, win, axes=([0, 2, 3], [0, 2, 3]))
    gcols = np.tensordot(gy, w, axes=([1], [0]))  # (N, Ho, Wo, C, k, k)
    gxp = np.zeros((n, c, h + 2 * p, wd + 2 * p), dtype=gy.dtype)
    for i in range(k):  # col2im: kernel tap (i, j) touches every s-th pixel from (i, j)
        for j in range(k):
            gxp[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s] += gcols[
                ..., i, j
            ].transpose(0, 3, 1, 2)
    return gxp[:, :, p : p + h, p : p + wd], gw, gb


def ref_max_pool2d(x, k, s):
    """Values and, per output, the flat ``h * W + w`` position of its (first) maximum."""
    n, c, h, w = x.shape
    win = _windows(x, k, s)
    ho, wo = win.shape[2:4]
    flat = win.reshape(n, c, ho, wo, k * k)
    arg = flat.argmax(axis=-1)
    y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    rows = np.arange(ho).reshape(-1, 1) * s + arg // k
    cols = np.arange(wo) * s + arg % k
    return y, rows * w + cols


def ref_max_pool2d_backward(gy, pos, x_shape):
    n, c, h, w = x_shape
    gx = np.zeros((n * c, h * w), dtype=gy.dtype)
    planes = np.arange(n * c).reshape(n, c, 1, 1)
    np.add.at(gx, (np.broadcast_to(planes, pos.shape), pos), gy)  # overlapping windows may share a max
    return gx.reshape(x_shape)


def numpy_conv_fwd(data, shape):
    s, p = shape[6], shape[7]

    def step():
        return (ref_conv2d(data["x"], data["w"], data["b"], s, p)[0],)

    return step


def numpy_conv_fwd_bwd(data, shape):
    s, p = shape[6], shape[7]
    x, w, b = data["x"], data["w"], data["b"]

    def step():
        y, win = ref_conv2d(x, w, b, s, p)
        return (y, *ref_conv2d_backward(np.ones_like(y), win, w, x.shape, s, p))

    return step


def numpy_pool_fwd_bwd(data, shape):
    k, s = shape[4], shape[5]
    x = data["x"]

    def step():
        y, pos = ref_max_pool2d(x, k, s)
        return y, ref_max_pool2d_backward(np.ones_like(y), pos, x.shape)

    return step


# (kind, shapes, library workload, NumPy workload); kind names the op in tables and the JSON.
BENCHES = (
    ("conv2d forward", CONV_SHAPES, conv_fwd, numpy_conv_fwd),
    ("conv2d forward+backward", CONV_SHAPES, conv_fwd_bwd, numpy_conv_fwd_bwd),
    ("max_pool2d forward+backward", POOL_SHAPES, pool_fwd_bwd, numpy_pool_fwd_bwd),
)
OUTPUT_NAMES = ("output", "grad input", "grad weight", "grad bias")


# -- timing ---------------------------------------------------------------------------------------


def _loop_time(step, k):
    start = time.perf_counter()
    for _ in range(k):
        step()
    return time.perf_counter() - start


def measure(step, repeat, first_s):
    """Median seconds per call over ``repeat`` samples; ``first_s`` is the duration of a warm call."""
    k = max(1, math.ceil(MIN_SAMPLE_S / max(first_s, 1e-9)))
    if first_s > SLOW_CALL_S:
        repeat = min(repeat, SLOW_REPEAT)
    samples = [_loop_time(step, k) / k for _ in range(repeat)]
    return statistics.median(samples), k, samples


def check_same_result(what, ours, ref, ref_name):
    """Stop before timing if gradcnn and a reference do not compute the same thing."""
    for label, a, b in zip(OUTPUT_NAMES, ours, ref):
        a, b = np.asarray(a), np.asarray(b)
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        atol = ATOL_SCALE * scale
        if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=atol):
            diff = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("nan")
            raise SystemExit(
                f"{what}: gradcnn and {ref_name} disagree on the {label} before timing: shapes {a.shape} "
                f"and {b.shape}, max |difference| {diff:.3g} (allowed {atol:.3g} + {RTOL} * |{ref_name}|, "
                f"atol = {ATOL_SCALE} * max |{ref_name}| = {ATOL_SCALE} * {scale:.3g})"
            )


def run_bench(kind, name, shape, make, make_ref, libs, repeat, numpy_ref=True):
    """One result row: check every library against gradcnn, then time them, interleaved: round
    after round one sample of each library (the order alternating), so that all of them run under
    the same load on a shared machine."""
    data = conv_data(shape) if "conv" in kind else pool_data(shape)
    steps = {lib.name: make(lib, data, shape) for lib in libs}
    if numpy_ref or len(steps) == 1:
        steps["numpy"] = make_ref(data, shape)
    firsts, first_s = {}, {}
    for lib_name, step in steps.items():
        step()  # warm-up: kernel compilation, workspace growth, first-touch page faults
        start = time.perf_counter()
        out = step()
        first_s[lib_name] = time.perf_counter() - start
        firsts[lib_name] = [a if isinstance(a, np.ndarray) else to_numpy(a) for a in out]
    for ref_name in ("torch", "numpy"):
        if ref_name in firsts:
            check_same_result(f"{kind} {name}", firsts["gradcnn"], firsts[ref_name], ref_name)
    del firsts
    row = {"kind": kind, "name": name, "shape": list(shape)}
    calls = {lib_name: max(1, math.ceil(MIN_SAMPLE_S / max(t, 1e-9))) for lib_name, t in first_s.items()}
    if max(first_s.values()) > SLOW_CALL_S:
        repeat = min(repeat, SLOW_REPEAT)
    samples = {lib_name: [] for lib_name in steps}
    order = list(steps)
    for r in range(repeat):
        for lib_name in order if r % 2 == 0 else order[::-1]:
            time.sleep(SETTLE_S)
            steps[lib_name]()  # untimed: wakes this library's own threads after the idle time
            samples[lib_name].append(_loop_time(steps[lib_name], calls[lib_name]) / calls[lib_name])
    for lib_name, times in samples.items():
        row[lib_name] = {"median_ms": statistics.median(times) * 1e3, "loop_calls": calls[lib_name],
                         "samples_ms": [t * 1e3 for t in times]}
    for ref_name in ("torch", "numpy"):
        if ref_name in row:
            row[f"ratio_{ref_name}"] = row["gradcnn"]["median_ms"] / row[ref_name]["median_ms"]
            rounds = [g / t for g, t in zip(samples["gradcnn"], samples[ref_name])]
            row[f"ratio_{ref_name}_spread"] = [min(rounds), max(rounds)]
    return row


def run(libs, repeat, only, numpy_ref=True):
    results = []
    for kind, shapes, make, make_ref in BENCHES:
        for name, shape in shapes.items():
            if only is None or name in only:
                results.append(run_bench(kind, name, shape, make, make_ref, libs, repeat, numpy_ref))
    return results


# -- hazards --------------------------------------------------------------------------------------


def _prange_im2col():
    """The im2col of the spin shape as a Numba parallel kernel: the design gradcnn replaced."""
    from numba import njit, prange

    @njit(parallel=True)
    def im2col(x, k, ho, cols):
        n_, c_, _, _ = x.shape
        per = ho * ho
        for r in prange(c_ * k * k):
            c, i, j = r // (k * k), (r // k) % k, r % k
            for n in range(n_):
                for oh in range(ho):
                    for ow in range(ho):
                        cols[r, n * per + oh * ho + ow] = x[n, c, oh + i, ow + j]

    n, c, h, _, _, k, _, _ = CONV_SHAPES[SPIN_SHAPE]
    x = np.random.default_rng(SEED).standard_normal((n, c, h, h)).astype(np.float32)
    ho = h - k + 1
    cols = np.empty((c * k * k, n * ho * ho), np.float32)
    return lambda: im2col(x, k, ho, cols)


def blas_spin_child(kind):
    """In a fresh process: a GEMM then a small conv forward (``kind`` "gradcnn") or a Numba
    parallel im2col of the same shape ("prange"), per iteration; prints JSON.

    Two baselines without the GEMM: back to back, and after a sleep long enough for every
    spinning thread to park."""
    import numba

    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((GEMM_SIZE, GEMM_SIZE)).astype(np.float32)
    shape = CONV_SHAPES[SPIN_SHAPE]
    conv = conv_fwd(gradcnn_lib(), conv_data(shape), shape) if kind == "gradcnn" else _prange_im2col()
    try:
        for _ in range(3):  # compile (or load) the kernels and grow the workspace
            a @ a
            conv()
    except Exception as exc:  # Numba raises ValueError when the requested layer cannot load
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return
    gemm, after = [], []
    for _ in range(SPIN_ITERATIONS):
        t0 = time.perf_counter()
        a @ a
        t1 = time.perf_counter()
        conv()
        t2 = time.perf_counter()
        gemm.append(t1 - t0)
        after.append(t2 - t1)
    alone = []
    for _ in range(SPIN_ITERATIONS):
        t0 = time.perf_counter()
        conv()
        alone.append(time.perf_counter() - t0)
    idle = []
    for _ in range(IDLE_ITERATIONS):
        time.sleep(IDLE_S)
        t0 = time.perf_counter()
        conv()
        idle.append(time.perf_counter() - t0)
    try:
        layer = numba.threading_layer()
    except ValueError:  # Numba's pool never started: gradcnn's kernels are serial
        layer = "none"
    print(
        json.dumps(
            {
                "threading_layer": layer,
                "gemm_ms": statistics.median(gemm) * 1e3,
                "conv_after_gemm_ms": statistics.median(after) * 1e3,
                "conv_back_to_back_ms": statistics.median(alone) * 1e3,
                "conv_after_idle_ms": statistics.median(idle) * 1e3,
                "iteration_ms": statistics.median(g + c for g, c in zip(gemm, after)) * 1e3,
            }
        )
    )


def _run_child(args, env, timeout=600):
    """Run ``python args...``; the last line of its stdout is JSON, or the failure is returned."""
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit status {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def hazard_blas_spin():
    base = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    runs = {}
    for label, kind, extra in (
        ("gradcnn conv2d", "gradcnn", {}),
        ("prange im2col, omp", "prange", {"NUMBA_THREADING_LAYER": "omp"}),
        ("prange im2col, workqueue", "prange", {"NUMBA_THREADING_LAYER": "workqueue"}),
    ):
        runs[label] = _run_child([os.path.abspath(__file__), "--child", f"blas_spin_{kind}"], {**base, **extra})
    return {
        "gemm": f"{GEMM_SIZE}x{GEMM_SIZE} @ {GEMM_SIZE}x{GEMM_SIZE} float32",
        "conv": SPIN_SHAPE,
        "runs": runs,
    }


def hazard_workspace(repeat):
    """Page faults of a fresh column buffer. The whole-batch im2col of the VGG layer (the design
    gradcnn replaced) into a fresh 231 MB buffer against a reused one; then gradcnn's forward,
    which builds cache-sized column matrices per chunk in per-thread workspaces, kept or released
    before every call."""
    n, c, h, _, o, k, s, p = CONV_SHAPES[BUFFER_SHAPE]
    x = np.random.default_rng(SEED).standard_normal((n, c, h, h)).astype(np.float32)
    ho = (h + 2 * p - k) // s + 1
    from gradcnn.backends.cpu import threads as cpu_threads  # here: older versions lack the module

    kernels = cpu_threads._k()
    reused = np.empty((c * k * k, n * ho * ho), np.float32)

    def whole(buf):
        kernels._im2col(x, k, k, s, s, p, p, 1, 1, ho, ho, buf)

    shape = CONV_SHAPES[WORKSPACE_SHAPE]
    step = conv_fwd(gradcnn_lib(), conv_data(shape), shape)

    def fresh_step():
        cpu.release_workspace()
        return step()

    rows = {}
    for label, fn in (
        (f"whole-batch im2col, fresh {reused.nbytes >> 20} MB", lambda: whole(np.empty_like(reused))),
        ("whole-batch im2col, reused buffer", lambda: whole(reused)),
        (f"gradcnn conv2d {WORKSPACE_SHAPE}, kept", step),
        (f"gradcnn conv2d {WORKSPACE_SHAPE}, released", fresh_step),
    ):
        fn()
        start = time.perf_counter()
        fn()
        rows[label] = measure(fn, repeat, time.perf_counter() - start)[0] * 1e3
    cpu.release_workspace()
    return {"conv": f"{BUFFER_SHAPE} (im2col), {WORKSPACE_SHAPE} (conv2d forward)", "forward_ms": rows}


COMPILE_CHILD = textwrap.dedent(
    """
    import json, time
    t0 = time.perf_counter()
    import gradcnn
    t1 = time.perf_counter()
    reported = gradcnn.warmup()
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "warmup_s": t2 - t1, "warmup_reported_s": reported}))
    """
)


def hazard_compile():
    with tempfile.TemporaryDirectory(prefix="gradcnn-cache-") as cache:
        env = {**os.environ, "GRADCNN_CACHE_DIR": cache}
        env.pop("GRADCNN_NUMBA_CACHE", None)
        first = _run_child(["-c", COMPILE_CHILD], env)
        files = sum(len(names) for _, _, names in os.walk(cache))
        cached = _run_child(["-c", COMPILE_CHILD], env)
    return {"empty_cache": first, "cached": cached, "cache_files": files}


def run_hazards(repeat, only):
    hazards = {}
    if only is None or "blas_spin" in only:
        hazards["blas_spin"] = hazard_blas_spin()
    if only is None or "workspace" in only:
        hazards["workspace"] = hazard_workspace(repeat)
    if only is None or "compile" in only:
        hazards["compile"] = hazard_compile()
    return hazards


# -- report ---------------------------------------------------------------------------------------


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return {f"{p['internal_api']} ({p['user_api']})": p["num_threads"] for p in threadpool_info()}


def environment(torch_mod, repeat, warmup_s):
    import numba

    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "gradcnn": gradcnn.__version__,
        "torch": None if torch_mod is None else torch_mod.__version__,
        "torch_threads": None if torch_mod is None else torch_mod.get_num_threads(),
        "gradcnn_threads": cpu.num_threads(),
        "blas_threads": _blas_threads(),
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "warmup_s": warmup_s,
        "repeat": repeat,
    }
    for var in BLAS_THREAD_VARS:
        env[var] = os.environ.get(var)
    return env


def format_header(env):
    if env["torch"]:
        torch_part = f"torch {env['torch']} (threads {env['torch_threads']})"
    else:
        torch_part = "torch not importable: torch timings missing, numpy reference only"
    blas = env["blas_threads"]
    blas_part = ", ".join(f"{k} {v}" for k, v in blas.items()) if blas else "unknown (no threadpoolctl)"
    variables = ", ".join(f"{k}={env[k] or 'unset'}" for k in BLAS_THREAD_VARS)
    load = ", ".join(f"{x:.2f}" for x in env["loadavg"])
    return "\n".join(
        [
            f"python {env['python']}, numpy {env['numpy']}, numba {env['numba']}, gradcnn {env['gradcnn']}, "
            f"{torch_part}",
            f"gradcnn worker threads {env['gradcnn_threads']} (serial Numba kernels, BLAS at 1 thread "
            f"inside them); BLAS threads otherwise: {blas_part}",
            f"cpu_count {env['cpu_count']}; load average {load} (1, 5, 15 min); {variables}",
            f"gradcnn.warmup() {env['warmup_s']:.2f} s; median of {env['repeat']} samples "
            f"(at most {SLOW_REPEAT} for calls over {SLOW_CALL_S:.0f} s) after one warm-up call; float32",
        ]
    )


def _shape_text(shape):
    if len(shape) == 8:
        n, c, h, w, oc, k, s, p = shape
        return f"{n}x{c}x{h}x{w} -> {oc}, k{k} s{s} p{p}"
    n, c, h, w, k, s = shape
    return f"{n}x{c}x{h}x{w}, {k}x{k}/{s}"


def _ms(row, lib):
    return f"{row[lib]['median_ms']:.2f}" if lib in row else "-"


def _ratio(row, ref):
    key = f"ratio_{ref}"
    return f"{row[key]:.2f}x" if key in row else "-"


def format_table(kind, rows):
    lines = [
        f"{kind} (median ms)",
        f"  {'shape':<15}{'N x C x H x W':<29}{'gradcnn':>10}{'torch':>10}{'numpy':>10}{'g/torch':>9}{'g/numpy':>9}",
    ]
    for row in rows:
        lines.append(
            f"  {row['name']:<15}{_shape_text(row['shape']):<29}{_ms(row, 'gradcnn'):>10}"
            f"{_ms(row, 'torch'):>10}{_ms(row, 'numpy'):>10}{_ratio(row, 'torch'):>9}{_ratio(row, 'numpy'):>9}"
        )
    return "\n".join(lines)


def geometric_mean(values):
    # The geometric mean treats 2x slower and 2x faster symmetrically.
    return math.exp(statistics.fmean(math.log(v) for v in values))


def summarize(results):
    """Geometric means and worst shape per kind and reference, for the summary lines and the JSON."""
    summary = {}
    for kind, _, _, _ in BENCHES:
        rows = [r for r in results if r["kind"] == kind]
        for ref in ("torch", "numpy"):
            key = f"ratio_{ref}"
            rated = [r for r in rows if key in r]
            if rated:
                worst = max(rated, key=lambda r: r[key])
                summary[f"{kind} vs {ref}"] = {
                    "geomean": geometric_mean(r[key] for r in rated),
                    "shapes": len(rated),
                    "worst": worst["name"],
                    "worst_ratio": worst[key],
                    "ratios": {r["name"]: r[key] for r in rated},
                }
    return summary


def format_summary(summary):
    lines = []
    for ref in ("torch", "numpy"):
        conv = summary.get(f"conv2d forward+backward vs {ref}")
        if conv:
            lines.append(
                f"conv2d fwd+bwd gradcnn/{ref}: geometric mean {conv['geomean']:.2f}x over {conv['shapes']} "
                f"shapes, worst {conv['worst']} {conv['worst_ratio']:.2f}x"
            )
        fwd = summary.get(f"conv2d forward vs {ref}")
        if fwd:
            lines.append(
                f"conv2d forward gradcnn/{ref}: geometric mean {fwd['geomean']:.2f}x, "
                f"worst {fwd['worst']} {fwd['worst_ratio']:.2f}x"
            )
        pool = summary.get(f"max_pool2d forward+backward vs {ref}")
        if pool:
            each = ", ".join(f"{name} {r:.2f}x" for name, r in pool["ratios"].items())
            lines.append(f"max_pool2d fwd+bwd gradcnn/{ref}: {each} (geometric mean {pool['geomean']:.2f}x)")
    if not any(k.endswith("vs torch") for k in summary):
        lines.insert(0, "no torch reference: ratios against the NumPy reference only")
    return "\n".join(lines)


def format_hazards(hazards):
    out = []
    spin = hazards.get("blas_spin")
    if spin:
        out.append(
            f"hazard: BLAS spin ({spin['gemm']}, then conv2d forward {SPIN_SHAPE}; median ms, "
            f"{SPIN_ITERATIONS} iterations; baselines: conv back to back, conv after {IDLE_S} s asleep)"
        )
        out.append(
            f"  {'after the GEMM':<27}{'layer':>10}{'gemm+conv':>11}{'gemm':>8}{'conv after gemm':>17}"
            f"{'back to back':>14}{'after sleep':>13}"
        )
        for label, r in spin["runs"].items():
            if "error" in r:
                why = "threading layer unavailable" if "prange" in label else "failed"
                out.append(f"  {label:<28}{why}: {r['error']}")
            else:
                out.append(
                    f"  {label:<27}{r['threading_layer']:>10}{r['iteration_ms']:>11.2f}{r['gemm_ms']:>8.2f}"
                    f"{r['conv_after_gemm_ms']:>17.2f}{r['conv_back_to_back_ms']:>14.2f}{r['conv_after_idle_ms']:>13.2f}"
                )
    ws = hazards.get("workspace")
    if ws:
        out.append(f"hazard: im2col buffers, {ws['conv']} (median ms)")
        for label, ms in ws["forward_ms"].items():
            out.append(f"  {label:<42}{ms:>9.2f}")
    comp = hazards.get("compile")
    if comp:
        out.append("hazard: kernel compilation (seconds, each in a fresh process, GRADCNN_CACHE_DIR=<tmp>)")
        first, cached = comp["empty_cache"], comp["cached"]
        for label, r, key in (
            ("import gradcnn", first, "import_s"),
            ("warmup, empty cache", first, "warmup_s"),
            ("warmup, from cache", cached, "warmup_s"),
        ):
            value = f"{r[key]:>9.2f}" if key in r else f"  failed: {r['error']}"
            out.append(f"  {label:<28}{value}")
        out.append(f"  ({comp['cache_files']} files in the cache after the first run)")
    return "\n".join(out)


def main(argv=None):
    names = (*CONV_SHAPES, *POOL_SHAPES, *HAZARDS)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed samples per measurement (median taken)")
    parser.add_argument("--only", metavar="NAME,...", help=f"run only these of: {', '.join(names)}")
    parser.add_argument("--json", metavar="PATH", help="also write every number as JSON to PATH")
    parser.add_argument("--no-hazards", action="store_true", help="skip the hazard demonstrations")
    parser.add_argument("--no-numpy", action="store_true",
                        help="time gradcnn against torch only (the NumPy reference still checks results without torch)")
    parser.add_argument("--child", choices=["blas_spin_gradcnn", "blas_spin_prange"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return blas_spin_child(args.child.rsplit("_", 1)[1])
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    only = None
    if args.only:
        only = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = sorted(only - set(names))
        if unknown:
            parser.error(f"--only: unknown {', '.join(unknown)}; known: {', '.join(names)}")

    warmup_s = gradcnn.warmup()  # compile before timing, and start Numba's threads for the header
    ref = torch_lib()
    torch_mod = sys.modules.get("torch") if ref is not None else None
    env = environment(torch_mod, args.repeat, warmup_s)
    print(format_header(env), flush=True)
    libs = [gradcnn_lib()] + ([ref] if ref is not None else [])
    results = run(libs, args.repeat, only, numpy_ref=not args.no_numpy)
    for kind, _, _, _ in BENCHES:
        rows = [r for r in results if r["kind"] == kind]
        if rows:
            print()
            print(format_table(kind, rows))
    summary = summarize(results)
    if summary:
        print()
        print(format_summary(summary))
    hazards = {} if args.no_hazards else run_hazards(args.repeat, only)
    if hazards:
        print()
        print(format_hazards(hazards))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"environment": env, "results": results, "summary": summary, "hazards": hazards}, f, indent=2
            )
            f.write("\n")
    return {"results": results, "summary": summary, "hazards": hazards}


if __name__ == "__main__":
    main()
