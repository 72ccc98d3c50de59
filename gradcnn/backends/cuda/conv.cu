// Convolution kernels of gradcnn's CUDA backend: im2col and its adjoint col2im, and the direct
// convolution (forward, and its adjoint in the input) for layers whose GEMM would be degenerate.
//
// Compiled at first use by CuPy (RawModule, NVRTC); launched from gradcnn/backends/cuda/__init__.py,
// which validates nothing itself: the ops in gradcnn/ops/conv.py have checked every shape before a
// kernel is reached. Layout NCHW, C-contiguous; 1-D work arrives with H = 1.
//
// Every kernel is a grid-stride loop over its outputs, one thread per output element: no two threads
// write the same element, so no atomics and bit-for-bit repeatable sums. Every integer parameter is
// a long long (the launcher passes all of them as int64); the index arithmetic runs in 32 bits when
// both arrays have fewer than 2**30 elements (the usual case: 64-bit division costs several times
// more on a GPU, and these kernels divide for every element) and in 64 bits otherwise.
//
// Column matrix layout. Element (n, r, p) -- sample n, row r = (c, i, j) of the unrolled kernel
// window, output position p = oh * Wo + ow -- lives at cols[n * s_n + r * s_r + p]. The launcher
// picks the strides: (C*kh*kw*Ho*Wo, Ho*Wo) is one (C*kh*kw, Ho*Wo) matrix per sample, what the
// batched GEMMs of the forward pass and of the input gradient want; (Ho*Wo, N*Ho*Wo) is one
// (C*kh*kw, N*Ho*Wo) matrix for the batch, what the weight gradient's single GEMM wants.

#define GRADCNN_GRID_STRIDE(I, i, total)                                     \
    for (I i = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; i < (total); \
         i += (I)blockDim.x * (I)gridDim.x)

#define GRADCNN_CONV_PARAMS                                                                        \
    long long n_, long long c_, long long h_, long long w_, long long kh_, long long kw_,          \
        long long sh_, long long sw_, long long ph_, long long pw_, long long dh_, long long dw_,  \
        long long ho_, long long wo_, long long s_n_, long long s_r_
#define GRADCNN_CONV_ARGS(I)                                                                       \
    (I)n_, (I)c_, (I)h_, (I)w_, (I)kh_, (I)kw_, (I)sh_, (I)sw_, (I)ph_, (I)pw_, (I)dh_, (I)dw_,    \
        (I)ho_, (I)wo_, (I)s_n_, (I)s_r_

// True when arrays of a, b and c elements can all be indexed in int: each is below 2**30, so an
// index plus one grid stride (at most 2**27 threads: the launcher caps the grid) stays below 2**31.
__device__ inline bool gradcnn_fits_int(long long a, long long b, long long c = 0) {
#ifdef GRADCNN_FORCE_INDEX64
    return false;  // for the tests of the 64-bit path
#endif
    const long long limit = 1LL << 30;
    return a < limit && b < limit && c < limit;
}

// Calls IMPL<T, int> when FITS, else IMPL<T, long long>; ARGS(I) gives the kernel's integer
// parameters cast to I, after the array arguments.
#define GRADCNN_BY_INDEX_WIDTH(FITS, IMPL, T, ARGS, ...) \
    if (FITS)                                            \
        IMPL<T, int>(__VA_ARGS__, ARGS(int));            \
    else                                                 \
        IMPL<T, long long>(__VA_ARGS__, ARGS(long long))

// im2col / col2im: the image (n, c, h, w) and the column matrix.
#define GRADCNN_CONV_FITS gradcnn_fits_int(n_ * c_ * h_ * w_, n_ * c_ * kh_ * kw_ * ho_ * wo_)

// The output position whose window's tap k reads input position i (padding p, dilation d, stride
// s, out_size outputs), or -1 when no window's tap k reads it.
template <typename I>
__device__ inline I gradcnn_tap_output(I i, I k, I p, I d, I s, I out_size) {
    const I t = i + p - k * d;  // = out * s for the window that reads i with tap k
    if (t < 0 || t % s != 0) return -1;
    const I out = t / s;
    return out < out_size ? out : -1;
}

