// GEMM entry points: the same core (gemm_tile.cu) with plain or normalising A staging, with
// 16-byte loads (K % 4 == 0) or scalar loads (any K). Grid: one block per 128 x 128 tile, 1-D.

#define LNL_GEMM(NAME, VEC, NORM)                                                                 \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS, 2)                                 \
        NAME(const float* __restrict__ a, const float* __restrict__ w, const float* __restrict__ bias, \
             float* __restrict__ c, u32 m, u32 n, u32 k, const float* __restrict__ gamma,          \
             const float* __restrict__ beta, const float* __restrict__ stats) {                   \
        gemm_tile<VEC, NORM>(a, w, bias, c, m, n, k, gamma, beta, stats);                         \
    }

LNL_GEMM(lnl_gemm_plain_vec, true, false)
LNL_GEMM(lnl_gemm_plain_scalar, false, false)
LNL_GEMM(lnl_gemm_norm_vec, true, true)
LNL_GEMM(lnl_gemm_norm_scalar, false, true)
