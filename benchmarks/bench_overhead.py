"""Per-op Python overhead of small training-loop work: gradcnn against PyTorch (CPU), same process.

    python benchmarks/bench_overhead.py [--repeat 7] [--json results.json]

The workloads are tiny on purpose (a 1-element add, a 32x64 linear layer, ``nn.Linear(8, 8)`` at
batch 1, a 64-128-10 MLP step), so the time measured is almost all interpreter and bookkeeping cost,
not arithmetic. Each workload is
written once against the names both libraries share (``tensor``, ``functional``, ``no_grad``) and
runs on the same float32 data in both. Without torch the gradcnn timings are printed alone.

Method: for each workload and library, calibrate a loop of K iterations to last about 0.1 s, run it
once to warm up, then time ``--repeat`` rounds of one loop per library (interleaved, the order
alternating) and report each library's median time per iteration, the ratio of the medians and the
spread of the round-by-round ratios.

Threads are reported, not set. For overhead numbers launch with ``OMP_NUM_THREADS=1``: it pins both
torch's intra-op pool and NumPy's OpenBLAS (which reads it only when it loads). On small machines
torch's default pool can spend milliseconds waking its threads on every op, which swamps the overhead
this script is after.
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from types import SimpleNamespace

import numpy as np

import gradcnn
import gradcnn.functional as gF

TARGET_S = 0.1  # wall time of one timed loop: long enough to swamp timer resolution and jitter
SETTLE_S = 0.25  # idle before each timed loop, so that no thread of the other library still spins
LR = 1e-3  # small enough that thousands of SGD steps on random data stay finite
SEED = 0
# NumPy's BLAS reads its thread count from these when it loads, so they are reported, not set.
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# -- libraries ------------------------------------------------------------------------------------


def gradcnn_lib():
    return SimpleNamespace(name="gradcnn", tensor=gradcnn.tensor, F=gF, no_grad=gradcnn.no_grad, nn=gradcnn.nn)


def torch_lib():
    """PyTorch under the same names, or ``None`` when it is not installed."""
    try:
        import torch
        import torch.nn.functional as tF
    except ImportError:
        return None
    return SimpleNamespace(name="torch", tensor=torch.tensor, F=tF, no_grad=torch.no_grad, nn=torch.nn)


# -- data and workloads ---------------------------------------------------------------------------


def make_data(seed=SEED):
    """NumPy arrays every workload starts from; each library copies them into its own tensors."""
    rng = np.random.default_rng(seed)

    def uniform(shape, fan_in):
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    return {
        "add_a": rng.standard_normal(1).astype(np.float32),
        "add_b": rng.standard_normal(1).astype(np.float32),
        "x": rng.standard_normal((32, 64)).astype(np.float32),
        "y": rng.integers(0, 10, 32).astype(np.int64),
        "w": uniform((10, 64), 64),
        "b": uniform((10,), 64),
        "w1": uniform((128, 64), 64),
        "b1": uniform((128,), 64),
        "w2": uniform((10, 128), 128),
        "b2": uniform((10,), 128),
        "x8": rng.standard_normal((1, 8)).astype(np.float32),
        "w8": uniform((8, 8), 8),
        "b8": uniform((8,), 8),
    }


# Each workload takes a library and the data and returns ``step()``: one iteration, which returns a
# tensor so the two libraries' results can be compared before any timing.


def add1(lib, data):
    a = lib.tensor(data["add_a"], requires_grad=True)
    b = lib.tensor(data["add_b"])

    def step():
        return a + b

    return step


def add1_fwd_bwd(lib, data):
    a = lib.tensor(data["add_a"], requires_grad=True)
    b = lib.tensor(data["add_b"])

    def step():
        c = a + b
        c.backward()
        a.grad = None
        return c

    return step


def linear_fwd(lib, data):
    x = lib.tensor(data["x"])
    w = lib.tensor(data["w"], requires_grad=True)
    b = lib.tensor(data["b"], requires_grad=True)

    def step():
        return lib.F.linear(x, w, b)

    return step


def linear_fwd_bwd(lib, data):
    x = lib.tensor(data["x"])
    w = lib.tensor(data["w"], requires_grad=True)
    b = lib.tensor(data["b"], requires_grad=True)

    def step():
        out = lib.F.linear(x, w, b).sum()
        out.backward()
        w.grad = b.grad = None
        return out

    return step


def linear8_fwd_bwd(lib, data):
    """``nn.Linear(8, 8)`` at batch 1, forward and backward: nothing but dispatch."""
    layer = lib.nn.Linear(8, 8)
    layer.load_state_dict({"weight": lib.tensor(data["w8"]), "bias": lib.tensor(data["b8"])})
    x = lib.tensor(data["x8"])

    def step():
        out = layer(x).sum()
        out.backward()
        layer.weight.grad = layer.bias.grad = None
        return out

    return step


def mlp_step(lib, data):
    x, y = lib.tensor(data["x"]), lib.tensor(data["y"])
    params = [lib.tensor(data[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2")]
    w1, b1, w2, b2 = params
    F = lib.F

    def step():
        loss = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), y)
        loss.backward()
        with lib.no_grad():
            for p in params:
                p.sub_(p.grad * LR)
                p.grad = None
        return loss

    return step


WORKLOADS = {f.__name__: f for f in (add1, add1_fwd_bwd, linear_fwd, linear_fwd_bwd, linear8_fwd_bwd, mlp_step)}


# -- timing ---------------------------------------------------------------------------------------


def _loop_time(step, k):
    start = time.perf_counter()
    for _ in range(k):
        step()
    return time.perf_counter() - start


def calibrate(step, target_s=TARGET_S):
    """Iterations per loop so that one loop lasts about ``target_s``."""
    n = 1
    while True:
        elapsed = _loop_time(step, n)
        # A fifth of the target is long enough to extrapolate from without wasting time.
        if elapsed >= target_s / 5:
            return max(1, round(n * target_s / elapsed))
        n *= 2


def measure(step, repeat, target_s=TARGET_S):
    """Median seconds per iteration over ``repeat`` loops, plus the loop length and every sample.

    The garbage collector stays on, as it is in a training loop: if an op leaves reference cycles,
    collecting them is part of its overhead.
    """
    k = calibrate(step, target_s)
    _loop_time(step, k)  # warm-up at full length: caches, allocator pools, lazy imports
    samples = [_loop_time(step, k) / k for _ in range(repeat)]
    return statistics.median(samples), k, samples


def check_same_result(name, ours, ref):
    """Stop before timing if the two libraries do not compute the same thing."""
    a, b = np.asarray(ours.detach()), np.asarray(ref.detach())
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5):
        diff = np.max(np.abs(a - b)) if a.shape == b.shape else float("nan")
        raise SystemExit(
            f"{name}: gradcnn and torch disagree before timing: shapes {a.shape} and {b.shape}, "
            f"max |difference| {diff:.3g} (allowed 1e-5 + 1e-4 * |torch|)"
        )


def run(libs, repeat, target_s=TARGET_S):
    """One result dict per workload: median microseconds per iteration for each library, the
    libraries' loops interleaved (one of each per round, the order alternating) so that they share
    the machine's load."""
    data = make_data()
    results = []
    for name, make in WORKLOADS.items():
        steps = {lib.name: make(lib, data) for lib in libs}
        firsts = {lib_name: step() for lib_name, step in steps.items()}
        if "torch" in firsts:
            check_same_result(name, firsts["gradcnn"], firsts["torch"])
        loops = {}
        for lib_name, step in steps.items():
            loops[lib_name] = calibrate(step, target_s)
            _loop_time(step, loops[lib_name])  # warm-up at full length: caches, allocator pools, lazy imports
        samples = {lib_name: [] for lib_name in steps}
        order = list(steps)
        for r in range(repeat):
            for lib_name in order if r % 2 == 0 else order[::-1]:
                time.sleep(SETTLE_S)  # the other library's spinning threads go to sleep first
                _loop_time(steps[lib_name], 10)  # untimed: wakes this library's own threads
                samples[lib_name].append(_loop_time(steps[lib_name], loops[lib_name]) / loops[lib_name])
        row = {"workload": name}
        for lib_name, times in samples.items():
            row[lib_name] = {
                "median_us": statistics.median(times) * 1e6,
                "loop_iterations": loops[lib_name],
                "samples_us": [s * 1e6 for s in times],
            }
        if "torch" in row:
            row["ratio"] = row["gradcnn"]["median_us"] / row["torch"]["median_us"]
            rounds = [g / t for g, t in zip(samples["gradcnn"], samples["torch"])]
            row["ratio_spread"] = [min(rounds), max(rounds)]
        results.append(row)
    return results


