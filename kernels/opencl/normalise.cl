// The LayerNorm element maps. The unfused LayerNorm kernel standardises, (x - mean) * rstd, then
// applies gamma and beta; the fused path has gamma folded into W and beta into the bias at build
// time (W' = W diag(gamma), c = W beta + b), so its stagers only centre x and the epilogue
// applies rstd. `st` holds (mean, rstd) of the element's row (see row_stats.cl).

inline float standardise1(float x, float2 st)
{
    return (x - st.x) * st.y;
}

// The fused GEMM's staging: x centred, (x - mean), before any product; rstd scales the sums
// in the epilogue (one multiply per output instead of one per staged element).
inline float4 centre4(float4 x, float mean)
{
    return x - mean;
}

inline float normalise1(float x, float2 st, float g, float b)
{
    return fma(standardise1(x, st), g, b);
}
