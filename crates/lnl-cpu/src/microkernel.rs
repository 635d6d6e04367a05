//! The register-blocked microkernel: an `MR x NR` block of `C` (6 x 16 = 12 ymm accumulators,
//! plus two `B` vectors and one broadcast of `A`: 15 of the 16 AVX2 registers) accumulated over
//! one `k` block with FMA, `k` ascending, then merged into `C` with the bias applied in the store.
//!
//! The order of operations on every output is fixed: `k` ascending inside a block, blocks added
//! to `C` in ascending order, bias added last. It depends on neither the thread count nor the
//! partition, so results are bit-identical run to run and across the decode and GEMM paths.

use wide::f32x8;

/// Rows of the register block.
pub const MR: usize = 6;
/// Columns of the register block (two f32x8).
pub const NR: usize = 16;
/// Vectors per register-block row.
pub const NV: usize = NR / 8;

/// `k` steps per iteration of the FMA loop (measured: docs/PERF.md).
const UNROLL: usize = 4;

/// Evaluates `$body` with `$M` a constant equal to `$mr` (1 to MR - 1; anything else is MR: the
/// driver never asks for more than MR rows), so the row count of a block is a compile-time
/// constant in each arm: one dispatch for every entry point that takes `mr`.
macro_rules! with_rows {
    ($mr:expr, $M:ident => $body:expr) => {
        match $mr {
            1 => {
                const $M: usize = 1;
                $body
            }
            2 => {
                const $M: usize = 2;
                $body
            }
            3 => {
                const $M: usize = 3;
                $body
            }
            4 => {
                const $M: usize = 4;
                $body
            }
            5 => {
                const $M: usize = 5;
                $body
            }
            _ => {
                const $M: usize = MR;
                $body
            }
        }
    };
}
const _: () = assert!(MR == 6, "with_rows! spells out the arms below MR");

/// How a `k` block's partial sums merge into `C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    /// First `k` block: `C` is overwritten (its previous contents are never read).
    pub first: bool,
    /// Last `k` block: the bias is added.
    pub last: bool,
}

/// One register block: `a` is a packed micro-panel (`[kc][mr]`), `b` a packed panel slice
/// (`[kc][NV]` vectors), `c` the `mr` output rows, each starting at this block's first column
/// and this block's columns start at `col` of each row (up to `NR` of them, fewer at the right
/// edge); `bias` is the panel's padded bias. `pf`: `W` the caller reads next, prefetched one
/// 64-byte line per `k` step during the FMA loop (spread out: a burst of prefetches that miss
/// fills the core's miss buffers and stalls it; profiled on decode8).
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn block(
    mr: usize,
    a: &[f32],
    b: &[f32x8],
    pf: &[f32x8],
    c: &mut [&mut [f32]],
    col: usize,
    bias: &[f32],
    m: Merge,
) {
    with_rows!(mr, M => block_m::<M>(a, b, pf, c, col, bias, m))
}

#[inline(always)]
fn block_m<const M: usize>(
    a: &[f32],
    b: &[f32x8],
    pf: &[f32x8],
    c: &mut [&mut [f32]],
    col: usize,
    bias: &[f32],
    m: Merge,
) {
    let acc = accumulate::<M>(a, b, pf, [[f32x8::ZERO; NV]; M]);
    merge_store::<M>(&acc, c, col, bias, m);
}

/// Partial sums of a register block kept between calls: rows `0..mr` are live.
pub type Acc = [[f32x8; NV]; MR];

/// [`block`] in pieces: the FMA loop over `a` and `b` continued from `acc` (zeros for the first
/// piece of a `k` block), each accumulator's chain exactly as one call over the whole block
/// would run it, so a `k` block can be swept in slices that fit L1 (decode) with the bits of one
/// sweep. [`merge_acc`] then merges it like [`block`].
#[inline]
pub fn accumulate_into(mr: usize, a: &[f32], b: &[f32x8], pf: &[f32x8], acc: &mut Acc) {
    fn part<const M: usize>(a: &[f32], b: &[f32x8], pf: &[f32x8], acc: &mut Acc) {
        let init: [[f32x8; NV]; M] = std::array::from_fn(|i| acc[i]);
        let out = accumulate::<M>(a, b, pf, init);
        acc[..M].copy_from_slice(&out);
    }
    with_rows!(mr, M => part::<M>(a, b, pf, acc))
}

