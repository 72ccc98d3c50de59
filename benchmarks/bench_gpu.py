"""Convolution, max-pooling and LeNet-5 training on a CUDA GPU: gradcnn against torch (cuDNN), same process.

    python benchmarks/bench_gpu.py [--repeat 10] [--quick] [--algorithms] [--train] [--epochs 20] [--out results.json]

Workloads: those of benchmarks/bench_conv.py, on its shapes and data (``CONV_SHAPES``,
``POOL_SHAPES``, ``conv_data``, ``pool_data`` and the step builders are imported from it), float32:
``conv2d`` forward, ``conv2d`` forward+backward and ``max_pool2d`` forward+backward. gradcnn runs on
``"cuda"`` (CuPy RawKernels, cuBLAS GEMMs); the reference is ``torch.nn.functional`` on ``"cuda"``
(cuDNN with torch's defaults, ``cudnn.benchmark`` off, except TF32, turned off so that both compute
in full float32). Without a CUDA build of torch the reference is gradcnn on the CPU: the ratios then
say what the GPU gains, and the 3x target does not apply.

Method, per shape and library: the first call is timed on its own ("first call": for gradcnn it
includes compiling the RawKernels that call needs, for torch cuDNN's set-up); then warm-up calls;
then gradcnn's outputs and gradients are checked against the reference's (bench_conv's tolerances);
then the median over ``--repeat`` samples, a sample being a loop of enough calls to last ~20 ms
between two device synchronisations, divided by the number of calls. Target: conv2d
forward+backward within 3x of torch+cuDNN on every shape; rows over 3x are flagged.

``--algorithms``: conv2d forward+backward on the same shapes through each of gradcnn's CUDA
convolution algorithms (``gradcnn.backends.cuda.conv.CONV_ALGORITHM`` set to "im2col" and then "direct"),
with the number of terms each output element sums (forward) and each input-gradient element sums
(backward) and the algorithm "auto" picks for each: the measurement behind ``DIRECT_MAX_TAPS``.
The two algorithms' results are checked against each other.

``--train``: LeNet-5 (``create_model("lenet5")``) on scikit-learn's digits (1,438 train and 359 test
images, 1x32x32), batch 256, SGD with momentum, from the same initial weights and in the same batch
order on "cuda" and then on "cpu". Per device: the first epoch (kernel compilation included) apart
from the median of the others, the final train loss and the test accuracy; then the CPU/GPU ratio
of the median epochs (target: above 1, the GPU faster). The loop is written here rather than taken
from ``gradcnn.train`` so that it measures the same thing whatever the training API does with
devices.

Without a CUDA device the script says so and exits with status 1, measuring nothing. A workload that
raises is reported in its row and the others still run. The exit status is 1 when a workload failed
or disagreed with its reference, else 0: a missed speed target is reported, not an error. ``--out``
writes every number as JSON, rewritten after each part, so an interrupted run keeps what it measured.
"""

import argparse
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import gradcnn
import gradcnn.functional as gF
from gradcnn.backends import cuda as cuda_backend  # imports no CuPy


