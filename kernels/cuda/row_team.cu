// A row per team of threads, the row held in registers: the row-wise kernels (layernorm.cu)
// read each element of x from global memory once. One warp per 16 KiB row with the row re-read
// for each pass ran at half the read ceiling on the H100 (a dependent add chain, few loads in
// flight, the re-reads missing L1); here each thread holds up to ROW_REG_VEC4 float4s, issued
// together, and every pass after the load runs on registers.
// A team is `row_threads` consecutive threads (a power of two, at least 32): either one warp
// with several teams per block (short rows; warp shuffles only, no barrier) or the whole block
// (block barriers: every thread of the block takes the same row and branches). One row per
// team and no grid-stride loop: a loop's invariants cost registers, and registers bound how
// many blocks an SM holds; the grid has at most 2^29 blocks (rows x H fits u32).

// float4s a thread holds: rows of up to 4 * ROW_REG_VEC4 * row_threads floats stay in
// registers (H 4096 at 256 threads, 16384 at 1024); longer rows are re-read from memory.
// crates/lnl-cuda/src/plan.rs (ROW_REG_VEC4) sizes the team from it.
#define ROW_REG_VEC4 4
#define ROW_REG_N (4 * ROW_REG_VEC4)
#define ROW_MAX_WARPS 32
// stats_by reduces at most 4 times per row: a shared-memory slot each.
#define ROW_REDUCE_SLOTS 4

struct RowTeam {
    u32 size;    // threads per row
    u32 rank;    // this thread's place in its team
    size_t row;  // the team's row: one row per team, the grid covers every row
};

__device__ __forceinline__ RowTeam row_team(u32 row_threads) {
    RowTeam t;
    t.size = row_threads;
    t.rank = threadIdx.x % row_threads;
    t.row = (size_t)blockIdx.x * (blockDim.x / row_threads) + threadIdx.x / row_threads;
    return t;
}

// Combines a team's partials: a warp butterfly, then (teams of several warps, one per block)
// each warp's result through shared memory, summed by every thread in warp order, so all
// threads get the same bits. Slot k serves the row's k-th reduction and is written once, so one
// barrier per reduction suffices (no slot is read and then rewritten).
struct TeamReduce {
    float* slots;  // __shared__, ROW_REDUCE_SLOTS x ROW_MAX_WARPS
    u32 warps;
    u32 k;
    __device__ __forceinline__ float sum(float v) {
        v = group_sum<32>(v);
        return warps == 1 ? v : across(v, false);
    }
    __device__ __forceinline__ float maximum(float v) {
        v = group_max<32>(v);
        return warps == 1 ? v : across(v, true);
    }
    __device__ __forceinline__ float across(float v, bool is_max) {
        float* s = slots + ROW_MAX_WARPS * k++;
        if ((threadIdx.x & 31u) == 0) s[threadIdx.x / 32] = v;
        __syncthreads();
        float r = s[0];
        for (u32 w = 1; w < warps; ++w) r = is_max ? fmaxf(r, s[w]) : r + s[w];
        return r;
    }
};

__device__ __forceinline__ TeamReduce team_reduce(float* slots, const RowTeam& t) {
    return TeamReduce{slots, t.size / 32, 0};
}

// Whether the team's registers hold a row of n floats.
__device__ __forceinline__ bool row_fits_registers(u32 n, const RowTeam& t) {
    return n <= ROW_REG_N * t.size;
}

// Element j of this thread's registers is float4 rank + (j / 4) * size of the row (component
// j % 4) when vec, else float rank + j * size: consecutive threads read consecutive addresses.
__device__ __forceinline__ u32 reg_index(int j, bool vec, const RowTeam& t) {
    return vec ? t.rank + (u32)(j / 4) * t.size : t.rank + (u32)j * t.size;
}

// How many of the `count` items (floats or float4s) of a row fall to this thread (at most `cap`).
__device__ __forceinline__ u32 held_of(u32 count, const RowTeam& t, u32 cap) {
    const u32 left = count > t.rank ? (count - t.rank + t.size - 1) / t.size : 0;
    return left < cap ? left : cap;
}

// Loads this thread's elements of a row that fits (all loads issued before any is used) and
// returns how many registers hold elements: a prefix of v, which RegRow<ROW_REG_N> reads.
__device__ __forceinline__ u32 load_row(float (&v)[ROW_REG_N], const float* row, u32 n, bool vec, const RowTeam& t) {
    if (vec) {
        const float4* p = reinterpret_cast<const float4*>(row) + t.rank;
        const u32 held4 = held_of(n / 4, t, ROW_REG_VEC4);
#pragma unroll
        for (int k = 0; k < ROW_REG_VEC4; ++k, p += t.size) {
            const float4 q = k < (int)held4 ? __ldg(p) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            v[4 * k] = q.x; v[4 * k + 1] = q.y; v[4 * k + 2] = q.z; v[4 * k + 3] = q.w;
        }
        return 4 * held4;
    }
    const float* p = row + t.rank;
    const u32 held = held_of(n, t, ROW_REG_N);
#pragma unroll
    for (int j = 0; j < ROW_REG_N; ++j, p += t.size) v[j] = j < (int)held ? __ldg(p) : 0.0f;
    return held;
}

// The statistics of row xr for the calling team: from registers when the row fits them (v then
// keeps this thread's elements, `held` of them, for the caller), else from memory (held = 0).
__device__ __forceinline__ RowStats team_row_stats(float (&v)[ROW_REG_N], u32& held, const float* xr, u32 n,
                                                   bool vec, float eps, float* slots, const RowTeam& t) {
    if (row_fits_registers(n, t)) {
        held = load_row(v, xr, n, vec, t);
        return stats_by(team_reduce(slots, t), RegRow<ROW_REG_N>{v, held}, n, eps);
    }
    held = 0;
    return stats_by(team_reduce(slots, t), StridedRow{xr, n, vec, t.rank, t.size}, n, eps);
}
