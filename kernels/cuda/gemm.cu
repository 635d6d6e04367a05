// GEMM entry points: the core of gemm_tile.cu for each (strategy, load width, tile) the launch
// plan can pick. 16-byte copies need K % 4 == 0 and 16-byte aligned operands; 4-byte copies take
// any K. Grid: one block per output tile, 1-D; dynamic shared memory gemm_smem_bytes(BM, BN, BK,
// STAGES). A tile is BM x BN, K-tile BK, 8 x TN outputs per thread, (BM / 8)(BN / TN) threads,
// STAGES shared buffers, and MINB blocks per SM promised to the compiler (__launch_bounds__: the
// register cap is 65536 / (threads * MINB), at most 255). crates/lnl-cuda/src/kernels.rs
// (GEMM_TILES) lists the same set.

#define LNL_GEMM(NAME, BM, BN, BK, TN, STAGES, MINB, VEC, NORM)                                        \
    extern "C" __global__ void __launch_bounds__((BM / 8) * (BN / TN), MINB)                          \
        NAME(const float* __restrict__ a, const float* __restrict__ w, const float* __restrict__ bias, \
             float* __restrict__ c, u32 m, u32 n, u32 k, const float* __restrict__ stats) {          \
        gemm_tile<BM, BN, BK, TN, STAGES, VEC, NORM>(a, w, bias, c, m, n, k, stats);                  \
    }

#define LNL_GEMM_TILE(SUFFIX, BM, BN, BK, TN, STAGES, MINB)                                 \
    LNL_GEMM(lnl_gemm_plain_scalar_##SUFFIX, BM, BN, BK, TN, STAGES, MINB, false, false)    \
    LNL_GEMM(lnl_gemm_plain_vec_##SUFFIX, BM, BN, BK, TN, STAGES, MINB, true, false)        \
    LNL_GEMM(lnl_gemm_norm_scalar_##SUFFIX, BM, BN, BK, TN, STAGES, MINB, false, true)      \
    LNL_GEMM(lnl_gemm_norm_vec_##SUFFIX, BM, BN, BK, TN, STAGES, MINB, true, true)

// 64 x 128, 8 x 8 per thread, 128 threads, up to 3 blocks per SM (168-register cap), 56 KiB:
// the default for every shape (docs/PERF.md: equal to the 128 x 128 tile on the large shapes
// within 0.5%, better on mid512; fused vs unfused: docs/PERF.md, combined run 4). A single wave
// (mid512: 256 tiles) gets padded shared memory for at most 2 blocks per SM (plan.rs,
// gemm_spread); a 255-register cap with 4 or 6 stages was slower there (session 8).
// 1 block per SM (4 warps) of the 128 x 128 tile below ran at half speed on mid512: its unrolled
// K-tile loop (2385 instructions) misses the instruction cache ("no instruction" stalls 0.72 per
// issue), which one warp per scheduler cannot hide.
LNL_GEMM_TILE(64x128x16_8x8s4, 64, 128, 16, 8, 4, 3)
// 128 x 128, 8 x 16 per thread, 128 threads, 2 blocks per SM (255-register cap: 128
// accumulators and two sets of A fragments), 80 KiB. Only through LNL_CUDA_GEMM_TILE (with k-major
// A its fused variant spills 68 bytes at the cap; 6% slower than 64 x 128 on large4096).
LNL_GEMM_TILE(128x128x16_8x16s4, 128, 128, 16, 16, 4, 2)
// 64 x 64, 8 x 4 per thread, 128 threads, up to 4 blocks per SM (128-register cap), 40 KiB:
// twice the tiles of 64 x 128, for shapes whose 64 x 128 tiles do not cover the SMs (300 x 999
// outputs: 47 instead of 70 us on the H100); slower where they do (mid512 444 against 412 us).
LNL_GEMM_TILE(64x64x16_8x4s4, 64, 64, 16, 4, 4, 4)
