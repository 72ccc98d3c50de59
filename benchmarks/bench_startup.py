"""Start-up costs: importing gradcnn, compiling its kernels, loading them from the cache.

    python benchmarks/bench_startup.py [--model lenet5] [--json results.json]

Each measurement runs in a fresh process with its own, initially empty, kernel cache
(``GRADCNN_CACHE_DIR``):

* ``import gradcnn``;
* ``gradcnn.warmup()`` with the cache empty: every kernel compiled, for float32 and float64;
* ``gradcnn.warmup()`` again, in a new process: every kernel loaded from the cache;
* the first training step of a model (bench_models.py's step) in a new process with a warm cache,
  less the median of the steps after it: what loading the kernels that model uses costs when it
  first uses them (the way a training script meets them; ``warmup()`` is not called).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

WARMUP = r"""
import json, time
t0 = time.perf_counter()
import gradcnn
t1 = time.perf_counter()
reported = gradcnn.warmup()
print(json.dumps({"import_s": t1 - t0, "warmup_s": time.perf_counter() - t1, "warmup_reported_s": reported}))
"""

FIRST_STEP = r"""
import importlib.util, json, statistics, sys, time
import numpy as np
import gradcnn
spec = importlib.util.spec_from_file_location("bench_models", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
name, shape = bench.WORKLOADS[sys.argv[2]]
gradcnn.manual_seed(0)
x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
y = (np.arange(shape[0]) % bench.NUM_CLASSES).astype(np.int64)
step = bench.gradcnn_step(gradcnn.create_model(name, num_classes=bench.NUM_CLASSES), x, y)
times = []
for _ in range(8):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
steady = statistics.median(times[3:])
print(json.dumps({"first_step_s": times[0], "steady_step_s": steady, "ready_s": times[0] - steady}))
"""


def _child(code, args, env):
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=900)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit status {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def run(model="lenet5"):
    bench_models = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_models.py")
    with tempfile.TemporaryDirectory(prefix="gradcnn-cache-") as cache:
        env = {**os.environ, "GRADCNN_CACHE_DIR": cache}
        env.pop("GRADCNN_NUMBA_CACHE", None)
        compiled = _child(WARMUP, [], env)
        cached = _child(WARMUP, [], env)
        first = _child(FIRST_STEP, [bench_models, model], env)
    return {"model": model, "empty_cache": compiled, "cached": cached, "first_step": first}


def format_result(r):
    def value(d, key):
        return f"{d[key]:.2f} s" if key in d else f"failed: {d.get('error')}"

    return "\n".join([
        "start-up (each in a fresh process, GRADCNN_CACHE_DIR=<new temporary directory>)",
        f"  import gradcnn                           {value(r['empty_cache'], 'import_s')}",
        f"  warmup(), empty cache (compile all)      {value(r['empty_cache'], 'warmup_s')}",
        f"  warmup(), from the cache (load all)      {value(r['cached'], 'warmup_s')}",
        f"  {r['model']} first step - steady step (cached)  {value(r['first_step'], 'ready_s')}",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5", help="a workload of bench_models.py (default lenet5)")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    result = run(args.model)
    print(format_result(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
