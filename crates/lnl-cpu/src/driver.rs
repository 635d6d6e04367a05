//! The GEMM driver: `y[rows, out] = A · W^T + b`, where `A` comes from a [`RowSource`] (plain
//! rows or rows normalised while packed) and `W` is pre-packed. Two partitions of the same
//! work, both built on one panel pass (`panel_pass`) and the one microkernel:
//!
//! * **GEMM** (`rows > DECODE_MAX_ROWS`, 48): BLIS loop order. `k` is cut into blocks of [`KC`]
//!   (a `KC x NR` slice of a `W` panel, 32 KiB, about L1d); per block, row blocks of up to
//!   [`MC_MAX`] rows ([`MC_ONE_PASS`] when one block per thread holds all the rows) are packed
//!   into a per-thread buffer (`MC x KC`, <= 512 KiB, the size of L2)
//!   and swept against every panel of `W` (the `KC x out` block of `W`, 4 MiB at out = 4096,
//!   stays in the shared L3). Row blocks (and, when there are fewer row blocks than threads,
//!   column chunks) run in parallel, each through all its `k` blocks with no barrier.
//! * **Decode** (`rows <= DECODE_MAX_ROWS`): all rows are packed once, the output columns are
//!   split across threads, and each thread streams its panels of `W` start to end exactly once:
//!   a memory-bandwidth-bound pass.
//!
//! Both add the same `k` blocks to `C` in the same order, so they give identical bits, whatever
//! the thread count.

use crate::microkernel::{
    accumulate_into, block, merge_acc, one_row_panels, Acc, Merge, MR, NR, NV, STREAMS,
};
use crate::pack_a::{micro_panels, pack, packed_len, RowSource};
use crate::packed_w::PackedW;
use crate::prefetch;
use crate::scratch::{self, Kind};
use rayon::prelude::*;
use wide::f32x8;

/// `k` block: each output's sum over a block is one FMA chain, merged into `C` once per block.
/// 512 measured 5% faster than 256 on the 512-row GEMM shapes (fewer merges of `C`) although its
/// `KC x NR` slice of `W` (32 KiB) fills L1d; decode sweeps a block in [`DECODE_SLICE`] pieces.
pub const KC: usize = 512;
/// Decode's piece of a `k` block: a 16 KiB slice of a panel, in L1 while every micro-panel uses
/// it (a whole 512-block slice measured 3% slower at 8 rows).
pub const DECODE_SLICE: usize = 256;
/// Largest row block: `MC_MAX x KC` packed floats are 480 KiB (a 512 KiB L2; chosen when KC was
/// 256, and measured faster with KC = 512 at 2048 rows as well).
pub const MC_MAX: usize = 240;
/// Up to this many rows per thread, each thread takes one row block (512 KiB packed at KC = 512)
/// and so streams `W` once instead of twice: measured 2.5% faster at 512 rows on two
/// threads, where `MC_MAX` would cut 2 x 128-row blocks per thread; blocks this large are slower
/// when several are needed anyway (2048 rows: 2.7% slower than `MC_MAX`; docs/PERF.md).
pub const MC_ONE_PASS: usize = 256;
/// Up to this many rows take the decode partition. Measured (docs/PERF.md, bench group
/// `switch`, bare GEMM at H = O = 4096, three runs): decode is faster than the GEMM partition
/// at every row count up to 64 and the two cross between 96 and 128; 48 keeps a margin.
pub const DECODE_MAX_ROWS: usize = 48;
/// From this many rows, decode prefetches the next slice of `W` in software (in-process A/B,
/// prefetch vs none: 1 row 0.92-0.95x without, 2 rows level, 3, 4, 8 and 16 rows 8-15% slower
/// without).
pub const DECODE_PREFETCH_MIN_ROWS: usize = 2;
/// Below this many flops the whole call runs on the calling thread: a rayon dispatch costs
/// microseconds, more than the work.
pub const PAR_MIN_FLOPS: usize = 1 << 21;

/// Which partition a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Split the output columns; stream `W` once.
    Decode,
    /// BLIS-style blocked GEMM.
    Gemm,
}

impl Plan {
    /// The partition for `rows` rows.
    pub fn for_rows(rows: usize) -> Self {
        if rows <= DECODE_MAX_ROWS {
            Plan::Decode
        } else {
            Plan::Gemm
        }
    }
}

