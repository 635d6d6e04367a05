// Row-wise kernels, one warp per row (a block of W warps handles a group of W rows).
//   lnl_layernorm: the unfused path's LayerNorm, writes the normalised tensor xhat [rows, H].
//   lnl_row_stats: the fused GEMM path's pre-pass, writes only (mean, rstd) per row: rows*2 floats.

extern "C" __global__ void lnl_layernorm(const float* __restrict__ x, const float* __restrict__ gamma,
                                         const float* __restrict__ beta, float* __restrict__ xhat,
                                         u32 rows, u32 n, float eps) {
    grid_dependents_may_launch();  // the GEMM after it waits for it to finish (grid_dependency.cu)
    const u32 warps = blockDim.x / 32, warp = threadIdx.x / 32, lane = threadIdx.x & 31u;
    for (size_t r = (size_t)blockIdx.x * warps + warp; r < rows; r += (size_t)gridDim.x * warps) {
        const float* xr = x + r * n;
        float* out = xhat + r * n;
        const RowStats st = warp_row_stats(xr, n, eps);
        if (vec4_ok(xr, n) && vec4_ok(out, n) && vec4_ok(gamma, n) && vec4_ok(beta, n)) {
            const float4 *x4 = reinterpret_cast<const float4*>(xr),
                         *g4 = reinterpret_cast<const float4*>(gamma),
                         *b4 = reinterpret_cast<const float4*>(beta);
            float4* o4 = reinterpret_cast<float4*>(out);
            for (u32 i = lane; i < n / 4; i += 32) o4[i] = ln_apply4(x4[i], st.mean, st.rstd, g4[i], b4[i]);
        } else {
            for (u32 i = lane; i < n; i += 32) out[i] = ln_apply(xr[i], st.mean, st.rstd, gamma[i], beta[i]);
        }
    }
}

extern "C" __global__ void lnl_row_stats(const float* __restrict__ x, float* __restrict__ stats,
                                         u32 rows, u32 n, float eps) {
    grid_dependents_may_launch();
    const u32 warps = blockDim.x / 32, warp = threadIdx.x / 32, lane = threadIdx.x & 31u;
    for (size_t r = (size_t)blockIdx.x * warps + warp; r < rows; r += (size_t)gridDim.x * warps) {
        const RowStats st = warp_row_stats(x + r * n, n, eps);
        if (lane == 0) {
            stats[2 * r] = st.mean;
            stats[2 * r + 1] = st.rstd;
        }
    }
}