// cols[n, (c, i, j), (oh, ow)] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw], 0 outside x.
template <typename T, typename I>
__device__ void im2col_impl(const T* __restrict__ x, T* __restrict__ cols, I n, I c, I h, I w, I kh,
                            I kw, I sh, I sw, I ph, I pw, I dh, I dw, I ho, I wo, I s_n, I s_r) {
    const I hw = ho * wo;
    const I rows = c * kh * kw;
    const I total = n * rows * hw;
    GRADCNN_GRID_STRIDE(I, t, total) {
        const I p = t % hw;
        const I r = (t / hw) % rows;
        const I s = t / (hw * rows);
        const I j = r % kw;
        const I i = (r / kw) % kh;
        const I ch = r / (kw * kh);
        const I ih = (p / wo) * sh - ph + i * dh;
        const I iw = (p % wo) * sw - pw + j * dw;
        T v = T(0);
        if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
            v = x[((s * c + ch) * h + ih) * w + iw];
        }
        cols[s * s_n + r * s_r + p] = v;
    }
}

// The adjoint of im2col, as a gather: x[n, c, ih, iw] = sum of every column entry that im2col
// copied from (ih, iw). Overwrites x entirely.
template <typename T, typename I>
__device__ void col2im_impl(const T* __restrict__ cols, T* __restrict__ x, I n, I c, I h, I w, I kh,
                            I kw, I sh, I sw, I ph, I pw, I dh, I dw, I ho, I wo, I s_n, I s_r) {
    const I total = n * c * h * w;
    GRADCNN_GRID_STRIDE(I, t, total) {
        const I iw = t % w;
        const I ih = (t / w) % h;
        const I ch = (t / (w * h)) % c;
        const I s = t / (w * h * c);
        T acc = T(0);
        for (I i = 0; i < kh; ++i) {
            const I oh = gradcnn_tap_output(ih, i, ph, dh, sh, ho);
            if (oh < 0) continue;
            for (I j = 0; j < kw; ++j) {
                const I ow = gradcnn_tap_output(iw, j, pw, dw, sw, wo);
                if (ow < 0) continue;
                const I r = (ch * kh + i) * kw + j;
                acc += cols[s * s_n + r * s_r + oh * wo + ow];
            }
        }
        x[t] = acc;
    }
}

// Direct convolution, for shapes where the GEMM's reduction is short (a depthwise layer, a first
// layer on one or three channels): no column matrix, one thread per output element, the weights
// of one output channel read by every thread of a warp at once.
//
// y[n, o, oh, ow] = sum over (ci, i, j) of x[n, g*Cg + ci, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
//                   * w[o, ci, i, j], with g = o / Og, Cg = C / groups, Og = O / groups.

#define GRADCNN_DIRECT_PARAMS                                                                      \
    long long n_, long long c_, long long h_, long long w_, long long o_, long long groups_,       \
        long long kh_, long long kw_, long long sh_, long long sw_, long long ph_, long long pw_,  \
        long long dh_, long long dw_, long long ho_, long long wo_
#define GRADCNN_DIRECT_ARGS(I)                                                                     \
    (I)n_, (I)c_, (I)h_, (I)w_, (I)o_, (I)groups_, (I)kh_, (I)kw_, (I)sh_, (I)sw_, (I)ph_, (I)pw_, \
        (I)dh_, (I)dw_, (I)ho_, (I)wo_

// x (n, c, h, w), y (n, o, ho, wo) and the weight (o, c / groups, kh, kw).
#define GRADCNN_DIRECT_FITS \
    gradcnn_fits_int(n_ * c_ * h_ * w_, n_ * o_ * ho_ * wo_, o_ * (c_ / groups_) * kh_ * kw_)

