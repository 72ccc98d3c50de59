// Convolution kernels of gradcnn's CUDA backend: im2col and its adjoint col2im.
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

// True when every index of the image (n, c, h, w) and of the column matrix, plus one grid stride
// (at most 2**27 threads: the launcher caps the grid), fits in an int.
__device__ inline bool gradcnn_fits_int(long long n, long long c, long long h, long long w,
                                        long long kh, long long kw, long long ho, long long wo) {
#ifdef GRADCNN_FORCE_INDEX64
    return false;  // for the tests of the 64-bit path
#endif
    const long long limit = 1LL << 30;
    return n * c * h * w < limit && n * c * kh * kw * ho * wo < limit;
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
            const I th = ih + ph - i * dh;  // = oh * sh for a window row that reads ih
            if (th < 0 || th % sh != 0) continue;
            const I oh = th / sh;
            if (oh >= ho) continue;
            for (I j = 0; j < kw; ++j) {
                const I tw = iw + pw - j * dw;
                if (tw < 0 || tw % sw != 0) continue;
                const I ow = tw / sw;
                if (ow >= wo) continue;
                const I r = (ch * kh + i) * kw + j;
                acc += cols[s * s_n + r * s_r + oh * wo + ow];
            }
        }
        x[t] = acc;
    }
}

#define GRADCNN_CONV_KERNELS(SUFFIX, T)                                                            \
    extern "C" __global__ void im2col_##SUFFIX(const T* __restrict__ x, T* __restrict__ cols,      \
                                               GRADCNN_CONV_PARAMS) {                              \
        if (gradcnn_fits_int(n_, c_, h_, w_, kh_, kw_, ho_, wo_))                                  \
            im2col_impl<T, int>(x, cols, GRADCNN_CONV_ARGS(int));                                  \
        else                                                                                       \
            im2col_impl<T, long long>(x, cols, GRADCNN_CONV_ARGS(long long));                      \
    }                                                                                              \
    extern "C" __global__ void col2im_##SUFFIX(const T* __restrict__ cols, T* __restrict__ x,      \
                                               GRADCNN_CONV_PARAMS) {                              \
        if (gradcnn_fits_int(n_, c_, h_, w_, kh_, kw_, ho_, wo_))                                  \
            col2im_impl<T, int>(cols, x, GRADCNN_CONV_ARGS(int));                                  \
        else                                                                                       \
            col2im_impl<T, long long>(cols, x, GRADCNN_CONV_ARGS(long long));                      \
    }

GRADCNN_CONV_KERNELS(f32, float)
GRADCNN_CONV_KERNELS(f64, double)