# -- report ---------------------------------------------------------------------------------------


def environment(torch_mod, repeat):
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gradcnn": gradcnn.__version__,
        "torch": None if torch_mod is None else torch_mod.__version__,
        "torch_threads": None if torch_mod is None else torch_mod.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "repeat": repeat,
        "target_loop_s": TARGET_S,
    }
    for var in BLAS_THREAD_VARS:
        env[var] = os.environ.get(var)
    return env


def format_header(env):
    blas = ", ".join(f"{k}={env[k] or 'unset'}" for k in BLAS_THREAD_VARS)
    if env["torch"]:
        torch_part = f"torch {env['torch']} (threads {env['torch_threads']})"
    else:
        torch_part = "torch not importable: reference timings missing"
    lines = [
        f"python {env['python']}, numpy {env['numpy']}, gradcnn {env['gradcnn']}, {torch_part}",
        f"cpu_count {env['cpu_count']}; {blas}",
        f"median of {env['repeat']} loops of ~{env['target_loop_s']} s each; microseconds per iteration",
    ]
    if env["torch"] and env["torch_threads"] > 1:
        lines.append(
            "note: torch runs several threads; their wake-ups may dominate its times "
            "(OMP_NUM_THREADS=1 pins them)"
        )
    return "\n".join(lines)


def format_table(results):
    lines = [f"{'workload':<16}{'gradcnn us':>12}{'torch us':>12}{'ratio':>9}"]
    for row in results:
        ours = f"{row['gradcnn']['median_us']:.1f}"
        ref = f"{row['torch']['median_us']:.1f}" if "torch" in row else "-"
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else "-"
        lines.append(f"{row['workload']:<16}{ours:>12}{ref:>12}{ratio:>9}")
    return "\n".join(lines)


def format_overall(results):
    ratios = [row["ratio"] for row in results if "ratio" in row]
    if not ratios:
        return "overall: no torch reference, no ratio"
    # The geometric mean is the mean that treats 2x slower and 2x faster symmetrically.
    geo = math.exp(statistics.fmean(math.log(r) for r in ratios))
    worst = max(results, key=lambda row: row["ratio"])
    return (
        f"overall: gradcnn/torch geometric mean {geo:.2f}x over {len(ratios)} workloads "
        f"(worst {worst['workload']} {worst['ratio']:.2f}x)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed loops per measurement (median taken)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")

    ref = torch_lib()
    torch_mod = sys.modules.get("torch") if ref is not None else None
    env = environment(torch_mod, args.repeat)
    libs = [gradcnn_lib()] + ([ref] if ref is not None else [])
    results = run(libs, args.repeat)

    print(format_header(env))
    print()
    print(format_table(results))
    print(format_overall(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "results": results}, f, indent=2)
            f.write("\n")
    return results


if __name__ == "__main__":
    main()
