"""Naive NumPy reference implementations used as test oracles: clear, slow, float64."""

import itertools
import math

import numpy as np

# ---------------------------------------------------------------------------
# Convolution and pooling references (NCL / NCHW, float64)
#
# Plain loops over output positions, written to be read against the PyTorch
# definitions rather than to be fast. Everything here works for any number of
# spatial dims; the tests use 1-D and 2-D.
# ---------------------------------------------------------------------------


def _per_dim(value, n, name):
    """An int broadcast to ``n`` dims, or a tuple/list of exactly ``n`` ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name}: expected {n} values, got {tuple(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _effective_kernel(k, dilation):
    return dilation * (k - 1) + 1


def ref_conv_padding(in_sizes, kernel, stride=1, dilation=1, padding=0):
    """(before, after) zero padding per spatial dim for ``padding`` = int, tuple, or a string.

    "valid": none. "full": k_eff - 1 on each side. "same": output size ceil(in / stride) for every
    stride; the total is split with the odd extra zero at the end (as PyTorch does for stride 1).
    """
    n = len(in_sizes)
    kernel = _per_dim(kernel, n, "kernel")
    stride = _per_dim(stride, n, "stride")
    dilation = _per_dim(dilation, n, "dilation")
    k_eff = [_effective_kernel(k, d) for k, d in zip(kernel, dilation)]
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * n
        if padding == "full":
            return [(ke - 1, ke - 1) for ke in k_eff]
        if padding == "same":
            pads = []
            for size, s, ke in zip(in_sizes, stride, k_eff):
                out = math.ceil(size / s)
                total = max((out - 1) * s + ke - size, 0)
                pads.append((total // 2, total - total // 2))
            return pads
        raise ValueError(f"padding: unknown mode {padding!r} (use 'valid', 'same' or 'full')")
    return [(p, p) for p in _per_dim(padding, n, "padding")]


def ref_conv_output_size(in_size, kernel, stride=1, padding=0, dilation=1):
    """One spatial dim of a convolution; ``padding`` is an int (both sides) or a (before, after) pair."""
    before, after = padding if isinstance(padding, (tuple, list)) else (padding, padding)
    return (in_size + before + after - _effective_kernel(kernel, dilation)) // stride + 1


def ref_conv_transpose_output_size(in_size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """One spatial dim of a transposed convolution, as PyTorch sizes it."""
    return (in_size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def ref_conv_nd(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation like ``torch.nn.functional.conv1d/conv2d``, plus "full" and any-stride "same".

    x: (N, C_in, *in_sizes); w: (C_out, C_in // groups, *kernel); b: (C_out,) or None.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n_spatial = x.ndim - 2
    batch, c_in = x.shape[:2]
    c_out, c_in_per_group = w.shape[:2]
    kernel = w.shape[2:]
    assert c_in == c_in_per_group * groups and c_out % groups == 0, (x.shape, w.shape, groups)
    c_out_per_group = c_out // groups
    stride = _per_dim(stride, n_spatial, "stride")
    dilation = _per_dim(dilation, n_spatial, "dilation")
    pads = ref_conv_padding(x.shape[2:], kernel, stride, dilation, padding)

    x_padded = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])
    out_sizes = [
        ref_conv_output_size(size, k, s, p, d)
        for size, k, s, p, d in zip(x.shape[2:], kernel, stride, pads, dilation)
    ]
    out = np.zeros((batch, c_out, *out_sizes))
    window_axes = list(range(1, n_spatial + 2))  # channel and kernel axes, contracted together
    for pos in np.ndindex(*out_sizes):
        # The input window seen by this output position: k taps, d apart, starting at pos * stride.
        taps = tuple(
            slice(o * s, o * s + _effective_kernel(k, d), d)
            for o, s, k, d in zip(pos, stride, kernel, dilation)
        )
        for g in range(groups):
            x_group = x_padded[(slice(None), slice(g * c_in_per_group, (g + 1) * c_in_per_group)) + taps]
            w_group = w[g * c_out_per_group:(g + 1) * c_out_per_group]
            out[(slice(None), slice(g * c_out_per_group, (g + 1) * c_out_per_group)) + pos] = np.tensordot(
                x_group, w_group, axes=(window_axes, window_axes)
            )
    if b is not None:
        out += np.asarray(b, dtype=np.float64).reshape((1, c_out) + (1,) * n_spatial)
    return out


def ref_conv_transpose_nd(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution like ``torch.nn.functional.conv_transpose1d/2d``, written as a scatter.

    x: (N, C_in, *in_sizes); w: (C_in, C_out // groups, *kernel); b: (C_out,) or None. Input pixel i
    adds x[i] * w into the output at i * stride + j * dilation - padding for every kernel tap j.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n_spatial = x.ndim - 2
    batch, c_in = x.shape[:2]
    assert w.shape[0] == c_in and c_in % groups == 0, (x.shape, w.shape, groups)
    c_in_per_group = c_in // groups
    c_out_per_group = w.shape[1]
    c_out = c_out_per_group * groups
    kernel = w.shape[2:]
    stride = _per_dim(stride, n_spatial, "stride")
    padding = _per_dim(padding, n_spatial, "padding")
    output_padding = _per_dim(output_padding, n_spatial, "output_padding")
    dilation = _per_dim(dilation, n_spatial, "dilation")

    # Scatter into an uncropped buffer (output index + padding), then cut `padding` off each side;
    # output_padding only lengthens the far end.
    out_sizes = [
        ref_conv_transpose_output_size(size, k, s, p, op, d)
        for size, k, s, p, op, d in zip(x.shape[2:], kernel, stride, padding, output_padding, dilation)
    ]
    full_sizes = [o + 2 * p for o, p in zip(out_sizes, padding)]
    full = np.zeros((batch, c_out, *full_sizes))
    for pos in np.ndindex(*x.shape[2:]):
        taps = tuple(
            slice(i * s, i * s + _effective_kernel(k, d), d)
            for i, s, k, d in zip(pos, stride, kernel, dilation)
        )
        for g in range(groups):
            x_pixel = x[(slice(None), slice(g * c_in_per_group, (g + 1) * c_in_per_group)) + pos]  # (N, Cg)
            w_group = w[g * c_in_per_group:(g + 1) * c_in_per_group]  # (Cg, C_out/g, *kernel)
            full[(slice(None), slice(g * c_out_per_group, (g + 1) * c_out_per_group)) + taps] += np.tensordot(
                x_pixel, w_group, axes=(1, 0)
            )
    crop = tuple(slice(p, p + o) for p, o in zip(padding, out_sizes))
    out = full[(slice(None), slice(None)) + crop]
    if b is not None:
        out = out + np.asarray(b, dtype=np.float64).reshape((1, c_out) + (1,) * n_spatial)
    return out


def ref_pool_output_size(in_size, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """One spatial dim of max/avg pooling, with PyTorch's exact rule.

    ceil_mode rounds up, but the last window must start inside the input or the left padding:
    a window starting in the right padding is dropped.
    """
    stride = kernel if stride is None else stride
    span = in_size + 2 * padding - _effective_kernel(kernel, dilation)
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= in_size + padding:
        out -= 1
    return out


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode):
    n_spatial = x.ndim - 2
    kernel = _per_dim(kernel_size, n_spatial, "kernel_size")
    stride = kernel if stride is None or stride == () else _per_dim(stride, n_spatial, "stride")
    padding = _per_dim(padding, n_spatial, "padding")
    dilation = _per_dim(dilation, n_spatial, "dilation")
    out_sizes = [
        ref_pool_output_size(size, k, s, p, d, ceil_mode)
        for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)
    ]
    return kernel, stride, padding, dilation, out_sizes


def _argmax_first(values_and_indices):
    """PyTorch's scan: keep the first maximum; a NaN wins (and the last NaN seen is kept)."""
    best_value, best_index = -np.inf, -1
    for value, index in values_and_indices:
        if best_index == -1 or value > best_value or np.isnan(value):
            best_value, best_index = value, index
    return best_value, best_index


