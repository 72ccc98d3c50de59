"""Smoke test of benchmarks/bench_overhead.py: every gradcnn workload still runs (nothing is timed)."""

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_overhead.py"


def _load_script():
    # benchmarks/ is not a package, so the script is loaded from its path.
    spec = importlib.util.spec_from_file_location("bench_overhead", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gradcnn_workloads_run():
    bench = _load_script()
    lib, data = bench.gradcnn_lib(), bench.make_data()
    for name, make in bench.WORKLOADS.items():
        step = make(lib, data)
        for _ in range(2):  # the second iteration catches state the first one left behind
            out = step()
        assert np.isfinite(np.asarray(out.detach())).all(), name
