// The unfused strategy's first pass: xhat[r, :] = gamma * (x[r, :] - mean) * rstd + beta,
// written to global memory for the GEMM to read back. One work-group per row.

__kernel void layernorm(const __global float *x, uint h, float eps, const __global float *gamma,
                        const __global float *beta, __global float *xhat, __local float *scratch)
{
    const uint r = get_group_id(0);
    const __global float *row = x + (size_t)r * h;
    const float2 st = seg_row_stats(row, true, h, eps, scratch, get_local_size(0));
    __global float *out = xhat + (size_t)r * h;
    for (uint i = get_local_id(0); i < h; i += get_local_size(0))
        out[i] = normalise1(row[i], st, gamma[i], beta[i]);
}
