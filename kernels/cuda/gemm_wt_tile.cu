// The second tiled SGEMM core, for GEMMs of many tiles: C[M, N] = A[M, K] * W[N, K]^T plus the
// epilogue (gemm_parts.cu), with W read transposed, WT[K, N] (k-major; the layer builds it on
// the device the first time a call needs it), so that both operands reach shared memory k-major
// and the loop is one outer product per k. Plain fp32 FFMA (no TF32).
//
// Block tile BM x BN (BM = 64 WARPS_M, BN = 64 WARPS_N), K-tile 8 per slice, 8 x 16 outputs per
// thread; the lanes of a warp are laid out 8 (rows) x 4 (columns), each warp a 64 x 64 tile. Per
// k a thread loads 2 float4 of A (8 rows) and 4 of W (16 columns) for 128 FFMAs: 6 LDS.128 per 128
// FFMAs (gemm_tile.cu's 8 x 8: 16 per 256), and a K-tile of 8 keeps the fully unrolled K-tile
// loop near 1200 instructions (8 x 16 with a K-tile of 16 missed the instruction cache).
// The price is registers: about 235 a thread, so at most 8 warps per SM (gemm_tile.cu's 64 x 128
// tile: 12). On the H100 (session 10, docs/PERF.md) it ran large4096 3-4% faster than
// gemm_tile.cu, but grids that leave 3 of its 2-warp blocks on the busiest SMs (600 x 4096
// outputs: 320 tiles) 25% slower: the plan uses it where the busiest SMs take more than 3 tiles.
//
// K slices (SLICES = 2): where the busiest SMs take only 2 tiles (mid512), 2-warp blocks leave
// one warp per scheduler, which cannot keep the FMA pipe busy on its own. Then a block has two
// sets of warps on the same output tile: the K-tile is 16, the first set takes its k 0..7, the
// second k 8..15, each with its own k-major A buffers, and at the end the sets add their partial
// sums through shared memory, each set storing half of the tile. 2 warps per scheduler, the
// same loop; mid512 ran 5.8% faster on the H100 (session 11).
//
// Staging: a STAGES-deep cp.async pipeline, global -> shared with no register round trip (16-byte
// cp.async.cg when K % 4 == 0, N % 4 == 0 and the operands are 16-byte aligned, else 4-byte
// cp.async.ca; src-size 0 zero-fills rows, columns and k past the edges). One barrier per K-tile
// (see the main loop): it publishes tile kt + 1 and proves every warp finished tile kt - 1, whose
// buffer the copies issued right after it (tile kt + STAGES - 1) overwrite.
//
// Shared layout of a stage: A [BM][BK] then WT [BK][BN], both as in global memory, so a warp's
// copies fill contiguous bytes (no bank conflicts, no swizzle). Each thread then moves its own A
// chunks (4 k of one row) of a landed stage into its slice's k-major buffer ([k][BM], two per
// slice, alternating by K-tile), centring them on the way when fused (below). Element (k, r) of
// that buffer sits at k BM + (r ^ (32 / KQ) q), q the k-chunk of the K-tile (KQ of them): the XOR
// puts the KQ k-chunks of a warp's rows in different banks for the transposing stores, and keeps
// 4-row groups whole for the fragments' 16-byte reads. A fragment float4 then holds 4 rows at one
// k, a W fragment 4 columns at one k, and the 8 row-lanes (4 column-lanes) of a warp read one
// 128-byte (64-byte) span.
//
// The strategies differ only in the A staging and the epilogue (template NORM):
//   NORM = false (unfused): A is xhat written by lnl_layernorm; C = acc + bias.
//   NORM = true (fused): A is x. Each thread centres the chunks it copied (x - mean_m) as it
//     moves them to the k-major buffer, before the barrier that publishes it: the mean is subtracted
//     before any product, which keeps large-mean rows exact enough. W is W' = W diag(gamma),
//     bias is c = W beta + b (folded at build), and the epilogue scales by the row's rstd:
//     C = acc * rstd_m + c. (mean, rstd) come from lnl_row_stats. The normalised tensor never
//     exists in device memory.
// Any M, N, K: out-of-range rows, columns and k are staged as 0 (and stay 0) and never stored.

#define GEMM_WT_SK 8  // k of a K-tile per slice

