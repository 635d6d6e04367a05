// Shared device helpers: warp reductions and the LayerNorm element formula.
// The module is one translation unit: the Rust crate concatenates the files of this folder in a
// fixed order (common, row_stats, layernorm, gemm_tile, gemm, gemv), so later files use these.

typedef unsigned int u32;

// Butterfly sum: every lane ends with the same bits (a + b == b + a exactly at each level), so
// the result is deterministic and needs no broadcast.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// The one LayerNorm element formula, gamma * (x - mean) * rstd + beta, used by the unfused
// kernel that writes xhat and by both fused stagings, so all paths round identically.
__device__ __forceinline__ float ln_apply(float v, float mean, float rstd, float g, float b) {
    return fmaf((v - mean) * rstd, g, b);
}

__device__ __forceinline__ float4 ln_apply4(float4 v, float mean, float rstd, float4 g, float4 b) {
    return make_float4(ln_apply(v.x, mean, rstd, g.x, b.x), ln_apply(v.y, mean, rstd, g.y, b.y),
                       ln_apply(v.z, mean, rstd, g.z, b.z), ln_apply(v.w, mean, rstd, g.w, b.w));
}

// 16-byte accesses are used when the row length is a multiple of 4 floats and the base is
// 16-byte aligned (device allocations are 256-byte aligned; shared buffers are declared so).
__device__ __forceinline__ bool vec4_ok(const void* p, u32 n) {
    return (n & 3u) == 0 && (reinterpret_cast<size_t>(p) & 15u) == 0;
}
