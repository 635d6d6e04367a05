// Global -> register loads of one float4 along k, shared by the GEMM and GEMV stagers.
// Rows at or past `nrows` and columns at or past `k_len` read as zero, so tiles at the edges of
// any H, O and rows need no special case. `vec` is (k_len % 4 == 0): then every row starts
// 16-byte aligned and a k that is a multiple of 4 below k_len has all four columns in range.

inline float4 fetch4(const __global float *src, uint nrows, uint k_len, uint row, uint k, bool vec)
{
    float4 v = (float4)(0.0f);
    if (row >= nrows || k >= k_len)
        return v;
    const __global float *p = src + (size_t)row * k_len + k;
    if (vec)
        return *(const __global float4 *)p;
    v.x = p[0];
    if (k + 1 < k_len)
        v.y = p[1];
    if (k + 2 < k_len)
        v.z = p[2];
    if (k + 3 < k_len)
        v.w = p[3];
    return v;
}

// What the stager writes for A (the GEMM's left operand) at one row, columns k..k+3:
// unfused, A is xhat and goes through unchanged; fused, A is x and is centred here, on its way
// into local memory (the fusion; the GEMM's epilogue multiplies each row's sums by its rstd, and
// gamma and beta are folded into W and the bias). Padding columns (k >= H) centre to a finite
// value or to the row's own NaN; W's padding columns are zero, so they add nothing to a finite row.
inline float4 stage_a(float4 v, bool fused, float mean)
{
    return fused ? centre4(v, mean) : v;
}