def ref_max_pool_nd(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pooling like ``torch.nn.functional.max_pool1d/2d(..., return_indices=True)``.

    Padding counts as -inf, so it never wins. Returns (values, indices); an index is the flat
    position in the unpadded spatial plane of its (n, c) slice, e.g. h * W + w. A window that
    holds no input element (possible only with dilation) gives -inf and index -1.
    """
    x = np.asarray(x, dtype=np.float64)
    in_sizes = x.shape[2:]
    kernel, stride, padding, dilation, out_sizes = _pool_geometry(
        x, kernel_size, stride, padding, dilation, ceil_mode
    )
    values = np.full(x.shape[:2] + tuple(out_sizes), -np.inf)
    indices = np.full(x.shape[:2] + tuple(out_sizes), -1, dtype=np.int64)
    for n, c in np.ndindex(*x.shape[:2]):
        for pos in np.ndindex(*out_sizes):
            taps = [
                [o * s - p + j * d for j in range(k)]
                for o, s, p, k, d in zip(pos, stride, padding, kernel, dilation)
            ]
            inside = (
                tap for tap in itertools.product(*taps)
                if all(0 <= t < size for t, size in zip(tap, in_sizes))
            )
            values[(n, c) + pos], indices[(n, c) + pos] = _argmax_first(
                (x[(n, c) + tap], int(np.ravel_multi_index(tap, in_sizes))) for tap in inside
            )
    return values, indices


def ref_avg_pool_nd(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling like ``torch.nn.functional.avg_pool1d/2d``, with PyTorch's divisor rule.

    Per dim the window [start, start + k) is first clipped to the padded input [-pad, in + pad):
    with count_include_pad the divisor is that clipped size (padding counts, ceil-mode overhang past
    the right padding does not). Without it the divisor counts only real input elements.
    """
    x = np.asarray(x, dtype=np.float64)
    in_sizes = x.shape[2:]
    kernel, stride, padding, _, out_sizes = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    out = np.zeros(x.shape[:2] + tuple(out_sizes))
    for pos in np.ndindex(*out_sizes):
        real, divisor_with_pad = [], 1
        for o, s, p, k, size in zip(pos, stride, padding, kernel, in_sizes):
            start = o * s - p
            end = min(start + k, size + p)
            divisor_with_pad *= end - start
            real.append(slice(max(start, 0), min(end, size)))
        window = x[(slice(None), slice(None)) + tuple(real)]
        divisor = divisor_with_pad if count_include_pad else window[0, 0].size
        out[(slice(None), slice(None)) + pos] = window.sum(axis=tuple(range(2, x.ndim))) / divisor
    return out


def _adaptive_windows(in_size, out_size):
    """PyTorch's adaptive windows: [floor(i * in / out), ceil((i + 1) * in / out)); they may overlap."""
    return [((i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)) for i in range(out_size)]


def _adaptive_output_sizes(x, output_size):
    n_spatial = x.ndim - 2
    if not isinstance(output_size, (tuple, list)):
        output_size = (output_size,) * n_spatial
    # None keeps that input size, as in PyTorch.
    return [size if o is None else int(o) for o, size in zip(output_size, x.shape[2:])]


def ref_adaptive_avg_pool_nd(x, output_size):
    """``torch.nn.functional.adaptive_avg_pool1d/2d``; output_size 1 is global average pooling."""
    x = np.asarray(x, dtype=np.float64)
    out_sizes = _adaptive_output_sizes(x, output_size)
    windows = [_adaptive_windows(size, o) for size, o in zip(x.shape[2:], out_sizes)]
    out = np.zeros(x.shape[:2] + tuple(out_sizes))
    for pos in np.ndindex(*out_sizes):
        region = tuple(slice(*windows[dim][o]) for dim, o in enumerate(pos))
        out[(slice(None), slice(None)) + pos] = x[(slice(None), slice(None)) + region].mean(
            axis=tuple(range(2, x.ndim))
        )
    return out


def ref_adaptive_max_pool_nd(x, output_size):
    """``torch.nn.functional.adaptive_max_pool1d/2d(..., return_indices=True)`` -> (values, indices)."""
    x = np.asarray(x, dtype=np.float64)
    in_sizes = x.shape[2:]
    out_sizes = _adaptive_output_sizes(x, output_size)
    windows = [_adaptive_windows(size, o) for size, o in zip(in_sizes, out_sizes)]
    values = np.zeros(x.shape[:2] + tuple(out_sizes))
    indices = np.zeros(x.shape[:2] + tuple(out_sizes), dtype=np.int64)
    for n, c in np.ndindex(*x.shape[:2]):
        for pos in np.ndindex(*out_sizes):
            taps = itertools.product(*(range(*windows[dim][o]) for dim, o in enumerate(pos)))
            values[(n, c) + pos], indices[(n, c) + pos] = _argmax_first(
                (x[(n, c) + tap], int(np.ravel_multi_index(tap, in_sizes))) for tap in taps
            )
    return values, indices


def values_only(ref):
    """``ref`` without the indices a max-pool reference returns beside its values."""

    def values(x, **config):
        out = ref(x, **config)
        return out[0] if isinstance(out, tuple) else out

    values.__name__ = ref.__name__
    return values