/// Merges rows `0..mr` of `acc` into `c` as [`block`] does.
#[inline]
pub fn merge_acc(mr: usize, acc: &Acc, c: &mut [&mut [f32]], col: usize, bias: &[f32], m: Merge) {
    fn part<const M: usize>(acc: &Acc, c: &mut [&mut [f32]], col: usize, bias: &[f32], m: Merge) {
        let rows: [[f32x8; NV]; M] = std::array::from_fn(|i| acc[i]);
        merge_store::<M>(&rows, c, col, bias, m);
    }
    with_rows!(mr, M => part::<M>(acc, c, col, bias, m))
}

/// Panels that [`one_row_panels`] reads together.
pub const STREAMS: usize = 4;

/// Decode with one row: that row against [`STREAMS`] panels at once, `b[s]` a slice of panel `s`
/// over the same `k` range, merged into `c` (the row) at columns `cols[s]` with bias `bias[s]`.
/// Each panel gets exactly the products, order and merge of [`block`] with `mr = 1`; what changes
/// is that the panels' lines are read together, so a core keeps misses in flight on several
/// streams of `W` rather than one (one core here: 9.7 GB/s from one stream, 14 GB/s from four
/// interleaved; docs/PERF.md).
#[inline]
pub fn one_row_panels(
    a: &[f32],
    b: [&[f32x8]; STREAMS],
    c: &mut [&mut [f32]],
    cols: [usize; STREAMS],
    bias: [&[f32]; STREAMS],
    m: Merge,
) {
    let mut acc = [[[f32x8::ZERO; NV]; 1]; STREAMS];
    let steps = a
        .iter()
        .zip(b[0].chunks_exact(NV))
        .zip(b[1].chunks_exact(NV))
        .zip(b[2].chunks_exact(NV))
        .zip(b[3].chunks_exact(NV));
    for ((((&ak, b0), b1), b2), b3) in steps {
        let ai = f32x8::splat(ak);
        for (acc_s, bk) in acc.iter_mut().zip([b0, b1, b2, b3]) {
            for v in 0..NV {
                acc_s[0][v] = ai.mul_add(bk[v], acc_s[0][v]);
            }
        }
    }
    for s in 0..STREAMS {
        merge_store::<1>(&acc[s], c, cols[s], bias[s], m);
    }
}

/// The FMA loop. `a.chunks_exact(M)` and `b.chunks_exact(NV)` turned into arrays let the
/// compiler drop every bounds check and keep the accumulators in registers. Line `i` of `pf`
/// (vectors `NV i..`) is prefetched at step `i`, in a first loop of as many steps as `pf` has
/// lines; the rest runs [`UNROLL`] steps per iteration without it (one loop with a per-step
/// check measured 30% slower on the GEMM shapes; two steps per iteration rather than one, 10-17%
/// faster there, and four rather than two another 3-5%: docs/PERF.md).
#[inline(always)]
fn accumulate<const M: usize>(
    a: &[f32],
    b: &[f32x8],
    pf: &[f32x8],
    init: [[f32x8; NV]; M],
) -> [[f32x8; NV]; M] {
    let mut acc = init;
    let kc = (a.len() / M).min(b.len() / NV);
    let n_pf = pf.len().div_ceil(NV).min(kc);
    let (a_pf, a_rest) = a.split_at(n_pf * M);
    let (b_pf, b_rest) = b.split_at(n_pf * NV);
    for ((line, ak), bk) in pf
        .chunks(NV)
        .zip(a_pf.chunks_exact(M))
        .zip(b_pf.chunks_exact(NV))
    {
        crate::prefetch::line(&line[0]);
        fma_step::<M>(&mut acc, ak, bk);
    }
    let mut a4 = a_rest.chunks_exact(UNROLL * M);
    let mut b4 = b_rest.chunks_exact(UNROLL * NV);
    for (ak, bk) in (&mut a4).zip(&mut b4) {
        for (a1, b1) in ak.chunks_exact(M).zip(bk.chunks_exact(NV)) {
            fma_step::<M>(&mut acc, a1, b1);
        }
    }
    let tail = a4
        .remainder()
        .chunks_exact(M)
        .zip(b4.remainder().chunks_exact(NV));
    for (ak, bk) in tail {
        fma_step::<M>(&mut acc, ak, bk);
    }
    acc
}

