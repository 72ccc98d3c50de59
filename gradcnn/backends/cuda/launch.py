"""Launching the CUDA kernels: the sources, their compiled modules, grids, uploads and batch chunks.

The kernels are CUDA C in ``conv.cu`` and ``pool.cu`` next to this file (package data); CuPy
compiles each file with NVRTC on first use on a device (one ``cupy.RawModule`` per device and file,
kept here) and caches the result on disk (``CUPY_CACHE_DIR``).

Every kernel is a grid-stride loop over its outputs with int64 indices, so a launch is ``(total
elements, every argument)``; :func:`_launch` turns that into a grid, converts Python ints to int64
and picks the float32 or float64 instantiation (``name_f32`` / ``name_f64``). The wrappers in
:mod:`.conv` and :mod:`.pool` reach it as ``launch._launch``, through this module, and do all array
math through ``xp = get_array_module(x)``, never through ``cupy`` by name: replacing this one
function then runs the whole backend on NumPy arrays with a host emulation of the kernels, which the
test suite uses to check the wrappers and the kernels against the CPU backend without a GPU.
"""

import functools
import importlib.resources
import sys
import threading
import time

import numpy as np

__all__ = ["KERNELS", "SOURCES", "COMPILE_OPTIONS", "CHUNK_BYTES", "BLOCK", "MAX_BLOCKS", "source", "warmup",
           "on_device"]

#: The CUDA C files of this backend and the ``extern "C"`` kernels each defines (per dtype suffix).
KERNELS = {
    "conv.cu": ("im2col", "col2im", "conv_direct_fwd", "conv_direct_bwd_data"),
    "pool.cu": ("max_pool_fwd", "max_pool_scatter", "max_pool_gather", "avg_pool_fwd", "avg_pool_bwd"),
}
SOURCES = tuple(KERNELS)
#: Options given to ``cupy.RawModule``; CuPy adds its own (``-ftz=true``, the arch, include dirs).
COMPILE_OPTIONS = ("--std=c++17",)
#: Bytes of column matrix per chunk of the batch.
CHUNK_BYTES = 256 << 20
#: Threads per block for every launch.
BLOCK = 256
#: At most this many blocks per launch (BLOCK * MAX_BLOCKS = 2**27 threads, an assumption of the
#: 32-bit index path of conv.cu); the grid-stride loops cover the rest.
MAX_BLOCKS = 1 << 19

_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
_modules = {}  # (device id, file) -> cupy.RawModule
_modules_lock = threading.Lock()


def source(name):
    """The CUDA C source of ``name`` (one of :data:`SOURCES`), read from the package data."""
    return importlib.resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _module(cupy, name):
    key = (cupy.cuda.Device().id, name)
    mod = _modules.get(key)
    if mod is None:
        with _modules_lock:
            mod = _modules.get(key)
            if mod is None:
                mod = _modules[key] = cupy.RawModule(code=source(name), options=COMPILE_OPTIONS)
    return mod


def _file_of(kernel):
    for name, kernels in KERNELS.items():
        if kernel in kernels:
            return name
    raise KeyError(kernel)


_functions = {}  # (device id, kernel, dtype) -> the compiled kernel's handle


def _launch(kernel, dtype, total, *args):
    """Run ``kernel`` (its name without the dtype suffix) over ``total`` elements, on the current
    device (the wrappers make it the arrays' device, :func:`on_device`)."""
    if total <= 0:
        return
    import cupy

    key = (cupy.cuda.runtime.getDevice(), kernel, np.dtype(dtype))
    fn = _functions.get(key)
    if fn is None:
        fn = _functions[key] = _module(cupy, _file_of(kernel)).get_function(f"{kernel}_{_SUFFIX[key[2]]}")
    grid = min(MAX_BLOCKS, -(-total // BLOCK))
    fn((grid,), (BLOCK,), tuple(np.int64(a) if isinstance(a, (int, np.integer)) else a for a in args))


def on_device(fn):
    """Run ``fn`` with the device of its first CuPy array argument current: CuPy allocates, and
    kernels launch, on the current device, which need not be the one the arrays live on (a model
    on "cuda:1" while device 0 is current). Arguments that are not CuPy arrays (NumPy arrays, in
    the host emulation of the tests) leave the current device alone."""

    @functools.wraps(fn)
    def on_the_arrays_device(*args, **kwargs):
        for a in args:
            module = type(a).__module__
            if module.startswith("cupy"):
                cupy = sys.modules[module.partition(".")[0]]
                with cupy.cuda.Device(a.device.id):
                    return fn(*args, **kwargs)
        return fn(*args, **kwargs)

    return on_the_arrays_device


_uploads = {}  # (device id, bytes, dtype) -> device copy of a small geometry array
_UPLOADS_MAX = 512


def _upload(xp, array):
    """A small host array (window geometry) on the current device, cached by content."""
    array = np.ascontiguousarray(array)
    if xp is np:
        return array
    key = (xp.cuda.Device().id, array.dtype.str, array.tobytes())
    dev = _uploads.get(key)
    if dev is None:
        if len(_uploads) >= _UPLOADS_MAX:
            _uploads.clear()
        dev = _uploads[key] = xp.asarray(array)
    return dev


def _chunks(n, bytes_per_sample):
    """Chunks ``[a, b)`` of ``range(n)`` with at most :data:`CHUNK_BYTES` of column matrix each."""
    per = max(1, CHUNK_BYTES // max(1, bytes_per_sample))
    return [(a, min(n, a + per)) for a in range(0, n, per)]


def warmup():
    """Compile (or load from CuPy's cache) every kernel on the current device; seconds taken."""
    import cupy

    start = time.perf_counter()
    for name, kernels in KERNELS.items():
        mod = _module(cupy, name)
        for kernel in kernels:
            for suffix in _SUFFIX.values():
                mod.get_function(f"{kernel}_{suffix}")
    return time.perf_counter() - start
