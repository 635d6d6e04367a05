// Decode GEMV with x held in registers, the fused strategy's only (its default on NVIDIA where H
// fits): y[M, N] = x[M, K] . W[N, K]^T + bias[N] for one block of GEMVX_R rows per work-group
// row, x standardised in registers after the row statistics, which the work-group computes from
// the same registers (two passes: the mean, then the sum of squared residuals; row_rstd's
// overflow fallback); gamma and beta are folded into W and the bias. The unfused strategy takes
// gemv.cl: with xhat already in memory, this kernel's small row blocks only re-read W.
//
// Why (docs/PERF.md, "Issue 6, third step"): gemv.cl stages x in local memory; every one of
// its work-groups reads all the block's rows from L2 for the statistics and again for the
// staging, and every output group re-reads x from local memory for each W row. Here the
// work-group splits K: work-item t owns the columns p * 4 * GEMVX_NT + 4 t .. + 3 of every row
// (GEMVX_XP float4 per row, loaded once from global memory), so x is read from L2 once per
// work-group and never from local memory. W is streamed straight into registers (one float4 per
// output and part: a warp reads 512 contiguous bytes), GEMVX_B outputs per batch, the next batch
// loaded before the current one's FMAs (GEMVX_DB), and (NVIDIA) loads that skip L1 plus an L2 prefetch
// GEMV_PF batches ahead (gemv.cl's helpers). Each batch's GEMVX_B x GEMVX_R partial sums are
// reduced over the warp by a transposing butterfly (one value per lane pair at the end; NVIDIA:
// shfl.sync through inline PTX, elsewhere the same exchanges through local memory), written to
// local memory per warp, and summed over the warps in a fixed order every GEMVX_F batches: the
// same bits on every run, independent of the grid size. Batches of outputs are dealt
// round-robin over the persistent work-groups (one per compute unit: 512 work-items need <= 128
// registers each).
// Compile-time: GEMVX_NT (work-group size, a multiple of 32), GEMVX_XP (H <= 4 * GEMVX_NT *
// GEMVX_XP; the host falls back to gemv.cl beyond), GEMVX_B (GEMVX_B * GEMVX_R and 2 * GEMVX_R
// powers of two <= 32), GEMVX_F, GEMVX_DB (1: the next batch's W loaded before the current
// one's FMAs; 0: not, fewer registers), with GEMVX_R, GEMV_NV, GEMV_PF from gemv.cl.

#if GEMVX_NT

#define X_NW (GEMVX_NT / 32)
#define X_V (GEMVX_B * GEMVX_R)
#define X_SPAN (4 * GEMVX_NT)
#define X_STRIDE (X_NW + 1)
#define X_RED_SLOTS V_MAX(GEMVX_F * X_V, 2 * GEMVX_R)
#define X_RED_LEN (X_RED_SLOTS * X_STRIDE)
#define X_SCRATCH (GEMV_NV ? 1 : GEMVX_NT)