/// One `k`: `acc[i] += a[i] * b` for the block's `M` rows.
#[inline(always)]
fn fma_step<const M: usize>(acc: &mut [[f32x8; NV]; M], ak: &[f32], bk: &[f32x8]) {
    let ak: &[f32; M] = ak.try_into().unwrap_or(&[0.0; M]);
    let bk: &[f32x8; NV] = bk.try_into().unwrap_or(&[f32x8::ZERO; NV]);
    for i in 0..M {
        let ai = f32x8::splat(ak[i]);
        for v in 0..NV {
            acc[i][v] = ai.mul_add(bk[v], acc[i][v]);
        }
    }
}

/// `C = acc` (first block) or `C = C + acc` (later blocks), then `+ bias` on the last block.
#[inline(always)]
fn merge_store<const M: usize>(
    acc: &[[f32x8; NV]; M],
    c: &mut [&mut [f32]],
    col: usize,
    bias: &[f32],
    m: Merge,
) {
    for (row, acc_row) in c.iter_mut().zip(acc) {
        let row = &mut row[col..];
        let ncols = row.len().min(NR);
        for (v, &a) in acc_row.iter().enumerate() {
            let lo = v * 8;
            if lo >= ncols {
                break;
            }
            let hi = (lo + 8).min(ncols);
            let dst = &mut row[lo..hi];
            let mut s = a;
            if !m.first {
                s = crate::simd::load(dst) + s;
            }
            if m.last {
                s += crate::simd::load(&bias[lo..lo + 8]);
            }
            crate::simd::store(s, dst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scalar model of one block with the same operation order (FMA per k, then merge).
    fn model(
        mr: usize,
        kc: usize,
        a: &[f32],
        b: &[f32],
        c0: &[f32],
        bias: &[f32],
        m: Merge,
    ) -> Vec<f32> {
        let mut out = c0.to_vec();
        for i in 0..mr {
            for j in 0..NR {
                let mut s = 0.0f32;
                for k in 0..kc {
                    // wide's own FMA on one lane: fused where the target has FMA, else the same
                    // two roundings the kernel does.
                    let (av, bv) = (f32x8::splat(a[k * mr + i]), f32x8::splat(b[k * NR + j]));
                    s = av.mul_add(bv, f32x8::splat(s)).to_array()[0];
                }
                let mut v = if m.first { s } else { c0[i * NR + j] + s };
                if m.last {
                    v += bias[j];
                }
                out[i * NR + j] = v;
            }
        }
        out
    }

    #[test]
    fn every_row_count_and_merge_mode_matches_the_scalar_model_bit_for_bit() {
        let kc = 13;
        for mr in 1..=MR {
            for (first, last) in [(true, true), (true, false), (false, false), (false, true)] {
                let m = Merge { first, last };
                let a = lnl_core::testdata::normal_vec(kc * mr, mr as u64);
                let bf = lnl_core::testdata::normal_vec(kc * NR, 77);
                let b: Vec<f32x8> = bf.chunks_exact(8).map(crate::simd::load).collect();
                let bias = lnl_core::testdata::normal_vec(NR, 5);
                let c0 = lnl_core::testdata::normal_vec(mr * NR, 6);
                let want = model(mr, kc, &a, &bf, &c0, &bias, m);
                // No prefetch, prefetch over part of the loop (rests of every length mod UNROLL:
                // the unrolled loop and each tail), and over more lines than steps.
                for pf_lines in [0, 4, 5, 6, 7, 20] {
                    let pf = vec![f32x8::ZERO; pf_lines * NV];
                    let mut c = c0.clone();
                    let mut rows: Vec<&mut [f32]> = c.chunks_mut(NR).collect();
                    block(mr, &a, &b, &pf, &mut rows, 0, &bias, m);
                    assert_eq!(c, want, "mr {mr} {m:?} prefetch lines {pf_lines}");
                }
            }
        }
    }

    #[test]
    fn narrow_blocks_write_only_their_columns() {
        let (mr, kc, ncols) = (3, 4, 11);
        let a = vec![1.0; kc * mr];
        let b = vec![f32x8::splat(1.0); kc * NV];
        let mut c = vec![-1.0f32; mr * NR];
        let mut rows: Vec<&mut [f32]> = c.chunks_mut(NR).map(|r| &mut r[..ncols]).collect();
        block(
            mr,
            &a,
            &b,
            &[],
            &mut rows,
            0,
            &[0.5; NR],
            Merge {
                first: true,
                last: true,
            },
        );
        for r in c.chunks(NR) {
            assert!(r[..ncols].iter().all(|&v| v == 4.5));
            assert!(r[ncols..].iter().all(|&v| v == -1.0));
        }
    }
}
