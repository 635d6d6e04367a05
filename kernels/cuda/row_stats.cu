// Row statistics: the numerics recipe of lnl_core::row_stats, one group of WIDTH lanes per row
// (a whole warp for long rows; 8 lanes for the short rows of tiny layers).
// Two passes (mean, then the sum of squared residuals; never E[x^2] - mean^2). When the squares
// overflow although the mean is finite (|x| beyond ~1e18), the residuals are rescaled by their
// largest magnitude; LayerNorm is scale-invariant up to eps, so the result stays exact. NaN/Inf
// rows give a non-finite mean or rstd, so only that row's outputs are non-finite.
// `row` may point to global or shared memory. The lane loop order is fixed: deterministic.

struct RowStats {
    float mean;
    float rstd;
};

// Calls f(value) for each element of the row that this lane owns (16-byte loads when aligned).
template <int WIDTH, typename F>
__device__ __forceinline__ void lane_foreach(const float* row, u32 n, bool vec, F f) {
    const u32 lane = threadIdx.x & (WIDTH - 1);
    if (vec) {
        const float4* r4 = reinterpret_cast<const float4*>(row);
        for (u32 i = lane; i < n / 4; i += WIDTH) {
            float4 v = r4[i];
            f(v.x); f(v.y); f(v.z); f(v.w);
        }
    } else {
        for (u32 i = lane; i < n; i += WIDTH) f(row[i]);
    }
}

// The statistics of one row whose elements this lane sees through each(f), which calls f(v)
// for every element the lane owns (from memory, lane_foreach; or from registers); group_sum
// combines the WIDTH lanes.
template <int WIDTH, typename Each>
__device__ __forceinline__ RowStats stats_of(Each each, u32 n, float eps) {
    const float fn = (float)n;
    float s = 0.0f;
    each([&](float v) { s += v; });
    const float mean = group_sum<WIDTH>(s) / fn;
    float m2 = 0.0f;
    each([&](float v) { float d = v - mean; m2 = fmaf(d, d, m2); });
    m2 = group_sum<WIDTH>(m2);
    RowStats st;
    st.mean = mean;
    if (isfinite(m2) || !isfinite(mean)) {
        st.rstd = 1.0f / sqrtf(m2 / fn + eps);
        return st;
    }
    float mx = 0.0f;
    each([&](float v) { mx = fmaxf(mx, fabsf(v - mean)); });
    mx = group_max<WIDTH>(mx);
    if (!isfinite(mx)) {
        st.rstd = __int_as_float(0x7fc00000);  // NaN: the residuals themselves overflow
        return st;
    }
    const float inv = 1.0f / mx;
    float q = 0.0f;
    each([&](float v) { float d = (v - mean) * inv; q = fmaf(d, d, q); });
    q = group_sum<WIDTH>(q);
    st.rstd = inv / sqrtf(q / fn + eps * inv * inv);
    return st;
}

// A row in memory as one lane of a WIDTH-lane group sees it (a functor, not a generic lambda:
// NVRTC 13.0 treats those as host functions).
template <int WIDTH>
struct LaneRow {
    const float* row;
    u32 n;
    bool vec;
    template <typename F>
    __device__ __forceinline__ void operator()(F f) const {
        lane_foreach<WIDTH>(row, n, vec, f);
    }
};

template <int WIDTH>
__device__ RowStats group_row_stats(const float* row, u32 n, float eps) {
    return stats_of<WIDTH>(LaneRow<WIDTH>{row, n, vec4_ok(row, n)}, n, eps);
}

__device__ __forceinline__ RowStats warp_row_stats(const float* row, u32 n, float eps) {
    return group_row_stats<32>(row, n, eps);
}
