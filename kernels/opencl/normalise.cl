// The LayerNorm element maps. Both strategies standardise identically, (x - mean) * rstd;
// the unfused LayerNorm kernel then applies gamma and beta, while the fused path has gamma folded
// into W and beta into the bias at build time (W' = W diag(gamma), c = W beta + b), so its
// stagers only standardise. `st` holds (mean, rstd) of the element's row (see row_stats.cl).

inline float standardise1(float x, float2 st)
{
    return (x - st.x) * st.y;
}

inline float4 standardise4(float4 x, float2 st)
{
    return (x - st.x) * st.y;
}

inline float normalise1(float x, float2 st, float g, float b)
{
    return fma(standardise1(x, st), g, b);
}
