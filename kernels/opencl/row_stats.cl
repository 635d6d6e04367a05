// Row statistics of one row by one work-group: the lnl_core::row_stats recipe.
//   pass 1: mean = sum(x) / H
//   pass 2: m2 = sum((x - mean)^2); rstd = 1 / sqrt(m2 / H + eps)
//   fallback, when m2 overflows but the mean is finite (|x| beyond ~1e18):
//   s = max |x - mean|, m2' = sum(((x - mean) / s)^2), rstd = (1/s) / sqrt(m2' / H + eps / s^2)
// Reductions are fixed-shape trees in local memory: same bits on every run (no atomics).
// `scratch` holds get_local_size(0) floats; the work-group size must be a power of two.

inline float wg_reduce_sum(float v, __local float *scratch)
{
    const uint lid = get_local_id(0);
    const uint n = get_local_size(0);
    barrier(CLK_LOCAL_MEM_FENCE); // the previous reduction has read scratch[0]
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = n / 2; s > 0; s >>= 1) {
        if (lid < s)
            scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[0];
}

inline float wg_reduce_max(float v, __local float *scratch)
{
    const uint lid = get_local_id(0);
    const uint n = get_local_size(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = n / 2; s > 0; s >>= 1) {
        if (lid < s)
            scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[0];
}

// (mean, rstd) of row[0..h); every work-item of the group gets the result.
inline float2 wg_row_stats(const __global float *row, uint h, float eps, __local float *scratch)
{
    const uint lid = get_local_id(0);
    const uint n = get_local_size(0);
    const float fh = (float)h;

    float acc = 0.0f;
    for (uint i = lid; i < h; i += n)
        acc += row[i];
    const float mean = wg_reduce_sum(acc, scratch) / fh;

    acc = 0.0f;
    for (uint i = lid; i < h; i += n) {
        const float d = row[i] - mean;
        acc = fma(d, d, acc);
    }
    const float m2 = wg_reduce_sum(acc, scratch);
    if (isfinite(m2) || !isfinite(mean))
        return (float2)(mean, 1.0f / sqrt(m2 / fh + eps));

    // Squares overflowed on a finite row: LayerNorm is scale-invariant, recompute scaled.
    // fmax drops NaN operands, so a NaN residual is caught by the isfinite check below.
    float mx = 0.0f;
    bool nan_seen = false;
    for (uint i = lid; i < h; i += n) {
        const float d = fabs(row[i] - mean);
        nan_seen |= isnan(d);
        mx = fmax(mx, d);
    }
    const float s = wg_reduce_max(nan_seen ? INFINITY : mx, scratch);
    if (!isfinite(s))
        return (float2)(mean, NAN);
    const float inv = 1.0f / s;
    acc = 0.0f;
    for (uint i = lid; i < h; i += n) {
        const float d = (row[i] - mean) * inv;
        acc = fma(d, d, acc);
    }
    const float m2s = wg_reduce_sum(acc, scratch);
    return (float2)(mean, inv / sqrt(m2s / fh + eps * inv * inv));
}

// The fused strategy's pre-pass: (mean, rstd) per row, 8 bytes per row. One work-group per row.
__kernel void row_stats(const __global float *x, uint h, float eps, __global float2 *stats,
                        __local float *scratch)
{
    const uint r = get_group_id(0);
    const float2 st = wg_row_stats(x + (size_t)r * h, h, eps, scratch);
    if (get_local_id(0) == 0)
        stats[r] = st;
}
