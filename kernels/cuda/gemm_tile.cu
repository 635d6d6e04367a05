// The tiled SGEMM core shared by the unfused and fused paths: C[M, N] = A[M, K] * W[N, K]^T, plus
// the epilogue. (W is the nn.Linear layout [out, hidden], so both operands are contiguous in K.)
//
// BM x BN block tile, K-tile BK, TM x TN outputs per thread, warp tiling: the lanes of a warp are
// laid out 8 (rows) x 4 (columns), so one k step of a warp reads 8 distinct A and 4 distinct W
// float4s from shared memory (one wavefront each).
// Two shared-memory buffers: the next K-tile's global loads are in flight in registers while
// the current one is multiplied; one barrier per K-tile. Plain fp32 FFMA (no TF32).
//
// Shared tiles are stored transposed ([k][row]) with an XOR swizzle instead of padding: the
// element (k, r) lives at column r ^ swz(k), swz(k) = (k / 4 % KQ) * (32 / KQ). A warp's staging
// store covers 32 / KQ consecutive rows (a 16-byte global load per k-group, so each row's
// 16 KQ bytes are read contiguously) for each of the KQ k-groups; the swizzle moves each k-group
// to its own banks (conflict-free stores). It flips only bits 3-4 of the column, so the float4
// fragment reads stay aligned, contiguous and conflict-free, and a thread's read address is one
// of 4 swizzled bases (per k-group) plus compile-time offsets.
//
// The strategies differ only in the A staging and the epilogue (template NORM):
//   NORM = false (unfused): A is xhat written by lnl_layernorm; C = acc + bias.
//   NORM = true (fused): A is x, centred (x - mean_m) while the tile is written to shared memory
//     (the mean is subtracted before any product, which keeps large-mean rows exact enough),
//     W is W' = W diag(gamma) and bias is c = W beta + b (folded at build), and the epilogue
//     scales by the row's rstd: C = acc * rstd_m + c. (mean, rstd) come from lnl_row_stats.
//     The normalised tensor never exists in device memory.
// Any M, N, K: out-of-range rows, columns and k are staged as 0 and never stored.

#define GEMM_GROUP_M 8  // tiles visited in groups of 8 along M so W tiles are reused from L2

template <int KQ>
__device__ __forceinline__ constexpr u32 gemm_swz(int k) {
    return (u32)((k / 4) % KQ) * (32u / KQ);
}

