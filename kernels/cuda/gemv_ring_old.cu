// The W ring GEMV as it was before the lean stream loop (main at 5a15ace, kernels/cuda/gemv.cu,
// verbatim below the guard): compiled instead of gemv.cu only when LNL_CUDA_GEMV=ring-old asks for
// it (kernels.rs adds -DLNL_GEMV_RING_OLD), for a same-call A/B on the device. Delete it once
// the lean loop is measured (docs/PERF.md, CUDA, "Lean W ring stream loop").
#ifdef LNL_GEMV_RING_OLD
// The few-rows path (decode): memory-bound on W, so W is streamed once with 16-byte loads while
// the rows of x sit in shared memory.
//
// A block stages R rows of x into shared memory. Each warp then owns OPW consecutive outputs at a
// time (a task) and walks H with all 32 lanes, keeping R x OPW accumulators, reduced across the
// warp at the end. R <= 2: OPW 1; R >= 4: OPW 2 (each x value read from shared memory serves two
// W rows). Blocks are persistent (one or two per SM) so x is staged once per block; tasks are
// dealt round-robin over blocks so every SM streams its share of W.
//
// W streams through a per-warp ring in shared memory (16-byte rows, H % 4 == 0): each lane
// cp.asyncs its own float4 of the next chunks (chunk = 32 float4 per W row) and reads back only
// what it copied itself, so no barrier is needed, and depth - 1 chunks per lane stay in flight
// continuously without holding registers (the register-staged loop before had 4 or 8 loads per
// lane in flight in bursts and needed 124 registers at R = 8). The depth is what the launch's
// dynamic shared memory leaves after x (plan.rs sizes it: 8 for decode1, 6 for decode8 on an
// H100), read from %dynamic_smem_size. The first task's ring is filled right after x's copies
// are issued, so W streams from HBM during the staging and the statistics. docs/PERF.md has
// what it gained (decode1) and lost (decode8 in graph replay).
//
// NORM = false (unfused): the staged rows are xhat, written by lnl_layernorm; y = acc + bias.
// NORM = true (fused, one launch): the staged rows are x; warp r computes row r's
// statistics from shared memory (warp_row_stats) and centres and scales it in place,
// (x - mean) * rstd; W is W' = W diag(gamma) and bias is c = W beta + b (folded at build). The
// normalised tensor exists only in shared memory. More than R rows are taken R at a time.

__device__ __forceinline__ float dot4(float4 w, float4 x, float acc) {
    return fmaf(w.w, x.w, fmaf(w.z, x.z, fmaf(w.y, x.y, fmaf(w.x, x.x, acc))));
}


// One warp's W stream through its ring: the chunks of the task whose OPW row pointers are wr.
// Chunk c is W[., 128 c + 4 lane ...] (float4 index 32 c + lane) of each of the OPW rows, in
// slot c % depth. Lanes past the row end (last chunk) and rows past O copy zeros and are skipped
// in the products, so a non-finite x never meets them.
template <int OPW>
struct WRing {
    float4* slots;  // depth slots of OPW * 32 float4, this warp's
    u32 depth, lane, n4, nchunks;
    u32 next;       // the next chunk to copy
    u32 wslot;      // its slot (next % depth, kept as a counter)
    unsigned long long policy;  // L2 evict-first
    const float4* wr[OPW];
    bool wok[OPW];

