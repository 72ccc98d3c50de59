// Pooling kernels of gradcnn's CUDA backend: max pooling (forward with argmax, its scatter and
// gather adjoints) and average pooling (forward and adjoint).
//
// Compiled at first use by CuPy (RawModule, NVRTC); launched from gradcnn/backends/cuda/__init__.py.
// The ops in gradcnn/ops/pool.py validate every shape and compute the window geometry on the host;
// it reaches the kernels as int64 arrays, one entry per output row or column, so every pooling
// flavour (padding, dilation, ceil_mode, adaptive windows) runs through the same kernels.
// Layout NCHW, C-contiguous, planes indexed by t = n * C + c; 1-D work arrives with H = 1.
// Every integer parameter is a long long; argmax indices are int32 positions within one plane.

#define GRADCNN_GRID_STRIDE(i, total)                                              \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (total); \
         i += (long long)blockDim.x * gridDim.x)

template <typename T> __device__ T gradcnn_neg_inf();
template <> __device__ float gradcnn_neg_inf<float>() { return -__int_as_float(0x7f800000); }
template <> __device__ double gradcnn_neg_inf<double>() {
    return -__longlong_as_double(0x7ff0000000000000LL);
}

// geom = [hstart(ho), hcount(ho), wstart(wo), wcount(wo)]: window (oh, ow) reads rows
// hstart[oh] + a*dh (a < hcount[oh]) and columns wstart[ow] + b*dw (b < wcount[ow]), all inside the
// input. An empty window gives -inf and index -1. The first maximum wins; a NaN always wins (the
// last one seen), as on the CPU.
template <typename T>
__device__ void max_pool_fwd_impl(const T* __restrict__ x, T* __restrict__ out, int* __restrict__ idx,
                                  long long planes, long long h, long long w, long long ho,
                                  long long wo, const long long* __restrict__ geom, long long dh,
                                  long long dw) {
    const long long* hstart = geom;
    const long long* hcount = geom + ho;
    const long long* wstart = geom + 2 * ho;
    const long long* wcount = geom + 2 * ho + wo;
    const long long total = planes * ho * wo;
    GRADCNN_GRID_STRIDE(t, total) {
        const long long ow = t % wo;
        const long long oh = (t / wo) % ho;
        const long long plane = t / (wo * ho);
        const long long h0 = hstart[oh], hn = hcount[oh];
        const long long w0 = wstart[ow], wn = wcount[ow];
        if (hn == 0 || wn == 0) {
            out[t] = gradcnn_neg_inf<T>();
            idx[t] = -1;
            continue;
        }
        const T* xp = x + plane * h * w;
        long long at = h0 * w + w0;
        T best = xp[at];
        for (long long a = 0; a < hn; ++a) {
            const long long row = (h0 + a * dh) * w + w0;
            for (long long b = 0; b < wn; ++b) {
                const long long pos = row + b * dw;
                const T v = xp[pos];
                if (v > best || v != v) {
                    best = v;
                    at = pos;
                }
            }
        }
        out[t] = best;
        idx[t] = (int)at;
    }
}

// gx[plane].flat[idx[plane, o]] += g[plane, o]; gx (planes, hw) must be zeroed by the caller.
// Overlapping windows can pick the same input, hence the atomic add.
template <typename T>
__device__ void max_pool_scatter_impl(const T* __restrict__ g, const int* __restrict__ idx,
                                      T* __restrict__ gx, long long planes, long long hw,
                                      long long m) {
    const long long total = planes * m;
    GRADCNN_GRID_STRIDE(t, total) {
        const int i = idx[t];
        if (i >= 0) atomicAdd(gx + (t / m) * hw + i, g[t]);
    }
}

// out[plane, o] = gg[plane].flat[idx[plane, o]] (0 where idx is -1): the adjoint of the scatter.
template <typename T>
__device__ void max_pool_gather_impl(const T* __restrict__ gg, const int* __restrict__ idx,
                                     T* __restrict__ out, long long planes, long long hw,
                                     long long m) {
    const long long total = planes * m;
    GRADCNN_GRID_STRIDE(t, total) {
        const int i = idx[t];
        out[t] = i >= 0 ? gg[(t / m) * hw + i] : T(0);
    }
}

