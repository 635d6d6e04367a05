// Decode GEMV for few rows: y[M, N] = A[M, K] . W[N, K]^T + bias[N], M <= a few row blocks.
// Unfused: A = xhat. Fused: A = x, centred (x - mean) as it is staged into local memory, the
// sum of squared residuals accumulated from the same staged values (the statistics' second
// pass, first round only), rstd applied to each output's sum in the epilogue: y = rstd *
// sum_k W'[o,k] (x[k] - mean) + c. Only the mean is computed before the first chunk. One launch
// in all; gamma and beta are folded into W and the bias at build time.
//
// Memory-bound on W (64 MiB at 4096^2), so the design is about W bytes in flight on every
// compute unit:
// - Persistent work-groups (a few per compute unit, the grid is sized by the host): each takes
//   output tasks of GEMV_OPT consecutive W rows, dealt round-robin over the work-groups so that
//   every compute unit streams its share. Work-item (lane, g): output group g walks its task's
//   rows with GEMV_KT lanes, GEMV_U float4 per row per step, and the next step's W vectors are
//   loaded before the current step's FMAs (register double buffering, across chunk barriers).
// - x is staged once per work-group and row block, GEMV_KC columns of the GEMV_R rows at a time,
//   into two local buffers: chunk c + 1 is loaded into registers while chunk c is consumed and
//   stored (centred, when fused) after it, so one barrier per chunk and no exposed latency.
//   The mean prologue (fused) reads x from global memory while the first W loads are in flight. Local memory stays within the 48 KiB that NVIDIA's OpenCL allows a work-group.
// The GEMV_KT partial sums of each output are combined in a fixed order through local memory,
// GEMV_RR rows per round: deterministic, and independent of the grid size.
// Compile-time: GEMV_KT, GEMV_OG (powers of two), GEMV_OPT, GEMV_R <= GEMV_KT * GEMV_OG,
// GEMV_U, GEMV_KC (a multiple of 4 * GEMV_KT * GEMV_U), GEMV_RR, GEMV_NV (1: NVIDIA's platform,
// cache hints for W through inline PTX, below; 0: none), GEMV_PF (with GEMV_NV: W prefetched
// into L2 that many steps ahead; 0: not). The kernels require GEMV_KT * GEMV_OG work-items per
// group.

#define V_NT (GEMV_KT * GEMV_OG)
#define V_NO (GEMV_OG * GEMV_OPT)
#define V_STEP (4 * GEMV_KT * GEMV_U)
#define V_KC4 (GEMV_KC / 4)
#define V_XS4 (GEMV_R * V_KC4)
#define V_STAGE ((V_XS4 + V_NT - 1) / V_NT)
#define V_STRIDE (GEMV_KT + 1)
#define V_RED_LEN (GEMV_RR * V_NO * V_STRIDE)
#define V_MAX(a, b) ((a) > (b) ? (a) : (b))
#define V_BUF4 V_MAX(2 * V_XS4, V_MAX((V_RED_LEN + 3) / 4, (V_NT + 3) / 4))

#if GEMV_NV
// NVIDIA only (inline PTX; the host sets GEMV_NV only on NVIDIA's platform). W is read exactly
// once, so its loads do not allocate in L1, which keeps x there for the staging after the mean
// pass.
inline float4 gemv_ldg_w(const __global float *p)
{
    float4 v;
    __asm__("ld.global.L1::no_allocate.v4.f32 {%0, %1, %2, %3}, [%4];"
            : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
            : "l"(p));
    return v;
}
#endif

// One float4 of W (row o, columns k..k+3): fetch4, with the streaming load where it applies.
inline float4 gemv_fetch_w(const __global float *w, uint n_len, uint k_len, uint o, uint k,
                           bool vec)
{
#if GEMV_NV
    if (vec)
        return (o < n_len && k < k_len) ? gemv_ldg_w(w + (size_t)o * k_len + k) : (float4)(0.0f);
#endif
    return fetch4(w, n_len, k_len, o, k, vec);
}

// This work-item's W vectors of one step: rows o_first.., columns k + 4 * GEMV_KT * u.
// Rows past the end read as zero (their sums are never stored).
inline void gemv_load_w(const __global float *w, uint n_len, uint k_len, uint o_first, uint k,
                        bool vec, float4 wv[GEMV_U][GEMV_OPT])
{
#pragma unroll
    for (uint u = 0; u < GEMV_U; ++u)
#pragma unroll
        for (uint j = 0; j < GEMV_OPT; ++j)
            wv[u][j] = gemv_fetch_w(w, n_len, k_len, o_first + j, k + 4 * GEMV_KT * u, vec);
}

