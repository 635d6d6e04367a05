// Tiled GEMM y[M, N] = A[M, K] . W[N, K]^T + bias[N]. Unfused: A = xhat, W and bias as given.
// Fused: A = centred x, x - mean (staged here), each row's sums times its rstd in the epilogue,
// W = W diag(gamma), bias = W beta + b (folded at build): y = rstd * sum_k W'[o,k] (x[k] - mean)
// + c. Centring costs one add per staged element, rstd one multiply per output (standardising
// while staging cost two operations per staged element, about 1.6% of the FMAs at BN 128).
//
// Tile BM x BN per work-group, BK deep; each work-item owns a TM x TN block of y, held as
// TM/4 x TN/4 float4 groups spread BM/(TM/4) apart so that local-memory reads are conflict-free
// broadcasts (16-byte aligned float4 reads: offsets are multiples of 4, the arrays aligned).
// Both operands are staged transposed into local memory (k-major); the next tile's
// global loads are issued before the current tile's FMAs (register double buffering).
// Compile-time: GEMM_BM, GEMM_BN, GEMM_BK, GEMM_TM, GEMM_TN (TM, TN multiples of 4).

#define G_WN (GEMM_BN / GEMM_TN)
#define G_WM (GEMM_BM / GEMM_TM)
#define G_NT (G_WM * G_WN)
#define G_VM (GEMM_TM / 4)
#define G_VN (GEMM_TN / 4)
#define G_LDA (GEMM_BM + 4)
#define G_LDW (GEMM_BN + 4)
#define G_KQ (GEMM_BK / 4)
#define G_A_LOADS (GEMM_BM * G_KQ / G_NT)
#define G_W_LOADS (GEMM_BN * G_KQ / G_NT)

// Issues this work-item's global loads of the k tile starting at k0.
inline void gemm_fetch(const __global float *a, const __global float *w, uint m_len, uint n_len,
                       uint k_len, uint m0, uint n0, uint k0, bool vec, const uint *a_row,
                       const uint *a_kq, const uint *w_row, const uint *w_kq, float4 *ra,
                       float4 *rw)
{
#pragma unroll
    for (uint p = 0; p < G_A_LOADS; ++p)
        ra[p] = fetch4(a, m_len, k_len, m0 + a_row[p], k0 + a_kq[p], vec);
#pragma unroll
    for (uint p = 0; p < G_W_LOADS; ++p)
        rw[p] = fetch4(w, n_len, k_len, n0 + w_row[p], k0 + w_kq[p], vec);
}