def _load_bench_conv():
    # benchmarks/ is not a package, so bench_conv.py is loaded from its path (importing it runs nothing).
    spec = importlib.util.spec_from_file_location(
        "bench_conv", Path(__file__).resolve().with_name("bench_conv.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bc = _load_bench_conv()

TARGET = 3.0  # conv2d forward+backward: gradcnn on the GPU within this factor of torch+cuDNN
WARMUP_CALLS = 2  # after the first call: allocator pools, cuDNN's algorithm choice
TRAIN_BATCH = 256
TRAIN_EPOCHS = 20  # 6 steps each: about where SGD gets LeNet-5 past 95% test accuracy on digits
TRAIN_LR, TRAIN_MOMENTUM = 0.05, 0.8
TRAIN_BUDGET_S = 30.0  # per device: later epochs are dropped once training has run this long
KERNEL_BUDGET_S = 75.0  # rows not started by then are reported as skipped
ALGORITHMS = ("im2col", "direct")
ALGORITHM_BUDGET_S = 30.0  # --algorithms: shapes not started by then are reported as skipped
EVAL_BATCH = 512


# -- devices --------------------------------------------------------------------------------------


def cuda_unavailable():
    """Why gradcnn cannot run on "cuda" here, or ``None`` when it can."""
    try:
        import cupy
    except ImportError as exc:
        return f"CuPy is not importable ({exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no driver, or a driver older than CuPy's CUDA runtime
        return f"CuPy finds no usable driver ({type(exc).__name__}: {exc})"
    return None if count > 0 else "CuPy sees 0 devices"


def device_sync(device):
    """A function that waits until ``device`` has finished the work queued so far."""
    if device == "cpu":
        return lambda: None
    import cupy

    return lambda: cupy.cuda.Device().synchronize()


def gradcnn_lib(device):
    """gradcnn under bench_conv's library names, its tensors made on ``device``."""
    return SimpleNamespace(
        name=f"gradcnn {device}",
        tensor=lambda data, requires_grad=False: gradcnn.tensor(
            data, device=device, requires_grad=requires_grad
        ),
        ones_like=gradcnn.ones_like,
        F=gF,
        no_grad=gradcnn.no_grad,
        sync=device_sync(device),
    )


def torch_cuda_lib():
    """``(library, None)`` for torch on "cuda", or ``(None, why not)``."""
    try:
        import torch
        import torch.nn.functional as tF
    except ImportError as exc:
        return None, f"torch is not importable ({exc})"
    if not torch.cuda.is_available():
        return None, f"torch {torch.__version__} sees no CUDA device (built for CUDA {torch.version.cuda})"
    # cuDNN convolutions default to TF32 on this hardware (10-bit mantissa): keep both in float32.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    lib = SimpleNamespace(
        name="torch cuda",
        tensor=lambda data, requires_grad=False: torch.tensor(
            data, device="cuda", requires_grad=requires_grad
        ),
        ones_like=torch.ones_like,
        F=tF,
        no_grad=torch.no_grad,
        sync=torch.cuda.synchronize,
    )
    return lib, None


def _try(fn):
    try:
        return fn()
    except Exception as exc:
        return f"unknown ({type(exc).__name__}: {exc})"


def environment():
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gradcnn": gradcnn.__version__,
        "numba": _try(lambda: __import__("numba").__version__),
    }
    try:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        env.update(
            cupy=cupy.__version__,
            gpu=props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"]),
            compute_capability=cupy.cuda.Device(0).compute_capability,
            gpu_memory_gib=round(props["totalGlobalMem"] / 2**30, 1),
            cuda_runtime=cupy.cuda.runtime.runtimeGetVersion(),
            cuda_driver=cupy.cuda.runtime.driverGetVersion(),
            cupy_cache_dir=os.environ.get("CUPY_CACHE_DIR", "~/.cupy/kernel_cache"),
        )
    except Exception as exc:
        env["cupy"] = f"unavailable ({type(exc).__name__}: {exc})"
    try:
        import torch

        env.update(
            torch=torch.__version__,
            torch_cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version() if torch.cuda.is_available() else None,
            cudnn_benchmark=torch.backends.cudnn.benchmark,
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
        )
    except ImportError:
        env["torch"] = None
    return env


def format_environment(env):
    gpu = f"{env.get('gpu', '?')} (sm {env.get('compute_capability', '?')}, {env.get('gpu_memory_gib', '?')} GiB)"
    torch_part = (
        f"torch {env['torch']} (CUDA {env.get('torch_cuda')}, cuDNN {env.get('cudnn')}, "
        f"cudnn.benchmark {env.get('cudnn_benchmark')}, TF32 {env.get('cudnn_allow_tf32')})"
        if env.get("torch")
        else "torch not importable"
    )
    return (
        f"{gpu}; CUDA runtime {env.get('cuda_runtime')}, driver {env.get('cuda_driver')}\n"
        f"python {env['python']}, numpy {env['numpy']}, numba {env['numba']}, cupy {env.get('cupy')}, "
        f"gradcnn {env['gradcnn']}; {torch_part}"
    )


