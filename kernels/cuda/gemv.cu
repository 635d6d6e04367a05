// The few-rows path (decode): memory-bound on W, so W is streamed once with 16-byte loads while
// the rows of x sit in shared memory.
//
// A block stages R rows of x into shared memory. Each warp then owns
// OPW consecutive outputs at a time and walks H with all 32 lanes (UNROLL 16-byte W loads per
// output in flight per lane), keeping R x OPW accumulators, reduced across the warp at the end.
// Few rows (R <= 2): OPW 1, UNROLL 8, so twice the warps each keep twice the loads in flight;
// R >= 4: OPW 2 (each x value from shared memory serves two W rows), UNROLL 4 (registers).
// Blocks are persistent (one or two per SM) so x is staged once per block;
// output tasks are dealt round-robin over blocks so every SM streams its share of W.
//
// NORM = false (unfused): the staged rows are xhat, written by lnl_layernorm; y = acc + bias.
// NORM = true (fused, one launch): the staged rows are x; warp r computes row r's
// statistics from shared memory (warp_row_stats) and centres and scales it in place,
// (x - mean) * rstd; W is W' = W diag(gamma) and bias is c = W beta + b (folded at build). The
// normalised tensor exists only in shared memory. More than R rows are taken R at a time.

__device__ __forceinline__ float dot4(float4 w, float4 x, float acc) {
    return fmaf(w.w, x.w, fmaf(w.z, x.z, fmaf(w.y, x.y, fmaf(w.x, x.x, acc))));
}

