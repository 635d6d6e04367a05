// GEMM entry points: the core of gemm_tile.cu for each (strategy, load width, tile) the launch
// plan can pick. 16-byte loads need K % 4 == 0; scalar loads take any K. Grid: one block per
// output tile, 1-D. Each tile is BMxBNxBK with TM x TN outputs per thread, (BM / TM)(BN / TN)
// threads, and MINB blocks per SM promised to the compiler (__launch_bounds__: the register cap
// is 65536 / (threads * MINB), at most 255). crates/lnl-cuda/src/kernels.rs lists the same set.

#define LNL_GEMM(NAME, BM, BN, BK, TM, TN, MINB, VEC, NORM)                                           \
    extern "C" __global__ void __launch_bounds__((BM / TM) * (BN / TN), MINB)                       \
        NAME(const float* __restrict__ a, const float* __restrict__ w, const float* __restrict__ bias, \
             float* __restrict__ c, u32 m, u32 n, u32 k, const float* __restrict__ stats) {       \
        gemm_tile<BM, BN, BK, TM, TN, VEC, NORM>(a, w, bias, c, m, n, k, stats);                      \
    }

#define LNL_GEMM_TILE(SUFFIX, BM, BN, BK, TM, TN, MINB)                                 \
    LNL_GEMM(lnl_gemm_plain_scalar_##SUFFIX, BM, BN, BK, TM, TN, MINB, false, false)    \
    LNL_GEMM(lnl_gemm_plain_vec_##SUFFIX, BM, BN, BK, TM, TN, MINB, true, false)        \
    LNL_GEMM(lnl_gemm_norm_scalar_##SUFFIX, BM, BN, BK, TM, TN, MINB, false, true)      \
    LNL_GEMM(lnl_gemm_norm_vec_##SUFFIX, BM, BN, BK, TM, TN, MINB, true, true)

// 128x128: 256 threads, 2 blocks per SM (128 registers).
LNL_GEMM_TILE(128x128x8, 128, 128, 8, 8, 8, 2)
LNL_GEMM_TILE(128x128x16, 128, 128, 16, 8, 8, 2)
// 64x128: 128 threads, for outputs that 128x128 tiles cannot spread over every SM. K-tile 8:
// 4 blocks per SM (128 registers); K-tile 16: 2 blocks per SM (167 registers, no spill; with 4
// blocks per SM the 128-register cap spills 100+ bytes).
LNL_GEMM_TILE(64x128x8, 64, 128, 8, 8, 8, 4)
LNL_GEMM_TILE(64x128x16, 64, 128, 16, 8, 8, 2)
