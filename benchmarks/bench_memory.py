"""Peak memory (RSS) of a training step: gradcnn against the torch twin, each in a fresh process.

    python benchmarks/bench_memory.py [--model resnet18] [--steps 3] [--json results.json]

A step is bench_models.py's (zero_grad, forward, cross_entropy, backward, SGD with momentum) on the
same batch shape (ResNet-18: 8x3x64x64). Each library runs in a process of its own, so that one's
allocations do not hide in the other's. In each: the imports (the library and its compilers: torch;
NumPy, Numba, llvmlite), RSS read; the model built and two warm-up steps run (weights, optimizer
state, kernels compiled or loaded from the cache, allocator pools); the peak RSS reset
(``/proc/self/clear_refs``) and ``--steps`` more steps run. Reported: the peak RSS of those steps
(``VmHWM``) and that peak less the RSS after the imports, which counts what the model and its
training need (weights, gradients, optimizer buffers, activations, workspaces, JIT code) and not the
libraries themselves. Linux only.
"""

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import importlib.util, json, sys
lib, path, model_name, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(field)

import numpy as np
if lib == "gradcnn":
    import numba, llvmlite.binding  # what gradcnn's kernels need, loaded before the baseline as torch is
    import gradcnn
else:
    import torch
spec = importlib.util.spec_from_file_location("bench_models", path)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
baseline = status("VmRSS")
name, shape = bench.WORKLOADS[model_name]
rng = np.random.default_rng(0)
x = rng.standard_normal(shape, dtype=np.float32)
y = (np.arange(shape[0]) % bench.NUM_CLASSES).astype(np.int64)
if lib == "gradcnn":
    gradcnn.manual_seed(0)
    step = bench.gradcnn_step(gradcnn.create_model(name, num_classes=bench.NUM_CLASSES), x, y)
else:
    step = bench.torch_step(bench.torch_twins()[name](bench.NUM_CLASSES), x, y)
for _ in range(2):
    step()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current RSS
before = status("VmRSS")
for _ in range(steps):
    step()
peak = status("VmHWM")
print(json.dumps({"baseline_mb": baseline, "before_steps_mb": before, "peak_mb": peak, "peak_over_baseline_mb": peak - baseline}))
"""


def measure(lib, model, steps):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_models.py")
    proc = subprocess.run([sys.executable, "-c", CHILD, lib, path, model, str(steps)], capture_output=True, text=True,
                          timeout=1200)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit status {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def run(model="resnet18", steps=3, libs=("gradcnn", "torch")):
    rows = {lib: measure(lib, model, steps) for lib in libs}
    ok = all("error" not in r for r in rows.values())
    if ok and "torch" in rows:
        rows["ratio_peak"] = rows["gradcnn"]["peak_mb"] / rows["torch"]["peak_mb"]
        rows["ratio_over_baseline"] = rows["gradcnn"]["peak_over_baseline_mb"] / rows["torch"]["peak_over_baseline_mb"]
    return rows


def format_rows(model, rows):
    lines = [f"peak RSS of a {model} training step (MB; each library in a fresh process)",
             f"  {'library':<9}{'after imports':>15}{'peak in a step':>16}{'peak - imports':>16}"]
    for lib in ("gradcnn", "torch"):
        r = rows.get(lib)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"  {lib:<9}failed: {r['error']}")
        else:
            lines.append(f"  {lib:<9}{r['baseline_mb']:>15.0f}{r['peak_mb']:>16.0f}{r['peak_over_baseline_mb']:>16.0f}")
    if "ratio_peak" in rows:
        lines.append(f"  gradcnn/torch: peak {rows['ratio_peak']:.2f}x, peak - imports {rows['ratio_over_baseline']:.2f}x")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18", help="a workload of bench_models.py (default resnet18)")
    parser.add_argument("--steps", type=int, default=3, help="steps measured after two warm-up steps")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    if not os.path.exists("/proc/self/clear_refs"):
        print("bench_memory: needs Linux's /proc/self/clear_refs to reset the peak RSS; skipped", file=sys.stderr)
        return None
    libs = ("gradcnn",) if args.no_torch else ("gradcnn", "torch")
    rows = run(args.model, args.steps, libs)
    print(format_rows(args.model, rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