template <int R, int OPW, int UNROLL, bool NORM>
__device__ __forceinline__ void gemv_rows(const float* __restrict__ x, const float* __restrict__ W,
                                          const float* __restrict__ bias, float* __restrict__ y,
                                          u32 rows, u32 H, u32 O, float eps) {
    extern __shared__ __align__(16) float xs[];  // R * H floats
    const u32 tid = threadIdx.x, lane = tid & 31u, warp = tid / 32, nwarps = blockDim.x / 32;
    const bool vec = (H & 3u) == 0;  // rows of x, xs and W are then 16-byte aligned
    // Task t (outputs OPW*t ...) runs on block t % gridDim.x, warp t / gridDim.x (mod).
    const size_t first_o = ((size_t)warp * gridDim.x + blockIdx.x) * OPW;
    const size_t o_stride = (size_t)gridDim.x * nwarps * OPW;

    // Ask L2 for the start of this warp's first W rows now, so HBM streams while x is staged.
    for (int j = 0; j < OPW; ++j) {
        if (first_o + j >= O) break;
        const char* p = reinterpret_cast<const char*>(W + (first_o + j) * H);
        const size_t bytes = min((size_t)H * 4, (size_t)8192);
        for (size_t off = (size_t)lane * 128; off < bytes; off += 32 * 128)
            asm volatile("prefetch.global.L2 [%0];" ::"l"(p + off));
    }

    for (u32 r0 = 0; r0 < rows; r0 += R) {
        const u32 nr = min((u32)R, rows - r0);
        // Stage rows [r0, r0 + nr) with the whole block (zeros for the group's unused rows).
        const float* xg = x + (size_t)r0 * H;
        if (vec) {
            // cp.async: every 16-byte copy of the thread is in flight at once (no registers),
            // zero-filled past the group's last row.
            const u32 n4 = R * H / 4, valid4 = nr * H / 4;
            for (u32 i = tid; i < n4; i += blockDim.x) {
                const unsigned dst = (unsigned)__cvta_generic_to_shared(xs + 4 * (size_t)i);
                const float* src = xg + 4 * (size_t)(i < valid4 ? i : 0);
                asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src),
                             "r"(i < valid4 ? 16 : 0));
            }
            asm volatile("cp.async.wait_all;" ::: "memory");
        } else {
            for (u32 i = tid; i < R * H; i += blockDim.x) xs[i] = i < nr * H ? xg[i] : 0.0f;
        }
        __syncthreads();
        if (NORM) {
            // Fused: warp r computes row r's statistics and centres and scales it in place.
            for (u32 r = warp; r < nr; r += nwarps) {
                float* row = xs + (size_t)r * H;
                const RowStats st = warp_row_stats(row, H, eps);
                __syncwarp();  // every lane has read the row before it is overwritten
                if (vec) {
                    float4* r4 = reinterpret_cast<float4*>(row);
                    for (u32 i = lane; i < H / 4; i += 32) r4[i] = centre_scale4(r4[i], st.mean, st.rstd);
                } else {
                    for (u32 i = lane; i < H; i += 32) row[i] = (row[i] - st.mean) * st.rstd;
                }
            }
            __syncthreads();
        }

        for (size_t o0 = first_o; o0 < O; o0 += o_stride) {
            float acc[OPW][R];
#pragma unroll
            for (int j = 0; j < OPW; ++j)
#pragma unroll
                for (int r = 0; r < R; ++r) acc[j][r] = 0.0f;
            const float* wr[OPW];
            bool wok[OPW];
#pragma unroll
            for (int j = 0; j < OPW; ++j) {
                wok[j] = o0 + j < O;
                wr[j] = W + (wok[j] ? o0 + j : o0) * H;
            }
            if (vec) {
                const u32 n4 = H / 4;
                const float4* xs4 = reinterpret_cast<const float4*>(xs);
                u32 h4 = lane;
                for (; h4 + 32 * (UNROLL - 1) < n4; h4 += 32 * UNROLL) {
                    float4 w[UNROLL][OPW];
#pragma unroll
                    for (int u = 0; u < UNROLL; ++u)
#pragma unroll
                        for (int j = 0; j < OPW; ++j)
                            w[u][j] = wok[j] ? __ldcs(reinterpret_cast<const float4*>(wr[j]) + h4 + 32 * u)
                                             : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
                    for (int u = 0; u < UNROLL; ++u)
#pragma unroll
                        for (int r = 0; r < R; ++r) {
                            const float4 xv = xs4[r * n4 + h4 + 32 * u];
#pragma unroll
                            for (int j = 0; j < OPW; ++j) acc[j][r] = dot4(w[u][j], xv, acc[j][r]);
                        }
                }
                for (; h4 < n4; h4 += 32) {
#pragma unroll
                    for (int j = 0; j < OPW; ++j) {
                        const float4 wv = wok[j] ? __ldcs(reinterpret_cast<const float4*>(wr[j]) + h4)
                                                 : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
                        for (int r = 0; r < R; ++r) acc[j][r] = dot4(wv, xs4[r * n4 + h4], acc[j][r]);
                    }
                }
            } else {
                for (u32 h = lane; h < H; h += 32) {
#pragma unroll
                    for (int j = 0; j < OPW; ++j) {
                        const float wv = wok[j] ? wr[j][h] : 0.0f;
#pragma unroll
                        for (int r = 0; r < R; ++r) acc[j][r] = fmaf(wv, xs[r * H + h], acc[j][r]);
                    }
                }
            }
#pragma unroll
            for (int j = 0; j < OPW; ++j)
#pragma unroll
                for (int r = 0; r < R; ++r) {
                    const float s = warp_sum(acc[j][r]);
                    if (lane == 0 && wok[j] && (u32)r < nr) y[(size_t)(r0 + r) * O + o0 + j] = s + bias[o0 + j];
                }
        }
        __syncthreads();  // the next row group overwrites xs
    }
}

// OPW must match gemv_outputs_per_warp in crates/lnl-cuda/src/plan.rs.
#define LNL_GEMV(NAME, R, OPW, UNROLL, NORM)                                                       \
    extern "C" __global__ void __launch_bounds__(512)                                              \
        NAME(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias, \
             float* __restrict__ y, u32 rows, u32 h, u32 o, float eps) {                           \
        gemv_rows<R, OPW, UNROLL, NORM>(x, w, bias, y, rows, h, o, eps);                           \
    }

LNL_GEMV(lnl_gemv_r1_plain, 1, 1, 8, false)
LNL_GEMV(lnl_gemv_r2_plain, 2, 1, 8, false)
LNL_GEMV(lnl_gemv_r4_plain, 4, 2, 4, false)
LNL_GEMV(lnl_gemv_r8_plain, 8, 2, 4, false)
LNL_GEMV(lnl_gemv_r1_norm, 1, 1, 8, true)
LNL_GEMV(lnl_gemv_r2_norm, 2, 1, 8, true)
LNL_GEMV(lnl_gemv_r4_norm, 4, 2, 4, true)
LNL_GEMV(lnl_gemv_r8_norm, 8, 2, 4, true)
