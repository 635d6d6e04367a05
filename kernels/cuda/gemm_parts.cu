// Building blocks shared by both tiled GEMM cores (gemm_tile.cu, gemm_wt_tile.cu): the block's
// tile, the fused path's centring, the pipeline prologue and the epilogue.

#define GEMM_GROUP_M 8  // tiles visited in groups of 8 along M so W tiles are reused from L2

// The first row and column of this block's BM x BN tile: tiles are visited in groups of
// GEMM_GROUP_M along M.
template <int BM, int BN>
__device__ __forceinline__ void gemm_tile_origin(u32 M, u32 N, u32& m0, u32& n0) {
    const u32 tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    const u32 width = GEMM_GROUP_M * tiles_n;
    const u32 first_m = (blockIdx.x / width) * GEMM_GROUP_M;
    const u32 gsize = min(tiles_m - first_m, (u32)GEMM_GROUP_M);
    const u32 in_group = blockIdx.x % width;
    m0 = (first_m + in_group % gsize) * BM;
    n0 = (in_group / gsize) * BN;
}

// This thread's first output row and column within the block tile: warps WARPS_M x WARPS_N of
// WTM x WTN tiles, lanes 8 (rows) x 4 (columns), each lane's rows 4 lm + 32 h + e and columns
// 4 ln + 16 jh + jl (the epilogue's mapping, below).
template <int WARPS_N, int WTM, int WTN>
__device__ __forceinline__ void gemm_thread_origin(u32 tid, u32& row0, u32& col0) {
    const u32 warp = tid / 32, lane = tid % 32, lm = lane / 4, ln = lane % 4;
    row0 = (warp / WARPS_N) * WTM + 4 * lm;
    col0 = (warp % WARPS_N) * WTN + 4 * ln;
}

// Fused path: a chunk of 4 k (from k0) of a row with mean mu, centred; k past K (zero-filled)
// stays 0. With VEC (K % 4 == 0) the chunk is all in or all out.
template <bool VEC>
__device__ __forceinline__ float4 gemm_centre4(float4 c, float mu, u32 k0, u32 K) {
    const float m0 = k0 < K ? mu : 0.0f;
    const float m1 = VEC ? m0 : k0 + 1 < K ? mu : 0.0f;
    const float m2 = VEC ? m0 : k0 + 2 < K ? mu : 0.0f;
    const float m3 = VEC ? m0 : k0 + 3 < K ? mu : 0.0f;
    return make_float4(c.x - m0, c.y - m1, c.z - m2, c.w - m3);
}

// Moves a landed stage `s` of A to k-major buffer `t` (tile kt): the core's centre_load then
// centre_store, with LA float4s per thread between them.
template <int LA, class CentreLoad, class CentreStore>
__device__ __forceinline__ void gemm_centre_stage(CentreLoad& centre_load, CentreStore& centre_store, u32 s, u32 t,
                                                  u32 kt) {
    float4 v[LA];
    centre_load(v, s);
    centre_store(v, t, kt);
}

// Zeroes a thread's accumulators.
template <int TM, int TN>
__device__ __forceinline__ void gemm_zero(float (&acc)[TM][TN]) {
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
}

// Pipeline prologue: the first stages' W (nothing before this kernel writes W), then, once the
// kernel before it on the stream has finished (grid_dependency.cu), the row means and A.
// Commit group s holds tile s's A, group 0 also the W of tiles 0 .. STAGES - 2: the main loop's
// waits still find each tile whole when they count its group done. Ends with tile 0 moved to
// k-major buffer 0 and published. load_part(s, kt, with_a, with_w) queues copies;
// centre(s, t, kt) moves a landed stage to a k-major buffer.
template <int STAGES, int LA, bool NORM, class LoadPart, class Centre>
__device__ __forceinline__ void gemm_prologue(u32 nk, LoadPart& load_part, Centre& centre, float (&a_mean)[LA],
                                              const float* __restrict__ stats, u32 a_row, u32 RS, u32 M) {
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s)
        if ((u32)s < nk) load_part(s, s, false, true);
    grid_dependency_wait();
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if ((u32)s < nk) load_part(s, s, true, false);
        cp_async_commit();
    }
#pragma unroll
    for (int i = 0; i < LA; ++i)
        a_mean[i] = (NORM && a_row + i * RS < M) ? stats[2 * (size_t)(a_row + i * RS)] : 0.0f;
    cp_async_wait<STAGES - 2>();  // tile 0
    centre(0, 0, 0);
    __syncthreads();
}

// The epilogue: a thread's 8 x TN
// accumulators are rows m0 + row0 + 32 h + e (i = 4 h + e < 8) and columns n0 + col0 + 16 jh + jl
// (jh < TN / 4, jl < 4); it stores the 4-row groups h whose bit is set in `groups`. Unfused:
// C = acc + bias. Fused (NORM): C = acc * rstd_m + c, rstd from lnl_row_stats. Bounds checked;
// 16-byte stores where the row allows.
template <int TM, int TN, bool NORM>
__device__ __forceinline__ void gemm_epilogue(const float (&acc)[TM][TN], float* __restrict__ C,
                                              const float* __restrict__ bias, const float* __restrict__ stats,
                                              u32 M, u32 N, u32 m0, u32 n0, u32 row0, u32 col0, u32 groups) {
    static_assert(TM == 8 && TN % 4 == 0, "two 4-row groups 32 apart, column groups 16 apart");
    const bool n_vec = (N & 3u) == 0;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const size_t m = (size_t)m0 + row0 + 32 * (i / 4) + i % 4;
        if (m >= M || !((groups >> (i / 4)) & 1u)) continue;
        const float rstd = NORM ? stats[2 * m + 1] : 1.0f;
        auto out = [&](float a, float b) { return NORM ? fmaf(a, rstd, b) : a + b; };
        float* crow = C + m * N;
#pragma unroll
        for (int jh = 0; jh < TN / 4; ++jh) {
            const size_t n = (size_t)n0 + col0 + 16 * jh;
            const float* v = &acc[i][4 * jh];
            if (n_vec && n + 3 < N) {
                const float4 bb = ldg4(bias + n);
                *reinterpret_cast<float4*>(crow + n) =
                    make_float4(out(v[0], bb.x), out(v[1], bb.y), out(v[2], bb.z), out(v[3], bb.w));
            } else {
#pragma unroll
                for (int j = 0; j < 4; ++j)
                    if (n + j < N) crow[n + j] = out(v[j], bias[n + j]);
            }
        }
    }
}