# -- kernels --------------------------------------------------------------------------------------


def _to_numpy(out):
    return [a.detach().cpu().numpy() for a in out]  # gradcnn and torch tensors alike


def prepare(lib, make, data, shape):
    """Build the step, time its first call, warm it up; returns (step, first_s, warm_s, outputs)."""
    step = make(lib, data, shape)
    lib.sync()
    start = time.perf_counter()
    step()
    lib.sync()
    first_s = time.perf_counter() - start
    for _ in range(WARMUP_CALLS):
        step()
    lib.sync()
    start = time.perf_counter()
    out = step()
    lib.sync()
    return step, first_s, time.perf_counter() - start, _to_numpy(out)


def measure(step, sync, repeat, warm_s):
    """Median seconds per call over ``repeat`` samples, each a synchronised loop of ~20 ms."""
    k = max(1, math.ceil(bc.MIN_SAMPLE_S / max(warm_s, 1e-9)))
    if warm_s > bc.SLOW_CALL_S:
        repeat = min(repeat, bc.SLOW_REPEAT)
    samples = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        for _ in range(k):
            step()
        sync()
        samples.append((time.perf_counter() - start) / k)
    return statistics.median(samples), k, samples


def _error(exc):
    return f"{type(exc).__name__}: {exc}"


def run_row(kind, name, shape, make, lib, ref, repeat):
    """One row: prepare both libraries, compare their results, time each. Failures land in the row."""
    data = bc.conv_data(shape) if "conv" in kind else bc.pool_data(shape)
    row = {"kind": kind, "name": name, "shape": list(shape)}
    prepared, outputs = {}, {}
    for who, runner in (("gradcnn", lib), ("reference", ref)):
        try:
            step, first_s, warm_s, outputs[who] = prepare(runner, make, data, shape)
        except Exception as exc:
            row[who] = {"error": _error(exc)}
        else:
            prepared[who] = (step, runner.sync, warm_s)
            row[who] = {"first_call_ms": first_s * 1e3}
    if len(outputs) == 2:
        try:
            bc.check_same_result(f"{kind} {name}", outputs["gradcnn"], outputs["reference"], ref.name)
        except SystemExit as exc:  # bench_conv stops the run on a mismatch; here it is one row's finding
            row["mismatch"] = str(exc)
    del outputs
    for who, (step, sync, warm_s) in prepared.items():
        try:
            median, k, samples = measure(step, sync, repeat, warm_s)
        except Exception as exc:
            row[who]["error"] = _error(exc)
        else:
            row[who].update(median_ms=median * 1e3, loop_calls=k, samples_ms=[t * 1e3 for t in samples])
    if "median_ms" in row["gradcnn"] and "median_ms" in row["reference"]:
        row["ratio"] = row["gradcnn"]["median_ms"] / row["reference"]["median_ms"]
    return row


def run_kernels(lib, ref, repeat, rows, budget_s=KERNEL_BUDGET_S, after_row=lambda: None, log=print):
    """Append one row per workload and shape to ``rows``; once ``budget_s`` has passed, the rows
    left are appended as skipped."""
    began = time.perf_counter()
    for kind, shapes, make, _ in bc.BENCHES:
        for name, shape in shapes.items():
            if time.perf_counter() - began > budget_s:
                rows.append(
                    {
                        "kind": kind,
                        "name": name,
                        "shape": list(shape),
                        "gradcnn": {},
                        "reference": {},
                        "skipped": f"over the {budget_s:g} s budget of the kernel benchmark",
                    }
                )
                continue
            row = run_row(kind, name, shape, make, lib, ref, repeat)
            rows.append(row)
            after_row()
            log(
                f"  {kind} {name}: "
                + ", ".join(_cell(row, who, "median_ms") for who in ("gradcnn", "reference")),
                flush=True,
            )
    return rows


