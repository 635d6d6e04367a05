// The tiled SGEMM core shared by the unfused and fused paths: C[M, N] = A[M, K] * W[N, K]^T, plus
// the epilogue. (W is the nn.Linear layout [out, hidden], so both operands are contiguous in K.)
// Plain fp32 FFMA (no TF32).
//
// Block tile BM x BN, K-tile BK, TM x TN = 8 x TN outputs per thread; the lanes of a warp are
// laid out 8 (rows) x 4 (columns), warps WARPS_M x WARPS_N.
//
// Staging: a STAGES-deep cp.async pipeline, global -> shared with no register round trip (16-byte
// cp.async.cg when K % 4 == 0 and the operands are 16-byte aligned, else 4-byte cp.async.ca;
// src-size 0 zero-fills rows and k past the edges). One barrier per K-tile (see the main loop):
// it publishes tile kt + 1 and proves every warp finished tile kt - 1, whose buffer the copies
// issued right after it (tile kt + STAGES - 1) overwrite.
//
// Shared layout: the cp.async stages keep the operands' global layout, [row][k]; the 16-byte
// chunk q of row r is stored at chunk q ^ swz(r), which keeps the cp.async stores conflict-free.
//   W: the 4 column-lanes read 4 rows 4 apart (each thread owns groups of 4 consecutive columns,
//      so the epilogue stores float4s), 16 bytes along k (4 k steps) each, swz(r) = (r / 4) % KQ:
//      4 distinct bank groups.
//   A: swz(r) = (r / RPL) % KQ (RPL rows per 128-byte line). Each thread moves its own chunks
//      of a landed stage into a k-major buffer ([k][row], two of them, alternating by K-tile),
//      centring them on the way when fused (below). A fragment
//      float4 then holds 4 rows at one k, and the FFMAs that update accumulator (i, j) always
//      take their A operand from the same register of a quad, whatever k. With [row][k] A
//      fragments (4 k of one row) every accumulator met A and W operands in all four register
//      banks and about 36% of the loop's FFMAs had a bank conflict (SASS count); k-major A
//      halved that and made the GEMM 6-10% faster on the H100 (docs/PERF.md, session 6).
// A chunk of 4 k costs TM + TN LDS.128 for 4 TM TN FMAs either way.
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

// Dynamic shared memory of a GEMM block: STAGES x (BM + BN) x BK floats of cp.async stages, plus
// two BK x BM buffers of A transposed to k-major.
__host__ __device__ constexpr u32 gemm_smem_bytes(int BM, int BN, int BK, int STAGES) {
    return (u32)((STAGES * (BM + BN) + 2 * BM) * BK * 4);
}

