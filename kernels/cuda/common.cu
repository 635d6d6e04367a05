// Shared device helpers: group reductions and the LayerNorm element formula.
// The module is one translation unit: the Rust crate concatenates the files of this folder in a
// fixed order (SOURCES in crates/lnl-cuda/src/kernels.rs), so later files use these.

typedef unsigned int u32;

// The lanes of the calling thread's group of WIDTH consecutive lanes (WIDTH divides 32).
template <int WIDTH>
__device__ __forceinline__ unsigned group_mask() {
    if constexpr (WIDTH == 32) {
        return 0xffffffffu;
    } else {
        const unsigned base = (threadIdx.x & 31u) & ~(unsigned)(WIDTH - 1);
        return ((1u << WIDTH) - 1u) << base;
    }
}

// Butterfly sum over a group of WIDTH lanes: every lane ends with the same bits (a + b == b + a
// exactly at each level), so the result is deterministic and needs no broadcast.
template <int WIDTH>
__device__ __forceinline__ float group_sum(float v) {
    const unsigned mask = group_mask<WIDTH>();
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v += __shfl_xor_sync(mask, v, o, WIDTH);
    return v;
}

template <int WIDTH>
__device__ __forceinline__ float group_max(float v) {
    const unsigned mask = group_mask<WIDTH>();
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(mask, v, o, WIDTH));
    return v;
}

__device__ __forceinline__ float warp_sum(float v) { return group_sum<32>(v); }

// The unfused LayerNorm element, gamma * (x - mean) * rstd + beta.
__device__ __forceinline__ float ln_apply(float v, float mean, float rstd, float g, float b) {
    return fmaf((v - mean) * rstd, g, b);
}

__device__ __forceinline__ float4 ln_apply4(float4 v, float mean, float rstd, float4 g, float4 b) {
    return make_float4(ln_apply(v.x, mean, rstd, g.x, b.x), ln_apply(v.y, mean, rstd, g.y, b.y),
                       ln_apply(v.z, mean, rstd, g.z, b.z), ln_apply(v.w, mean, rstd, g.w, b.w));
}

// The fused paths fold gamma into W (W' = W diag(gamma)) and beta into the bias
// (c = W beta + b), both at build time, so their staging only centres and scales:
// (x - mean) * rstd. The GEMM applies the centring while staging and rstd in its epilogue.
__device__ __forceinline__ float4 centre_scale4(float4 v, float mean, float rstd) {
    return make_float4((v.x - mean) * rstd, (v.y - mean) * rstd, (v.z - mean) * rstd, (v.w - mean) * rstd);
}

// 16-byte accesses are used when the row length is a multiple of 4 floats and the base is
// 16-byte aligned (device allocations are 256-byte aligned; shared buffers are declared so).
__device__ __forceinline__ bool vec4_ok(const void* p, u32 n) {
    return (n & 3u) == 0 && (reinterpret_cast<size_t>(p) & 15u) == 0;
}

__device__ __forceinline__ float4 ldg4(const float* p) { return __ldg(reinterpret_cast<const float4*>(p)); }
