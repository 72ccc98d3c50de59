"""Matrix products of the fully connected layers on the CPU, run by gradcnn's worker pool.

NumPy's BLAS, left to itself, threads a large product with its own pool, whose idle threads then
spin for a while and take a core from gradcnn's workers in the convolutions that follow (a LeNet-5
step at batch 256 took 38 ms that way, 29 ms with BLAS on one thread). So a product large enough
for BLAS to thread is cut here instead, by output columns, in a plan that depends on the shapes
alone (like the convolutions' chunks: results are bitwise the same on any number of threads), and
each part is multiplied by single-threaded BLAS on the pool. Small products go straight to NumPy.
"""

import numpy as np

from .threads import run_parts

__all__ = ["matmul2d"]

#: Products below this many floating-point operations go straight to NumPy: OpenBLAS runs them on
#: one thread of its own accord (m * n * k <= 65536 * 4 in its gemm interface), and the plan would
#: cost more than it saves.
INLINE_FLOPS = 1 << 19
#: Floating-point operations per part of a larger product: at least two parts from twice this on.
PART_FLOPS = 32_000_000
#: Most parts of one product (each part re-reads the left operand).
MAX_PARTS = 8
#: Part widths are multiples of this many columns (whole SIMD blocks for BLAS's kernels).
ALIGN = 16


def _ceil(a, b):
    return -(-a // b)


def plan(m, k, n):
    """How a product ``(m, k) @ (k, n)`` is cut: ``(by_rows, [(a, b), ...])``, ranges of the
    output's rows or columns (whichever are more), a function of the shape alone."""
    by_rows = m > n
    size = m if by_rows else n
    parts = min(MAX_PARTS, (2 * m * k * n) // PART_FLOPS, _ceil(size, ALIGN))
    if parts <= 1:
        return by_rows, [(0, size)]
    width = _ceil(_ceil(size, parts), ALIGN) * ALIGN
    return by_rows, [(a, min(size, a + width)) for a in range(0, size, width)]


def matmul2d(a, b):
    """``a @ b`` for 2-D arrays of one float dtype (views with any strides BLAS takes, such as a
    transpose), as a new C-contiguous array."""
    m, k = a.shape
    n = b.shape[1]
    if k == 1:  # an outer product (a Linear's weight gradient at batch 1): one term per element
        return a * b
    if 2 * m * k * n < INLINE_FLOPS:
        return a @ b
    out = np.empty((m, n), dtype=np.result_type(a, b))
    by_rows, ranges = plan(m, k, n)

    def part(lo, hi):
        if by_rows:
            np.matmul(a[lo:hi], b, out=out[lo:hi])
        else:
            np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])

    run_parts(part, ranges)
    return out