#if GEMV_NV && GEMV_PF
// Brings this work-item's W vectors of a later step into L2 (one request per 128-byte line), so
// that the loads of that step wait less: more of W in flight than the registers hold.
inline void gemv_prefetch_w(const __global float *w, uint n_len, uint k_len, uint o_first, uint k,
                            bool vec)
{
#pragma unroll
    for (uint u = 0; u < GEMV_U; ++u)
#pragma unroll
        for (uint j = 0; j < GEMV_OPT; ++j) {
            const uint kk = k + 4 * GEMV_KT * u;
            if (vec && o_first + j < n_len && kk < k_len) {
                const __global float *p = w + (size_t)(o_first + j) * k_len + kk;
                if ((get_local_id(0) & 7u) == 0)
                    __asm__ __volatile__("prefetch.global.L2 [%0];" : : "l"(p));
            }
        }
}
#endif

// Raw x of this work-item's staging slots of the chunk at column kc0 (rows past the block's
// last, and columns past H, read as zero).
inline void gemv_fetch_x(const __global float *a, uint m_len, uint k_len, uint r0, uint rows,
                         uint kc0, bool vec, float4 xr[V_STAGE])
{
    const uint tid = get_local_id(0);
#pragma unroll
    for (uint i = 0; i < V_STAGE; ++i) {
        const uint idx = tid + i * V_NT;
        const uint r = idx / V_KC4;
        xr[i] = (idx < V_XS4 && r < rows)
                    ? fetch4(a, m_len, k_len, r0 + r, kc0 + 4 * (idx % V_KC4), vec)
                    : (float4)(0.0f);
    }
}

// Stores the staged slots into `xs`, centred (x - mean) when fused: the fusion, with rstd
// applied in the epilogue. Columns past H and rows past the block's last are stored as zeros,
// so that they add exactly nothing (W is zero there too) whatever the row's statistics. When
// `squares` is set (fused, first round), the stored residuals' squares are added to `sq`, this
// work-item's per-slot share of the rows' second statistics pass (a slot's row is the same in
// every chunk).
inline void gemv_store_x(const bool fused, const float4 xr[V_STAGE], uint rows, uint kc0,
                         uint k_len, __local const float2 *st, __local float4 *xs,
                         const bool squares, float2 sq[V_STAGE])
{
    const uint tid = get_local_id(0);
#pragma unroll
    for (uint i = 0; i < V_STAGE; ++i) {
        const uint idx = tid + i * V_NT;
        if (idx < V_XS4) {
            const uint r = idx / V_KC4;
            const uint k = kc0 + 4 * (idx % V_KC4);
            float4 v = (float4)(0.0f);
            if (r < rows && k < k_len) {
                v = fused ? xr[i] - st[r].x : xr[i];
                if (k + 4 > k_len) {
                    v.y = k + 1 < k_len ? v.y : 0.0f;
                    v.z = k + 2 < k_len ? v.z : 0.0f;
                    v.w = 0.0f;
                }
            }
            if (fused && squares)
                sq[i] += squares4(v);
            xs[idx] = v;
        }
    }
}

