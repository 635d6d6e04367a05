// The few-rows path (decode): memory-bound on W, so W is streamed once with 16-byte loads while
// the rows of x sit in shared memory (chunk-blocked: x_blocked_float4s).
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


// Shared-memory and cp.async forms on 32-bit shared addresses, so the stream loop converts no
// generic pointer per chunk and ptxas folds the constant row and slot offsets into the
// instructions' immediates. "memory": ordered against the cp.async waits and the barriers
// (the loop has no other memory access for it to pin).
__device__ __forceinline__ float4 lds16(u32 a) {
    float4 v;
    asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(a)
                 : "memory");
    return v;
}
// The W stream's copies: L2 evict-first (W is read once per call); 0 bytes zero-fills.
__device__ __forceinline__ void cp_async16_hint(u32 dst, const char* src, u32 bytes, unsigned long long pol) {
    asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;" ::"r"(dst), "l"(src), "r"(bytes),
                 "l"(pol)
                 : "memory");
}
template <int N>
__device__ __forceinline__ void cp_async_commit_wait() {
    cp_async_commit();
    cp_async_wait<N>();
}

// x in shared memory, vector path: chunk-blocked, float4 (c, r, l) = x[r, 128 c + 4 l ...] at
// index (c R + r) 32 + l, zeros past the row end and for the group's unused rows. A lane's x of
// chunk c is then one base address plus the compile-time offsets 512 r, and the next chunk is
// 512 R further (row-major rows would need R runtime row strides per chunk). 32 consecutive
// float4 per LDS.128: conflict-free.
template <int R>
__device__ __forceinline__ u32 x_blocked_float4s(u32 n4) {
    return (n4 + 31) / 32 * R * 32;
}

// One row of the chunk-blocked x as strided_foreach's vector path sees a row-major one: the same
// float4s in the same order per lane, so stats_of gives the same bits.
template <int R>
struct BlockedRow {
    const float4* lane0;  // row r, chunk 0, this lane: xs4 + 32 r + lane
    u32 n;
    template <typename F>
    __device__ __forceinline__ void operator()(F f) const {
        const float4* p = lane0;
        for (u32 i = threadIdx.x & 31u; i < n / 4; i += 32, p += R * 32) {
            const float4 v = *p;
            f(v.x); f(v.y); f(v.z); f(v.w);
        }
    }
};

// The products of one chunk: OPW float4 of W from ring slot `ws`, R of x from `xa` (this lane's
// addresses), acc[j][r] += W[j] . x[r] in the fixed order x, y, z, w.
template <int OPW, int R>
__device__ __forceinline__ void chunk_products(float (&acc)[OPW][R], u32 ws, u32 xa) {
    float4 w[OPW];
#pragma unroll
    for (int j = 0; j < OPW; ++j) w[j] = lds16(ws + 512 * j);
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const float4 xv = lds16(xa + 512 * r);
#pragma unroll
        for (int j = 0; j < OPW; ++j) acc[j][r] = dot4(w[j], xv, acc[j][r]);
    }
}

// One warp's W stream through its ring: the chunks of the task (OPW W rows, from start()).
// Chunk c is W[., 128 c + 4 lane ...] (float4 index 32 c + lane) of each of the OPW rows, in
// slot c % depth (a slot: OPW x 32 float4). Lanes past the row end (last chunk) and rows past O
// copy zeros; the former are skipped in the products, so a non-finite x never meets them.
template <int OPW>
struct WRing {
    u32 base;  // shared address of slot 0, this lane's float4
    u32 depth, lane, n4, nchunks, nfull;  // nfull: chunks with all 32 lanes inside the row
    unsigned long long policy;  // L2 evict-first
    const char* g[OPW];         // this lane's float4 of the next chunk to copy, each W row of the task
    u32 bytes[OPW];             // 16, or 0 (zero fill) for rows past O

