// Decode GEMV for few rows: y[M, N] = A[M, K] . W[N, K]^T + bias[N], M <= a few row blocks.
// W is streamed from global memory once per row block of GEMV_R rows, with float4 loads, each
// work-item owning GEMV_OPT outputs and a GEMV_KT-th of k; the rows' A values are staged into
// local memory GEMV_KC columns at a time (normalised on the way when fused: the fusion).
// Partial sums are combined in a fixed order through local memory: deterministic.
// Compile-time: GEMV_KT, GEMV_OG, GEMV_OPT, GEMV_R, GEMV_KC (KC a multiple of 4 * KT).

#define V_NT (GEMV_KT * GEMV_OG)
#define V_NO (GEMV_OG * GEMV_OPT)
#define V_RED_STRIDE (GEMV_KT + 1)
#define V_XS_LEN (GEMV_R * GEMV_KC)
#define V_RED_LEN (GEMV_R * V_NO * V_RED_STRIDE)
#define V_BUF_LEN (V_XS_LEN > V_RED_LEN ? V_XS_LEN : V_RED_LEN)

inline void gemv_body(const bool fused, const __global float *a, const __global float2 *stats,
                      const __global float *gamma, const __global float *beta,
                      const __global float *w, const __global float *bias, __global float *y,
                      uint m_len, uint n_len, uint k_len, __local float *buf)
{
    const uint tid = get_local_id(0);
    const uint lane = tid % GEMV_KT;
    const uint g = tid / GEMV_KT;
    const uint r0 = get_group_id(1) * GEMV_R;
    const uint rows = min((uint)GEMV_R, m_len - r0);
    const uint o_grp = get_group_id(0) * V_NO;
    const uint o_first = o_grp + g * GEMV_OPT;
    const bool vec = (k_len & 3u) == 0;

    float acc[GEMV_R][GEMV_OPT];
#pragma unroll
    for (uint r = 0; r < GEMV_R; ++r)
#pragma unroll
        for (uint j = 0; j < GEMV_OPT; ++j)
            acc[r][j] = 0.0f;

    for (uint kc = 0; kc < k_len; kc += GEMV_KC) {
        barrier(CLK_LOCAL_MEM_FENCE); // the previous chunk has been read
        for (uint idx = tid * 4; idx < V_XS_LEN; idx += V_NT * 4) {
            const uint r = idx / GEMV_KC;
            const uint k = kc + idx % GEMV_KC;
            float4 v = fetch4(a, m_len, k_len, r0 + r, k, vec);
            if (fused && r < rows)
                v = stage_a(v, true, stats[r0 + r], fetch4(gamma, 1, k_len, 0, k, vec),
                            fetch4(beta, 1, k_len, 0, k, vec));
            *(__local float4 *)(buf + idx) = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (uint it = 0; it < GEMV_KC / (4 * GEMV_KT); ++it) {
            const uint kk = it * 4 * GEMV_KT + lane * 4;
            const uint k = kc + kk;
            if (k < k_len) {
                float4 wv[GEMV_OPT];
#pragma unroll
                for (uint j = 0; j < GEMV_OPT; ++j)
                    wv[j] = fetch4(w, n_len, k_len, o_first + j, k, vec);
#pragma unroll
                for (uint r = 0; r < GEMV_R; ++r) {
                    if (r < rows) {
                        const float4 xv = *(__local const float4 *)(buf + r * GEMV_KC + kk);
#pragma unroll
                        for (uint j = 0; j < GEMV_OPT; ++j) {
                            float s = acc[r][j];
                            s = fma(wv[j].x, xv.x, s);
                            s = fma(wv[j].y, xv.y, s);
                            s = fma(wv[j].z, xv.z, s);
                            s = fma(wv[j].w, xv.w, s);
                            acc[r][j] = s;
                        }
                    }
                }
            }
        }
    }

    // Combine the GEMV_KT partial sums of each (row, output): slot-major, stride KT + 1 so that
    // neither the writers (consecutive lanes) nor the readers (consecutive slots) collide on banks.
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (uint r = 0; r < GEMV_R; ++r)
#pragma unroll
        for (uint j = 0; j < GEMV_OPT; ++j)
            buf[((r * GEMV_OG + g) * GEMV_OPT + j) * V_RED_STRIDE + lane] = acc[r][j];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint slot = tid; slot < GEMV_R * V_NO; slot += V_NT) {
        const uint r = slot / V_NO;
        const uint o = o_grp + slot % V_NO;
        if (r < rows && o < n_len) {
            const __local float *p = buf + slot * V_RED_STRIDE;
            float s = 0.0f;
            for (uint l = 0; l < GEMV_KT; ++l)
                s += p[l];
            y[(size_t)(r0 + r) * n_len + o] = s + bias[o];
        }
    }
}

__kernel void gemv_unfused(const __global float *xhat, const __global float *w,
                           const __global float *bias, __global float *y, uint m_len, uint n_len,
                           uint k_len)
{
    __local float buf[V_BUF_LEN] __attribute__((aligned(16)));
    gemv_body(false, xhat, 0, 0, 0, w, bias, y, m_len, n_len, k_len, buf);
}

__kernel void gemv_fused(const __global float *x, const __global float2 *stats,
                         const __global float *gamma, const __global float *beta,
                         const __global float *w, const __global float *bias, __global float *y,
                         uint m_len, uint n_len, uint k_len)
{
    __local float buf[V_BUF_LEN] __attribute__((aligned(16)));
    gemv_body(true, x, stats, gamma, beta, w, bias, y, m_len, n_len, k_len, buf);
}