# -- convolution algorithms -------------------------------------------------------------------


def run_algorithms(lib, repeat, shapes=None, budget_s=ALGORITHM_BUDGET_S, log=print):
    """One row per conv shape (default: ``bench_conv.CONV_SHAPES``): conv2d forward+backward timed
    under each of :data:`ALGORITHMS`."""
    began = time.perf_counter()
    rows = []
    for name, shape in (bc.CONV_SHAPES if shapes is None else shapes).items():
        _, c, _, _, o, k, stride, _ = shape  # groups = 1
        fwd, bwd = cuda_backend.conv_taps(c, o, (k, k), (stride, stride))
        row = {"name": name, "shape": list(shape), "taps_forward": fwd, "taps_backward": bwd,
               "auto": [cuda_backend.conv_algorithm(fwd), cuda_backend.conv_algorithm(bwd)]}
        rows.append(row)
        if time.perf_counter() - began > budget_s:
            row["skipped"] = f"over the {budget_s:g} s budget of the algorithm comparison"
            continue
        data, outputs = bc.conv_data(shape), {}
        for algorithm in ALGORITHMS:
            try:
                with cuda_backend.use_conv_algorithm(algorithm):
                    step, _, warm_s, outputs[algorithm] = prepare(lib, bc.conv_fwd_bwd, data, shape)
                    median, _, _ = measure(step, lib.sync, repeat, warm_s)
                row[algorithm] = median * 1e3
            except Exception as exc:
                row[algorithm] = None
                row.setdefault("errors", {})[algorithm] = _error(exc)
        if len(outputs) == len(ALGORITHMS):
            try:
                bc.check_same_result(f"conv2d forward+backward {name}", outputs["direct"], outputs["im2col"],
                                     "im2col")
            except SystemExit as exc:
                row["mismatch"] = str(exc)
        log(f"  {name}: " + ", ".join(f"{a} {row[a]:.2f} ms" if row.get(a) else f"{a} -" for a in ALGORITHMS),
            flush=True)
    return rows


def format_algorithms(rows):
    lines = [
        "conv2d forward+backward by algorithm (median ms; auto = what CONV_ALGORITHM=\"auto\" runs, "
        "forward / input gradient)",
        f"  {'shape':<15}{'taps fwd':>9}{'taps bwd':>9}{'im2col':>10}{'direct':>10}{'direct/im2col':>15}  auto",
    ]
    for row in rows:
        ms = [row.get(a) for a in ALGORITHMS]
        ratio = f"{ms[1] / ms[0]:.2f}x" if all(ms) else "-"
        note = "  skipped: " + row["skipped"] if "skipped" in row else ("  MISMATCH" if "mismatch" in row else "")
        lines.append(
            f"  {row['name']:<15}{row['taps_forward']:>9}{row['taps_backward']:>9}"
            + "".join(f"{m:>10.2f}" if m else f"{'-':>10}" for m in ms)
            + f"{ratio:>15}  {' / '.join(row['auto'])}{note}"
        )
        for algorithm, error in row.get("errors", {}).items():
            lines.append(f"  {row['name']} {algorithm} failed: {error}")
        if "mismatch" in row:
            lines.append(f"  {row['mismatch']}")
    return "\n".join(lines)


def _cell(row, who, key):
    part = row.get(who, {})
    if key in part:
        return f"{part[key]:.2f}"
    return "error" if "error" in part else "-"


