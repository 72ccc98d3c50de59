#!/usr/bin/env bash
# gradcnn on a lent GPU machine, in one run: the environment, the GPU tests, the GPU benchmark.
#
#     OUT=/some/empty/dir bash benchmarks/gpu_check.sh
#
# Needs no network: the project is installed from the working tree without dependencies (pip,
# editable) or, when that fails, imported from it through PYTHONPATH. Each step writes into $OUT
# whatever happened to the steps before it, and $OUT/summary.txt lists every step's exit status.
# The run stays within GPU_CHECK_BUDGET_S seconds (default 560, under a 600 s command limit): each
# step gets its own limit, cut to what is left. At a step's limit it gets SIGINT (pytest then still
# reports what ran and writes its JUnit file; Python prints where it was), SIGKILL 15 s later.
#
# Files in $OUT: env.txt (GPU, driver, versions, commit), install.txt, smoke.txt (NVRTC, cuBLAS, one
# gradcnn op: a broken environment stops the run there), pytest-gpu.txt and
# gpu-junit.xml (pytest -m gpu), bench-gpu.txt and bench_gpu.json (benchmarks/bench_gpu.py --algorithms --train),
# summary.txt. Exit status: 0 when every step passed, 1 otherwise.
#
# GPU_CHECK_INSTALL=0 skips the install (PYTHONPATH only). PYTHON names the interpreter (default:
# python, else python3). Only gradcnn's own tests run here; the plugin distributions under plugins/ have theirs, which need
# the plugins installed.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
OUT=${OUT:-$(mktemp -d /tmp/gpu-check.XXXXXX)}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
PY=${PYTHON:-$(command -v python || command -v python3)}
BUDGET_S=${GPU_CHECK_BUDGET_S:-560}
MARGIN_S=20  # kept back at every step for the kill grace period and the summary
export PYTHONUNBUFFERED=1 PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1
START=$SECONDS
SUMMARY="$OUT/summary.txt"
FAILED=()
ROWS=()

# Seconds a step may run: its own limit, or what is left of the budget when that is less.
limit() {
    local left=$((BUDGET_S - (SECONDS - START) - MARGIN_S))
    if ((left < $1)); then echo "$left"; else echo "$1"; fi
}

# record NAME STATUS SECONDS NOTE: one line of the summary; a nonzero status marks the run failed.
record() {
    ROWS+=("$(printf '%-8s %-7s %5ss  %s' "$1" "$2" "$3" "$4")")
    if [[ $2 != 0 && $2 != not-run ]]; then FAILED+=("$1"); fi
}

# run_step NAME LIMIT_S LOG COMMAND...: run COMMAND under its limit, output shown and kept in LOG;
# sets STEP_RC and STEP_S.
run_step() {
    local name=$1 want=$2 log=$3 lim began
    shift 3
    lim=$(limit "$want")
    began=$SECONDS
    if ((lim < 5)); then
        echo "== $name: not run, the ${BUDGET_S} s budget is spent" | tee -a "$log"
        STEP_RC=skipped STEP_S=0
        return
    fi
    echo "== $name (limit ${lim} s): $*" | tee -a "$log"
    timeout -s INT -k 15 "$lim" "$@" 2>&1 | tee -a "$log"
    STEP_RC=${PIPESTATUS[0]}
    STEP_S=$((SECONDS - began))
    if [[ $STEP_RC == 124 || $STEP_RC == 137 ]]; then
        echo "== $name: stopped at its ${lim} s limit (status $STEP_RC)" | tee -a "$log"
    fi
}

# -- 1. environment ---------------------------------------------------------------------------------
began=$SECONDS
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')   host: $(hostname)   cwd: $PWD"
    if command -v git >/dev/null && git rev-parse HEAD >/dev/null 2>&1; then
        echo "commit: $(git rev-parse HEAD)"
        echo "uncommitted changes:"
        git status --short | head -100
    else
        echo "commit: unknown (no git repository here)"
    fi
    # Identifies the exact sources that ran, with or without git.
    echo "sources sha256: $(find gradcnn benchmarks tests -type f \( -name '*.py' -o -name '*.cu' \) -print0 |
        sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
    echo
    if command -v nvidia-smi >/dev/null; then timeout 30 nvidia-smi; else echo "nvidia-smi: not found"; fi
    echo
    echo "python: $PY"
    timeout 60 "$PY" - <<'EOF'