// v from the work-item `mask` lanes away in this warp (lane ^ mask). Every work-item of the
// work-group calls it (the portable version contains barriers).
inline float x_shfl_xor(float v, uint mask, __local float *scratch)
{
#if GEMV_NV
    uint r;
    __asm__ __volatile__("shfl.sync.bfly.b32 %0, %1, %2, 31, -1;"
                         : "=r"(r)
                         : "r"(as_uint(v)), "r"(mask));
    return as_float(r);
#else
    const uint tid = get_local_id(0);
    barrier(CLK_LOCAL_MEM_FENCE); // everyone has read the previous exchange
    scratch[tid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    return scratch[tid ^ mask];
#endif
}

// The warp's sums of the `nv` values v[0..nv) (nv a power of two <= 32), transposed: each step
// keeps half of the values still held and adds the partner lane's copy of them, so after log2(nv)
// steps every lane holds one value, and the remaining steps sum it over the other lanes. On
// return, lane l holds the total of value l >> (5 - log2 nv) in v[0] (lanes sharing it hold the
// same bits: a + b == b + a). Fixed order: the same bits on every run.
inline float x_warp_sums(float v[32], const uint nv, __local float *scratch)
{
    const uint lane = get_local_id(0) & 31u;
    uint n = nv;
#pragma unroll
    for (uint off = 16; off > 0; off >>= 1) {
        if (n > 1) {
            const uint h = n / 2;
            const bool up = (lane & off) != 0;
#pragma unroll
            for (uint i = 0; i < 16; ++i) {
                if (i < h) {
                    const float lo = v[i];
                    const float hi = v[i + h];
                    v[i] = (up ? hi : lo) + x_shfl_xor(up ? lo : hi, off, scratch);
                }
            }
            n = h;
        } else {
            v[0] += x_shfl_xor(v[0], off, scratch);
        }
    }
    return v[0];
}

// Writes this warp's totals from x_warp_sums into red: value i of slot s at
// red[(s * nv + i) * X_STRIDE + warp] (one writer per value; the padded stride spreads the banks).
inline void x_put(float t, const uint nv, uint slot, __local float *red)
{
    const uint tid = get_local_id(0);
    const uint lane = tid & 31u;
    const uint shift = 5 - (31 - clz(nv)); // 5 - log2 nv
    if ((lane & ((1u << shift) - 1u)) == 0)
        red[(slot * nv + (lane >> shift)) * X_STRIDE + tid / 32] = t;
}

// The sum over the warps, in warp order, of entry `e` (slot * nv + value) of red.
inline float x_warps_total(uint e, __local const float *red)
{
    const __local float *p = red + e * X_STRIDE;
    float t = 0.0f;
#pragma unroll
    for (uint w = 0; w < X_NW; ++w)
        t += p[w];
    return t;
}

// Zeroes the components of v at columns k + i >= k_len.
inline float4 x_mask4(float4 v, uint k, uint k_len)
{
    v.x = k < k_len ? v.x : 0.0f;
    v.y = k + 1 < k_len ? v.y : 0.0f;
    v.z = k + 2 < k_len ? v.z : 0.0f;
    v.w = k + 3 < k_len ? v.w : 0.0f;
    return v;
}

// This work-item's W vectors of the batch of outputs o_first..: one float4 per output and part.
inline void x_load_w(const __global float *w, uint n_len, uint k_len, uint o_first, bool vec,
                     float4 wv[GEMVX_B][GEMVX_XP])
{
    const uint k = 4 * get_local_id(0);
#pragma unroll
    for (uint b = 0; b < GEMVX_B; ++b)
#pragma unroll
        for (uint p = 0; p < GEMVX_XP; ++p)
            wv[b][p] = gemv_fetch_w(w, n_len, k_len, o_first + b, k + p * X_SPAN, vec);
}

#if GEMV_NV && GEMV_PF
// The batch's W lines into L2 (one request per 128-byte line: every 8th work-item).
inline void x_prefetch_w(const __global float *w, uint n_len, uint k_len, uint o_first, bool vec)
{
    const uint k = 4 * get_local_id(0);
    if (!vec || (get_local_id(0) & 7u) != 0)
        return;
#pragma unroll
    for (uint b = 0; b < GEMVX_B; ++b)
#pragma unroll
        for (uint p = 0; p < GEMVX_XP; ++p)
            if (o_first + b < n_len && k + p * X_SPAN < k_len)
                __asm__ __volatile__(
                    "prefetch.global.L2 [%0];"
                    :
                    : "l"(w + (size_t)(o_first + b) * k_len + k + p * X_SPAN));
}
#endif

// Stores output entry e (batch slot * X_V + value) of a flush whose slot 0 is batch bt0:
// the warps' total plus the bias, for rows and outputs inside y.
inline void x_store(uint e, uint bt0, uint n_groups, uint rows, uint r0, uint n_len,
                    __local const float *red, const __global float *bias, __global float *y)
{
    const uint b = (e % X_V) / GEMVX_R;
    const uint r = e % GEMVX_R;
    const uint o = (bt0 + (e / X_V) * n_groups) * GEMVX_B + b;
    if (r < rows && o < n_len)
        y[(size_t)(r0 + r) * n_len + o] = x_warps_total(e, red) + bias[o];
}

inline void gemvx_body(const __global float *a, float eps, const __global float *w,
                       const __global float *bias, __global float *y, uint m_len, uint n_len,
                       uint k_len, __local float *red, __local float *scratch,
                       __local float2 *st)
{
    const uint tid = get_local_id(0);
    const uint gid = get_group_id(0);
    const uint n_groups = get_num_groups(0);
    const uint r0 = get_group_id(1) * GEMVX_R;
    const uint rows = min((uint)GEMVX_R, m_len - r0);
    const bool vec = (k_len & 3u) == 0;
    const uint n_batches = (n_len + GEMVX_B - 1) / GEMVX_B;
    // The same count for every work-item of the group: the barriers below are uniform.
    const uint my_batches = gid < n_batches ? (n_batches - gid + n_groups - 1) / n_groups : 0;

    // The first batch's W (and, NVIDIA, the next ones' into L2) in flight during the prologue.
    float4 wv[GEMVX_B][GEMVX_XP];
    x_load_w(w, n_len, k_len, gid * GEMVX_B, vec, wv);
#if GEMV_NV && GEMV_PF
    for (uint i = 1; i <= GEMV_PF && i < my_batches; ++i)
        x_prefetch_w(w, n_len, k_len, (gid + i * n_groups) * GEMVX_B, vec);
#endif

    // This work-item's columns of the block's rows (rows past the last, columns past H: zero).
    float4 xv[GEMVX_R][GEMVX_XP];
#pragma unroll
    for (uint r = 0; r < GEMVX_R; ++r)
#pragma unroll
        for (uint p = 0; p < GEMVX_XP; ++p)
            xv[r][p] = r < rows ? fetch4(a, m_len, k_len, r0 + r, 4 * tid + p * X_SPAN, vec)
                                : (float4)(0.0f);

    float v[32];
    // Pass 1: the mean of each row.
#pragma unroll
    for (uint r = 0; r < GEMVX_R; ++r) {
        float s = 0.0f;
#pragma unroll
        for (uint p = 0; p < GEMVX_XP; ++p)
            s += (xv[r][p].x + xv[r][p].y) + (xv[r][p].z + xv[r][p].w);
        v[r] = s;
    }
    x_put(x_warp_sums(v, GEMVX_R, scratch), GEMVX_R, 0, red);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (tid < GEMVX_R) // GEMVX_R <= 16 <= GEMVX_NT
        st[tid].x = x_warps_total(tid, red) / (float)k_len;
    barrier(CLK_LOCAL_MEM_FENCE);
    // Pass 2: the residuals (kept, padding columns zero) and their squares (squares4).
#pragma unroll
    for (uint r = 0; r < GEMVX_R; ++r) {
        const float mean = st[r].x;
        float2 q = (float2)(0.0f);
#pragma unroll
        for (uint p = 0; p < GEMVX_XP; ++p) {
            xv[r][p] = x_mask4(centre4(xv[r][p], mean), 4 * tid + p * X_SPAN, k_len);
            q += squares4(xv[r][p]);
        }
        v[r] = q.x;
        v[GEMVX_R + r] = q.y;
    }
    x_put(x_warp_sums(v, 2 * GEMVX_R, scratch), 2 * GEMVX_R, 0, red);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (tid < GEMVX_R)
        st[tid].y = row_rstd(st[tid].x, x_warps_total(tid, red),
                             x_warps_total(GEMVX_R + tid, red), k_len, eps);
    barrier(CLK_LOCAL_MEM_FENCE);
    // Standardised in registers: the fusion ((x - mean) * rstd, once per element and work-group).
#pragma unroll
    for (uint r = 0; r < GEMVX_R; ++r) {
        const float rstd = st[r].y;
#pragma unroll
        for (uint p = 0; p < GEMVX_XP; ++p)
            xv[r][p] *= rstd;
    }

    for (uint i = 0; i < my_batches; ++i) {
        const uint bt = gid + i * n_groups;
#if GEMVX_DB
        // The next batch's W before this one's FMAs (past the last: discarded, zero-guarded).
        float4 wn[GEMVX_B][GEMVX_XP];
        x_load_w(w, n_len, k_len, (bt + n_groups) * GEMVX_B, vec, wn);
#else
        // This batch's W now (the first batch's was loaded before the prologue): fewer
        // registers; the L2 prefetch keeps HBM busy.
        if (i > 0)
            x_load_w(w, n_len, k_len, bt * GEMVX_B, vec, wv);
#endif
#if GEMV_NV && GEMV_PF
        if (i + GEMV_PF < my_batches)
            x_prefetch_w(w, n_len, k_len, (bt + GEMV_PF * n_groups) * GEMVX_B, vec);
#endif
        float v[32];
#pragma unroll
        for (uint b = 0; b < GEMVX_B; ++b)
#pragma unroll
            for (uint r = 0; r < GEMVX_R; ++r) {
                float t = 0.0f;
#pragma unroll
                for (uint p = 0; p < GEMVX_XP; ++p) {
                    t = fma(wv[b][p].x, xv[r][p].x, t);
                    t = fma(wv[b][p].y, xv[r][p].y, t);
                    t = fma(wv[b][p].z, xv[r][p].z, t);
                    t = fma(wv[b][p].w, xv[r][p].w, t);
                }
                v[b * GEMVX_R + r] = t;
            }
        const uint slot = i % GEMVX_F;
        x_put(x_warp_sums(v, X_V, scratch), X_V, slot, red);
        if (slot == GEMVX_F - 1 || i + 1 == my_batches) {
            // Flush: the warps' totals of the last slot + 1 batches, summed in warp order.
            barrier(CLK_LOCAL_MEM_FENCE);
            // One entry per work-item where they suffice (a loop here cost clang's PTX 28
            // registers at 2 outputs per batch: 156 instead of 128).
#if GEMVX_F * X_V <= GEMVX_NT
            if (tid < (slot + 1) * X_V)
                x_store(tid, bt - slot * n_groups, n_groups, rows, r0, n_len, red, bias, y);
#else
            for (uint e = tid; e < (slot + 1) * X_V; e += GEMVX_NT)
                x_store(e, bt - slot * n_groups, n_groups, rows, r0, n_len, red, bias, y);
#endif
            barrier(CLK_LOCAL_MEM_FENCE); // red is read before the next batches write it
        }
#if GEMVX_DB
#pragma unroll
        for (uint b = 0; b < GEMVX_B; ++b)
#pragma unroll
            for (uint p = 0; p < GEMVX_XP; ++p)
                wv[b][p] = wn[b][p];
#endif
    }
}

__kernel __attribute__((reqd_work_group_size(GEMVX_NT, 1, 1))) void
gemvx_fused(const __global float *x, float eps, const __global float *w,
            const __global float *bias, __global float *y, uint m_len, uint n_len, uint k_len)
{
    __local float red[X_RED_LEN];
    __local float scratch[X_SCRATCH];
    __local float2 st[GEMVX_R];
    gemvx_body(x, eps, w, bias, y, m_len, n_len, k_len, red, scratch, st);
}

#endif
