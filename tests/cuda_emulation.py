"""Host emulation of the CUDA backend's kernels, for machines without a GPU.

The ``.cu`` sources of ``gradcnn.backends.cuda`` are compiled as ordinary C++ with a small prelude
that supplies what CUDA provides (``blockIdx``/``blockDim``/``threadIdx``/``gridDim``, ``__global__``,
the bit-cast intrinsics, ``atomicAdd``), into a shared library loaded with ctypes. A launch then runs
every (block, thread) of a small grid one after the other, so the grid-stride loops, the index
arithmetic and the argument order of each kernel are exercised exactly as written; what cannot be
checked this way is what only a GPU has (races between threads, memory coalescing, NVRTC's own
reading of the source, which the PTX compile test covers).

``emulated_backend()`` gives ``gradcnn.backends.cuda`` with its launcher (``launch._launch``)
replaced by the emulator: the backend's Python code (chunking, GEMM layout, geometry uploads) then
runs unchanged on NumPy arrays.
"""

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import types
from pathlib import Path

import numpy as np

from gradcnn.backends import cuda as cuda_backend
from gradcnn.backends.cuda import conv as cuda_conv
from gradcnn.backends.cuda import launch as cuda_launch
from gradcnn.backends.cuda import pool as cuda_pool

PRELUDE = r"""
#include <cstring>
struct gradcnn_emu_dim3 { unsigned int x, y, z; };
static gradcnn_emu_dim3 blockIdx, blockDim, threadIdx, gridDim;
extern "C" void gradcnn_emu_set(unsigned int block, unsigned int nthreads, unsigned int thread,
                                unsigned int nblocks) {
    blockIdx = {block, 0, 0};
    blockDim = {nthreads, 1, 1};
    threadIdx = {thread, 0, 0};
    gridDim = {nblocks, 1, 1};
}
#define __global__
#define __device__
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, sizeof f); return f; }
static inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, sizeof d); return d; }
template <typename T> static inline T atomicAdd(T* address, T value) { T old = *address; *address = old + value; return old; }
"""

#: Appended to a source in the emulation build only: host entry points for the index-width checks
#: the kernels make (the same macros, on the same parameter names), so that tests can call them.
EPILOGUES = {
    "conv.cu": r"""
extern "C" int gradcnn_emu_fits_int(long long n_, long long c_, long long h_, long long w_, long long kh_,
                                    long long kw_, long long ho_, long long wo_) {
    return GRADCNN_CONV_FITS;
}
extern "C" int gradcnn_emu_direct_fits_int(long long n_, long long c_, long long h_, long long w_,
                                           long long o_, long long groups_, long long kh_, long long kw_,
                                           long long ho_, long long wo_) {
    return GRADCNN_DIRECT_FITS;
}
""",
}

#: The emulated grid: small, but more than one block and more than one thread per block, so the
#: grid-stride loops take several strides.
GRID = 2
BLOCK = 3


def compiler():
    """The C++ compiler used for the emulation, or None."""
    return shutil.which(os.environ.get("CXX", "g++"))


def _cache_dir():
    root = Path(os.environ.get("GRADCNN_EMULATION_CACHE", Path(tempfile.gettempdir()) / "gradcnn-cuda-emulation"))
    root.mkdir(parents=True, exist_ok=True)
    return root


_libraries = {}


#: Preprocessor definitions for the emulation builds (``GRADCNN_FORCE_INDEX64`` takes the 64-bit
#: index path of the convolution kernels); tests may change it, libraries are cached per value.
defines = ()


def library(name):
    """The emulation library of one ``.cu`` file, compiled once per source text and definitions."""
    key = (name, tuple(defines))
    lib = _libraries.get(key)
    if lib is not None:
        return lib
    text = cuda_backend.source(name) + EPILOGUES.get(name, "")
    digest = hashlib.sha256(repr((PRELUDE, text, key)).encode()).hexdigest()[:16]
    out = _cache_dir() / f"{Path(name).stem}-{digest}.so"
    if not out.exists():
        work = Path(tempfile.mkdtemp(dir=_cache_dir()))
        (work / "prelude.h").write_text(PRELUDE)
        (work / name).write_text(text)
        tmp = work / "lib.so"
        cmd = [compiler(), "-std=c++17", "-O1", "-Wall", "-Werror", "-Wno-unused-function", "-shared", "-fPIC",
               *[f"-D{d}" for d in defines], "-x", "c++", "-include", str(work / "prelude.h"), str(work / name),
               "-o", str(tmp)]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        os.replace(tmp, out)
        shutil.rmtree(work, ignore_errors=True)
    lib = _libraries[key] = ctypes.CDLL(str(out))
    lib.gradcnn_emu_set.argtypes = [ctypes.c_uint] * 4
    return lib