/// Threads worth using for a call of this size (1: run on the calling thread).
pub fn threads_for(rows: usize, hidden: usize, out: usize) -> usize {
    let flops = 2usize
        .saturating_mul(rows)
        .saturating_mul(hidden)
        .saturating_mul(out);
    if flops < PAR_MIN_FLOPS {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// `y = A · W^T + b` with the partition `plan`, on `threads` threads of the current rayon pool
/// (1: sequential on this thread). `y` is `[rows, out]`.
pub fn run<S: RowSource>(
    plan: Plan,
    w: &PackedW,
    src: &S,
    rows: usize,
    y: &mut [f32],
    threads: usize,
) {
    match plan {
        Plan::Decode => decode(w, src, rows, y, threads),
        Plan::Gemm => gemm(w, src, rows, y, threads),
    }
}

/// One thread's piece of `y`: rows `r0..r0 + rows.len()`, panels `p0..p1`. Each row slice
/// starts at column `p0 * NR`.
struct Tile<'y> {
    r0: usize,
    rows: Vec<&'y mut [f32]>,
    p0: usize,
    p1: usize,
}

/// Cuts `y` (`[rows, n]`) into disjoint tiles: every row block times every panel chunk.
fn split_tiles<'y>(
    y: &'y mut [f32],
    n: usize,
    row_blocks: &[(usize, usize)],
    panel_chunks: &[(usize, usize)],
) -> Vec<Tile<'y>> {
    let mut tiles: Vec<Tile<'y>> = row_blocks
        .iter()
        .flat_map(|&(r0, r1)| {
            panel_chunks.iter().map(move |&(p0, p1)| Tile {
                r0,
                rows: Vec::with_capacity(r1 - r0),
                p0,
                p1,
            })
        })
        .collect();
    let mut rb = 0;
    for (r, mut rest) in y.chunks_mut(n).enumerate() {
        while r >= row_blocks[rb].1 {
            rb += 1;
        }
        let mut col = 0;
        for (ci, &(_, p1)) in panel_chunks.iter().enumerate() {
            let end = (p1 * NR).min(n);
            let (head, tail) = rest.split_at_mut(end - col);
            tiles[rb * panel_chunks.len() + ci].rows.push(head);
            rest = tail;
            col = end;
        }
    }
    tiles
}

/// `count` nearly equal contiguous ranges covering `0..len` (empty ranges dropped).
fn even_ranges(len: usize, count: usize, align: usize) -> Vec<(usize, usize)> {
    let count = count.clamp(1, len.max(1));
    let step = len.div_ceil(count).div_ceil(align) * align;
    (0..len)
        .step_by(step.max(1))
        .map(|s| (s, (s + step).min(len)))
        .collect()
}

/// Runs `f` on every tile, in parallel when `threads > 1` and there is more than one.
fn for_each_tile<'y>(tiles: Vec<Tile<'y>>, threads: usize, f: impl Fn(Tile<'y>) + Sync + Send) {
    if threads > 1 && tiles.len() > 1 {
        tiles.into_par_iter().for_each(f);
    } else {
        tiles.into_iter().for_each(f);
    }
}

/// One `k` range of one `W` panel against every micro-panel of a packed `A` block.
/// `a` holds the tile's rows packed over exactly `ks..ke` (the GEMM packs per `k` block).
/// `next_b` is the `W` slice the caller sweeps next: each block prefetches its share of it, one
/// line per `k` step of its FMA loop.
#[inline]
fn panel_pass(
    w: &PackedW,
    j: usize,
    a: &[f32],
    (ks, ke): (usize, usize),
    next_b: &[f32x8],
    tile: &mut Tile<'_>,
    merge: Merge,
) {
    let b = w.panel(j, ks, ke);
    let bias = w.bias(j);
    let col = (j - tile.p0) * NR;
    let mb = tile.rows.len();
    let blocks = mb.div_ceil(MR);
    let kl = ke - ks;
    for (p, (pr, mr)) in micro_panels(mb).enumerate() {
        let a_sub = &a[pr * kl..(pr + mr) * kl];
        // This block reads and writes its rows of C after its FMA loop: fetch them now.
        for row in &tile.rows[pr..pr + mr] {
            let end = row.len().min(col + NR);
            prefetch::ends(&row[col..end]);
        }
        let pf = prefetch_share(next_b, blocks, p);
        block(
            mr,
            a_sub,
            b,
            pf,
            &mut tile.rows[pr..pr + mr],
            col,
            bias,
            merge,
        );
    }
}

