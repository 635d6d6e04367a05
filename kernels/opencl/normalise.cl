// The LayerNorm element map, shared by the unfused LayerNorm kernel and the fused GEMM/GEMV
// staging, so both strategies round identically: gamma * ((x - mean) * rstd) + beta.
// `stats` holds (mean, rstd) of the element's row (see row_stats.cl).

inline float normalise1(float x, float2 stats, float g, float b)
{
    return fma((x - stats.x) * stats.y, g, b);
}

inline float4 normalise4(float4 x, float2 stats, float4 g, float4 b)
{
    return fma((x - stats.x) * stats.y, g, b);
}
