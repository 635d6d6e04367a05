// Decode GEMV for few rows: y[M, N] = A[M, K] . W[N, K]^T + bias[N], M <= a few row blocks.
// Unfused: A = xhat. Fused: A = x, standardised in registers as it is loaded, with the block's
// row statistics computed here first (one launch in all; gamma and beta are folded into W and
// the bias at build time).
//
// W is streamed from global memory once per row block of GEMV_R rows with float4 loads, the
// next step's W vectors loaded before the current step's FMAs (and the first ones before the
// statistics prologue, so that DRAM latency overlaps it). Work-item (lane, g) owns GEMV_OPT
// outputs and every GEMV_KT-th float4 of k; the GEMV_KT partial sums of each output are combined
// in a fixed order through local memory, GEMV_RR rows per round: deterministic.
// Compile-time: GEMV_KT, GEMV_OG (powers of two), GEMV_OPT, GEMV_R <= GEMV_KT * GEMV_OG, GEMV_RR.

#define V_NT (GEMV_KT * GEMV_OG)
#define V_NO (GEMV_OG * GEMV_OPT)
#define V_STRIDE (GEMV_KT + 1)
#define V_RED_LEN (GEMV_RR * V_NO * V_STRIDE)
#define V_BUF_LEN (V_RED_LEN > V_NT ? V_RED_LEN : V_NT)

inline void gemv_body(const bool fused, const __global float *a, float eps,
                      const __global float *w, const __global float *bias, __global float *y,
                      uint m_len, uint n_len, uint k_len, __local float *buf, __local float2 *st)
{
    const uint tid = get_local_id(0);
    const uint lane = tid % GEMV_KT;
    const uint g = tid / GEMV_KT;
    const uint r0 = get_group_id(1) * GEMV_R;
    const uint rows = min((uint)GEMV_R, m_len - r0);
    const uint o_grp = get_group_id(0) * V_NO;
    const uint o_first = o_grp + g * GEMV_OPT;
    const bool vec = (k_len & 3u) == 0;

    uint k = lane * 4;
    float4 wv[GEMV_OPT];
#pragma unroll
    for (uint j = 0; j < GEMV_OPT; ++j)
        wv[j] = fetch4(w, n_len, k_len, o_first + j, k, vec);

    float2 s[GEMV_R];
#pragma unroll
    for (uint r = 0; r < GEMV_R; ++r)
        s[r] = (float2)(0.0f);
    if (fused) {
        // One segment of the work-group per row: a power of two >= rows segments.
        uint p = 1;
        while (p < rows)
            p <<= 1;
        const uint seg = V_NT / p;
        const uint r = tid / seg;
        const bool live = r < rows;
        const float2 rs = seg_row_stats(a + (size_t)(r0 + (live ? r : 0)) * k_len, live, k_len,
                                        eps, buf, seg);
        if (live && (tid & (seg - 1)) == 0)
            st[r] = rs;
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (uint r = 0; r < GEMV_R; ++r)
            if (r < rows)
                s[r] = st[r];
    }

    float acc[GEMV_R][GEMV_OPT];
#pragma unroll
    for (uint r = 0; r < GEMV_R; ++r)
#pragma unroll
        for (uint j = 0; j < GEMV_OPT; ++j)
            acc[r][j] = 0.0f;

    for (; k < k_len; k += 4 * GEMV_KT) {
        float4 wn[GEMV_OPT];
#pragma unroll
        for (uint j = 0; j < GEMV_OPT; ++j)
            wn[j] = fetch4(w, n_len, k_len, o_first + j, k + 4 * GEMV_KT, vec);
#pragma unroll
        for (uint r = 0; r < GEMV_R; ++r) {
            if (r < rows) {
                const float4 xv = stage_a(fetch4(a, m_len, k_len, r0 + r, k, vec), fused, s[r]);
#pragma unroll
                for (uint j = 0; j < GEMV_OPT; ++j) {
                    float t = acc[r][j];
                    t = fma(wv[j].x, xv.x, t);
                    t = fma(wv[j].y, xv.y, t);
                    t = fma(wv[j].z, xv.z, t);
                    t = fma(wv[j].w, xv.w, t);
                    acc[r][j] = t;
                }
            }
        }
#pragma unroll
        for (uint j = 0; j < GEMV_OPT; ++j)
            wv[j] = wn[j];
    }

    // Combine the GEMV_KT partial sums of each (row, output), GEMV_RR rows per round. Slot-major
    // with stride KT + 1: neither the writers (consecutive lanes) nor the readers (consecutive
    // slots) collide on banks.
#pragma unroll
    for (uint rb = 0; rb < GEMV_R; rb += GEMV_RR) {
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (uint r = rb; r < rb + GEMV_RR && r < GEMV_R; ++r)
#pragma unroll
            for (uint j = 0; j < GEMV_OPT; ++j)
                buf[((r - rb) * V_NO + g * GEMV_OPT + j) * V_STRIDE + lane] = acc[r][j];
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint slot = tid; slot < GEMV_RR * V_NO; slot += V_NT) {
            const uint r = rb + slot / V_NO;
            const uint o = o_grp + slot % V_NO;
            if (r < rows && o < n_len) {
                const __local float *p = buf + slot * V_STRIDE;
                float t = 0.0f;
                for (uint l = 0; l < GEMV_KT; ++l)
                    t += p[l];
                y[(size_t)(r0 + r) * n_len + o] = t + bias[o];
            }
        }
    }
}

__kernel void gemv_unfused(const __global float *xhat, const __global float *w,
                           const __global float *bias, __global float *y, uint m_len, uint n_len,
                           uint k_len)
{
    __local float buf[V_BUF_LEN];
    __local float2 st[GEMV_R];
    gemv_body(false, xhat, 0.0f, w, bias, y, m_len, n_len, k_len, buf, st);
}

__kernel void gemv_fused(const __global float *x, float eps, const __global float *w,
                         const __global float *bias, __global float *y, uint m_len, uint n_len,
                         uint k_len)
{
    __local float buf[V_BUF_LEN];
    __local float2 st[GEMV_R];
    gemv_body(true, x, eps, w, bias, y, m_len, n_len, k_len, buf, st);
}