    __device__ __forceinline__ void start(const float* W, size_t o0, u32 O, u32 H) {
#pragma unroll
        for (int j = 0; j < OPW; ++j) {
            wok[j] = o0 + j < O;
            wr[j] = reinterpret_cast<const float4*>(W + (wok[j] ? o0 + j : o0) * H);
        }
        next = 0;
        wslot = 0;
    }
    // Copies the next chunk into its slot. One commit per call, also past the last chunk
    // (empty group), so "chunk c has landed" is always "at most depth - 1 groups pending" once
    // chunk c + depth - 1 has been issued.
    __device__ __forceinline__ void issue() {
        if (next < nchunks) {
            const u32 h4 = 32 * next + lane;
            float4* s = slots + (size_t)wslot * OPW * 32 + lane;
#pragma unroll
            for (int j = 0; j < OPW; ++j) {
                const bool ok = wok[j] && h4 < n4;
                cp_async16_stream(s + j * 32, wr[j] + (ok ? h4 : 0), ok, policy);
            }
        }
        cp_async_commit();
        ++next;
        wslot = wslot + 1 == depth ? 0 : wslot + 1;
    }
    // Chunks 0 .. depth - 2 in flight.
    __device__ __forceinline__ void prologue() {
        for (u32 c = 0; c + 1 < depth; ++c) issue();
    }
    // The products of the task over its chunks (D == depth; after prologue()), rows of x in
    // xs4 (R rows of n4 float4).
    template <int D, int R>
    __device__ __forceinline__ void stream(float (&acc)[OPW][R], const float4* xs4) {
        u32 rslot = 0;
        for (u32 c = 0; c < nchunks; ++c) {
            // Refills the slot read in iteration c - 1: this lane's own reads of it were
            // consumed by that iteration's products, in program order, before this copy.
            issue();
            asm volatile("cp.async.wait_group %0;" ::"n"(D - 1) : "memory");  // chunk c landed
            const u32 h4 = 32 * c + lane;
            if (h4 < n4) {
                const float4* s = slots + (size_t)rslot * OPW * 32 + lane;
                float4 w[OPW];
#pragma unroll
                for (int j = 0; j < OPW; ++j) w[j] = s[j * 32];
#pragma unroll
                for (int r = 0; r < R; ++r) {
                    const float4 xv = xs4[r * n4 + h4];
#pragma unroll
                    for (int j = 0; j < OPW; ++j) acc[j][r] = dot4(w[j], xv, acc[j][r]);
                }
            }
            rslot = rslot + 1 == D ? 0 : rslot + 1;
        }
    }
};

