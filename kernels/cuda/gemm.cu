// GEMM entry points: the cores of gemm_tile.cu (W [N, K]) and gemm_wt_tile.cu (W^T [K, N]) for
// each (strategy, load width, tile) the launch plan can pick. 16-byte copies need K % 4 == 0,
// 16-byte aligned operands, and for the W^T core N % 4 == 0 too; 4-byte copies take any K and N.
// Grid: one block per output tile, 1-D; dynamic shared memory gemm_smem_bytes(BM, BN, BK,
// STAGES). MINB: blocks per SM promised to the compiler (__launch_bounds__: the register cap is
// 65536 / (threads * MINB), at most 255). crates/lnl-cuda/src/kernels.rs (GEMM_TILES) lists the
// same set.

// One entry point; CORE is a parenthesised core instance, e.g. (gemm_tile<64, 128, 16, 8, 4, true, false>).
#define LNL_GEMM_ENTRY(NAME, THREADS, MINB, CORE)                                                      \
    extern "C" __global__ void __launch_bounds__(THREADS, MINB)                                       \
        NAME(const float* __restrict__ a, const float* __restrict__ w, const float* __restrict__ bias, \
             float* __restrict__ c, u32 m, u32 n, u32 k, const float* __restrict__ stats) {          \
        CORE(a, w, bias, c, m, n, k, stats);                                                          \
    }

// gemm_tile.cu: BM x BN, K-tile BK, 8 x TN outputs per thread, (BM / 8)(BN / TN) threads.
#define LNL_GEMM_TILE(SUFFIX, BM, BN, BK, TN, STAGES, MINB)                                                        \
    LNL_GEMM_ENTRY(lnl_gemm_plain_scalar_##SUFFIX, (BM / 8) * (BN / TN), MINB, (gemm_tile<BM, BN, BK, TN, STAGES, false, false>)) \
    LNL_GEMM_ENTRY(lnl_gemm_plain_vec_##SUFFIX, (BM / 8) * (BN / TN), MINB, (gemm_tile<BM, BN, BK, TN, STAGES, true, false>))     \
    LNL_GEMM_ENTRY(lnl_gemm_norm_scalar_##SUFFIX, (BM / 8) * (BN / TN), MINB, (gemm_tile<BM, BN, BK, TN, STAGES, false, true>))   \
    LNL_GEMM_ENTRY(lnl_gemm_norm_vec_##SUFFIX, (BM / 8) * (BN / TN), MINB, (gemm_tile<BM, BN, BK, TN, STAGES, true, true>))

// gemm_wt_tile.cu: (64 WM) x (64 WN), K-tile 8 KS, 8 x 16 outputs per thread, 32 WM WN KS threads
// (KS slices of the K-tile).
#define LNL_GEMM_WT_TILE(SUFFIX, WM, WN, KS, STAGES, MINB)                                                        \
    LNL_GEMM_ENTRY(lnl_gemm_plain_scalar_##SUFFIX, 32 * WM * WN * KS, MINB, (gemm_wt_tile<WM, WN, KS, STAGES, false, false>)) \
    LNL_GEMM_ENTRY(lnl_gemm_plain_vec_##SUFFIX, 32 * WM * WN * KS, MINB, (gemm_wt_tile<WM, WN, KS, STAGES, true, false>))     \
    LNL_GEMM_ENTRY(lnl_gemm_norm_scalar_##SUFFIX, 32 * WM * WN * KS, MINB, (gemm_wt_tile<WM, WN, KS, STAGES, false, true>))   \
    LNL_GEMM_ENTRY(lnl_gemm_norm_vec_##SUFFIX, 32 * WM * WN * KS, MINB, (gemm_wt_tile<WM, WN, KS, STAGES, true, true>))

// 64 x 128, 8 x 8 per thread, 128 threads, up to 3 blocks per SM (168-register cap), 56 KiB:
// the default where the W^T core does not fit the grid (3 tiles on the busiest SMs, H or O not
// a multiple of 4). It matched a 128 x 128 tile within 0.5% on the large shapes and beat it on
// mid512 (docs/PERF.md). A single wave gets padded shared memory for at most its even share of
// blocks per SM (plan.rs, gemm_spread). 1 block per SM (4 warps) of a 128 x 128 tile with 8 x 16
// per thread and a K-tile of 16 ran at half speed on mid512: its unrolled K-tile loop (2385
// instructions) missed the instruction cache.
LNL_GEMM_TILE(64x128x16_8x8s4, 64, 128, 16, 8, 4, 3)
// 64 x 64, 8 x 4 per thread, 128 threads, up to 4 blocks per SM (128-register cap), 40 KiB:
// twice the tiles of 64 x 128, for shapes whose 64 x 128 tiles do not cover the SMs (300 x 999
// outputs: 47 instead of 70 us on the H100); slower where they do (mid512 444 against 412 us).
LNL_GEMM_TILE(64x64x16_8x4s4, 64, 64, 16, 4, 4, 4)
// W^T core, 64 x 128 (2 warps), up to 4 blocks per SM (255-register cap), 28 KiB: grids whose
// busiest SMs take 2 tiles or more than 3 (gemm_wt_tile.cu says why).
LNL_GEMM_WT_TILE(wt64x128x8_8x16s4, 1, 2, 1, 4, 4)
// The same with the K-tile (16) in two slices, each taken by 2 warps whose sums meet at the end:
// 4 warps a block, up to 2 blocks per SM, 56 KiB. For grids of at most 2 tiles per SM (mid512),
// whose 2-warp blocks leave one warp per scheduler.
LNL_GEMM_WT_TILE(wt64x128x16_8x16s4k2, 1, 2, 2, 4, 2)