def format_table(kind, rows, ref_name, with_target):
    lines = [
        f"{kind} (median ms; reference {ref_name}; ratio = gradcnn / reference)",
        f"  {'shape':<15}{'N x C x H x W':<29}{'gradcnn':>10}{'reference':>11}{'ratio':>9}"
        f"{'first call gradcnn':>20}{'first call ref':>16}",
    ]
    for row in rows:
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else "-"
        flag = ""
        if "mismatch" in row:
            flag = "  MISMATCH"
        elif "skipped" in row:
            flag = "  skipped: " + row["skipped"]
        elif with_target and row.get("ratio", 0.0) > TARGET:
            flag = f"  over {TARGET:g}x"
        lines.append(
            f"  {row['name']:<15}{bc._shape_text(row['shape']):<29}{_cell(row, 'gradcnn', 'median_ms'):>10}"
            f"{_cell(row, 'reference', 'median_ms'):>11}{ratio:>9}{_cell(row, 'gradcnn', 'first_call_ms'):>20}"
            f"{_cell(row, 'reference', 'first_call_ms'):>16}{flag}"
        )
    for row in rows:
        for who in ("gradcnn", "reference"):
            if "error" in row.get(who, {}):
                lines.append(f"  {row['name']} {who} failed: {row[who]['error']}")
        if "mismatch" in row:
            lines.append(f"  {row['mismatch']}")
    return "\n".join(lines)


def summarize(rows, with_target):
    """Per kind: geometric mean and worst ratio; for conv2d forward+backward, whether the target is met."""
    summary = {}
    for kind, shapes, _, _ in bc.BENCHES:
        rated = [r for r in rows if r["kind"] == kind and "ratio" in r]
        if not rated:
            summary[kind] = {"shapes": 0, "of": len(shapes)}
            continue
        worst = max(rated, key=lambda r: r["ratio"])
        entry = {
            "geomean": bc.geometric_mean(r["ratio"] for r in rated),
            "shapes": len(rated),
            "of": len(shapes),
            "worst": worst["name"],
            "worst_ratio": worst["ratio"],
            "over_target": [r["name"] for r in rated if r["ratio"] > TARGET],
        }
        if with_target and kind == "conv2d forward+backward":
            entry["target_met"] = len(rated) == len(shapes) and not entry["over_target"]
        summary[kind] = entry
    # What the first calls cost beyond a timed call: mostly compiling RawKernels (less from a warm
    # CuPy kernel cache on disk).
    extra = {
        r["name"] + " " + r["kind"]: (r["gradcnn"]["first_call_ms"] - r["gradcnn"]["median_ms"]) / 1e3
        for r in rows
        if "median_ms" in r["gradcnn"]
    }
    if extra:
        worst = max(extra, key=extra.get)
        summary["compile"] = {
            "first_calls_extra_s": sum(max(0.0, v) for v in extra.values()),
            "largest": worst,
            "largest_s": extra[worst],
        }
    return summary


def format_summary(summary, with_target):
    lines = []
    for kind, s in summary.items():
        if kind == "compile":
            lines.append(
                f"compile: gradcnn's first calls took {s['first_calls_extra_s']:.2f} s more than timed calls "
                f"(RawKernel compilation), the most in {s['largest']} ({s['largest_s']:.2f} s)"
            )
            continue
        if not s["shapes"]:
            lines.append(f"{kind}: no ratio (every shape failed)")
            continue
        line = (
            f"{kind}: geometric mean {s['geomean']:.2f}x over {s['shapes']} of {s['of']} shapes, "
            f"worst {s['worst']} {s['worst_ratio']:.2f}x"
        )
        if "target_met" in s:
            verdict = "met" if s["target_met"] else "MISSED"
            over = f" (over: {', '.join(s['over_target'])})" if s["over_target"] else ""
            if s["shapes"] < s["of"]:
                over += f" ({s['of'] - s['shapes']} shapes not measured)"
            line += f"; target within {TARGET:g}x of torch+cuDNN on every shape: {verdict}{over}"
        lines.append(line)
    if not with_target:
        lines.append(
            f"(reference is gradcnn on the CPU: the {TARGET:g}x target against torch+cuDNN does not apply)"
        )
    return "\n".join(lines)


# -- training -------------------------------------------------------------------------------------


def evaluate(model, dataset, device):
    """Mean loss and accuracy over ``dataset`` in eval mode."""
    model.eval()
    total, correct = 0.0, 0
    with gradcnn.no_grad():
        for x, y in gradcnn.data.DataLoader(dataset, batch_size=EVAL_BATCH):
            x, y = x.to(device), y.to(device)
            out = model(x)
            total += float(gF.cross_entropy(out, y).item()) * len(y)
            correct += int((out.argmax(1) == y).sum())
    model.train()
    return total / len(dataset), correct / len(dataset)