template <int WARPS_M, int WARPS_N, int SLICES, int STAGES, bool VEC, bool NORM>
__device__ __forceinline__ void gemm_wt_tile(const float* __restrict__ A, const float* __restrict__ WT,
                                             const float* __restrict__ bias, float* __restrict__ C, u32 M,
                                             u32 N, u32 K, const float* __restrict__ stats) {
    constexpr int SK = GEMM_WT_SK, BK = SK * SLICES;  // k per slice, K-tile
    constexpr int KQ = BK / 4;                        // 16-byte chunks per A row of a K-tile
    constexpr int TM = 8, TN = 16, LM = 8, LN = 4;    // per-thread rows, columns; lanes along each
    constexpr int WTM = LM * TM, WTN = LN * TN;       // warp tile, 64 x 64
    constexpr int BM = WARPS_M * WTM, BN = WARPS_N * WTN;
    constexpr int SLICE_THREADS = 32 * WARPS_M * WARPS_N, THREADS = SLICE_THREADS * SLICES;
    constexpr int LA = BM * KQ / THREADS;  // A chunks copied per thread per K-tile
    constexpr int CW = BN / 4;             // WT chunks per k row of the tile
    constexpr int LB = BK * CW / THREADS;  // WT chunks copied per thread per K-tile
    constexpr u32 A_FLOATS = BM * BK, STAGE_FLOATS = (BM + BN) * BK;
    constexpr u32 AT0 = STAGES * STAGE_FLOATS;  // per slice, two k-major A buffers, [SK][BM] each
    constexpr u32 AT_FLOATS = SK * BM;          // one k-major buffer
    // The k-major XOR: 32 / KQ per k-chunk of the K-tile, so that a warp's transposing stores
    // (KQ chunks of 32 / KQ rows) cover all 32 banks.
    constexpr u32 XOR_STEP = 32 / KQ;
    static_assert(SLICES == 1 || SLICES == 2, "one slice, or two (their partial sums added at the end)");
    static_assert(LA >= 1 && LB >= 1 && THREADS % CW == 0, "copy layout");
    static_assert(SLICES == 1 || STAGES * STAGE_FLOATS >= 64 * THREADS, "the stages hold the exchange");
    extern __shared__ __align__(16) float gemm_smem[];
    const u32 tid = threadIdx.x;
    // This warp's slice: it takes k = SK slice .. SK slice + SK - 1 of each K-tile, and outputs
    // as thread `tid_s` of a one-slice block would.
    const u32 slice = SLICES == 1 ? 0u : tid / SLICE_THREADS;
    const u32 tid_s = SLICES == 1 ? tid : tid % SLICE_THREADS;

    u32 m0, n0;
    gemm_tile_origin<BM, BN>(M, N, m0, n0);

    // Copy coordinates. A: chunk i of this thread is row r0 + i RS of the tile (RS = THREADS /
    // KQ), k-chunk q = tid % KQ. WT: chunk i is k row kr0 + i KS, columns 4 wc .. + 3. Element
    // offsets are 32-bit (the plan checks that rows*H and O*H fit u32); a copy that reads nothing
    // (src-size 0) still gets a valid address: the operand's base.
    constexpr u32 RS = THREADS / KQ, KS = THREADS / CW;
    const u32 q = tid % KQ, kk = 4 * q, r0 = tid / KQ;
    const u32 wc = tid % CW, kr0 = tid / CW;
    const u32 smem0 = (u32)__cvta_generic_to_shared(gemm_smem);
    const u32 a_row = m0 + r0, a_base = a_row * K + kk, rs_k = RS * K;
    const u32 w_col = n0 + 4 * wc, w_base = kr0 * N + w_col, ks_n = KS * N;
    auto a_dst = [&](int i) { return (r0 + i * RS) * BK + kk; };
    auto w_dst = [&](int i) { return A_FLOATS + (kr0 + i * KS) * BN + 4 * wc; };
    float a_mean[LA];  // fused: the means of this thread's A rows (0 past the edge); read
                       // after grid_dependency_wait

    // Four consecutive elements base[off + j], valid while `ok` and idx + j < limit (16-byte:
    // limit % 4 == 0, so all four or none).
    auto copy = [&](u32 dst, const float* base, u32 off, bool ok, u32 idx, u32 limit) {
        if constexpr (VEC) {
            const bool in = ok && idx < limit;
            cp_async16(dst, base + (in ? off : 0u), in ? 16u : 0u);  // off may wrap when !in
        } else {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const bool in = ok && idx + j < limit;
                cp_async4(dst + 4 * j, base + (in ? off + j : 0u), in ? 4u : 0u);
            }
        }
    };
    // Tiles inside M and N (all but the edge blocks) skip the per-copy checks on whole K-tiles.
    const bool interior = m0 + BM <= M && n0 + BN <= N;
    // Queue the copies of K-tile `kt` into stage `s`: A's when with_a, WT's when with_w (constants
    // at every call, folded once inlined; NVRTC takes no generic lambdas).
    auto load_part = [&](u32 s, u32 kt, bool with_a, bool with_w) {
        const u32 k0 = kt * BK, base = smem0 + 4 * s * STAGE_FLOATS;
        if (VEC && interior && k0 + BK <= K) {
            if (with_a) {
#pragma unroll
                for (int i = 0; i < LA; ++i) cp_async16(base + 4 * a_dst(i), A + (a_base + k0 + i * rs_k), 16u);
            }
            if (with_w) {
#pragma unroll
                for (int i = 0; i < LB; ++i) cp_async16(base + 4 * w_dst(i), WT + (w_base + k0 * N + i * ks_n), 16u);
            }
            return;
        }
        if (with_a) {
#pragma unroll
            for (int i = 0; i < LA; ++i)
                copy(base + 4 * a_dst(i), A, a_base + k0 + i * rs_k, a_row + i * RS < M, k0 + kk, K);
        }
        if (with_w) {
#pragma unroll
            for (int i = 0; i < LB; ++i)
                copy(base + 4 * w_dst(i), WT, w_base + k0 * N + i * ks_n, k0 + kr0 + i * KS < K, w_col, N);
        }
    };
    auto load = [&](u32 s, u32 kt) { load_part(s, kt, true, true); };
    // Each thread moves its own A chunks of stage `s` (its copies have landed) into the k-major
    // buffer `t` of the chunk's slice, centring them on the way when fused. Zero-filled k past the
    // end stays 0 (its mean is taken as 0); rows past the edge have mean 0. Split in two so that
    // the main loop can run FMAs between the loads and the stores.
    auto centre_load = [&](float4 (&v)[LA], u32 s) {
#pragma unroll
        for (int i = 0; i < LA; ++i) v[i] = *reinterpret_cast<const float4*>(gemm_smem + s * STAGE_FLOATS + a_dst(i));
    };
    auto centre_store = [&](float4 (&v)[LA], u32 t, u32 kt) {
        const u32 k0 = kt * BK + kk;
        float* dst = gemm_smem + AT0 + (SLICES == 1 ? t : (kk / SK) * 2 + t) * AT_FLOATS + (kk % SK) * BM;
#pragma unroll
        for (int i = 0; i < LA; ++i) {
            float4 c = v[i];
            if constexpr (NORM) {
                c = gemm_centre4<VEC>(c, a_mean[i], k0, K);
            }
            const u32 r = (r0 + i * RS) ^ (XOR_STEP * q);  // k / 4 == q for all four
            dst[0 * BM + r] = c.x;
            dst[1 * BM + r] = c.y;
            dst[2 * BM + r] = c.z;
            dst[3 * BM + r] = c.w;
        }
    };
    auto centre = [&](u32 s, u32 t, u32 kt) { gemm_centre_stage<LA>(centre_load, centre_store, s, t, kt); };

    // This thread's outputs: rows wm 64 + 32 h + 4 lm + e (i = 4 h + e < 8), columns
    // wn 64 + 16 jh + 4 ln + jl (jh, jl < 4).
    u32 row0, col0;
    gemm_thread_origin<WARPS_N, WTM, WTN>(tid_s, row0, col0);
    float acc[TM][TN];
    gemm_zero(acc);

    // Main loop, fully unrolled within a K-tile. The fragments of k + 1 are loaded before the
    // FMAs of k (two register sets, alternating), so the FMAs cover the loads' latency.
    // Tile kt: at its start each thread waits for its own copies of tile kt + 1 and moves them
    // to the k-major buffer (centred, when fused) after the FMAs of k = 0; before the FMAs of the
    // last k, the barrier publishes tile kt + 1 (and shows that every warp has read tile kt - 1,
    // whose stage then receives tile kt + STAGES - 1), and the fragments of tile kt + 1's k = 0
    // are loaded. Tiles kt + 2 .. kt + STAGES - 2 stay in flight meanwhile.
    static_assert(STAGES >= 3, "one stage read, one landed, one in flight");
    const u32 nk = (K + BK - 1) / BK;
    gemm_prologue<STAGES, LA, NORM>(nk, load_part, centre, a_mean, stats, a_row, RS, M);
    // Fragments at this slice's k of k-major A buffer t and WT stage s: a = rows row0 + 32 h ..
    // + 3, b = columns col0 + 16 jh .. + 3.
    auto load_frag = [&](float4 (&a)[2], float4 (&b)[4], u32 t, u32 s, int k) {
        const u32 q = slice * (SK / 4) + k / 4;  // the k-chunk of the K-tile
        const float* ap = gemm_smem + AT0 + (slice * 2 + t) * AT_FLOATS + k * BM + (row0 ^ (XOR_STEP * q));
        a[0] = *reinterpret_cast<const float4*>(ap);
        a[1] = *reinterpret_cast<const float4*>(ap + 32);
        const float* bp = gemm_smem + s * STAGE_FLOATS + A_FLOATS + (slice * SK + k) * BN + col0;
#pragma unroll
        for (int jh = 0; jh < 4; ++jh) b[jh] = *reinterpret_cast<const float4*>(bp + 16 * jh);
    };
    auto fma_k = [&](const float4 (&a)[2], const float4 (&b)[4]) {
        const float av[TM] = {a[0].x, a[0].y, a[0].z, a[0].w, a[1].x, a[1].y, a[1].z, a[1].w};
        const float bv[TN] = {b[0].x, b[0].y, b[0].z, b[0].w, b[1].x, b[1].y, b[1].z, b[1].w,
                              b[2].x, b[2].y, b[2].z, b[2].w, b[3].x, b[3].y, b[3].z, b[3].w};
        // Column by column: each W value feeds 8 consecutive FFMAs (the operand reuse cache).
        // The fused kernel walks the rows of odd columns backwards. The order only steers
        // ptxas's register allocation, and with it bank conflicts: on the H100 (NVRTC 13.0,
        // docs/PERF.md, session 10) these were the fastest of four orders, plain 1-2% and fused
        // 1% faster than row by row.
#pragma unroll
        for (int j = 0; j < TN; ++j)
#pragma unroll
            for (int ii = 0; ii < TM; ++ii) {
                const int i = NORM && j % 2 == 1 ? TM - 1 - ii : ii;
                acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
            }
    };
    float4 fa[2][2], fb[2][4];
    load_frag(fa[0], fb[0], 0, 0, 0);
    u32 t = 0;                   // k-major buffer of tile kt (tile kt + 1 goes to t ^ 1)
    u32 s = 0, s1 = 1 % STAGES;  // stages of tiles kt and kt + 1
    for (u32 kt = 0; kt < nk; ++kt) {
        cp_async_wait<STAGES - 3>();  // this thread's copies of tile kt + 1 have landed
        // (Past the last tile this reads a stage nobody writes any more and writes a k-major
        // buffer nobody reads any more: harmless.)
        float4 cv[LA];
        centre_load(cv, s1);
#pragma unroll
        for (int k = 0; k < SK; ++k) {
            if (k + 1 < SK) {
                load_frag(fa[(k + 1) & 1], fb[(k + 1) & 1], t, s, k + 1);
            } else {
                __syncthreads();
                const u32 next = kt + STAGES - 1;
                const u32 ns = s == 0 ? STAGES - 1 : s - 1;  // the stage of tile kt - 1
                if (next < nk) load(ns, next);
                cp_async_commit();  // possibly empty: one group per tile keeps the wait counts
                load_frag(fa[0], fb[0], t ^ 1, s1, 0);  // past the last tile: unused
            }
            if (k == 0) centre_store(cv, t ^ 1, kt + 1);
            fma_k(fa[k & 1], fb[k & 1]);
        }
        s = s1;
        s1 = s1 + 1 == STAGES ? 0 : s1 + 1;
        t ^= 1;
    }

    if constexpr (SLICES == 1) {
        gemm_epilogue<TM, TN, NORM>(acc, C, bias, stats, M, N, m0, n0, row0, col0, 3u);
    } else {
        // The two slices' partial sums meet in shared memory: slice p keeps rows h = p of its
        // outputs (i = 4 p .. 4 p + 3), adds its partner's sums of them (a + b == b + a: the
        // same bits whichever adds), and stores them. Each thread hands over 16 float4s, laid out
        // so that a warp's accesses are 512 contiguous bytes.
        cp_async_wait<0>();
        __syncthreads();  // every warp has read its last fragments: the stages are free
        float4* xbuf = reinterpret_cast<float4*>(gemm_smem);
        auto give = [&](int h) {
#pragma unroll
            for (int v = 0; v < 16; ++v) {
                const float* a = &acc[4 * h + v / 4][4 * (v % 4)];
                xbuf[(slice * 16 + v) * SLICE_THREADS + tid_s] = make_float4(a[0], a[1], a[2], a[3]);
            }
        };
        auto take = [&](int h) {
#pragma unroll
            for (int v = 0; v < 16; ++v) {
                const float4 o = xbuf[((1 - slice) * 16 + v) * SLICE_THREADS + tid_s];
                float* a = &acc[4 * h + v / 4][4 * (v % 4)];
                a[0] += o.x;
                a[1] += o.y;
                a[2] += o.z;
                a[3] += o.w;
            }
        };
        if (slice == 0) {
            give(1);
        } else {
            give(0);
        }
        __syncthreads();
        if (slice == 0) {
            take(0);
        } else {
            take(1);
        }
        gemm_epilogue<TM, TN, NORM>(acc, C, bias, stats, M, N, m0, n0, row0, col0, 1u << slice);
    }
}