template <int R, int OPW, bool NORM>
__device__ __forceinline__ void gemv_rows(const float* __restrict__ x, const float* __restrict__ W,
                                          const float* __restrict__ bias, float* __restrict__ y,
                                          u32 rows, u32 H, u32 O, float eps) {
    extern __shared__ __align__(16) float xs[];  // R * H floats (rounded up to 4), then the rings
    const u32 tid = threadIdx.x, lane = tid & 31u, warp = tid / 32, nwarps = blockDim.x / 32;
    const bool vec = (H & 3u) == 0;  // rows of x, xs and W are then 16-byte aligned
    // Task t (outputs OPW*t ...) runs on block t % gridDim.x, warp t / gridDim.x (mod).
    const size_t first_o = ((size_t)warp * gridDim.x + blockIdx.x) * OPW;
    const size_t o_stride = (size_t)gridDim.x * nwarps * OPW;

    WRing<OPW> ring;
    {
        u32 dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        const u32 x4 = (R * H + 3) / 4;  // float4s of x
        const u32 slot4 = nwarps * OPW * 32;
        const u32 d = dyn / 16 > x4 ? (dyn / 16 - x4) / slot4 : 0;
        // The depths stream<D> is compiled for (plan.rs asks for one of them).
        ring.depth = d >= 16 ? 16 : d >= 12 ? 12 : d >= 8 ? 8 : d >= 6 ? 6 : d >= 4 ? 4 : d >= 2 ? 2 : 1;
        ring.slots = reinterpret_cast<float4*>(xs) + x4 + (size_t)warp * ring.depth * OPW * 32;
        ring.lane = lane;
        ring.policy = l2_evict_first();
        ring.n4 = H / 4;
        ring.nchunks = (H / 4 + 31) / 32;
    }
    // Ask L2 for the start of this warp's first W rows now, beyond what the ring's prologue
    // copies, so HBM streams while x is staged.
    for (int j = 0; j < OPW; ++j) {
        if (first_o + j >= O) break;
        const char* p = reinterpret_cast<const char*>(W + (first_o + j) * H);
        const size_t bytes = min((size_t)H * 4, (size_t)8192);
        for (size_t off = (size_t)lane * 128; off < bytes; off += 32 * 128)
            asm volatile("prefetch.global.L2 [%0];" ::"l"(p + off));
    }
    bool primed = false;  // the current task's ring prologue is already in flight

    for (u32 r0 = 0; r0 < rows; r0 += R) {
        const u32 nr = min((u32)R, rows - r0);
        // Stage rows [r0, r0 + nr) with the whole block (zeros for the group's unused rows).
        const float* xg = x + (size_t)r0 * H;
        if (vec) {
            // cp.async: every 16-byte copy of the thread is in flight at once (no registers),
            // zero-filled past the group's last row. Waits for the ring's prologue too.
            const u32 n4 = R * H / 4, valid4 = nr * H / 4;
            for (u32 i = tid; i < n4; i += blockDim.x) {
                const float* src = xg + 4 * (size_t)(i < valid4 ? i : 0);
                cp_async16(reinterpret_cast<float4*>(xs) + i, reinterpret_cast<const float4*>(src),
                           i < valid4);
            }
            cp_async_commit();
            if (r0 == 0 && first_o < O) {
                // The first task's ring fills while x lands and the statistics run.
                ring.start(W, first_o, O, H);
                ring.prologue();
                primed = true;
                cp_async_wait_pending(ring.depth - 1);  // x has landed (the W chunks may not)
            } else {
                asm volatile("cp.async.wait_all;" ::: "memory");
            }
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
            if (vec) {
                if (!primed) {
                    ring.start(W, o0, O, H);
                    ring.prologue();
                }
                primed = false;
                const float4* xs4 = reinterpret_cast<const float4*>(xs);
                switch (ring.depth) {  // once per task: the chunk loop waits with an immediate
                    case 16: ring.template stream<16>(acc, xs4); break;
                    case 12: ring.template stream<12>(acc, xs4); break;
                    case 8: ring.template stream<8>(acc, xs4); break;
                    case 6: ring.template stream<6>(acc, xs4); break;
                    case 4: ring.template stream<4>(acc, xs4); break;
                    case 2: ring.template stream<2>(acc, xs4); break;
                    default: ring.template stream<1>(acc, xs4); break;
                }
            } else {
                const float* wr[OPW];
#pragma unroll
                for (int j = 0; j < OPW; ++j) wr[j] = W + (o0 + j < O ? o0 + j : o0) * H;
                for (u32 h = lane; h < H; h += 32) {
#pragma unroll
                    for (int j = 0; j < OPW; ++j) {
                        const float wv = o0 + j < O ? wr[j][h] : 0.0f;
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
                    if (lane == 0 && o0 + j < O && (u32)r < nr) y[(size_t)(r0 + r) * O + o0 + j] = s + bias[o0 + j];
                }
        }
        __syncthreads();  // the next row group overwrites xs
    }
}

// OPW must match gemv_outputs_per_warp in crates/lnl-cuda/src/plan.rs. MINB: blocks per SM the
// register budget must allow (plan.rs runs two blocks of 512 threads per SM for R <= 2; R >= 4
// runs one, and a cap of 64 registers made NVRTC 13.0 spill in the chunk loop).
#define LNL_GEMV(NAME, R, OPW, MINB, NORM)                                                         \
    extern "C" __global__ void __launch_bounds__(512, MINB)                                        \
        NAME(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias, \
             float* __restrict__ y, u32 rows, u32 h, u32 o, float eps) {                           \
        gemv_rows<R, OPW, NORM>(x, w, bias, y, rows, h, o, eps);                                   \
    }

LNL_GEMV(lnl_gemv_r1_plain, 1, 1, 2, false)
LNL_GEMV(lnl_gemv_r2_plain, 2, 1, 2, false)
LNL_GEMV(lnl_gemv_r4_plain, 4, 2, 1, false)
LNL_GEMV(lnl_gemv_r8_plain, 8, 2, 1, false)
LNL_GEMV(lnl_gemv_r1_norm, 1, 1, 2, true)
LNL_GEMV(lnl_gemv_r2_norm, 2, 1, 2, true)
LNL_GEMV(lnl_gemv_r4_norm, 4, 2, 1, true)
LNL_GEMV(lnl_gemv_r8_norm, 8, 2, 1, true)
#endif  // LNL_GEMV_RING_OLD
