// lnl_transpose: dst[c][r] = src[r][c] for a rows x cols matrix, through 32 x 32 shared tiles so
// that both the reads and the writes are coalesced. Builds the W^T that gemm_wt_tile.cu reads,
// on the device, in stream order. Block 32 x 8 threads; 1-D grid over the tiles (row tiles
// outer), so any shape whose elements fit u32 fits the grid.
extern "C" __global__ void __launch_bounds__(256) lnl_transpose(const float* __restrict__ src, float* __restrict__ dst,
                                                             u32 rows, u32 cols) {
    __shared__ float tile[32][33];  // +1 column: the column reads hit 32 distinct banks
    const u32 tiles_c = (cols + 31) / 32;
    const u32 r0 = (blockIdx.x / tiles_c) * 32, c0 = (blockIdx.x % tiles_c) * 32;
    const u32 tx = threadIdx.x % 32, ty = threadIdx.x / 32;
#pragma unroll
    for (u32 i = ty; i < 32; i += 8)
        if (r0 + i < rows && c0 + tx < cols) tile[i][tx] = src[(size_t)(r0 + i) * cols + c0 + tx];
    __syncthreads();
#pragma unroll
    for (u32 i = ty; i < 32; i += 8)
        if (c0 + i < cols && r0 + tx < rows) dst[(size_t)(c0 + i) * rows + r0 + tx] = tile[tx][i];
}
