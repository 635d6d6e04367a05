// GEMM entry points: the core of gemm_tile.cu for each (strategy, load width, tile) the launch
// plan can pick. 16-byte loads need K % 4 == 0; scalar loads take any K. Grid: one block per
// output tile, 1-D. Tiles: 128x128 (K-tile 8 or 16) for large outputs, 64x128 when 128x128
// tiles would leave SMs idle. __launch_bounds__ caps registers at 128 per thread (2 blocks of
// 256 threads, or 4 of 128, per SM).

#define LNL_GEMM(NAME, BM, BN, BK, VEC, NORM)                                                     \
    extern "C" __global__ void __launch_bounds__((BM / 8) * (BN / 8), 512 / ((BM / 8) * (BN / 8))) \
        NAME(const float* __restrict__ a, const float* __restrict__ w, const float* __restrict__ bias, \
             float* __restrict__ c, u32 m, u32 n, u32 k, const float* __restrict__ stats) {       \
        gemm_tile<BM, BN, BK, VEC, NORM>(a, w, bias, c, m, n, k, stats);                          \
    }

#define LNL_GEMM_TILE(SUFFIX, BM, BN, BK)                                  \
    LNL_GEMM(lnl_gemm_plain_scalar_##SUFFIX, BM, BN, BK, false, false)     \
    LNL_GEMM(lnl_gemm_plain_vec_##SUFFIX, BM, BN, BK, true, false)         \
    LNL_GEMM(lnl_gemm_norm_scalar_##SUFFIX, BM, BN, BK, false, true)       \
    LNL_GEMM(lnl_gemm_norm_vec_##SUFFIX, BM, BN, BK, true, true)

LNL_GEMM_TILE(128x128x8, 128, 128, 8)
LNL_GEMM_TILE(128x128x16, 128, 128, 16)
LNL_GEMM_TILE(64x128x8, 64, 128, 8)
