// The tiny-layer path (e.g. the seed shape, 16 rows x 8 -> 16): launch latency dominates, so
// one block does everything with a single round of global loads. All of x and W are staged
// into shared memory at once; (fused) the rows' statistics are computed by groups of WIDTH
// lanes (group_row_stats, WIDTH = 8 for short rows) and the rows centred and scaled in place;
// then each thread computes whole outputs from shared memory.
//
// NORM = false (unfused): x is xhat from lnl_layernorm, y = xhat W^T + b.
// NORM = true (fused, one launch): W is W' = W diag(gamma), bias is c = W beta + b (folded at
// build), xs becomes (x - mean) * rstd in shared memory only.

template <int WIDTH, bool NORM>
__device__ __forceinline__ void tiny_layer(const float* __restrict__ x, const float* __restrict__ W,
                                           const float* __restrict__ bias, float* __restrict__ y,
                                           u32 rows, u32 H, u32 O, float eps) {
    extern __shared__ __align__(16) float sm[];
    float* xs = sm;              // rows * H
    float* ws = sm + rows * H;   // O * H
    const u32 tid = threadIdx.x;
    // The bias of this thread's first output is loaded with x and W: one round of global loads.
    const float first_bias = tid < rows * O ? bias[tid % O] : 0.0f;
    for (u32 i = tid; i < rows * H; i += blockDim.x) xs[i] = x[i];
    for (u32 i = tid; i < O * H; i += blockDim.x) ws[i] = W[i];
    __syncthreads();
    if (NORM) {
        const u32 groups = blockDim.x / WIDTH, g = tid / WIDTH, lane = tid & (WIDTH - 1);
        for (u32 r = g; r < rows; r += groups) {
            // The loop is uniform within a group, and a group's shuffles use only its own lanes.
            float* row = xs + (size_t)r * H;
            const RowStats st = group_row_stats<WIDTH>(row, H, eps);
            __syncwarp(group_mask<WIDTH>());  // the whole row is read before any lane overwrites it
            for (u32 i = lane; i < H; i += WIDTH) row[i] = (row[i] - st.mean) * st.rstd;
        }
        __syncthreads();
    }
    for (u32 idx = tid; idx < rows * O; idx += blockDim.x) {
        const u32 r = idx / O, o = idx % O;
        const float* xr = xs + (size_t)r * H;
        const float* wr = ws + (size_t)o * H;
        float acc = 0.0f;
        for (u32 h = 0; h < H; ++h) acc = fmaf(wr[h], xr[h], acc);
        y[idx] = acc + (idx == tid ? first_bias : bias[o]);
    }
}

#define LNL_TINY(NAME, WIDTH, NORM)                                                                 \
    extern "C" __global__ void __launch_bounds__(256)                                               \
        NAME(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias, \
             float* __restrict__ y, u32 rows, u32 h, u32 o, float eps) {                            \
        tiny_layer<WIDTH, NORM>(x, w, bias, y, rows, h, o, eps);                                    \
    }

LNL_TINY(lnl_tiny_plain, 32, false)
LNL_TINY(lnl_tiny_norm_w8, 8, true)
LNL_TINY(lnl_tiny_norm_w32, 32, true)

// The tiny fused path for short rows (H <= TINY_REG_H, e.g. the seed's 8): no shared memory and
// no barrier at all. Each thread computes whole outputs y[r, o]: it loads row r of x and row o
// of W into registers in one round (with its bias), computes row r's statistics itself
// (stats_of with one lane, the same two-pass recipe), and sums W'[o, h] (x[r, h] - mean) rstd.
// Threads sharing a row recompute its statistics (3 H operations, against H for the product:
// cheap at these sizes and cheaper than a barrier). Grid-stride over outputs, so any number of
// blocks is correct.
#define TINY_REG_H 16

// Loads row[0 .. n) (n <= N) into v; 16-byte loads when the row allows them.
template <int N>
__device__ __forceinline__ void load_short_row(float (&v)[N], const float* row, u32 n) {
    if (vec4_ok(row, n)) {
#pragma unroll
        for (int q = 0; q < N / 4; ++q) {
            const float4 t = 4 * q < (int)n ? ldg4(row + 4 * q) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            v[4 * q] = t.x; v[4 * q + 1] = t.y; v[4 * q + 2] = t.z; v[4 * q + 3] = t.w;
        }
    } else {
#pragma unroll
        for (int h = 0; h < N; ++h) v[h] = h < (int)n ? __ldg(row + h) : 0.0f;
    }
}

extern "C" __global__ void __launch_bounds__(256)
    lnl_tiny_norm_reg(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                      float* __restrict__ y, u32 rows, u32 H, u32 O, float eps) {
    const u32 total = rows * O;
    for (u32 idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x) {
        const u32 r = idx / O, o = idx % O;
        float xr[TINY_REG_H], wr[TINY_REG_H];
        load_short_row(xr, x + (size_t)r * H, H);
        load_short_row(wr, w + (size_t)o * H, H);
        const float b = bias[o];
        const RowStats st = stats_of<1>(RegRow<TINY_REG_H>{xr, H}, H, eps);
        float acc = 0.0f;
#pragma unroll
        for (int h = 0; h < TINY_REG_H; ++h)
            if (h < (int)H) acc = fmaf(wr[h], (xr[h] - st.mean) * st.rstd, acc);
        y[idx] = acc + b;
    }
}