import importlib, sys
print(sys.version)
for name in ("numpy", "numba", "cupy", "torch", "pluggy", "pytest", "hypothesis", "safetensors", "sklearn"):
    try:
        print(f"{name} {importlib.import_module(name).__version__}")
    except Exception as exc:
        print(f"{name}: not importable ({type(exc).__name__}: {exc})")
try:
    import cupy
    cupy.show_config()
    rt = cupy.cuda.runtime
    print(f"cupy: {rt.getDeviceCount()} device(s), runtime {rt.runtimeGetVersion()}, driver {rt.driverGetVersion()}")
except Exception as exc:
    print(f"cupy: no device ({type(exc).__name__}: {exc})")
try:
    import torch
    print(f"torch: CUDA {torch.version.cuda}, available {torch.cuda.is_available()}, "
          f"cuDNN {torch.backends.cudnn.version() if torch.cuda.is_available() else None}")
except Exception as exc:
    print(f"torch: {type(exc).__name__}: {exc}")
EOF
} >"$OUT/env.txt" 2>&1
record env $? $((SECONDS - began)) "env.txt"

# -- 2. the project, importable from this working tree ----------------------------------------------
# PYTHONPATH puts the working tree first in every case, so that its code is what runs even where an
# older gradcnn is installed. The editable install adds the entry points: the pytest11 plugin that
# registers the gpu marker and the hypothesis profiles.
export PYTHONPATH="$PWD:$PWD/plugins/gradcnn-text${PYTHONPATH:+:$PYTHONPATH}"
began=$SECONDS
if [[ ${GPU_CHECK_INSTALL:-1} == 0 ]]; then
    echo "GPU_CHECK_INSTALL=0: no install" >"$OUT/install.txt"
    pip_rc=skipped
else
    timeout -k 5 "$(limit 90)" "$PY" -m pip install --no-deps --no-build-isolation --no-index -q -e . \
        >"$OUT/install.txt" 2>&1
    pip_rc=$?
fi
"$PY" -c "import gradcnn, sys; print('gradcnn', gradcnn.__version__, 'from', gradcnn.__file__)" \
    >>"$OUT/install.txt" 2>&1
import_rc=$?
PYTEST_PLUGIN=()
if ! "$PY" -c "
from importlib.metadata import entry_points
raise SystemExit(not any(ep.value == 'gradcnn.testing.pytest_plugin' for ep in entry_points(group='pytest11')))
" 2>>"$OUT/install.txt"; then
    PYTEST_PLUGIN=(-p gradcnn.testing.pytest_plugin)  # not installed: load gradcnn's pytest plugin by name
fi
if [[ $pip_rc == 0 ]]; then how="editable install"; else how="pip install: $pip_rc; PYTHONPATH only"; fi
echo "$how; pytest plugin ${PYTEST_PLUGIN[*]:-from its entry point}" >>"$OUT/install.txt"
record install $import_rc $((SECONDS - began)) "$how; import gradcnn status $import_rc (install.txt)"

# -- 3. smoke: is there a GPU that CuPy can compile for and multiply on? ----------------------------
# One RawModule (NVRTC), one launch, one cupy.matmul (cuBLAS), a gradcnn op on the device: a broken
# environment is reported as such here, in a few seconds, and the long steps are skipped.
run_step smoke 90 "$OUT/smoke.txt" "$PY" -c '
import time
t0 = time.perf_counter()
import cupy
rt = cupy.cuda.runtime
print(f"cupy {cupy.__version__}: {rt.getDeviceCount()} device(s); runtime {rt.runtimeGetVersion()}, "
      f"driver {rt.driverGetVersion()}")
mod = cupy.RawModule(code="extern \"C\" __global__ void twice(float* x, int n) {"
                          " int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] *= 2.0f; }")