def train_lenet(device, epochs, budget_s=TRAIN_BUDGET_S, batch_size=TRAIN_BATCH, seed=0, log=print):
    """Train LeNet-5 on digits on ``device``; returns seconds and loss per epoch, test loss and accuracy."""
    train = gradcnn.create_dataset("digits", split="train")
    test = gradcnn.create_dataset("digits", split="test")
    gradcnn.manual_seed(seed)  # the same initial weights on every device
    model = gradcnn.create_model("lenet5").to(device)
    opt = gradcnn.optim.SGD(model.parameters(), lr=TRAIN_LR, momentum=TRAIN_MOMENTUM)
    # A generator of its own, so that every device sees the same batches in the same order.
    loader = gradcnn.data.DataLoader(
        train, batch_size=batch_size, shuffle=True, generator=np.random.default_rng(seed)
    )
    sync = device_sync(device)
    seconds, losses = [], []
    began = time.perf_counter()
    model.train()
    for epoch in range(epochs):
        start = time.perf_counter()
        total = 0.0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = gF.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.item()) * len(y)
        sync()
        seconds.append(time.perf_counter() - start)
        losses.append(total / len(train))
        log(f"  {device} epoch {epoch + 1}: {seconds[-1]:.3f} s, train loss {losses[-1]:.4f}", flush=True)
        if time.perf_counter() - began > budget_s and epoch + 1 < epochs:
            log(f"  {device}: stopped after {epoch + 1} epochs, over the {budget_s:g} s budget", flush=True)
            break
    test_loss, accuracy = evaluate(model, test, device)
    return {
        "device": device,
        "epochs": len(seconds),
        "epoch_s": seconds,
        "first_epoch_s": seconds[0],
        "median_epoch_s": statistics.median(seconds[1:]) if len(seconds) > 1 else None,
        "train_loss": losses,
        "final_train_loss": losses[-1],
        "test_loss": test_loss,
        "test_accuracy": accuracy,
        "steps_per_epoch": len(loader),
    }


def run_training(epochs, devices=("cuda", "cpu"), log=print):
    report = {
        "model": "lenet5",
        "dataset": "digits",
        "batch_size": TRAIN_BATCH,
        "optimizer": f"SGD lr {TRAIN_LR} momentum {TRAIN_MOMENTUM}",
        "runs": {},
    }
    for device in devices:
        try:
            report["runs"][device] = train_lenet(device, epochs, log=log)
        except Exception as exc:
            report["runs"][device] = {"device": device, "error": _error(exc)}
            log(f"  {device} training failed: {_error(exc)}", flush=True)
    gpu, cpu = report["runs"].get("cuda", {}), report["runs"].get("cpu", {})
    if gpu.get("median_epoch_s") and cpu.get("median_epoch_s"):
        report["cpu_over_gpu"] = cpu["median_epoch_s"] / gpu["median_epoch_s"]
    if "train_loss" in gpu and "train_loss" in cpu:
        # Same weights, same batches: the curves differ only by float32 rounding.
        report["max_loss_difference"] = max(abs(a - b) for a, b in zip(gpu["train_loss"], cpu["train_loss"]))
    return report


