"""pytest plugin for a dry run of the GPU tests without a GPU::

    PYTHONPATH=tests/dryrun python -m pytest -p gradcnn_dryrun -m gpu tests

``cupy`` is then the strict stand-in of tests/dryrun/cupy, and ``gradcnn.backends.cuda`` is the real
backend with only its kernel launches (``gradcnn.backends.cuda.launch._launch``) replaced by the host
emulation (tests/cuda_emulation.py): the whole GPU suite -- every op on "cuda" against the CPU,
training, checkpoints, device errors -- runs through gradcnn's device-generic code and the CUDA
kernels' logic. It proves neither speed nor
anything about CuPy, NVRTC or cuBLAS themselves; the real GPU run is benchmarks/gpu_check.sh.
"""

import pathlib
import sys

import cupy

if cupy.__version__ != "0.0-strict-fake":
    raise ImportError(f"gradcnn_dryrun needs tests/dryrun first on sys.path (cupy is {cupy.__file__})")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import cuda_emulation  # noqa: E402

from gradcnn.backends.cuda import launch as _cuda_launch  # noqa: E402


def _launch(kernel, dtype, total, *args):
    cuda_emulation.launch(kernel, dtype, total, *[a._a if isinstance(a, cupy.ndarray) else a for a in args])


_cuda_launch._launch = _launch


def pytest_terminal_summary(terminalreporter):
    kernels = sorted(set(cuda_emulation.launches))
    terminalreporter.write_line(f"dry run: {len(cuda_emulation.launches)} emulated kernel launches ({', '.join(kernels)})")