template <int BM, int BN, int BK, int TN, int STAGES, bool VEC, bool NORM>
__device__ __forceinline__ void gemm_tile(const float* __restrict__ A, const float* __restrict__ W,
                                          const float* __restrict__ bias, float* __restrict__ C, u32 M,
                                          u32 N, u32 K, const float* __restrict__ stats) {
    constexpr int TM = 8, LM = 8, LN = 4;        // per-thread rows; lanes along rows, columns
    constexpr int WTM = LM * TM, WTN = LN * TN;  // warp tile
    constexpr int WARPS_M = BM / WTM, WARPS_N = BN / WTN;
    constexpr int THREADS = 32 * WARPS_M * WARPS_N;
    constexpr int KQ = BK / 4;                   // 16-byte chunks per tile row
    constexpr int RPL = 8 / KQ;                  // tile rows per 128-byte line
    constexpr int LA = BM * KQ / THREADS;        // A chunks copied per thread per K-tile
    constexpr int LB = BN * KQ / THREADS;        // W chunks copied per thread per K-tile
    constexpr u32 A_FLOATS = BM * BK, STAGE_FLOATS = (BM + BN) * BK;
    constexpr u32 AT0 = STAGES * STAGE_FLOATS;  // the two k-major A buffers, [k][BM] each
    static_assert(KQ == 4, "K-tile 16 (the k-major A swizzle assumes 4 chunks per row)");
    static_assert(BM % WTM == 0 && BN % WTN == 0 && TN % KQ == 0, "tile (and the W swizzle)");
    static_assert(LA >= 1 && LB >= 1 && BM * KQ % THREADS == 0 && BN * KQ % THREADS == 0, "tile");
    extern __shared__ __align__(16) float gemm_smem[];
    const u32 tid = threadIdx.x;

    u32 m0, n0;
    gemm_tile_origin<BM, BN>(M, N, m0, n0);

    // Copy coordinates: chunk i of this thread is row r0 + i RS of the tile (RS = THREADS / KQ),
    // chunk q = tid % KQ of the row (the same q for every i). Element offsets are 32-bit (the
    // plan checks that rows*H and O*H fit u32); rows past the edge read row 0 with src-size 0.
    // The swizzle of row r0 + i RS differs from row r0's by a compile-time bit (or none), so
    // chunk i's shared offset is (chunk 0's ^ that bit) + i RS BK.
    constexpr u32 RS = THREADS / KQ;
    constexpr u32 DA = RS / RPL % KQ, DB = RS / 4 % KQ;
    static_assert((DA == 0 || 2 * DA == KQ) && (DB == 0 || 2 * DB == KQ), "swizzle steps");
    const u32 q = tid % KQ, kk = 4 * q, r0 = tid / KQ;
    const u32 smem0 = (u32)__cvta_generic_to_shared(gemm_smem);
    const u32 a_dst = r0 * BK + 4 * (q ^ (r0 / RPL) % KQ);
    const u32 b_dst = A_FLOATS + r0 * BK + 4 * (q ^ (r0 / 4) % KQ);
    auto a_dst_i = [&](int i) { return (a_dst ^ (4 * (i * DA % KQ))) + i * RS * BK; };
    auto b_dst_i = [&](int i) { return (b_dst ^ (4 * (i * DB % KQ))) + i * RS * BK; };
    // Rows past the edge read row 0 with src-size 0 (checked per copy, on edge blocks only).
    const u32 a_row = m0 + r0, b_row = n0 + r0;
    float a_mean[LA];  // fused: the means of this thread's A rows (0 past the edge); read
                       // after grid_dependency_wait

    // A copy that reads nothing (src-size 0) still gets a valid address: the operand's base.
    // `full`: the whole K-tile is inside K (every tile but a ragged last one).
    auto copy = [&](u32 dst, const float* base, u32 off, bool ok, u32 k, bool full) {
        if constexpr (VEC) {
            const bool in = ok && (full || k < K);  // K % 4 == 0: all 4 in or all out
            cp_async16(dst, base + (in ? off : 0u), in ? 16u : 0u);  // off may wrap when !in
        } else {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const bool in = ok && (full || k + j < K);
                cp_async4(dst + 4 * j, base + (in ? off + j : 0u), in ? 4u : 0u);
            }
        }
    };
    // Tiles inside M and N (all but the edge blocks) skip the per-copy row checks.
    const bool interior = m0 + BM <= M && n0 + BN <= N;
    const u32 a_base = a_row * K + kk, b_base = b_row * K + kk, rs_k = RS * K;
    // Queue the copies of K-tile `kt` into stage `s`: A's when with_a, W's when with_w (constants
    // at every call, folded once inlined; NVRTC takes no generic lambdas).
    auto load_part = [&](u32 s, u32 kt, bool with_a, bool with_w) {
        const u32 k0 = kt * BK, base = smem0 + 4 * s * STAGE_FLOATS;
        if (VEC && interior && k0 + BK <= K) {
            if (with_a) {
#pragma unroll
                for (int i = 0; i < LA; ++i) cp_async16(base + 4 * a_dst_i(i), A + (a_base + k0 + i * rs_k), 16u);
            }
            if (with_w) {
#pragma unroll
                for (int i = 0; i < LB; ++i) cp_async16(base + 4 * b_dst_i(i), W + (b_base + k0 + i * rs_k), 16u);
            }
            return;
        }
        const bool full = k0 + BK <= K;
        if (with_a) {
#pragma unroll
            for (int i = 0; i < LA; ++i)
                copy(base + 4 * a_dst_i(i), A, a_base + k0 + i * rs_k, a_row + i * RS < M, k0 + kk, full);
        }
        if (with_w) {
#pragma unroll
            for (int i = 0; i < LB; ++i)
                copy(base + 4 * b_dst_i(i), W, b_base + k0 + i * rs_k, b_row + i * RS < N, k0 + kk, full);
        }
    };
    auto load = [&](u32 s, u32 kt) { load_part(s, kt, true, true); };
    // Each thread moves its own A chunks of stage `s` (its copies have landed) into the k-major
    // buffer `t`, centring them on the way when fused. k-major A is what makes the FMAs
    // register-bank friendly: a thread's float4 of A then holds 4 rows at one k, so the A operand
    // of every FFMA that feeds accumulator (i, j) sits in the same register bank, whatever k
    // (with the [row][k] layout each accumulator met operands of both banks; docs/PERF.md).
    // Layout: element (k, r) at t BK BM + k BM + (r ^ 8 (k / 4)): the XOR spreads a warp's
    // transposing stores (4 k chunks x 8 rows) over 32 banks and keeps each 4-row group whole
    // for the fragments' 16-byte reads. Zero-filled k past the end stays 0 (its mean is taken as
    // 0); rows past the edge have mean 0. Split in two so that the main loop can run a chunk of
    // FMAs between the loads and the stores.
    auto centre_load = [&](float4 (&v)[LA], u32 s) {
#pragma unroll
        for (int i = 0; i < LA; ++i)
            v[i] = *reinterpret_cast<const float4*>(gemm_smem + s * STAGE_FLOATS + a_dst_i(i));
    };
    const u32 at_dst = AT0 + kk * BM + (r0 ^ (8 * q));  // chunk 0's element (kk, r0) in buffer 0
    auto centre_store = [&](float4 (&v)[LA], u32 t, u32 kt) {
        const u32 k0 = kt * BK + kk;
        float* dst = gemm_smem + at_dst + t * A_FLOATS;
#pragma unroll
        for (int i = 0; i < LA; ++i) {
            float4 c = v[i];
            if constexpr (NORM) {
                c = gemm_centre4<VEC>(c, a_mean[i], k0, K);
            }
            // Row r0 + i RS: RS is a multiple of 32, so the XOR (bits 3-4) is chunk 0's.
            dst[i * RS + 0 * BM] = c.x;
            dst[i * RS + 1 * BM] = c.y;
            dst[i * RS + 2 * BM] = c.z;
            dst[i * RS + 3 * BM] = c.w;
        }
    };
    static_assert(RS % 32 == 0, "k-major swizzle: a thread's rows differ by multiples of 32");
    auto centre = [&](u32 s, u32 t, u32 kt) { gemm_centre_stage<LA>(centre_load, centre_store, s, t, kt); };

    // This thread's outputs: rows wm WTM + 32 h + 4 lm + e (i = 4 h + e < 8), columns
    // wn WTN + 16 jh + 4 ln + jl (jh < TN / 4, jl < 4). Its A fragment at k is two float4 (h = 0,
    // 1) of the k-major buffer; the 8 row-lanes read one 128-byte span. W row (jh, jl)'s chunk c
    // is at chunk c ^ (4 jh % KQ) ^ ln.
    u32 row0, col0;
    gemm_thread_origin<WARPS_N, WTM, WTN>(tid, row0, col0);
    const u32 b_frag = A_FLOATS + col0 * BK + 4 * (tid % LN);
    static_assert(WTM == 64 && TM == 8, "two 4-row groups 32 apart per thread");
    float acc[TM][TN];
    gemm_zero(acc);

    // Main loop, over the 4-k chunks of every K-tile, fully unrolled within a tile (a loop over
    // chunk pairs instead, for a smaller loop body, measured slower: docs/PERF.md). The two
    // fragment sets fa / fb alternate: A fragments are loaded one chunk ahead, so the FMAs of a
    // chunk cover the latency of the next chunk's loads; W fragments stream, one float4 per
    // 4 x TM FMAs.
    // Tile kt: at its start each thread waits for its own copies of tile kt + 1 and moves them
    // to the k-major buffer (centred, when fused); before the FMAs of its last chunk, the barrier publishes tile kt + 1 (and
    // shows that every warp has read tile kt - 1, whose stage then receives tile kt + STAGES - 1);
    // chunk 0 of tile kt + 1 is then loaded while the last FMAs of tile kt run. Tiles kt + 2 ..
    // kt + STAGES - 2 stay in flight meanwhile.
    static_assert(STAGES >= 3 && KQ % 2 == 0, "one stage read, one landed, one in flight");
    const u32 nk = (K + BK - 1) / BK;
    gemm_prologue<STAGES, LA, NORM>(nk, load_part, centre, a_mean, stats, a_row, RS, M);
    // Chunk c of k-major buffer t: a[2 kk + h] = rows row0 + 32 h .. + 3 at k = 4 c + kk.
    auto load_a = [&](float4 (&a)[TM], u32 t, u32 c) {
        const float* ap = gemm_smem + AT0 + t * A_FLOATS + 4 * c * BM + (row0 ^ (8 * c));
#pragma unroll
        for (int kq = 0; kq < 4; ++kq)
#pragma unroll
            for (int h = 0; h < 2; ++h) a[2 * kq + h] = *reinterpret_cast<const float4*>(ap + kq * BM + 32 * h);
    };
    auto fma_chunk = [&](const float4 (&a)[TM], u32 s, u32 c) {
        const float* bs = gemm_smem + s * STAGE_FLOATS;
#pragma unroll
        for (int jh = 0; jh < TN / 4; ++jh) {
            const float* bp = bs + (b_frag ^ (4 * (c ^ (4 * jh % KQ))));
#pragma unroll
            for (int jl = 0; jl < 4; ++jl) {
                const float4 b = *reinterpret_cast<const float4*>(bp + (16 * jh + jl) * BK);
                const int j = 4 * jh + jl;
                const float bk[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
                for (int kq = 0; kq < 4; ++kq)
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        const float4 av = a[2 * kq + h];
                        acc[4 * h + 0][j] = fmaf(av.x, bk[kq], acc[4 * h + 0][j]);
                        acc[4 * h + 1][j] = fmaf(av.y, bk[kq], acc[4 * h + 1][j]);
                        acc[4 * h + 2][j] = fmaf(av.z, bk[kq], acc[4 * h + 2][j]);
                        acc[4 * h + 3][j] = fmaf(av.w, bk[kq], acc[4 * h + 3][j]);
                    }
            }
        }
    };
    float4 fa[TM], fb[TM];
    load_a(fa, 0, 0);
    u32 t = 0;  // k-major buffer of tile kt (tile kt + 1 goes to t ^ 1)
    u32 s = 0, s1 = 1 % STAGES;  // stages of tiles kt and kt + 1
    for (u32 kt = 0; kt < nk; ++kt) {
        cp_async_wait<STAGES - 3>();  // this thread's copies of tile kt + 1 have landed
        // Move them to the k-major buffer (centred, when fused); the FMAs of chunk 0 run between
        // the loads and the stores, so the load latency is not on the way to the barrier. (Past
        // the last tile this reads a stage nobody writes any more and writes a k-major buffer
        // nobody reads any more: harmless.)
        float4 cv[LA];
        centre_load(cv, s1);
#pragma unroll
        for (u32 c = 0; c < KQ; c += 2) {
            load_a(fb, t, c + 1);
            fma_chunk(fa, s, c);
            if (c == 0) centre_store(cv, t ^ 1, kt + 1);
            if (c + 2 < KQ) {
                load_a(fa, t, c + 2);
            } else {
                __syncthreads();
                const u32 next = kt + STAGES - 1;
                const u32 ns = s == 0 ? STAGES - 1 : s - 1;  // the stage of tile kt - 1
                if (next < nk) load(ns, next);
                cp_async_commit();  // possibly empty: one group per tile keeps the wait counts
                load_a(fa, t ^ 1, 0);  // past the last tile: a buffer nobody writes any more
            }
            fma_chunk(fb, s, c + 1);
        }
        s = s1;
        s1 = s1 + 1 == STAGES ? 0 : s1 + 1;
        t ^= 1;
    }

    gemm_epilogue<TM, TN, NORM>(acc, C, bias, stats, M, N, m0, n0, row0, col0, 3u);
}
