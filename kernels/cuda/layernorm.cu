// Row-wise kernels, a team of threads per row (row_team.cu; crates/lnl-cuda/src/plan.rs,
// row_launch, picks the team size and grid), the row read from global memory once.
//   lnl_layernorm: the unfused path's LayerNorm, writes the normalised tensor xhat [rows, H].
//   lnl_row_stats: the fused GEMM path's pre-pass, writes only (mean, rstd) per row: rows*2 floats.
// The same statistics code in both, so the two paths differ only in what they write.

// Writes gamma (x - mean) rstd + beta for the elements this thread holds in registers.
__device__ __forceinline__ void store_normalised(const float (&v)[ROW_REG_N], u32 held, float* out,
                                                 const float* gamma, const float* beta, bool vec,
                                                 const RowTeam& t, RowStats st) {
    if (vec) {
        float4* o4 = reinterpret_cast<float4*>(out);
#pragma unroll
        for (int j = 0; j < ROW_REG_N; j += 4) {
            if (j >= (int)held) break;
            const u32 i = reg_index(j, true, t);
            const float4 xv = make_float4(v[j], v[j + 1], v[j + 2], v[j + 3]);
            o4[i] = ln_apply4(xv, st.mean, st.rstd, ldg4(gamma + 4 * i), ldg4(beta + 4 * i));
        }
    } else {
#pragma unroll
        for (int j = 0; j < ROW_REG_N; ++j) {
            if (j >= (int)held) break;
            const u32 i = reg_index(j, false, t);
            out[i] = ln_apply(v[j], st.mean, st.rstd, __ldg(gamma + i), __ldg(beta + i));
        }
    }
}

// The same for a row too long for the registers: x re-read from memory.
__device__ __forceinline__ void normalise_strided(const float* xr, float* out, const float* gamma,
                                                  const float* beta, u32 n, bool vec, const RowTeam& t,
                                                  RowStats st) {
    if (vec) {
        const float4 *x4 = reinterpret_cast<const float4*>(xr), *g4 = reinterpret_cast<const float4*>(gamma),
                     *b4 = reinterpret_cast<const float4*>(beta);
        float4* o4 = reinterpret_cast<float4*>(out);
        for (u32 i = t.rank; i < n / 4; i += t.size) o4[i] = ln_apply4(x4[i], st.mean, st.rstd, g4[i], b4[i]);
    } else {
        for (u32 i = t.rank; i < n; i += t.size) out[i] = ln_apply(xr[i], st.mean, st.rstd, gamma[i], beta[i]);
    }
}

extern "C" __global__ void __launch_bounds__(1024)
    lnl_layernorm(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ beta,
                  float* __restrict__ xhat, u32 rows, u32 n, float eps, u32 row_threads) {
    grid_dependents_may_launch();  // the GEMM after it waits for it to finish (grid_dependency.cu)
    __shared__ float slots[ROW_REDUCE_SLOTS * ROW_MAX_WARPS];
    const RowTeam t = row_team(row_threads);
    if (t.row >= rows) return;  // the whole team (the whole block when it has barriers)
    const float* xr = x + t.row * n;
    float* out = xhat + t.row * n;
    const bool vec = vec4_ok(xr, n) && vec4_ok(out, n) && vec4_ok(gamma, n) && vec4_ok(beta, n);
    float v[ROW_REG_N];
    u32 held;
    const RowStats st = team_row_stats(v, held, xr, n, vec, eps, slots, t);
    if (row_fits_registers(n, t)) {
        store_normalised(v, held, out, gamma, beta, vec, t, st);
    } else {
        normalise_strided(xr, out, gamma, beta, n, vec, t, st);
    }
}

// 40 registers (no spills; launch bounds alone leave it 47): six blocks of 256 threads per SM
// instead of five, so more rows' loads in flight.
extern "C" __global__ void __maxnreg__(40)
    lnl_row_stats(const float* __restrict__ x, float* __restrict__ stats, u32 rows, u32 n, float eps,
                  u32 row_threads) {
    grid_dependents_may_launch();
    __shared__ float slots[ROW_REDUCE_SLOTS * ROW_MAX_WARPS];
    const RowTeam t = row_team(row_threads);
    if (t.row >= rows) return;
    const float* xr = x + t.row * n;
    float v[ROW_REG_N];
    u32 held;
    const RowStats st = team_row_stats(v, held, xr, n, vec4_ok(xr, n), eps, slots, t);
    if (t.rank == 0) {
        stats[2 * t.row] = st.mean;
        stats[2 * t.row + 1] = st.rstd;
    }
}