// After the first round's last chunk (fused): the rows' sums of squared residuals from the
// work-items' per-slot shares, a fixed-shape tree per row over its V_KC4 slots in local memory
// (the same bits on every run), then rstd into st[r].y. `buf` must be free; on return it is
// free again and st is complete (barriers inside: every work-item calls this).
inline void gemv_finish_stats(const float2 sq[V_STAGE], uint rows, uint k_len, float eps,
                              __local float4 *buf, __local float2 *st)
{
    const uint tid = get_local_id(0);
    __local float2 *part = (__local float2 *)buf;
#pragma unroll
    for (uint i = 0; i < V_STAGE; ++i) {
        const uint idx = tid + i * V_NT;
        if (idx < V_XS4)
            part[idx] = sq[i];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    uint s = 1;
    while (2 * s < V_KC4)
        s <<= 1;
    // Not unrolled: unrolled, the levels' local addresses were hoisted out of the round loop and
    // held in registers (clang to PTX: 142 registers instead of 110, too many for two 256-wide
    // work-groups per compute unit).
#pragma unroll 1
    for (; s > 0; s >>= 1) {
#pragma unroll
        for (uint i = 0; i < V_STAGE; ++i) {
            const uint idx = tid + i * V_NT;
            const uint j = idx % V_KC4;
            if (idx < V_XS4 && j < s && j + s < V_KC4)
                part[idx] += part[idx + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (tid < rows) {
        const float2 m = part[tid * V_KC4];
        st[tid].y = row_rstd(st[tid].x, m.x, m.y, k_len, eps);
    }
    barrier(CLK_LOCAL_MEM_FENCE); // st is written; part is read
}

inline void gemv_body(const bool fused, const __global float *a, float eps,
                      const __global float *w, const __global float *bias, __global float *y,
                      uint m_len, uint n_len, uint k_len, __local float4 *buf, __local float2 *st)
{
    const uint tid = get_local_id(0);
    const uint lane = tid % GEMV_KT;
    const uint g = tid / GEMV_KT;
    const uint r0 = get_group_id(1) * GEMV_R;
    const uint rows = min((uint)GEMV_R, m_len - r0);
    const bool vec = (k_len & 3u) == 0;
    const uint n_groups = get_num_groups(0);
    const uint n_tasks = (n_len + GEMV_OPT - 1) / GEMV_OPT;
    const uint n_chunks = (k_len + GEMV_KC - 1) / GEMV_KC;
    // Task of output group g in round t0: round-robin over work-groups first (every compute
    // unit streams W), then over output groups. The same round count for every work-item of
    // the group: the barriers below are uniform.
    uint o_first = (g * n_groups + get_group_id(0)) * GEMV_OPT;

    // The first round's first W step and x chunk: in flight during the mean pass (fused).
    float4 wv[GEMV_U][GEMV_OPT];
    gemv_load_w(w, n_len, k_len, o_first, lane * 4, vec, wv);
    float4 xr[V_STAGE];
    gemv_fetch_x(a, m_len, k_len, r0, rows, 0, vec, xr);

    if (fused) {
        // The first statistics pass, the mean, one segment of the work-group per row (a power of
        // two >= rows segments). The second pass is fused into the first round's staging.
        uint p = 1;
        while (p < rows)
            p <<= 1;
        const uint seg = V_NT / p;
        const uint r = tid / seg;
        const bool live = r < rows;
        const __global float *row = a + (size_t)(r0 + (live ? r : 0)) * k_len;
        const float mean = seg_row_mean(row, live, k_len, (__local float *)buf, seg);
        if (live && (tid & (seg - 1)) == 0)
            st[r] = (float2)(mean, 0.0f);
        barrier(CLK_LOCAL_MEM_FENCE); // st is written; the statistics scratch is free again
    }
    float2 sq[V_STAGE];
#pragma unroll
    for (uint i = 0; i < V_STAGE; ++i)
        sq[i] = (float2)(0.0f);

    for (uint t0 = 0; t0 < n_tasks; t0 += GEMV_OG * n_groups) {
        float acc[GEMV_R][GEMV_OPT];
#pragma unroll
        for (uint r = 0; r < GEMV_R; ++r)
#pragma unroll
            for (uint j = 0; j < GEMV_OPT; ++j)
                acc[r][j] = 0.0f;

        const bool squares = t0 == 0; // uniform over the work-group
        gemv_store_x(fused, xr, rows, 0, k_len, st, buf, squares, sq);
        barrier(CLK_LOCAL_MEM_FENCE);

        for (uint c = 0; c < n_chunks; ++c) {
            const uint kc0 = c * GEMV_KC;
            const __local float4 *xs = buf + (c & 1) * V_XS4;
            if (c + 1 < n_chunks)
                gemv_fetch_x(a, m_len, k_len, r0, rows, kc0 + GEMV_KC, vec, xr);
            for (uint ks = 0; ks < GEMV_KC; ks += V_STEP) {
                const uint k = kc0 + ks + lane * 4;
                // The next step's W (the next chunk's first step after the last one) before
                // this step's FMAs.
                float4 wn[GEMV_U][GEMV_OPT];
                gemv_load_w(w, n_len, k_len, o_first, k + V_STEP, vec, wn);
#if GEMV_NV && GEMV_PF
                gemv_prefetch_w(w, n_len, k_len, o_first, k + GEMV_PF * V_STEP, vec);
#endif
#pragma unroll
                for (uint u = 0; u < GEMV_U; ++u) {
                    const uint x4 = ks / 4 + lane + GEMV_KT * u;
#pragma unroll
                    for (uint r = 0; r < GEMV_R; ++r) {
                        if (r < rows) {
                            const float4 xv = xs[r * V_KC4 + x4];
#pragma unroll
                            for (uint j = 0; j < GEMV_OPT; ++j) {
                                float t = acc[r][j];
                                t = fma(wv[u][j].x, xv.x, t);
                                t = fma(wv[u][j].y, xv.y, t);
                                t = fma(wv[u][j].z, xv.z, t);
                                t = fma(wv[u][j].w, xv.w, t);
                                acc[r][j] = t;
                            }
                        }
                    }
                }
#pragma unroll
                for (uint u = 0; u < GEMV_U; ++u)
#pragma unroll
                    for (uint j = 0; j < GEMV_OPT; ++j)
                        wv[u][j] = wn[u][j];
            }
            // The other buffer was last read in chunk c - 1, before the previous barrier.
            if (c + 1 < n_chunks)
                gemv_store_x(fused, xr, rows, kc0 + GEMV_KC, k_len, st,
                             buf + ((c + 1) & 1) * V_XS4, squares, sq);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (fused && squares)
            gemv_finish_stats(sq, rows, k_len, eps, buf, st);

        // Combine the GEMV_KT partial sums of each (row, output), GEMV_RR rows per round.
        // Slot-major with stride KT + 1: neither the writers (consecutive lanes) nor the readers
        // (consecutive slots) collide on banks. The buffer is free: the chunk loop ended with a
        // barrier.
        __local float *red = (__local float *)buf;
        const uint o_grp = (t0 + get_group_id(0)) * GEMV_OPT; // this round's first task's row
#pragma unroll
        for (uint rb = 0; rb < GEMV_R; rb += GEMV_RR) {
            if (rb > 0)
                barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
            for (uint r = rb; r < rb + GEMV_RR && r < GEMV_R; ++r)
#pragma unroll
                for (uint j = 0; j < GEMV_OPT; ++j)
                    red[((r - rb) * V_NO + g * GEMV_OPT + j) * V_STRIDE + lane] = acc[r][j];
            barrier(CLK_LOCAL_MEM_FENCE);
            for (uint slot = tid; slot < GEMV_RR * V_NO; slot += V_NT) {
                const uint r = rb + slot / V_NO;
                const uint gj = slot % V_NO; // output group * OPT + j
                const uint o = o_grp + (gj / GEMV_OPT) * n_groups * GEMV_OPT + gj % GEMV_OPT;
                if (r < rows && o < n_len) {
                    const __local float *p = red + slot * V_STRIDE;
                    float t = 0.0f;
                    for (uint l = 0; l < GEMV_KT; ++l)
                        t += p[l];
                    // Fused: the products were of centred x; rstd scales the whole sum.
                    y[(size_t)(r0 + r) * n_len + o] = (fused ? t * st[r].y : t) + bias[o];
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE); // the next round's staging overwrites the buffer

        // The next round's first W step and x chunk (past the last round: discarded loads).
        o_first += GEMV_OG * n_groups * GEMV_OPT;
        gemv_load_w(w, n_len, k_len, o_first, lane * 4, vec, wv);
        gemv_fetch_x(a, m_len, k_len, r0, rows, 0, vec, xr);
    }
}

__kernel __attribute__((reqd_work_group_size(V_NT, 1, 1))) void
gemv_unfused(const __global float *xhat, const __global float *w, const __global float *bias,
             __global float *y, uint m_len, uint n_len, uint k_len)
{
    __local float4 buf[V_BUF4];
    __local float2 st[GEMV_R];
    gemv_body(false, xhat, 0.0f, w, bias, y, m_len, n_len, k_len, buf, st);
}

__kernel __attribute__((reqd_work_group_size(V_NT, 1, 1))) void
gemv_fused(const __global float *x, float eps, const __global float *w, const __global float *bias,
           __global float *y, uint m_len, uint n_len, uint k_len)
{
    __local float4 buf[V_BUF4];
    __local float2 st[GEMV_R];
    gemv_body(true, x, eps, w, bias, y, m_len, n_len, k_len, buf, st);
}