/// Micro-panel `p`'s share of `next` (the `W` the caller reads next) when `blocks` micro-panels
/// split it: whole lines, in order.
fn prefetch_share(next: &[f32x8], blocks: usize, p: usize) -> &[f32x8] {
    let step = next.len().div_ceil(blocks).next_multiple_of(NV);
    let rest = next.get(p * step..).unwrap_or(&[]);
    &rest[..step.min(rest.len())]
}

fn k_blocks(k: usize) -> impl Iterator<Item = ((usize, usize), Merge)> {
    (0..k).step_by(KC).map(move |ks| {
        let ke = (ks + KC).min(k);
        (
            (ks, ke),
            Merge {
                first: ks == 0,
                last: ke == k,
            },
        )
    })
}

fn decode<S: RowSource>(w: &PackedW, src: &S, rows: usize, y: &mut [f32], threads: usize) {
    let (k, n) = (w.hidden(), w.out());
    scratch::with(Kind::Stage, packed_len(rows, k), |a| {
        pack(src, 0, rows, 0, k, a);
        let a = &*a;
        // Several chunks per thread so a thread slowed by a neighbour's job is balanced out.
        let chunks = even_ranges(w.panels(), threads * 4, 1);
        let tiles = split_tiles(y, n, &[(0, rows)], &chunks);
        for_each_tile(tiles, threads, |mut t| {
            // One row: STREAMS panels at a time, read together (several streams of W in
            // flight per core); the panels left over, and more rows, one panel at a time.
            let mut first = t.p0;
            if rows == 1 {
                while first + STREAMS <= t.p1 {
                    let js: [usize; STREAMS] = std::array::from_fn(|s| first + s);
                    for ((ks, ke), merge) in k_blocks(k) {
                        one_row_panels(
                            &a[ks..ke],
                            js.map(|j| w.panel(j, ks, ke)),
                            &mut t.rows,
                            js.map(|j| (j - t.p0) * NR),
                            js.map(|j| w.bias(j)),
                            merge,
                        );
                    }
                    first += STREAMS;
                }
            }
            let mut acc = vec![[[f32x8::ZERO; NV]; MR]; rows.div_ceil(MR)];
            for j in first..t.p1 {
                for (kr, merge) in k_blocks(k) {
                    decode_block(w, j, a, rows, kr, &mut t, merge, &mut acc);
                }
            }
        });
    });
}

/// One `k` block of panel `j` for all the decode rows (`a`: every row packed over all of `k`;
/// `acc`: one register block of partial sums per micro-panel).
/// The block is swept in slices of [`DECODE_SLICE`] `k` so that each slice of `W` stays in L1
/// while every micro-panel uses it, the partial sums carried from slice to slice: the same bits
/// as one sweep of the block ([`accumulate_into`]). From [`DECODE_PREFETCH_MIN_ROWS`] rows the
/// next slice is prefetched during the FMA loops (decode streams each panel start to end); one
/// row is 2 FMAs per 64-byte line of W, where the hardware prefetcher keeps up alone and the
/// hints only cost (measured: docs/PERF.md).
#[allow(clippy::too_many_arguments)]
fn decode_block(
    w: &PackedW,
    j: usize,
    a: &[f32],
    rows: usize,
    (ks, ke): (usize, usize),
    t: &mut Tile<'_>,
    merge: Merge,
    acc: &mut [Acc],
) {
    let k = w.hidden();
    let blocks = rows.div_ceil(MR);
    acc.fill([[f32x8::ZERO; NV]; MR]);
    for ss in (ks..ke).step_by(DECODE_SLICE) {
        let se = (ss + DECODE_SLICE).min(ke);
        let b = w.panel(j, ss, se);
        let next = if rows >= DECODE_PREFETCH_MIN_ROWS {
            w.panel(j, se, (se + DECODE_SLICE).min(k))
        } else {
            &[]
        };
        for (p, ((pr, mr), acc)) in micro_panels(rows).zip(acc.iter_mut()).enumerate() {
            let a_sub = &a[pr * k + ss * mr..pr * k + se * mr];
            // Each micro-panel prefetches its share of the next slice.
            accumulate_into(mr, a_sub, b, prefetch_share(next, blocks, p), acc);
        }
    }
    let col = (j - t.p0) * NR;
    for ((pr, mr), acc) in micro_panels(rows).zip(acc.iter()) {
        merge_acc(mr, acc, &mut t.rows[pr..pr + mr], col, w.bias(j), merge);
    }
}