// geom = [hs(ho), he(ho), ws(wo), we(wo)]: window (oh, ow) sums rows [hs, he) and columns [ws, we);
// div (ho, wo) holds the divisors. Sums are accumulated in double.
template <typename T>
__device__ void avg_pool_fwd_impl(const T* __restrict__ x, T* __restrict__ out, long long planes,
                                  long long h, long long w, long long ho, long long wo,
                                  const long long* __restrict__ geom,
                                  const double* __restrict__ div) {
    const long long* hs = geom;
    const long long* he = geom + ho;
    const long long* ws = geom + 2 * ho;
    const long long* we = geom + 2 * ho + wo;
    const long long total = planes * ho * wo;
    GRADCNN_GRID_STRIDE(t, total) {
        const long long ow = t % wo;
        const long long oh = (t / wo) % ho;
        const T* xp = x + (t / (wo * ho)) * h * w;
        double s = 0.0;
        for (long long ih = hs[oh]; ih < he[oh]; ++ih) {
            for (long long iw = ws[ow]; iw < we[ow]; ++iw) s += (double)xp[ih * w + iw];
        }
        out[t] = (T)(s / div[oh * wo + ow]);
    }
}

// The adjoint of avg_pool_fwd, as a gather: gx[plane, ih, iw] = sum over the windows that contain
// (ih, iw) of g / div. cover = [hlo(h), hhi(h), wlo(w), whi(w)] bounds the outputs whose windows
// can contain each input row / column (a superset: membership is checked here).
template <typename T>
__device__ void avg_pool_bwd_impl(const T* __restrict__ g, T* __restrict__ gx, long long planes,
                                  long long h, long long w, long long ho, long long wo,
                                  const long long* __restrict__ geom,
                                  const long long* __restrict__ cover,
                                  const double* __restrict__ div) {
    const long long* hs = geom;
    const long long* he = geom + ho;
    const long long* ws = geom + 2 * ho;
    const long long* we = geom + 2 * ho + wo;
    const long long* hlo = cover;
    const long long* hhi = cover + h;
    const long long* wlo = cover + 2 * h;
    const long long* whi = cover + 2 * h + w;
    const long long total = planes * h * w;
    GRADCNN_GRID_STRIDE(t, total) {
        const long long iw = t % w;
        const long long ih = (t / w) % h;
        const T* gp = g + (t / (w * h)) * ho * wo;
        double s = 0.0;
        for (long long oh = hlo[ih]; oh < hhi[ih]; ++oh) {
            if (ih < hs[oh] || ih >= he[oh]) continue;
            for (long long ow = wlo[iw]; ow < whi[iw]; ++ow) {
                if (iw < ws[ow] || iw >= we[ow]) continue;
                s += (double)gp[oh * wo + ow] / div[oh * wo + ow];
            }
        }
        gx[t] = (T)s;
    }
}

#define GRADCNN_POOL_KERNELS(SUFFIX, T)                                                            \
    extern "C" __global__ void max_pool_fwd_##SUFFIX(                                              \
        const T* __restrict__ x, T* __restrict__ out, int* __restrict__ idx, long long planes,     \
        long long h, long long w, long long ho, long long wo, const long long* __restrict__ geom,  \
        long long dh, long long dw) {                                                              \
        max_pool_fwd_impl<T>(x, out, idx, planes, h, w, ho, wo, geom, dh, dw);                     \
    }                                                                                              \
    extern "C" __global__ void max_pool_scatter_##SUFFIX(const T* __restrict__ g,                  \
                                                         const int* __restrict__ idx,              \
                                                         T* __restrict__ gx, long long planes,     \
                                                         long long hw, long long m) {              \
        max_pool_scatter_impl<T>(g, idx, gx, planes, hw, m);                                       \
    }                                                                                              \
    extern "C" __global__ void max_pool_gather_##SUFFIX(const T* __restrict__ gg,                  \
                                                        const int* __restrict__ idx,               \
                                                        T* __restrict__ out, long long planes,     \
                                                        long long hw, long long m) {               \
        max_pool_gather_impl<T>(gg, idx, out, planes, hw, m);                                      \
    }                                                                                              \
    extern "C" __global__ void avg_pool_fwd_##SUFFIX(                                              \
        const T* __restrict__ x, T* __restrict__ out, long long planes, long long h, long long w,  \
        long long ho, long long wo, const long long* __restrict__ geom,                            \
        const double* __restrict__ div) {                                                          \
        avg_pool_fwd_impl<T>(x, out, planes, h, w, ho, wo, geom, div);                             \
    }                                                                                              \
    extern "C" __global__ void avg_pool_bwd_##SUFFIX(                                              \
        const T* __restrict__ g, T* __restrict__ gx, long long planes, long long h, long long w,   \
        long long ho, long long wo, const long long* __restrict__ geom,                            \
        const long long* __restrict__ cover, const double* __restrict__ div) {                     \
        avg_pool_bwd_impl<T>(g, gx, planes, h, w, ho, wo, geom, cover, div);                       \
    }

GRADCNN_POOL_KERNELS(f32, float)
GRADCNN_POOL_KERNELS(f64, double)