def format_training(report):
    lines = [f"training: LeNet-5 on digits, batch {report['batch_size']}, {report['optimizer']}"]
    for device, r in report["runs"].items():
        if "error" in r:
            lines.append(f"  {device:<5} failed: {r['error']}")
            continue
        median = "-" if r["median_epoch_s"] is None else f"{r['median_epoch_s']:.3f} s"
        lines.append(
            f"  {device:<5} {r['epochs']} epochs of {r['steps_per_epoch']} steps: first epoch {r['first_epoch_s']:.3f} s "
            f"(compilation included), median of the others {median}; final train loss {r['final_train_loss']:.4f}, "
            f"test loss {r['test_loss']:.4f}, test accuracy {r['test_accuracy']:.2%}"
        )
    if "cpu_over_gpu" in report:
        verdict = "met" if report["cpu_over_gpu"] > 1 else "MISSED"
        lines.append(
            f"  epoch time cpu / cuda: {report['cpu_over_gpu']:.2f}x (target above 1, the GPU faster: {verdict})"
        )
    if "max_loss_difference" in report:
        lines.append(
            f"  largest |train loss cuda - cpu| over the epochs: {report['max_loss_difference']:.2e}"
        )
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------------------


def _write(path, report):
    if path:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=2, default=str)
            f.write("\n")
        os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="timed samples per measurement (median taken)")
    parser.add_argument("--quick", action="store_true", help="3 samples and 6 epochs: a smoke run")
    parser.add_argument(
        "--algorithms", action="store_true", help="also time conv2d through each CUDA convolution algorithm"
    )
    parser.add_argument(
        "--train", action="store_true", help="also train LeNet-5 on digits on cuda and on cpu"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=TRAIN_EPOCHS,
        help=f"training epochs per device (default {TRAIN_EPOCHS})",
    )
    parser.add_argument("--out", metavar="PATH", help="write every number as JSON to PATH")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.epochs < 1:
        parser.error(f"--repeat and --epochs must be at least 1, got {args.repeat} and {args.epochs}")
    repeat, epochs = (3, 6) if args.quick else (args.repeat, args.epochs)

    why = cuda_unavailable()
    if why:
        raise SystemExit(
            f"bench_gpu: no CUDA device: {why}. Run this on a machine with an NVIDIA GPU; "
            "benchmarks/bench_conv.py measures the CPU."
        )
    ref, why_not = torch_cuda_lib()
    env = environment()
    print(format_environment(env), flush=True)
    if ref is None:
        print(f"{why_not}: the reference is gradcnn on the CPU instead of torch+cuDNN", flush=True)
        ref = gradcnn_lib("cpu")
    with_target = ref.name == "torch cuda"
    rows = []
    report = {"environment": env, "reference": ref.name, "repeat": repeat, "results": rows}
    print(
        f"float32; first call timed alone, {WARMUP_CALLS} warm-up calls, median of {repeat} synchronised samples",
        flush=True,
    )

    failed = False
    try:
        run_kernels(gradcnn_lib("cuda"), ref, repeat, rows, after_row=lambda: _write(args.out, report))
    except Exception as exc:  # outside any one row: report it and go on to training
        print(f"kernel benchmark failed: {_error(exc)}", flush=True)
        report["kernels_error"], failed = _error(exc), True
    report["summary"] = summarize(rows, with_target)
    _write(args.out, report)
    for kind, _, _, _ in bc.BENCHES:
        kind_rows = [r for r in rows if r["kind"] == kind]
        if kind_rows:
            print()
            print(format_table(kind, kind_rows, ref.name, with_target))
    print()
    print(format_summary(report["summary"], with_target), flush=True)
    failed = failed or any(
        "error" in r["gradcnn"] or "error" in r["reference"] or "mismatch" in r for r in rows
    )

    if args.algorithms:
        print("\nconv2d forward+backward through each CUDA convolution algorithm", flush=True)
        report["algorithms"] = run_algorithms(gradcnn_lib("cuda"), repeat)
        _write(args.out, report)
        print(format_algorithms(report["algorithms"]), flush=True)
        failed = failed or any("errors" in r or "mismatch" in r for r in report["algorithms"])

    if args.train:
        print(f"\ntraining LeNet-5 on digits, {epochs} epochs per device", flush=True)
        report["train"] = run_training(epochs)
        _write(args.out, report)
        print(format_training(report["train"]))
        failed = failed or any("error" in r for r in report["train"]["runs"].values())
    if failed:
        print(
            "\nsome workloads failed or disagreed with their reference: see the rows above", file=sys.stderr
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
