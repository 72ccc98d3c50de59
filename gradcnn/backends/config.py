"""Every switch of the CPU kernels in one place: Numba flags and the kernel cache.

Environment variables, read when the kernels first load:

* ``GRADCNN_NUMBA_CACHE=0`` turns the on-disk cache of compiled kernels off.
* ``GRADCNN_CACHE_DIR=PATH`` puts it in PATH instead of next to the package.
* ``GRADCNN_NUM_THREADS=N`` sizes gradcnn's worker pool (read by ``backends.cpu.threads``).

Caching: Numba caches next to the source when the package directory is writable. Otherwise we
point it at a user cache directory, and if that cannot be created either we compile without a cache
— a read-only install never turns into an error.

Threads: the kernels are serial and release the GIL; ``backends.cpu.threads`` runs them from its own pool.
Numba's own thread pool is never started, so it cannot fight OpenBLAS's spinning threads.
"""

import os
import pathlib
import tempfile

__all__ = ["jit_options", "cache_dir", "configure_numba"]

_configured = None


def _writable_dir(path):
    """Whether ``path`` exists (or can be created) and accepts a file."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
        return True
    except OSError:
        return False


def _user_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "gradcnn" / "numba"


def cache_dir():
    """Where compiled kernels are cached, or ``None`` when they are not cached."""
    if os.environ.get("GRADCNN_NUMBA_CACHE", "1") == "0":
        return None
    if os.environ.get("GRADCNN_CACHE_DIR"):
        path = pathlib.Path(os.environ["GRADCNN_CACHE_DIR"])
        return path if _writable_dir(path) else None
    here = pathlib.Path(__file__).resolve().parent / "cpu" / "__pycache__"
    if _writable_dir(here):
        return here
    user = _user_cache_dir()
    return user if _writable_dir(user) else None


def configure_numba():
    """Point Numba's cache where it can write; once, before any kernel is compiled."""
    global _configured
    if _configured is not None:
        return _configured
    import numba

    where = cache_dir()
    if where is not None and where.name != "__pycache__":
        numba.config.CACHE_DIR = str(where)
    _configured = {"cache": where is not None, "cache_dir": where}
    return _configured


def jit_options(parallel=False, contract=False, reassoc=False):
    """Keyword arguments for ``numba.njit``: the same flags for every kernel (``contract``: multiply
    and add fused into one rounding, for kernels whose results need not equal a NumPy expression's;
    ``reassoc``: sums may be split into vector lanes, in an order fixed at compile time).

    With ``NUMBA_BOUNDSCHECK=1`` kernels compile serially (Numba's bounds checks do not raise from
    inside ``prange`` loops) and uncached (a checked build must not be reused by unchecked runs).
    """
    conf = configure_numba()
    checking = os.environ.get("NUMBA_BOUNDSCHECK", "0") not in ("", "0")
    return {
        "cache": conf["cache"] and not checking,  # checked builds never enter the shared cache
        "nogil": True,
        "parallel": parallel and not checking,
        "fastmath": {flag for flag, on in (("contract", contract), ("reassoc", reassoc)) if on} or False,
        # NumPy's semantics for x / 0 (inf or nan, as the array code the kernels replace), and no
        # zero test in front of every division.
        "error_model": "numpy",
        "boundscheck": None,
    }