template <int BM, int BN, int BK, int TM, int TN, bool VEC, bool NORM>
__device__ __forceinline__ void gemm_tile(const float* __restrict__ A, const float* __restrict__ W,
                                          const float* __restrict__ bias, float* __restrict__ C, u32 M,
                                          u32 N, u32 K, const float* __restrict__ stats) {
    constexpr int LM = 8, LN = 4;               // lanes of a warp along rows, columns
    constexpr int WTM = LM * TM, WTN = LN * TN; // warp tile
    constexpr int WARPS_N = BN / WTN;
    constexpr int THREADS = 32 * (BM / WTM) * WARPS_N;
    constexpr int KQ = BK / 4;                  // 4-float groups along k in a tile row
    constexpr int LA = BM * KQ / THREADS;       // A groups staged per thread per K-tile
    constexpr int LB = BN * KQ / THREADS;       // W groups staged per thread per K-tile
    static_assert(BM % WTM == 0 && BN % WTN == 0 && (KQ == 2 || KQ == 4), "tile");
    static_assert(LA >= 1 && LB >= 1 && BM * KQ % THREADS == 0 && BN * KQ % THREADS == 0, "tile");
    static_assert(WARPS_N % 2 == 0 && BM % 32 == 0, "swizzled fragment offsets");
    __shared__ __align__(16) float As[2][BK][BM];
    __shared__ __align__(16) float Bs[2][BK][BN];
    const u32 tid = threadIdx.x;

    // Block -> tile, grouped along M.
    const u32 tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    const u32 width = GEMM_GROUP_M * tiles_n;
    const u32 first_m = (blockIdx.x / width) * GEMM_GROUP_M;
    const u32 gsize = min(tiles_m - first_m, (u32)GEMM_GROUP_M);
    const u32 in_group = blockIdx.x % width;
    const size_t m0 = (size_t)(first_m + in_group % gsize) * BM;
    const size_t n0 = (size_t)(in_group / gsize) * BN;

    // Staging coordinates: group i of this thread is row (tid + i*THREADS) / KQ of the tile,
    // k offset 4 * ((tid + i*THREADS) % KQ) (THREADS is a multiple of KQ: same for every i).
    const u32 kq = tid % KQ, kk = 4 * kq;
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    // Element offsets of the staged rows (32-bit: the plan checks that rows*H and O*H fit u32),
    // fewer registers than pointers.
    u32 a_off[LA], b_off[LB];
    bool a_ok[LA], b_ok[LB];
    float a_mean[LA];
    float4 a_raw[LA], b_raw[LB];
#pragma unroll
    for (int i = 0; i < LA; ++i) {
        const u32 r = (tid + i * THREADS) / KQ;
        a_ok[i] = m0 + r < M;
        a_off[i] = (a_ok[i] ? (u32)m0 + r : 0u) * K + kk;
        a_mean[i] = (NORM && a_ok[i]) ? stats[2 * (m0 + r)] : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < LB; ++i) {
        const u32 r = (tid + i * THREADS) / KQ;
        b_ok[i] = n0 + r < N;
        b_off[i] = (b_ok[i] ? (u32)n0 + r : 0u) * K + kk;
    }
    // The swizzled store column of row r: every k of this thread's group shares it.
    const u32 st_swz = kq * (32u / KQ);

    // Global -> registers (raw values only, so the loads stay in flight during the multiply).
    auto load4 = [&](const float* p, bool ok, u32 k) -> float4 {
        if constexpr (VEC) {
            return (ok && k < K) ? ldg4(p) : zero;  // K % 4 == 0: all 4 in or all out
        } else {
            float v[4];
#pragma unroll
            for (int j = 0; j < 4; ++j) v[j] = (ok && k + j < K) ? p[j] : 0.0f;
            return make_float4(v[0], v[1], v[2], v[3]);
        }
    };
    auto load = [&](u32 k0) {
#pragma unroll
        for (int i = 0; i < LA; ++i) a_raw[i] = load4(A + (a_off[i] + k0), a_ok[i], k0 + kk);
#pragma unroll
        for (int i = 0; i < LB; ++i) b_raw[i] = load4(W + (b_off[i] + k0), b_ok[i], k0 + kk);
    };
    // Registers -> shared, transposed to [k][row ^ swz]; the fused path centres x on the way.
    auto store = [&](u32 buf, u32 k0) {
#pragma unroll
        for (int i = 0; i < LA; ++i) {
            const u32 r = ((tid + i * THREADS) / KQ) ^ st_swz;
            float a[4] = {a_raw[i].x, a_raw[i].y, a_raw[i].z, a_raw[i].w};
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                if (NORM) a[j] = (a_ok[i] && k0 + kk + j < K) ? a[j] - a_mean[i] : 0.0f;
                As[buf][kk + j][r] = a[j];
            }
        }
#pragma unroll
        for (int i = 0; i < LB; ++i) {
            const u32 r = ((tid + i * THREADS) / KQ) ^ st_swz;
            const float b[4] = {b_raw[i].x, b_raw[i].y, b_raw[i].z, b_raw[i].w};
#pragma unroll
            for (int j = 0; j < 4; ++j) Bs[buf][kk + j][r] = b[j];
        }
    };

    // This thread's outputs: rows wm*WTM + c*32 + lm*4 + (0..3) for c < TM/4; columns
    // c*(16 WARPS_N) + wn*16 + ln*4 + (0..3) for c < TN/4 (spans of 32 and 16 WARPS_N floats, so
    // the swizzle, within 32-float blocks, commutes with the c offsets).
    const u32 warp = tid / 32, lane = tid % 32;
    const u32 row_base = (warp / WARPS_N) * WTM + (lane / LN) * 4;
    const u32 col_base = (warp % WARPS_N) * 16 + (lane % LN) * 4;
    constexpr u32 COL_STEP = 16 * WARPS_N;
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    const u32 nk = (K + BK - 1) / BK;
    load(0);
    store(0, 0);
    __syncthreads();
    for (u32 kt = 0; kt < nk; ++kt) {
        const u32 buf = kt & 1u;
        if (kt + 1 < nk) load((kt + 1) * BK);
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            const u32 sw = gemm_swz<KQ>(k);
            float a[TM], b[TN];
#pragma unroll
            for (int c = 0; c < TM / 4; ++c) {
                const float4 v = *reinterpret_cast<const float4*>(&As[buf][k][(row_base ^ sw) + c * 32]);
                a[4 * c] = v.x, a[4 * c + 1] = v.y, a[4 * c + 2] = v.z, a[4 * c + 3] = v.w;
            }
#pragma unroll
            for (int c = 0; c < TN / 4; ++c) {
                const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][k][(col_base ^ sw) + c * COL_STEP]);
                b[4 * c] = v.x, b[4 * c + 1] = v.y, b[4 * c + 2] = v.z, b[4 * c + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (kt + 1 < nk) store(buf ^ 1u, (kt + 1) * BK);
        __syncthreads();
    }

    // Epilogue: (rstd scaling,) bias, bounds, 16-byte stores where the row allows.
    const bool n_vec = (N & 3u) == 0;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const size_t m = m0 + row_base + (i / 4) * 32 + (i % 4);
        if (m >= M) continue;
        const float rstd = NORM ? stats[2 * m + 1] : 1.0f;
        auto out = [&](float a, float b) { return NORM ? fmaf(a, rstd, b) : a + b; };
        float* crow = C + m * N;
#pragma unroll
        for (int c = 0; c < TN / 4; ++c) {
            const size_t n = n0 + col_base + c * COL_STEP;
            const float* v = &acc[i][c * 4];
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
