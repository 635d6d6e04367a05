// Row statistics: the lnl_core::row_stats recipe, computed by a segment of a work-group.
//   pass 1: mean = sum(x) / H
//   pass 2: m2 = sum((x - mean)^2), and in the same pass m2s = sum(((x - mean) * 2^-64)^2)
//   rstd = 1 / sqrt(m2 / H + eps); when m2 overflows but the mean is finite (|x| beyond ~1e18),
//   rstd = 2^-64 / sqrt(m2s / H + eps * 2^-128) instead: LayerNorm is scale-invariant and a
//   power-of-two scale is exact, so the row comes out right; if even m2s overflows (|x - mean|
//   near f32::MAX), or the row holds NaN/Inf, the statistics are non-finite and so is the row.
// (lnl_core scales by max |x - mean|, which needs a third pass; the fixed power of two needs
// none, and keeps every barrier outside data-dependent branches, which PoCL compiles badly.)
// A segment is `seg` consecutive work-items (a power of two dividing the work-group size): the
// whole group for one row per group (row_stats, layernorm kernels), or a slice of it when the
// GEMV computes the statistics of its few rows itself. Reductions are fixed-shape trees in
// local memory: the same bits on every run (no atomics). `scratch` holds get_local_size(0)
// floats. Every work-item of the group must call these functions (they contain barriers).

#define STATS_SCALE 0x1p-64f

inline float seg_reduce_sum(float v, __local float *scratch, uint seg)
{
    const uint lid = get_local_id(0);
    const uint base = lid & ~(seg - 1);
    const uint i = lid - base;
    barrier(CLK_LOCAL_MEM_FENCE); // the previous reduction has read its result
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = seg / 2; s > 0; s >>= 1) {
        if (i < s)
            scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[base];
}

// This work-item's share of sum(x), float4 loads when rows are 16-byte aligned (h % 4 == 0).
inline float seg_sum(const __global float *row, uint h, uint i, uint seg)
{
    float acc = 0.0f;
    if ((h & 3u) == 0) {
        const __global float4 *r4 = (const __global float4 *)row;
        // Unrolled so that several loads are in flight (the sum order is unchanged).
#pragma unroll 8
        for (uint j = i; j < h / 4; j += seg) {
            const float4 v = r4[j];
            acc += (v.x + v.y) + (v.z + v.w);
        }
    } else {
        for (uint j = i; j < h; j += seg)
            acc += row[j];
    }
    return acc;
}

// (sum d^2, sum (d * STATS_SCALE)^2) of four residuals d = x - mean: the second pass's term,
// shared with the fused GEMV, which accumulates it while staging centred x.
inline float2 squares4(float4 d)
{
    const float4 q = d * d;
    const float4 ds = d * STATS_SCALE;
    const float4 qs = ds * ds;
    return (float2)((q.x + q.y) + (q.z + q.w), (qs.x + qs.y) + (qs.z + qs.w));
}

// This work-item's share of (sum (x - mean)^2, sum ((x - mean) * STATS_SCALE)^2).
inline float2 seg_squares(const __global float *row, uint h, uint i, uint seg, float mean)
{
    float2 acc = (float2)(0.0f);
    if ((h & 3u) == 0) {
        const __global float4 *r4 = (const __global float4 *)row;
#pragma unroll 8
        for (uint j = i; j < h / 4; j += seg)
            acc += squares4(r4[j] - mean);
    } else {
        for (uint j = i; j < h; j += seg) {
            const float d = row[j] - mean;
            const float ds = d * STATS_SCALE;
            acc.x = fma(d, d, acc.x);
            acc.y = fma(ds, ds, acc.y);
        }
    }
    return acc;
}

// rstd from the mean and the second pass's sums over the h elements (m2, m2s): the recipe above.
inline float row_rstd(float mean, float m2, float m2s, uint h, float eps)
{
    const float fh = (float)h;
    if (isfinite(m2) || !isfinite(mean))
        return 1.0f / sqrt(m2 / fh + eps);
    if (!isfinite(m2s))
        return NAN;
    return STATS_SCALE / sqrt(m2s / fh + eps * (STATS_SCALE * STATS_SCALE));
}

// The first pass alone: the mean of `row` for the work-items of this segment; `live` is false for
// segments without a row (they still take part in the barriers; their result is meaningless).
inline float seg_row_mean(const __global float *row, bool live, uint h, __local float *scratch,
                          uint seg)
{
    const uint i = get_local_id(0) & (seg - 1);
    return seg_reduce_sum(live ? seg_sum(row, h, i, seg) : 0.0f, scratch, seg) / (float)h;
}

// (mean, rstd) of `row` for the work-items of this segment (`live` as above).
inline float2 seg_row_stats(const __global float *row, bool live, uint h, float eps,
                            __local float *scratch, uint seg)
{
    const uint i = get_local_id(0) & (seg - 1);
    const float mean = seg_row_mean(row, live, h, scratch, seg);
    const float2 part = live ? seg_squares(row, h, i, seg, mean) : (float2)(0.0f);
    const float m2 = seg_reduce_sum(part.x, scratch, seg);
    const float m2s = seg_reduce_sum(part.y, scratch, seg);
    return (float2)(mean, row_rstd(mean, m2, m2s, h, eps));
}

// The fused GEMM's pre-pass: (mean, rstd) per row, 8 bytes per row. One work-group per row.
__kernel void row_stats(const __global float *x, uint h, float eps, __global float2 *stats,
                        __local float *scratch)
{
    const uint r = get_group_id(0);
    const float2 st =
        seg_row_stats(x + (size_t)r * h, true, h, eps, scratch, get_local_size(0));
    if (get_local_id(0) == 0)
        stats[r] = st;
}