inline void gemm_body(const bool fused, const __global float *a, const __global float2 *stats,
                      const __global float *w, const __global float *bias, __global float *y,
                      uint m_len, uint n_len, uint k_len, __local float *as, __local float *ws)
{
    const uint tid = get_local_id(0);
    const uint tx = tid % G_WN;
    const uint ty = tid / G_WN;
    const uint n0 = get_group_id(0) * GEMM_BN;
    const uint m0 = get_group_id(1) * GEMM_BM;
    const bool vec = (k_len & 3u) == 0;

    // Which (row, k offset) each of this work-item's loads covers; fixed across k tiles.
    uint a_row[G_A_LOADS], a_kq[G_A_LOADS], w_row[G_W_LOADS], w_kq[G_W_LOADS];
    float a_mean[G_A_LOADS];
#pragma unroll
    for (uint p = 0; p < G_A_LOADS; ++p) {
        const uint l = tid + p * G_NT;
        a_row[p] = l / G_KQ;
        a_kq[p] = (l % G_KQ) * 4;
        const uint r = m0 + a_row[p];
        a_mean[p] = (fused && r < m_len) ? stats[r].x : 0.0f;
    }
#pragma unroll
    for (uint p = 0; p < G_W_LOADS; ++p) {
        const uint l = tid + p * G_NT;
        w_row[p] = l / G_KQ;
        w_kq[p] = (l % G_KQ) * 4;
    }

    float acc[GEMM_TM][GEMM_TN];
#pragma unroll
    for (uint i = 0; i < GEMM_TM; ++i)
#pragma unroll
        for (uint j = 0; j < GEMM_TN; ++j)
            acc[i][j] = 0.0f;

    float4 ra[G_A_LOADS], rw[G_W_LOADS];
    const uint tiles = (k_len + GEMM_BK - 1) / GEMM_BK;

    gemm_fetch(a, w, m_len, n_len, k_len, m0, n0, 0u, vec, a_row, a_kq, w_row, w_kq, ra, rw);
    for (uint t = 0; t < tiles; ++t) {
        barrier(CLK_LOCAL_MEM_FENCE); // everyone is done reading the previous tile
#pragma unroll
        for (uint p = 0; p < G_A_LOADS; ++p) {
            const float4 v = stage_a(ra[p], fused, a_mean[p]);
            __local float *d = as + a_kq[p] * G_LDA + a_row[p];
            d[0] = v.x;
            d[G_LDA] = v.y;
            d[2 * G_LDA] = v.z;
            d[3 * G_LDA] = v.w;
        }
#pragma unroll
        for (uint p = 0; p < G_W_LOADS; ++p) {
            __local float *d = ws + w_kq[p] * G_LDW + w_row[p];
            d[0] = rw[p].x;
            d[G_LDW] = rw[p].y;
            d[2 * G_LDW] = rw[p].z;
            d[3 * G_LDW] = rw[p].w;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (t + 1 < tiles)
            gemm_fetch(a, w, m_len, n_len, k_len, m0, n0, (t + 1) * GEMM_BK, vec, a_row, a_kq,
                       w_row, w_kq, ra, rw);

#pragma unroll
        for (uint kk = 0; kk < GEMM_BK; ++kk) {
            float af[GEMM_TM], bf[GEMM_TN];
#pragma unroll
            for (uint i = 0; i < G_VM; ++i)
                vstore4(*(__local const float4 *)(as + kk * G_LDA + ty * 4 + i * (GEMM_BM / G_VM)),
                        i, af);
#pragma unroll
            for (uint j = 0; j < G_VN; ++j)
                vstore4(*(__local const float4 *)(ws + kk * G_LDW + tx * 4 + j * (GEMM_BN / G_VN)),
                        j, bf);
#pragma unroll
            for (uint i = 0; i < GEMM_TM; ++i)
#pragma unroll
                for (uint j = 0; j < GEMM_TN; ++j)
                    acc[i][j] = fma(af[i], bf[j], acc[i][j]);
        }
    }

    // Epilogue: bias, then store what lies inside y (float4 stores when rows of y are aligned).
    const bool vec_y = (n_len & 3u) == 0;
#pragma unroll
    for (uint i = 0; i < GEMM_TM; ++i) {
        const uint m = m0 + ty * 4 + (i / 4) * (GEMM_BM / G_VM) + (i % 4);
        if (m >= m_len)
            continue;
        // Fused: the products were of centred x; rstd scales the row's sums.
        const float rstd = fused ? stats[m].y : 1.0f;
        __global float *yrow = y + (size_t)m * n_len;
#pragma unroll
        for (uint jg = 0; jg < G_VN; ++jg) {
            const uint n = n0 + tx * 4 + jg * (GEMM_BN / G_VN);
            float4 v = (float4)(acc[i][4 * jg], acc[i][4 * jg + 1], acc[i][4 * jg + 2],
                                acc[i][4 * jg + 3]);
            if (fused)
                v *= rstd;
            if (vec_y && n < n_len) {
                *(__global float4 *)(yrow + n) = v + *(const __global float4 *)(bias + n);
            } else {
                if (n < n_len)
                    yrow[n] = v.x + bias[n];
                if (n + 1 < n_len)
                    yrow[n + 1] = v.y + bias[n + 1];
                if (n + 2 < n_len)
                    yrow[n + 2] = v.z + bias[n + 2];
                if (n + 3 < n_len)
                    yrow[n + 3] = v.w + bias[n + 3];
            }
        }
    }
}

__kernel void gemm_unfused(const __global float *xhat, const __global float *w,
                           const __global float *bias, __global float *y, uint m_len, uint n_len,
                           uint k_len)
{
    __local float as[GEMM_BK * G_LDA] __attribute__((aligned(16)));
    __local float ws[GEMM_BK * G_LDW] __attribute__((aligned(16)));
    gemm_body(false, xhat, 0, w, bias, y, m_len, n_len, k_len, as, ws);
}

__kernel void gemm_fused(const __global float *x, const __global float2 *stats,
                         const __global float *w, const __global float *bias, __global float *y,
                         uint m_len, uint n_len, uint k_len)
{
    __local float as[GEMM_BK * G_LDA] __attribute__((aligned(16)));
    __local float ws[GEMM_BK * G_LDW] __attribute__((aligned(16)));
    gemm_body(true, x, stats, w, bias, y, m_len, n_len, k_len, as, ws);
}
