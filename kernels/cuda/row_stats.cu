// Row statistics: the numerics recipe of lnl_core::row_stats, written once (stats_by) for every
// kernel: the threads sharing a row each see their elements through an `Each` functor (from
// global or shared memory, or from registers) and combine partial sums through a `Reduce` (a
// butterfly over a group of lanes, or warps through shared memory: row_team.cu).
// Two passes (mean, then the sum of squared residuals; never E[x^2] - mean^2). When the squares
// overflow although the mean is finite (|x| beyond ~1e18), the residuals are rescaled by their
// largest magnitude; LayerNorm is scale-invariant up to eps, so the result stays exact. NaN/Inf
// rows give a non-finite mean or rstd, so only that row's outputs are non-finite.
// Every loop and reduction order is fixed: deterministic.

struct RowStats {
    float mean;
    float rstd;
};

// Calls f(value) for the elements first, first + stride, ... of the row: counted in float4s
// (16-byte loads) when vec, else in floats.
template <typename F>
__device__ __forceinline__ void strided_foreach(const float* row, u32 n, bool vec, u32 first, u32 stride, F f) {
    if (vec) {
        const float4* r4 = reinterpret_cast<const float4*>(row);
        for (u32 i = first; i < n / 4; i += stride) {
            float4 v = r4[i];
            f(v.x); f(v.y); f(v.z); f(v.w);
        }
    } else {
        for (u32 i = first; i < n; i += stride) f(row[i]);
    }
}

// Combines the partial sums and maxima of a group of WIDTH lanes (butterfly: every lane ends
// with the same bits).
template <int WIDTH>
struct GroupReduce {
    __device__ __forceinline__ float sum(float v) { return group_sum<WIDTH>(v); }
    __device__ __forceinline__ float maximum(float v) { return group_max<WIDTH>(v); }
};

// The statistics of one row of n elements, which the calling thread sees through each(f) (f(v)
// for every element it owns) and red combines across the threads of the row. At most four
// reductions (sum, squares; maximum and scaled squares when the squares overflow).
template <typename Reduce, typename Each>
__device__ __forceinline__ RowStats stats_by(Reduce red, Each each, u32 n, float eps) {
    const float fn = (float)n;
    float s = 0.0f;
    each([&](float v) { s += v; });
    const float mean = red.sum(s) / fn;
    float m2 = 0.0f;
    each([&](float v) { float d = v - mean; m2 = fmaf(d, d, m2); });
    m2 = red.sum(m2);
    RowStats st;
    st.mean = mean;
    if (isfinite(m2) || !isfinite(mean)) {
        st.rstd = 1.0f / sqrtf(m2 / fn + eps);
        return st;
    }
    float mx = 0.0f;
    each([&](float v) { mx = fmaxf(mx, fabsf(v - mean)); });
    mx = red.maximum(mx);
    if (!isfinite(mx)) {
        st.rstd = __int_as_float(0x7fc00000);  // NaN: the residuals themselves overflow
        return st;
    }
    const float inv = 1.0f / mx;
    float q = 0.0f;
    each([&](float v) { float d = (v - mean) * inv; q = fmaf(d, d, q); });
    q = red.sum(q);
    st.rstd = inv / sqrtf(q / fn + eps * inv * inv);
    return st;
}

// The recipe for a row shared by a group of WIDTH lanes.
template <int WIDTH, typename Each>
__device__ __forceinline__ RowStats stats_of(Each each, u32 n, float eps) {
    return stats_by(GroupReduce<WIDTH>{}, each, n, eps);
}

// A row in memory as one thread sees it: elements first, first + stride, ... (functors, not
// generic lambdas: NVRTC 13.0 treats those as host functions).
struct StridedRow {
    const float* row;
    u32 n;
    bool vec;
    u32 first, stride;
    template <typename F>
    __device__ __forceinline__ void operator()(F f) const {
        strided_foreach(row, n, vec, first, stride, f);
    }
};

// The first n of N registers as this thread's part of a row.
template <int N>
struct RegRow {
    const float (&v)[N];
    u32 n;
    template <typename F>
    __device__ __forceinline__ void operator()(F f) const {
#pragma unroll
        for (int h = 0; h < N; ++h)
            if (h < (int)n) f(v[h]);
    }
};

// One group of WIDTH lanes per row, the lane's elements interleaved (lane, lane + WIDTH, ...).
// `row` may point to global or shared memory.
template <int WIDTH>
__device__ RowStats group_row_stats(const float* row, u32 n, float eps) {
    return stats_of<WIDTH>(StridedRow{row, n, vec4_ok(row, n), threadIdx.x & (WIDTH - 1), WIDTH}, n, eps);
}

__device__ __forceinline__ RowStats warp_row_stats(const float* row, u32 n, float eps) {
    return group_row_stats<32>(row, n, eps);
}