def _arg(a):
    if isinstance(a, np.ndarray):
        if not a.flags.c_contiguous:
            raise AssertionError("a kernel was handed a non-contiguous array")
        return ctypes.c_void_p(a.ctypes.data)
    if isinstance(a, (int, np.integer)):
        return ctypes.c_longlong(int(a))
    raise AssertionError(f"unexpected kernel argument {type(a).__name__}")


launches = []  # kernel names, in launch order (tests may inspect and clear it)

#: The arguments each kernel must overwrite entirely. Before a launch they are filled with poison
#: (NaN, or -7 for indices), so an element that no thread writes shows up in every comparison.
#: (max_pool_scatter accumulates into zeros its caller provides: nothing to poison.)
OUTPUTS = {
    "im2col": (1,),
    "col2im": (1,),
    "conv_direct_fwd": (2,),
    "conv_direct_bwd_data": (2,),
    "max_pool_fwd": (1, 2),
    "max_pool_gather": (2,),
    "avg_pool_fwd": (1,),
    "avg_pool_bwd": (1,),
    "max_pool_scatter": (),
}

#: The order in which the emulated threads run: "forward" or "reverse". Kernels with one writer per
#: element give the same bits either way; two threads writing one element differently would not.
order = "forward"


def launch(kernel, dtype, total, *args):
    """Stand-in for ``gradcnn.backends.cuda.launch._launch``."""
    if total <= 0:
        return
    launches.append(kernel)
    for i in OUTPUTS[kernel]:
        args[i].fill(np.nan if args[i].dtype.kind == "f" else -7)
    lib = library(cuda_launch._file_of(kernel))
    fn = getattr(lib, f"{kernel}_{cuda_launch._SUFFIX[np.dtype(dtype)]}")
    fn.restype = None
    cargs = [_arg(a) for a in args]
    threads = [(block, thread) for block in range(GRID) for thread in range(BLOCK)]
    for block, thread in reversed(threads) if order == "reverse" else threads:
        lib.gradcnn_emu_set(block, BLOCK, thread, GRID)
        fn(*cargs)


def _copy(module, name, **replace):
    """A copy of ``module`` named ``name`` with ``replace`` assigned in it, whose functions look
    names up in the copy (only those defined there: a decorated function's globals are its
    decorator's)."""
    copy = types.ModuleType(name)
    copy.__dict__.update(module.__dict__)
    copy.__dict__.update(replace, __name__=name)
    for key, value in list(copy.__dict__.items()):
        if isinstance(value, types.FunctionType) and value.__globals__ is module.__dict__:
            copy.__dict__[key] = _rebound(value, copy)
        elif isinstance(getattr(value, "__wrapped__", None), types.FunctionType) and (
                value.__wrapped__.__globals__ is module.__dict__ and "launch" in copy.__dict__):
            # The backend's functions run on their arrays' device (``launch.on_device``): the copy
            # wraps its own function with its own launcher's decorator.
            copy.__dict__[key] = copy.__dict__["launch"].on_device(_rebound(value.__wrapped__, copy))
    return copy


def _rebound(fn, module):
    """``fn`` looking its names up in ``module``."""
    new = types.FunctionType(fn.__code__, module.__dict__, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def emulated_backend():
    """A copy of ``gradcnn.backends.cuda`` whose kernels run in the host emulation.

    Its ``launch``, ``conv`` and ``pool`` are copies of the backend's modules: ``launch._launch`` is
    the emulator, and the copied ``conv`` and ``pool`` launch through the copied ``launch``, so
    settings changed on the copies (``emu.conv.CONV_ALGORITHM``, ``emu.launch.CHUNK_BYTES``) leave
    the real backend alone. The package's names come from the copies."""
    emu_launch = _copy(cuda_launch, "gradcnn_cuda_emulated.launch", _launch=launch)
    emu_conv = _copy(cuda_conv, "gradcnn_cuda_emulated.conv", launch=emu_launch)
    emu_pool = _copy(cuda_pool, "gradcnn_cuda_emulated.pool", launch=emu_launch)
    copies = {cuda_launch: emu_launch, cuda_conv: emu_conv, cuda_pool: emu_pool}
    module = types.ModuleType("gradcnn_cuda_emulated")
    for name in cuda_backend.__all__:
        # Functions that launch no kernel of their own (ReLU, batch norm, optimizer updates: CuPy
        # array expressions) are the backend's own, running on NumPy arrays here.
        home = next((m for m in copies if name in vars(m) and vars(m)[name] is getattr(cuda_backend, name)), None)
        setattr(module, name, getattr(cuda_backend, name) if home is None else getattr(copies[home], name))
    module.launch, module.conv, module.pool = emu_launch, emu_conv, emu_pool
    return module