template <typename T, typename I>
__device__ void conv_direct_fwd_impl(const T* __restrict__ x, const T* __restrict__ wt,
                                     T* __restrict__ y, I n, I c, I h, I w, I o, I groups, I kh,
                                     I kw, I sh, I sw, I ph, I pw, I dh, I dw, I ho, I wo) {
    const I cg = c / groups;
    const I og = o / groups;
    const I total = n * o * ho * wo;
    GRADCNN_GRID_STRIDE(I, t, total) {
        const I ow = t % wo;
        const I oh = (t / wo) % ho;
        const I oc = (t / (wo * ho)) % o;
        const I s = t / (wo * ho * o);
        const I h0 = oh * sh - ph;
        const I w0 = ow * sw - pw;
        const T* xs = x + (s * c + (oc / og) * cg) * h * w;
        const T* ws = wt + oc * cg * kh * kw;
        T acc = T(0);
        for (I ci = 0; ci < cg; ++ci) {
            for (I i = 0; i < kh; ++i) {
                const I ih = h0 + i * dh;
                if (ih < 0 || ih >= h) continue;
                for (I j = 0; j < kw; ++j) {
                    const I iw = w0 + j * dw;
                    if (iw < 0 || iw >= w) continue;
                    acc += xs[(ci * h + ih) * w + iw] * ws[(ci * kh + i) * kw + j];
                }
            }
        }
        y[t] = acc;
    }
}

// The adjoint of the direct convolution in x, as a gather (one thread per input element):
// gx[n, ch, ih, iw] = sum over the output channels o of ch's group and the taps (i, j) whose window
// reads (ih, iw) of gy[n, o, oh, ow] * w[o, ch % Cg, i, j]. Overwrites gx entirely.
template <typename T, typename I>
__device__ void conv_direct_bwd_data_impl(const T* __restrict__ gy, const T* __restrict__ wt,
                                          T* __restrict__ gx, I n, I c, I h, I w, I o, I groups,
                                          I kh, I kw, I sh, I sw, I ph, I pw, I dh, I dw, I ho,
                                          I wo) {
    const I cg = c / groups;
    const I og = o / groups;
    const I total = n * c * h * w;
    GRADCNN_GRID_STRIDE(I, t, total) {
        const I iw = t % w;
        const I ih = (t / w) % h;
        const I ch = (t / (w * h)) % c;
        const I s = t / (w * h * c);
        const I o0 = (ch / cg) * og;
        const I cl = ch % cg;
        T acc = T(0);
        for (I i = 0; i < kh; ++i) {
            const I oh = gradcnn_tap_output(ih, i, ph, dh, sh, ho);
            if (oh < 0) continue;
            for (I j = 0; j < kw; ++j) {
                const I ow = gradcnn_tap_output(iw, j, pw, dw, sw, wo);
                if (ow < 0) continue;
                for (I oc = o0; oc < o0 + og; ++oc) {
                    acc += gy[((s * o + oc) * ho + oh) * wo + ow] * wt[((oc * cg + cl) * kh + i) * kw + j];
                }
            }
        }
        gx[t] = acc;
    }
}

#define GRADCNN_CONV_KERNELS(SUFFIX, T)                                                            \
    extern "C" __global__ void im2col_##SUFFIX(const T* __restrict__ x, T* __restrict__ cols,      \
                                               GRADCNN_CONV_PARAMS) {                              \
        GRADCNN_BY_INDEX_WIDTH(GRADCNN_CONV_FITS, im2col_impl, T, GRADCNN_CONV_ARGS, x, cols);     \
    }                                                                                              \
    extern "C" __global__ void col2im_##SUFFIX(const T* __restrict__ cols, T* __restrict__ x,      \
                                               GRADCNN_CONV_PARAMS) {                              \
        GRADCNN_BY_INDEX_WIDTH(GRADCNN_CONV_FITS, col2im_impl, T, GRADCNN_CONV_ARGS, cols, x);     \
    }                                                                                              \
    extern "C" __global__ void conv_direct_fwd_##SUFFIX(                                           \
        const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y,                       \
        GRADCNN_DIRECT_PARAMS) {                                                                   \
        GRADCNN_BY_INDEX_WIDTH(GRADCNN_DIRECT_FITS, conv_direct_fwd_impl, T, GRADCNN_DIRECT_ARGS,  \
                               x, w, y);                                                           \
    }                                                                                              \
    extern "C" __global__ void conv_direct_bwd_data_##SUFFIX(                                      \
        const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ gx,                     \
        GRADCNN_DIRECT_PARAMS) {                                                                   \
        GRADCNN_BY_INDEX_WIDTH(GRADCNN_DIRECT_FITS, conv_direct_bwd_data_impl, T,                  \
                               GRADCNN_DIRECT_ARGS, gy, w, gx);                                    \
    }

GRADCNN_CONV_KERNELS(f32, float)
GRADCNN_CONV_KERNELS(f64, double)
