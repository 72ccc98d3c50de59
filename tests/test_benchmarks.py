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


def test_conv_bench_workloads_match_numpy_reference():
    spec = importlib.util.spec_from_file_location("bench_conv", SCRIPT.with_name("bench_conv.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    conv = (2, 3, 9, 9, 4, 3, 2, 1)  # N, C, H, W -> out, kernel, stride, padding: odd sizes, padded
    pool = (2, 3, 9, 9, 3, 2)  # overlapping windows, so two windows can share a maximum
    lib = bench.gradcnn_lib()
    cases = [
        (bench.conv_fwd, bench.numpy_conv_fwd, conv, bench.conv_data(conv)),
        (bench.conv_fwd_bwd, bench.numpy_conv_fwd_bwd, conv, bench.conv_data(conv)),
        (bench.pool_fwd_bwd, bench.numpy_pool_fwd_bwd, pool, bench.pool_data(pool)),
    ]
    for make, make_ref, shape, data in cases:
        step, ref = make(lib, data, shape), make_ref(data, shape)
        for _ in range(2):  # the second call catches state the first one left behind
            ours, theirs = step(), ref()
        assert len(ours) == len(theirs), make.__name__
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(np.asarray(a.detach()), b, rtol=1e-4, atol=1e-5, err_msg=make.__name__)
    # The whole per-shape path on the tiny conv, reporting included: one short sample per library.
    row = bench.run_bench(
        "conv2d forward+backward", "tiny", conv, bench.conv_fwd_bwd, bench.numpy_conv_fwd_bwd, [lib], repeat=1
    )
    assert row["gradcnn"]["median_ms"] > 0 and row["ratio_numpy"] > 0
    assert "tiny" in bench.format_table(row["kind"], [row])
    assert "numpy" in bench.format_summary(bench.summarize([row]))


def test_model_bench_runs_lenet5_once():
    spec = importlib.util.spec_from_file_location("bench_models", SCRIPT.with_name("bench_models.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.run(["lenet5"], repeat=1)
    assert [row["model"] for row in rows] == ["lenet5"] and rows[0]["gradcnn_ms"] > 0
    if rows[0]["torch_ms"] is not None:  # the twin computes the same function from the same weights
        assert rows[0]["max_diff"] < 1e-4
    assert "lenet5" in bench.format_table(rows)