fn gemm<S: RowSource>(w: &PackedW, src: &S, rows: usize, y: &mut [f32], threads: usize) {
    let (k, n) = (w.hidden(), w.out());
    // Equal row blocks, a multiple of the thread count: one per thread when that keeps them
    // within MC_ONE_PASS rows, else none above MC_MAX.
    let blocks = if rows.div_ceil(threads) <= MC_ONE_PASS {
        threads
    } else {
        rows.div_ceil(MC_MAX).div_ceil(threads) * threads
    };
    let row_blocks = even_ranges(rows, blocks, MR);
    let col_chunks = if row_blocks.len() >= threads {
        vec![(0, w.panels())]
    } else {
        even_ranges(w.panels(), threads.div_ceil(row_blocks.len()), 1)
    };
    let tiles = split_tiles(y, n, &row_blocks, &col_chunks);
    // Each tile runs all its `k` blocks with no barrier between them: the threads stay close
    // enough that the one behind finds the `KC x out` block of `W` in L3.
    for_each_tile(tiles, threads, |mut t| {
        let mb = t.rows.len();
        for (kr, merge) in k_blocks(k) {
            let kl = kr.1 - kr.0;
            scratch::with(Kind::Pack, packed_len(mb, kl), |a| {
                pack(src, t.r0, mb, kr.0, kl, a);
                for j in t.p0..t.p1 {
                    // The GEMM sweeps the panels of one `k` block: the next panel's slice.
                    let next = if j + 1 < t.p1 {
                        w.panel(j + 1, kr.0, kr.1)
                    } else {
                        &[]
                    };
                    panel_pass(w, j, a, kr, next, &mut t, merge);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack_a::PlainRows;
    use lnl_core::testdata::{normal_vec, random_params};

    fn f64_gemm(p: &lnl_core::LayerParams, x: &[f32], rows: usize) -> Vec<f64> {
        let (h, o) = (p.hidden(), p.out());
        let mut y = vec![0.0; rows * o];
        for r in 0..rows {
            for c in 0..o {
                let d: f64 = (0..h)
                    .map(|k| x[r * h + k] as f64 * p.weight()[c * h + k] as f64)
                    .sum();
                y[r * o + c] = d + p.bias().unwrap()[c] as f64;
            }
        }
        y
    }

    #[test]
    fn both_plans_give_the_same_bits_on_any_thread_count_and_match_f64() {
        // k spans one to three KC blocks (the last partial, decode slices of it too), out spans a
        // partial panel; 500 rows take
        // MC_MAX blocks on one thread and one block of 250 (> MC_MAX) per thread on two; one row
        // over 49 panels gives each decode tile (4 per thread) groups of STREAMS panels and a rest.
        let shapes = [
            (1, 600, 37),
            (7, 300, 16),
            (13, 520, 50),
            (31, 257, 33),
            (500, 300, 20),
            (1, 300, 770),
            (9, 1100, 40),
        ];
        for &(rows, h, o) in &shapes {
            let p = random_params(h, o, 1e-5, rows as u64);
            let w = PackedW::new(&p);
            let x = normal_vec(rows * h, 9);
            let src = PlainRows { x: &x, hidden: h };
            let mut base = vec![0.0; rows * o];
            run(Plan::Gemm, &w, &src, rows, &mut base, 1);
            let want = f64_gemm(&p, &x, rows);
            for (i, (&g, &e)) in base.iter().zip(&want).enumerate() {
                assert!(
                    (g as f64 - e).abs() < 1e-4 * (1.0 + e.abs()),
                    "{i}: {g} vs {e}"
                );
            }
            for plan in [Plan::Decode, Plan::Gemm] {
                for threads in [1, 2, 3] {
                    let mut y = vec![f32::NAN; rows * o];
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    pool.install(|| run(plan, &w, &src, rows, &mut y, threads));
                    assert_eq!(y, base, "{plan:?} threads {threads} shape {rows}x{h}x{o}");
                }
            }
        }
    }

    #[test]
    fn tiles_cover_y_exactly_once() {
        let (rows, n) = (10, 50);
        let mut y = vec![0.0f32; rows * n];
        let tiles = split_tiles(&mut y, n, &[(0, 4), (4, 10)], &[(0, 2), (2, 4)]);
        assert_eq!(tiles.len(), 4);
        for t in tiles {
            for row in t.rows {
                for v in row.iter_mut() {
                    *v += 1.0;
                }
            }
        }
        assert!(y.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn even_ranges_cover_and_align() {
        let r = even_ranges(100, 3, 6);
        assert_eq!(r.first().unwrap().0, 0);
        assert_eq!(r.last().unwrap().1, 100);
        assert!(r.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 % 6 == 0));
        assert_eq!(even_ranges(5, 8, 1).len(), 5);
    }
}
