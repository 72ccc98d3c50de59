"""Smoke tests of the scripts in benchmarks/: every gradcnn workload still runs (nothing is timed)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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
    rows = bench.run(["lenet5"], rounds=1, sample_s=0.01)
    assert [row["model"] for row in rows] == ["lenet5"] and rows[0]["gradcnn_ms"] > 0
    if rows[0]["torch_ms"] is not None:  # the twin computes the same function from the same weights
        assert rows[0]["max_diff"] < 1e-4
    assert "lenet5" in bench.format_table(rows)


def _load_gpu_bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT.with_name("bench_gpu.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_gpu_bench_without_cuda_says_so_and_fails():
    bench = _load_gpu_bench()
    if bench.cuda_unavailable() is None:
        pytest.skip("a CUDA device is present: the script would run the whole benchmark")
    proc = subprocess.run([sys.executable, str(SCRIPT.with_name("bench_gpu.py")), "--quick"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "no CUDA device" in proc.stderr and "Traceback" not in proc.stderr


def test_gpu_bench_rows_and_training_run_with_the_cpu_as_both_devices():
    # The GPU benchmark's own code paths (rows, comparison, tables, training loop), with "cpu" standing
    # in for "cuda" so that they run without a GPU.
    bench = _load_gpu_bench()
    lib, ref = bench.gradcnn_lib("cpu"), bench.gradcnn_lib("cpu")
    conv, pool = (2, 3, 9, 9, 4, 3, 2, 1), (2, 3, 9, 9, 3, 2)
    rows = [bench.run_row(kind, "tiny", conv if "conv" in kind else pool, make, lib, ref, repeat=1)
            for kind, _, make, _ in bench.bc.BENCHES]
    for row in rows:
        assert "mismatch" not in row and row["ratio"] > 0 and row["gradcnn"]["first_call_ms"] > 0, row
    assert "tiny" in bench.format_table(rows[1]["kind"], rows[1:2], ref.name, with_target=True)
    summary = bench.summarize(rows, with_target=True)
    assert summary["conv2d forward+backward"]["target_met"] is False  # 1 of 6 shapes measured
    assert "not measured" in bench.format_summary(summary, with_target=True)
    run = bench.train_lenet("cpu", epochs=2, log=lambda *args, **kwargs: None)
    assert run["epochs"] == 2 and run["median_epoch_s"] > 0 and 0 <= run["test_accuracy"] <= 1
    assert np.isfinite(run["final_train_loss"])


def test_gpu_bench_algorithm_rows_with_the_cpu_standing_in():
    bench = _load_gpu_bench()
    shapes = {"depthwise_like": (2, 1, 9, 9, 4, 3, 1, 1), "wide": (2, 8, 9, 9, 4, 3, 2, 1)}
    rows = bench.run_algorithms(bench.gradcnn_lib("cpu"), repeat=1, shapes=shapes, log=lambda *a, **k: None)
    assert [r["name"] for r in rows] == list(shapes)
    assert [(r["taps_forward"], r["taps_backward"]) for r in rows] == [(9, 36), (72, 9)]
    assert rows[0]["auto"] == ["direct", "direct"] and rows[1]["auto"] == ["im2col", "direct"]
    for row in rows:
        assert "errors" not in row and "mismatch" not in row, row
        assert row["im2col"] > 0 and row["direct"] > 0
    table = bench.format_algorithms(rows)
    assert "depthwise_like" in table and "direct / direct" in table and "im2col / direct" in table



def test_gemm_bench_reports_a_rate_per_shape(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("bench_gemm", SCRIPT.with_name("bench_gemm.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "SHAPES", [("tiny", 4, 6, 8)])
    assert bench.main(["--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "tiny (4x6 @ 6x8)" in out and "GFLOP/s" in out
    row = bench.run(repeat=1)[0]
    assert row["numpy_gflops"] > 0
