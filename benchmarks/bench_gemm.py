"""The GEMM floor of the convolutions: NumPy's BLAS against PyTorch's on the products im2col makes.

    python benchmarks/bench_gemm.py [--repeat 7] [--json results.json]

gradcnn's CPU convolutions are im2col + GEMM through NumPy's BLAS (OpenBLAS in NumPy's wheels) on one
thread per chunk; PyTorch runs oneDNN's direct convolutions and MKL's GEMMs. This script times, on one
thread each, ``W (O x C*k*k) @ cols (C*k*k x N*Ho*Wo)`` for the layer shapes of the models in
benchmarks/bench_models.py, with NumPy and with ``torch.mm``, and a large square product for the
machine's peak. The rates (GFLOP/s) bound what a GEMM-based convolution can reach before im2col and
the output transpose are counted. Both libraries run in this process, alternating sample by sample.
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np

#: (name, O, C*k*k, N*Ho*Wo): the GEMM of a layer's forward pass.
SHAPES = [
    ("square 2048", 2048, 2048, 2048),
    ("lenet C3, batch 64", 16, 150, 6400),
    ("resnet18 layer1, batch 8", 64, 576, 2048),
    ("resnet18 layer3, batch 8", 256, 2304, 128),
    ("resnet18 layer4, batch 8", 512, 4608, 32),
    ("densenet121 3x3 at 8x8, batch 4", 32, 1152, 256),
    ("densenet121 3x3 at 16x16, batch 4", 32, 1152, 1024),
    ("vgg11 conv2, batch 4", 128, 576, 4096),
]


def _median_time(fn, repeat, arg, min_s=0.05):
    """Median seconds of ``fn(arg)`` over ``repeat`` samples of at least ``min_s`` each."""
    fn(arg)
    start = time.perf_counter()
    fn(arg)
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(min_s / once))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn(arg)
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def run(repeat=7):
    from threadpoolctl import threadpool_limits

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rows = []
    rng = np.random.default_rng(0)
    with threadpool_limits(1, user_api="blas"):
        for name, m, k, n in SHAPES:
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((k, n), dtype=np.float32)
            flops = 2 * m * k * n
            row = {"shape": name, "m": m, "k": k, "n": n, "numpy_gflops": None, "torch_gflops": None}
            ta, tb = (torch.from_numpy(a), torch.from_numpy(b)) if torch else (None, None)
            numpy_s, torch_s = [], []
            for _ in range(3):  # alternate the libraries, so both meet the same load
                numpy_s.append(_median_time(a.__matmul__, repeat, b))
                if torch:
                    torch_s.append(_median_time(ta.__matmul__, repeat, tb))
            row["numpy_gflops"] = flops / statistics.median(numpy_s) / 1e9
            if torch:
                row["torch_gflops"] = flops / statistics.median(torch_s) / 1e9
            rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    rows = run(args.repeat)
    print(f"one thread each; float32; median of {args.repeat} samples; GFLOP/s (higher is better)")
    print(f"{'GEMM (O x C*k*k @ C*k*k x N*Ho*Wo)':58s} {'numpy':>7s} {'torch':>7s} {'numpy/torch':>12s}")
    for r in rows:
        shape = f"{r['shape']} ({r['m']}x{r['k']} @ {r['k']}x{r['n']})"
        theirs = f"{r['torch_gflops']:7.0f}" if r["torch_gflops"] else "      -"
        ratio = f"{r['numpy_gflops'] / r['torch_gflops']:11.2f}x" if r["torch_gflops"] else ""
        print(f"{shape:58s} {r['numpy_gflops']:7.0f} {theirs} {ratio}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