x = cupy.arange(1000, dtype=cupy.float32)
mod.get_function("twice")((4,), (256,), (x, cupy.int32(1000)))
assert float(x[999].get()) == 1998.0, "the RawKernel computed a wrong value"
print(f"NVRTC: one RawModule compiled and launched ({time.perf_counter() - t0:.1f} s so far)")
a = cupy.ones((256, 128), dtype=cupy.float32)
assert float((a @ a.T)[0, 0].get()) == 128.0, "cupy.matmul computed a wrong value"
print(f"cuBLAS: one cupy.matmul ({time.perf_counter() - t0:.1f} s so far)")
import gradcnn
import gradcnn.functional as F
y = F.conv2d(gradcnn.ones(1, 1, 5, 5, device="cuda"), gradcnn.ones(1, 1, 3, 3, device="cuda"))
assert float(y.sum().item()) == 81.0, "conv2d on the GPU computed a wrong value"
print(f"gradcnn: conv2d on the GPU ({time.perf_counter() - t0:.1f} s in all)")
'
record smoke "$STEP_RC" "$STEP_S" "NVRTC, cuBLAS and one gradcnn op (smoke.txt)"
if [[ $STEP_RC != 0 ]]; then
    echo "== the GPU environment is broken (smoke.txt): tests and benchmark not run" | tee -a "$OUT/smoke.txt"
    SKIP_GPU=1
fi

# -- 4. the GPU tests --------------------------------------------------------------------------------
# A cold CuPy kernel cache compiles every elementwise kernel on first use: the limit leaves room for
# that on a first run; pytest writes its report as it goes, and its JUnit file even when stopped.
export GRADCNN_HYPOTHESIS_PROFILE=ci
if [[ -n ${SKIP_GPU:-} ]]; then
    record pytest not-run 0 "not run: the smoke step failed"
else
run_step pytest 270 "$OUT/pytest-gpu.txt" \
    "$PY" -m pytest -m gpu -q -rs "${PYTEST_PLUGIN[@]}" --junitxml="$OUT/gpu-junit.xml" tests
# pytest's last line counts passed / failed / skipped tests: skips on a GPU machine are findings too.
counts=$(grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|errors?|deselected)|no tests ran' "$OUT/pytest-gpu.txt" |
    tail -n 1)
if [[ $STEP_RC == 5 ]]; then counts="no test collected; $counts"; fi
record pytest "$STEP_RC" "$STEP_S" "${counts:-no result line} (pytest-gpu.txt, gpu-junit.xml)"
fi

# -- 5. the GPU benchmark ----------------------------------------------------------------------------
# A CuPy kernel cache of its own, empty: the benchmark's "first call" times then include compiling
# the RawKernels, as a user's first run does (the tests above compiled them into the default cache).
if [[ -n ${SKIP_GPU:-} ]]; then
    record bench not-run 0 "not run: the smoke step failed"
else
bench_cache=$(mktemp -d /tmp/gpu-check-cupy-cache.XXXXXX)
run_step bench 150 "$OUT/bench-gpu.txt" \
    env CUPY_CACHE_DIR="$bench_cache" "$PY" benchmarks/bench_gpu.py --algorithms --train --out "$OUT/bench_gpu.json"
record bench "$STEP_RC" "$STEP_S" "bench-gpu.txt, bench_gpu.json"
rm -rf "$bench_cache"
fi

# -- summary -----------------------------------------------------------------------------------------
{
    echo "gpu_check: $((SECONDS - START)) s of a ${BUDGET_S} s budget; files in $OUT"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "benchmark:"
    grep -E 'geometric mean|target|compile:|epoch time|test accuracy|no CUDA device|failed' \
        "$OUT/bench-gpu.txt" 2>/dev/null | sed 's/^ */  /'
    echo
    if ((${#FAILED[@]})); then echo "result: FAILED (${FAILED[*]})"; else echo "result: all steps passed"; fi
} >"$SUMMARY"
echo
cat "$SUMMARY"
((${#FAILED[@]} == 0))
