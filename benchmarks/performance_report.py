"""Regenerate docs/performance.md: every workload of the performance targets, run several times.

    python benchmarks/performance_report.py [--runs 3] [--before PATH [--before-runs N]]
                                            [--out docs/performance.md] [--keep DIR]

Runs the benchmark scripts of this directory -- bench_models.py, bench_conv.py (no hazards; torch
as the reference), bench_overhead.py, train_fashion_mnist.py (``--synthetic`` when the data is
absent), bench_memory.py and bench_startup.py -- ``--runs`` times, each in a fresh process, and
writes one table: per workload the median of the runs' ratios (gradcnn over torch, in the same
process; lower is better) and their spread (lowest and highest run), next to the target.

``--before PATH`` also runs the same scripts on another copy of the package (``PATH`` goes first on
``PYTHONPATH``; e.g. ``git archive HEAD | tar -x -C /tmp/before``), alternating with this one run by
run so that both meet the same machine load, and adds its column; ``--after PATH`` measures another
copy than this working tree (a snapshot, say). ``--keep DIR`` keeps every JSON.
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MODELS = ("lenet5", "lenet5_b256", "alexnet", "vgg11", "resnet18", "densenet121", "googlenet")
MODEL_TARGETS = {"densenet121": 1.2, "googlenet": 1.2}
CONV_SHAPES = ("lenet_c1", "lenet_c3", "vgg", "resnet", "alexnet_conv1", "conv1x1")
POOLS = ("pool_2x2", "pool_3x3")
OVERHEAD = ("add1", "add1_fwd_bwd", "linear8_fwd_bwd", "linear_fwd", "linear_fwd_bwd", "mlp_step")
OVERHEAD_TARGETS = {"add1": 1.0, "add1_fwd_bwd": 1.0, "linear8_fwd_bwd": 1.0}


def _script(name, args, json_path, pythonpath, timeout):
    env = dict(os.environ)
    env["PYTHONPATH"] = pythonpath + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, os.path.join(HERE, name), *args, "--json", json_path]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"{name}: over {timeout} s"}
    if proc.returncode != 0 or not os.path.exists(json_path):
        tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{name}: exit status {proc.returncode}: {tail}"}
    with open(json_path) as f:
        return json.load(f)


def _fashion_args():
    from_system = os.path.isdir("/usr/share/datasets/fashion-mnist") or os.environ.get("GRADCNN_DATA")
    return ["--epochs", "2"] if from_system else ["--epochs", "2", "--synthetic"]


def one_run(pythonpath, workdir, tag):
    """Every benchmark once on the package found through ``pythonpath``; their JSON, by name."""
    out = {}
    jobs = [
        ("models", "bench_models.py", ["--rounds", "5"], 3600),
        ("models_1t", "bench_models.py", ["--rounds", "3", "--threads", "1", "--clock", "cpu"], 3600),
        ("conv", "bench_conv.py", ["--no-hazards", "--no-numpy", "--repeat", "5"], 3600),
        ("overhead", "bench_overhead.py", ["--repeat", "7"], 1200),
        ("fashion", "train_fashion_mnist.py", _fashion_args(), 3600),
        ("memory", "bench_memory.py", [], 1200),
        ("startup", "bench_startup.py", [], 1200),
    ]
    for key, script, args, timeout in jobs:
        print(f"  {tag}: {script} {' '.join(args)}", flush=True)
        out[key] = _script(script, args, os.path.join(workdir, f"{tag}-{key}.json"), pythonpath, timeout)
    out["loadavg"] = os.getloadavg()
    return out


# -- the rows of the table ------------------------------------------------------------------------


def rows_of(run):
    """``{label: (value, target, kind)}`` for one run; ``kind`` is "ratio" (lower is better,
    target is a maximum) or "s" (seconds, target a maximum)."""
    rows = {}
    models = run.get("models")
    if isinstance(models, list):
        for r in models:
            if r.get("ratio") is not None:
                rows[f"train step {r['workload']} ({r['batch']})"] = (r["ratio"], MODEL_TARGETS.get(r["workload"], 1.0),
                                                                      "ratio")
    models_1t = run.get("models_1t")
    if isinstance(models_1t, list):
        for r in models_1t:
            if r.get("ratio") is not None:
                rows[f"one thread, CPU time: train step {r['workload']}"] = (r["ratio"], None, "ratio")
    fashion = run.get("fashion")
    if isinstance(fashion, dict) and "ratio" in fashion:
        label = "Fashion-MNIST LeNet-5 epoch" + (" (synthetic data)" if fashion.get("synthetic") else "")
        rows[label] = (fashion["ratio"], 1.0, "ratio")
    conv = run.get("conv")
    if isinstance(conv, dict) and "results" in conv:
        fb = []
        for r in conv["results"]:
            if "ratio_torch" not in r:
                continue
            if r["kind"] == "conv2d forward+backward":
                rows[f"conv2d fwd+bwd {r['name']}"] = (r["ratio_torch"], 1.2, "ratio")
                fb.append(r["ratio_torch"])
            elif r["kind"] == "max_pool2d forward+backward":
                rows[f"max_pool2d fwd+bwd {r['name']}"] = (r["ratio_torch"], 0.5, "ratio")
        if len(fb) == len(CONV_SHAPES):
            rows["conv2d fwd+bwd geometric mean"] = (math.exp(statistics.fmean(math.log(v) for v in fb)), 0.9, "ratio")
    overhead = run.get("overhead")
    if isinstance(overhead, dict) and "results" in overhead:
        for r in overhead["results"]:
            if "ratio" in r:
                rows[f"dispatch {r['workload']}"] = (r["ratio"], OVERHEAD_TARGETS.get(r["workload"]), "ratio")
    memory = run.get("memory")
    if isinstance(memory, dict) and "ratio_over_baseline" in memory:
        rows["peak RSS resnet18 step, less the imports"] = (memory["ratio_over_baseline"], 1.0, "ratio")
        rows["peak RSS resnet18 step, whole process"] = (memory["ratio_peak"], 1.0, "ratio")
    startup = run.get("startup")
    if isinstance(startup, dict):
        first = startup.get("first_step", {})
        if "ready_s" in first:
            rows["kernels ready from the cache (lenet5 first step - steady)"] = (first["ready_s"], 0.3, "s")
        if "warmup_s" in startup.get("cached", {}):
            rows["gradcnn.warmup() from the cache (every kernel)"] = (startup["cached"]["warmup_s"], None, "s")
        if "warmup_s" in startup.get("empty_cache", {}):
            rows["first compile of every kernel"] = (startup["empty_cache"]["warmup_s"], 10.0, "s")
    return rows


def summarize(runs):
    """``{label: {"median", "low", "high", "target", "kind", "n"}}`` over the runs."""
    values = {}
    meta = {}
    for run in runs:
        for label, (value, target, kind) in rows_of(run).items():
            values.setdefault(label, []).append(value)
            meta[label] = (target, kind)
    return {label: {"median": statistics.median(v), "low": min(v), "high": max(v), "target": meta[label][0],
                    "kind": meta[label][1], "n": len(v)} for label, v in values.items()}


def _cell(s):
    if s is None:
        return "-"
    unit = "x" if s["kind"] == "ratio" else " s"
    fmt = "{:.2f}"
    med = fmt.format(s["median"]) + unit
    return med if s["n"] == 1 else f"{med} ({fmt.format(s['low'])}-{fmt.format(s['high'])})"


def _target(s):
    if s["target"] is None:
        return "-"
    return f"<= {s['target']:.1f}x" if s["kind"] == "ratio" else f"<= {s['target']:g} s"


def _met(s):
    if s is None or s["target"] is None:
        return ""
    return "yes" if s["median"] <= s["target"] else "no"


def errors_of(runs):
    out = []
    for i, run in enumerate(runs):
        for key, value in run.items():
            if isinstance(value, dict) and "error" in value:
                out.append(f"run {i + 1}, {key}: {value['error']}")
    return out


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = f"{names[0]} x {len(names)}"
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 2**20
        mem_text = f"{mem:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        mem_text = "RAM unknown"
    versions = []
    for name in ("numpy", "numba", "torch"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            versions.append(f"{name} not importable")
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {mem_text}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, " + ", ".join(versions))


METHOD = """\
Every ratio is gradcnn's time over PyTorch's (CPU) for the same work in the same process, lower is
better; each script interleaves the two libraries sample by sample (alternating which goes first),
so that both meet the same machine load, and the whole set of scripts ran {runs} times, each
script in a fresh process. A cell shows the median of the {runs} runs and, in parentheses, the
lowest and highest run. Threads were not set: both libraries use their defaults (gradcnn's worker
pool and PyTorch's intra-op pool, one thread per logical CPU).

* Train steps (benchmarks/bench_models.py): zero_grad, forward, cross_entropy, backward, SGD step
  (lr 0.01, momentum 0.9), float32, the torch twin holding the same weights; median of 5 interleaved
  rounds of samples of at least 0.3 s each, each sample after 0.25 s idle (spinning threads of the
  other library asleep).
* One thread, CPU time (bench_models.py --threads 1 --clock cpu): the same steps with both
  libraries (and NumPy's BLAS) on one thread, timed by the process's CPU time: the work each
  library does per step, which other load on the machine moves far less than wall time, and which
  leaves out how well each uses a second core.
* Fashion-MNIST (benchmarks/train_fashion_mnist.py): LeNet-5, Adam, batch 128, epochs alternating
  between the libraries; the dataset files were {fashion}.
* conv2d and max_pool2d (benchmarks/bench_conv.py --no-hazards): forward and backward (input,
  weight, bias gradients) of the layer shapes listed there, results checked against torch first.
* Dispatch (benchmarks/bench_overhead.py): tiny workloads where the time is interpreter and
  bookkeeping; ``add1`` is ``a + b`` on one-element tensors with ``a`` requiring grad.
* Memory (benchmarks/bench_memory.py): peak RSS (VmHWM) during three ResNet-18 steps after two
  warm-up steps, each library in a process of its own; "less the imports" subtracts the RSS
  after importing the library (and NumPy, Numba, llvmlite for gradcnn; torch for torch).
* Start-up (benchmarks/bench_startup.py): fresh processes, an empty kernel cache directory.
"""


def render(after, before, runs_done, notes, started, finished):
    labels = list(after)
    if before:
        labels += [label for label in before if label not in after]
    lines = [
        "# Performance",
        "",
        "Regenerated by `python benchmarks/performance_report.py"
        + (" --before <copy of the previous version>`" if before else "`")
        + f" ({started:%Y-%m-%d %H:%M} to {finished:%H:%M} UTC).",
        "",
        f"Machine: {machine()}. Load average (1, 5, 15 min) before the runs: "
        + ", ".join(f"{v:.2f}" for v in notes["load_before"]) + "; after: "
        + ", ".join(f"{v:.2f}" for v in notes["load_after"]) + ". The machine is shared with other work: "
        "the spread columns show how much that moved the numbers.",
        "",
        "## How it was measured",
        "",
        METHOD.format(runs=runs_done, fashion=notes["fashion"]),
        "## Results",
        "",
    ]
    if before:
        n_before = max((v["n"] for v in before.values()), default=0)
        lines += [f"| workload | target | before ({n_before} run{'s' if n_before != 1 else ''}) | after "
                  f"({runs_done} runs) | target met |", "|---|---|---|---|---|"]
        for label in labels:
            a, b = after.get(label), before.get(label)
            s = a or b
            lines.append(f"| {label} | {_target(s)} | {_cell(b)} | {_cell(a)} | {_met(a)} |")
    else:
        lines += ["| workload | target | gradcnn / torch | target met |", "|---|---|---|---|"]
        for label in labels:
            s = after[label]
            lines.append(f"| {label} | {_target(s)} | {_cell(s)} | {_met(s)} |")
    if notes["errors"]:
        lines += ["", "Runs that failed:", ""] + [f"* {e}" for e in notes["errors"]]
    if notes.get("extra"):
        lines += ["", notes["extra"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="PATH", help="a copy of the package to measure too (goes first on PYTHONPATH)")
    parser.add_argument("--before-runs", type=int, metavar="N",
                        help="runs of --before (default: --runs); its first N runs alternate with this one's")
    parser.add_argument("--after", metavar="PATH", default=ROOT,
                        help="the package to measure (default: this working tree)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.md"))
    parser.add_argument("--keep", metavar="DIR", help="keep every benchmark's JSON in DIR")
    parser.add_argument("--notes", metavar="FILE", help="Markdown appended to the report (findings, floors)")
    parser.add_argument("--from-json", metavar="RUNS", help="render the runs.json of an earlier report, running nothing")
    args = parser.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        after_runs, before_runs = saved["after"], saved["before"]
        load_before, load_after = saved["load_before"], saved["load_after"]
        started = datetime.datetime.fromisoformat(saved["started"])
        finished = datetime.datetime.fromisoformat(saved["finished"])
        args.runs = len(after_runs)
    else:
        workdir = args.keep or tempfile.mkdtemp(prefix="gradcnn-perf-")
        os.makedirs(workdir, exist_ok=True)
        started = datetime.datetime.now(datetime.timezone.utc)
        load_before = os.getloadavg()
        after_runs, before_runs = [], []
        for i in range(args.runs):
            print(f"run {i + 1} of {args.runs}", flush=True)
            if args.before and i < (args.runs if args.before_runs is None else args.before_runs):
                before_runs.append(one_run(os.path.abspath(args.before), workdir, f"before{i + 1}"))
            after_runs.append(one_run(os.path.abspath(args.after), workdir, f"after{i + 1}"))
            # written after every run: an interrupted report can still be rendered (--from-json)
            finished = datetime.datetime.now(datetime.timezone.utc)
            load_after = os.getloadavg()
            with open(os.path.join(workdir, "runs.json"), "w") as f:
                json.dump({"after": after_runs, "before": before_runs, "load_before": load_before,
                           "load_after": load_after, "started": started.isoformat(),
                           "finished": finished.isoformat()}, f, indent=2)
    fashion = after_runs[0].get("fashion", {}) if after_runs else {}
    notes = {
        "load_before": load_before,
        "load_after": load_after,
        "errors": errors_of(after_runs) + [f"(before) {e}" for e in errors_of(before_runs)],
        "fashion": ("absent, so the epochs ran on synthetic images of the same shape (60,000 of "
                    "1x32x32; the time of an epoch does not depend on the pixels)"
                    if isinstance(fashion, dict) and fashion.get("synthetic") else "present"),
        "extra": open(args.notes).read().rstrip() if args.notes else "",
    }
    text = render(summarize(after_runs), summarize(before_runs) if before_runs else None, args.runs, notes,
                  started, finished)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    if not args.from_json:
        print(f"(JSON of every run in {workdir})")


if __name__ == "__main__":
    main()