    __device__ __forceinline__ void start(const float* W, size_t o0, u32 O, u32 H) {
        policy = l2_evict_first();  // per task: one instruction, no register held between tasks
#pragma unroll
        for (int j = 0; j < OPW; ++j) {
            const bool ok = o0 + j < O;
            g[j] = reinterpret_cast<const char*>(W + (ok ? o0 + j : o0) * H) + 16 * lane;
            bytes[j] = ok ? 16 : 0;
        }
    }
    // Copies chunk k (the next one, at g) into the slot at `dst`, checked: rows past O, lanes
    // past the row end and k past the last chunk copy nothing (those lanes name W's first float4,
    // inside the allocation). One commit per call, also for no copy (empty group), so "chunk c
    // has landed" is always "at most depth - 1 groups pending" once chunk c + depth - 1 is issued.
    __device__ __forceinline__ void issue(u32 k, u32 dst, const float* W) {
        if (k < nchunks) {
            const bool in_row = 32 * k + lane < n4;
#pragma unroll
            for (int j = 0; j < OPW; ++j)
                cp_async16_hint(dst + 512 * j, in_row ? g[j] : reinterpret_cast<const char*>(W), in_row ? bytes[j] : 0, policy);
        }
        cp_async_commit();
#pragma unroll
        for (int j = 0; j < OPW; ++j) g[j] += 512;
    }
    // Chunks 0 .. depth - 2 in flight, in slots 0 .. depth - 2.
    __device__ __forceinline__ void prologue(const float* W) {
        for (u32 k = 0; k + 1 < depth; ++k) issue(k, base + k * OPW * 512, W);
    }
    // The products of the task over its chunks (D == depth; after prologue()); xa: this lane's
    // x of chunk 0 (chunk-blocked, R rows). Iteration c refills the slot read in iteration c - 1
    // with chunk c + D - 1 (this lane's own reads of it were consumed by that iteration's
    // products, in program order, before the copy), waits for chunk c, and multiplies.
    // While the chunk to copy is whole (all but the last D - 1 or so chunks): no checks, the
    // copy's source a running pointer per W row, x one running shared address (rows at constant
    // offsets), the ring slot one shared address; unrolled twice to halve the loop overhead
    // (R = 2: once; twice made NVRTC spill there). The rest one chunk at a time, checked.
    template <int D, int R>
    __device__ __forceinline__ void stream(float (&acc)[OPW][R], u32 xa, const float* W) {
        constexpr u32 SLOT = OPW * 512;
        const u32 end = base + D * SLOT;
        u32 rs = base;                   // slot of chunk c
        u32 prev = base + (D - 1) * SLOT;  // slot of chunk c - 1 (mod D): chunk c + D - 1 goes there
        u32 c = 0;
        if (nfull >= D) {
            // g: chunk c + D - 1. Chunks c < nfull - D + 1: chunk c + D - 1 to copy is whole.
            c = nfull - D + 1;
            const u32 xend = xa + c * (R * 512);
#pragma unroll(R == 2 ? 1 : 2)
            for (; xa != xend; xa += R * 512) {
#pragma unroll
                for (int j = 0; j < OPW; ++j) cp_async16_hint(prev + 512 * j, g[j], bytes[j], policy);
                cp_async_commit_wait<D - 1>();  // chunk c landed
                chunk_products<OPW, R>(acc, rs, xa);
                prev = rs;
                rs = rs + SLOT == end ? base : rs + SLOT;
#pragma unroll
                for (int j = 0; j < OPW; ++j) g[j] += 512;
            }
        }
        for (; c < nchunks; ++c, xa += R * 512) {
            issue(c + D - 1, prev, W);
            cp_async_wait<D - 1>();  // chunk c landed
            if (32 * c + lane < n4) chunk_products<OPW, R>(acc, rs, xa);
            prev = rs;
            rs = rs + SLOT == end ? base : rs + SLOT;
        }
    }
};

