// The tiled SGEMM core shared by the unfused and fused paths: C[M, N] = A[M, K] * W[N, K]^T + bias.
// (W is the nn.Linear layout [out, hidden], so both operands are contiguous along K.)
//
// 128 x 128 block tile, K-tile 8, 256 threads, 8 x 8 outputs per thread (register blocking),
// two shared-memory buffers: the next K-tile's global loads are in flight in registers while the
// current one is multiplied, and one barrier per K-tile. Plain fp32 FFMA (no TF32).
//
// The only difference between the strategies is the A staging (template NORM):
//   NORM = false: A is the normalised tensor xhat written by lnl_layernorm (unfused);
//   NORM = true:  A is x, normalised with the row's (mean, rstd) from lnl_row_stats and gamma,
//                 beta while the tile is written to shared memory (fused: xhat never exists in
//                 device memory).
// Any M, N, K: out-of-range rows, columns and k are staged as 0 and never stored.

#define GEMM_BM 128
#define GEMM_BN 128
#define GEMM_BK 8
#define GEMM_THREADS 256
#define GEMM_PAD 4  // keeps the transposed stores of the staging conflict-free
#define GEMM_GROUP_M 8  // tiles visited in groups of 8 along M so W tiles are reused from L2

__device__ __forceinline__ float4 ldg4(const float* p) { return __ldg(reinterpret_cast<const float4*>(p)); }

template <bool VEC, bool NORM>
__device__ __forceinline__ void gemm_tile(const float* __restrict__ A, const float* __restrict__ W,
                                          const float* __restrict__ bias, float* __restrict__ C, u32 M,
                                          u32 N, u32 K, const float* __restrict__ gamma,
                                          const float* __restrict__ beta, const float* __restrict__ stats) {
    __shared__ __align__(16) float As[2][GEMM_BK][GEMM_BM + GEMM_PAD];
    __shared__ __align__(16) float Bs[2][GEMM_BK][GEMM_BN + GEMM_PAD];
    const u32 tid = threadIdx.x;

    // Block -> tile, grouped along M.
    const u32 tiles_m = (M + GEMM_BM - 1) / GEMM_BM, tiles_n = (N + GEMM_BN - 1) / GEMM_BN;
    const u32 width = GEMM_GROUP_M * tiles_n;
    const u32 first_m = (blockIdx.x / width) * GEMM_GROUP_M;
    const u32 gsize = min(tiles_m - first_m, (u32)GEMM_GROUP_M);
    const u32 in_group = blockIdx.x % width;
    const size_t m0 = (size_t)(first_m + in_group % gsize) * GEMM_BM;
    const size_t n0 = (size_t)(in_group / gsize) * GEMM_BN;

    // Staging: each thread moves 4 consecutive k of one A row and of one W row per K-tile.
    const u32 lrow = tid >> 1, lk = (tid & 1u) * 4;
    const bool a_ok = m0 + lrow < M, b_ok = n0 + lrow < N;
    const float* a_ptr = A + (a_ok ? m0 + lrow : 0) * (size_t)K;
    const float* b_ptr = W + (b_ok ? n0 + lrow : 0) * (size_t)K;
    float mean = 0.0f, rstd = 0.0f;
    if (NORM && a_ok) {
        mean = stats[2 * (m0 + lrow)];
        rstd = stats[2 * (m0 + lrow) + 1];
    }
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float4 a_raw = zero, b_raw = zero, g_raw = zero, be_raw = zero;

    // Global -> registers (raw values only, so the loads stay in flight during the multiply).
    auto load = [&](u32 k0) {
        const u32 k = k0 + lk;
        if (VEC) {
            const bool kin = k < K;  // K % 4 == 0: the 4 k are all in or all out
            a_raw = (a_ok && kin) ? ldg4(a_ptr + k) : zero;
            b_raw = (b_ok && kin) ? ldg4(b_ptr + k) : zero;
            if (NORM && kin) {
                g_raw = ldg4(gamma + k);
                be_raw = ldg4(beta + k);
            }
        } else {
            float a[4], b[4], g[4], be[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const bool kin = k + i < K;
                a[i] = (a_ok && kin) ? a_ptr[k + i] : 0.0f;
                b[i] = (b_ok && kin) ? b_ptr[k + i] : 0.0f;
                g[i] = (NORM && kin) ? gamma[k + i] : 0.0f;
                be[i] = (NORM && kin) ? beta[k + i] : 0.0f;
            }
            a_raw = make_float4(a[0], a[1], a[2], a[3]);
            b_raw = make_float4(b[0], b[1], b[2], b[3]);
            g_raw = make_float4(g[0], g[1], g[2], g[3]);
            be_raw = make_float4(be[0], be[1], be[2], be[3]);
        }
    };
    // Registers -> shared (transposed to [k][m]), normalising x on the way when fused.
    auto store = [&](u32 buf, u32 k0) {
        float a[4] = {a_raw.x, a_raw.y, a_raw.z, a_raw.w};
        if (NORM) {
            const float g[4] = {g_raw.x, g_raw.y, g_raw.z, g_raw.w};
            const float be[4] = {be_raw.x, be_raw.y, be_raw.z, be_raw.w};
#pragma unroll
            for (int i = 0; i < 4; ++i)
                a[i] = (a_ok && k0 + lk + i < K) ? ln_apply(a[i], mean, rstd, g[i], be[i]) : 0.0f;
        }
        const float b[4] = {b_raw.x, b_raw.y, b_raw.z, b_raw.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            As[buf][lk + i][lrow] = a[i];
            Bs[buf][lk + i][lrow] = b[i];
        }
    };

    const u32 tx = tid % 16, ty = tid / 16;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

    const u32 nk = (K + GEMM_BK - 1) / GEMM_BK;
    load(0);
    store(0, 0);
    __syncthreads();
    for (u32 kt = 0; kt < nk; ++kt) {
        const u32 buf = kt & 1u;
        if (kt + 1 < nk) load((kt + 1) * GEMM_BK);
#pragma unroll
        for (int k = 0; k < GEMM_BK; ++k) {
            const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4]);
            const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4 + 64]);
            const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4]);
            const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4 + 64]);
            const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
                for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (kt + 1 < nk) store(buf ^ 1u, (kt + 1) * GEMM_BK);
        __syncthreads();
    }

    // Epilogue: bias, bounds, 16-byte stores where the row allows.
    const bool n_vec = (N & 3u) == 0;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const size_t m = m0 + (i / 4) * 64 + ty * 4 + (i % 4);
        if (m >= M) continue;
        float* crow = C + m * N;
#pragma unroll
        for (int jh = 0; jh < 2; ++jh) {
            const size_t n = n0 + jh * 64 + tx * 4;
            if (n_vec && n + 3 < N) {
                const float4 bb = ldg4(bias + n);
                *reinterpret_cast<float4*>(crow + n) =
                    make_float4(acc[i][jh * 4] + bb.x, acc[i][jh * 4 + 1] + bb.y,
                                acc[i][jh * 4 + 2] + bb.z, acc[i][jh * 4 + 3] + bb.w);
            } else {
#pragma unroll
                for (int j = 0; j < 4; ++j)
                    if (n + j < N) crow[n + j] = acc[i][jh * 4 + j] + bias[n + j];
            }
        }
    }
}