template <int R, int OPW, bool NORM>
__device__ __forceinline__ void gemv_rows(const float* __restrict__ x, const float* __restrict__ W,
                                          const float* __restrict__ bias, float* __restrict__ y,
                                          u32 rows, u32 H, u32 O, float eps) {
    // x (vector path: chunk-blocked, x_blocked_float4s; else R * H floats rounded up to 4), then
    // the rings.
    extern __shared__ __align__(16) float xs[];
    const u32 tid = threadIdx.x, lane = tid & 31u, warp = tid / 32, nwarps = blockDim.x / 32;
    const bool vec = (H & 3u) == 0;  // rows of x, xs and W are then 16-byte aligned
    // Task t (outputs OPW*t ...) runs on block t % gridDim.x, warp t / gridDim.x (mod).
    const size_t first_o = ((size_t)warp * gridDim.x + blockIdx.x) * OPW;
    const size_t o_stride = (size_t)gridDim.x * nwarps * OPW;

    WRing<OPW> ring;
    {
        u32 dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        const u32 x4 = vec ? x_blocked_float4s<R>(H / 4) : (R * H + 3) / 4;  // float4s of x
        const u32 slot4 = nwarps * OPW * 32;
        const u32 d = dyn / 16 > x4 ? (dyn / 16 - x4) / slot4 : 0;
        // The depths stream<D> is compiled for (plan.rs asks for one of them).
        ring.depth = d >= 16 ? 16 : d >= 12 ? 12 : d >= 8 ? 8 : d >= 6 ? 6 : d >= 4 ? 4 : d >= 2 ? 2 : 1;
        ring.lane = lane;
        ring.base = (u32)__cvta_generic_to_shared(xs) + 16 * (x4 + warp * ring.depth * OPW * 32 + lane);
        ring.n4 = H / 4;
        ring.nchunks = (H / 4 + 31) / 32;
        ring.nfull = H / 4 / 32;
    }
    // Ask L2 for the start of this warp's first W rows now, beyond what the ring's prologue
    // copies, so HBM streams while x is staged. 4 KiB a row: on the H100 with W cold in L2, it
    // took decode1 from 25.1 to 23.0 us and decode8 from 28.7 to 26.3 against 8 KiB; 16 KiB
    // (whole rows at H = 4096) was slower than none (docs/PERF.md, session 11).
    for (int j = 0; j < OPW; ++j) {
        if (first_o + j >= O) break;
        const char* p = reinterpret_cast<const char*>(W + (first_o + j) * H);
        const size_t bytes = min((size_t)H * 4, (size_t)4096);
        for (size_t off = (size_t)lane * 128; off < bytes; off += 32 * 128)
            asm volatile("prefetch.global.L2 [%0];" ::"l"(p + off));
    }
    bool primed = false;  // the current task's ring prologue is already in flight

    // Row groups: this block's set (blockIdx.y) takes groups y, y + gridDim.y, ... (plan.rs,
    // Core::Gemv::row_groups); every set deals W's rows over its blocks the same way.
    for (u32 r0 = blockIdx.y * R; r0 < rows; r0 += gridDim.y * R) {
        const u32 nr = min((u32)R, rows - r0);
        // Stage rows [r0, r0 + nr) with the whole block (zeros for the group's unused rows).
        const float* xg = x + (size_t)r0 * H;
        if (vec) {
            // cp.async: every 16-byte copy of the thread is in flight at once (no registers),
            // into the chunk-blocked layout, zero-filled past the row end and the group's last
            // row. Waits for the ring's prologue too.
            const u32 n4 = H / 4, total4 = x_blocked_float4s<R>(n4);
#pragma unroll 1
            for (u32 i = tid; i < total4; i += blockDim.x) {
                const u32 l = i % 32, r = i / 32 % R, h4 = i / (32 * R) * 32 + l;
                const bool ok = r < nr && h4 < n4;
                const float* src = xg + 4 * (ok ? (size_t)r * n4 + h4 : 0);
                cp_async16(reinterpret_cast<float4*>(xs) + i, reinterpret_cast<const float4*>(src), ok);
            }
            cp_async_commit();
            if (r0 == blockIdx.y * R && first_o < O) {
                // The first task's ring fills while x lands and the statistics run.
                ring.start(W, first_o, O, H);
                ring.prologue(W);
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
                if (vec) {
                    float4* lane0 = reinterpret_cast<float4*>(xs) + 32 * r + lane;
                    const RowStats st = stats_of<32>(BlockedRow<R>{lane0, H}, H, eps);
                    __syncwarp();  // every lane has read the row before it is overwritten
                    float4* p = lane0;
                    for (u32 i = lane; i < H / 4; i += 32, p += R * 32) *p = centre_scale4(*p, st.mean, st.rstd);
                } else {
                    float* row = xs + (size_t)r * H;
                    const RowStats st = warp_row_stats(row, H, eps);
                    __syncwarp();  // every lane has read the row before it is overwritten
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
                    ring.prologue(W);
                }
                primed = false;
                const u32 xa = (u32)__cvta_generic_to_shared(xs) + 16 * lane;
                switch (ring.depth) {  // once per task: the chunk loop waits with an immediate
                    case 16: ring.template stream<16>(acc, xa, W); break;
                    case 12: ring.template stream<12>(acc, xa, W); break;
                    case 8: ring.template stream<8>(acc, xa, W); break;
                    case 6: ring.template stream<6>(acc, xa, W); break;
                    case 4: ring.template stream<4>(acc, xa, W); break;
                    case 2: ring.template stream<2>(acc, xa, W); break;
                    default: ring.template stream<1>(acc, xa, W); break;
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
