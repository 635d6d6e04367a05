//! The built layers: [`CpuLayer`] (unfused or fused LayerNorm + Linear) and [`BareGemm`]
//! (`y = x · W^T + b` alone, for benchmarks). All share the packed `W`, the driver and the
//! microkernel; unfused and fused differ only in what feeds the `A` packing.

use crate::driver::{self, Plan};
use crate::pack_a::{NormalisedRows, PlainRows};
use crate::packed_w::PackedW;
use crate::row_stats::row_stats;
use crate::scratch::{self, Kind};
use crate::simd::{load, normalise, store, LANES};
use lnl_core::row_stats::RowStats;
use lnl_core::{validate, LayerInfo, LayerNormLinear, LayerParams, Result, Strategy};
use rayon::prelude::*;
use std::sync::Arc;
use wide::f32x8;

/// Rows per parallel job of the row-wise passes (statistics, unfused LayerNorm).
const ROWS_PER_JOB: usize = 16;

/// Where a layer's parallel work runs.
#[derive(Clone, Default)]
pub(crate) struct Exec {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Exec {
    pub(crate) fn new(pool: Option<Arc<rayon::ThreadPool>>) -> Self {
        Self { pool }
    }

    /// Runs `f(threads)`. Small calls run on the calling thread with `threads = 1` (no pool
    /// dispatch); others inside the layer's pool, or rayon's current one.
    fn run<R: Send>(&self, rows: usize, w: &PackedW, f: impl FnOnce(usize) -> R + Send) -> R {
        let tiny = driver::threads_for(rows, w.hidden(), w.out()) == 1;
        match &self.pool {
            _ if tiny => f(1),
            Some(pool) => pool.install(|| f(rayon::current_num_threads())),
            None => f(rayon::current_num_threads()),
        }
    }

    fn threads_desc(&self) -> String {
        match &self.pool {
            Some(p) => format!("{} threads (own pool)", p.current_num_threads()),
            None => format!("{} threads (rayon pool)", rayon::current_num_threads()),
        }
    }
}

/// A LayerNorm + Linear layer on the CPU, `W` packed at build time.
pub struct CpuLayer {
    w: PackedW,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
    strategy: Strategy,
    exec: Exec,
    device: String,
}

impl CpuLayer {
    pub(crate) fn new(
        params: &LayerParams,
        strategy: Strategy,
        exec: Exec,
        device: String,
    ) -> Self {
        Self {
            w: PackedW::new(params),
            gamma: params.gamma().to_vec(),
            beta: params.beta().to_vec(),
            eps: params.eps(),
            strategy,
            exec,
            device,
        }
    }

    fn unfused(&self, x: &[f32], rows: usize, y: &mut [f32], threads: usize) {
        let h = self.w.hidden();
        // The normalised tensor goes to memory (per-thread staging, reused across calls).
        scratch::with(Kind::Stage, rows * h, |xn| {
            for_rows(threads, x, h, xn, h, |row, out| {
                layer_norm_row(row, out, &self.gamma, &self.beta, self.eps)
            });
            let src = PlainRows { x: xn, hidden: h };
            driver::run(Plan::for_rows(rows), &self.w, &src, rows, y, threads);
        });
    }

    fn fused(&self, x: &[f32], rows: usize, y: &mut [f32], threads: usize) {
        let h = self.w.hidden();
        // The 2-floats-per-row pre-pass; normalisation happens while packing.
        let mut stats = vec![
            RowStats {
                mean: 0.0,
                rstd: 0.0
            };
            rows
        ];
        for_rows(threads, x, h, &mut stats, 1, |row, s| {
            s[0] = row_stats(row, self.eps)
        });
        let src = NormalisedRows {
            x,
            hidden: h,
            stats: &stats,
            gamma: &self.gamma,
            beta: &self.beta,
        };
        driver::run(Plan::for_rows(rows), &self.w, &src, rows, y, threads);
    }
}

/// `f(row, out)` for every row of `x` (`hidden` long) and its `stride`-long slice of `out`, in
/// parallel jobs of at least [`ROWS_PER_JOB`] rows when `threads > 1`.
fn for_rows<T: Send>(
    threads: usize,
    x: &[f32],
    hidden: usize,
    out: &mut [T],
    stride: usize,
    f: impl Fn(&[f32], &mut [T]) + Sync + Send,
) {
    if threads > 1 {
        x.par_chunks(hidden)
            .zip(out.par_chunks_mut(stride))
            .with_min_len(ROWS_PER_JOB)
            .for_each(|(r, o)| f(r, o));
    } else {
        x.chunks(hidden)
            .zip(out.chunks_mut(stride))
            .for_each(|(r, o)| f(r, o));
    }
}

/// One row of the unfused LayerNorm: statistics, then the shared normalisation expression.
fn layer_norm_row(row: &[f32], out: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let s = row_stats(row, eps);
    let (mean, rstd) = (f32x8::splat(s.mean), f32x8::splat(s.rstd));
    for (((xc, oc), gc), bc) in row
        .chunks(LANES)
        .zip(out.chunks_mut(LANES))
        .zip(gamma.chunks(LANES))
        .zip(beta.chunks(LANES))
    {
        store(normalise(load(xc), mean, rstd, load(gc), load(bc)), oc);
    }
}

impl LayerNormLinear for CpuLayer {
    fn info(&self) -> LayerInfo {
        LayerInfo {
            provider: "cpu",
            strategy: self.strategy,
            device: format!("{}, {}", self.device, self.exec.threads_desc()),
            hidden: self.w.hidden(),
            out: self.w.out(),
        }
    }

    /// Same checks as the trait's default, without building [`LayerInfo`] (its device string
    /// costs an allocation, a noticeable share of a sub-microsecond call).
    fn forward_into(&self, x: &[f32], rows: usize, y: &mut [f32]) -> Result<()> {
        validate::check_forward(self.w.hidden(), self.w.out(), rows, x.len(), y.len())?;
        if rows == 0 {
            return Ok(());
        }
        self.compute(x, rows, y)
    }

    fn compute(&self, x: &[f32], rows: usize, y: &mut [f32]) -> Result<()> {
        self.exec.run(rows, &self.w, |threads| match self.strategy {
            Strategy::Unfused => self.unfused(x, rows, y, threads),
            Strategy::Fused => self.fused(x, rows, y, threads),
        });
        Ok(())
    }
}

/// `y = x · W^T + b` with no LayerNorm: the same packed `W`, driver and microkernel as the
/// layers, so benchmarks can compare fused against the bare GEMM.
///
/// ```
/// let params = lnl_core::testdata::random_params(64, 48, 1e-5, 1);
/// let gemm = lnl_cpu::BareGemm::new(&params);
/// let x = lnl_core::testdata::normal_vec(3 * 64, 2);
/// let mut y = vec![0.0; 3 * 48];
/// gemm.run(&x, 3, &mut y)?;
/// # Ok::<(), lnl_core::Error>(())
/// ```
pub struct BareGemm {
    w: PackedW,
    exec: Exec,
}

impl BareGemm {
    /// Packs `params.weight()` and the bias (gamma, beta, eps are ignored); rayon's pool.
    pub fn new(params: &LayerParams) -> Self {
        Self::with_exec(params, Exec::default())
    }

    /// Like [`new`](Self::new), running on `pool`.
    pub fn with_pool(params: &LayerParams, pool: Arc<rayon::ThreadPool>) -> Self {
        Self::with_exec(params, Exec::new(Some(pool)))
    }

    fn with_exec(params: &LayerParams, exec: Exec) -> Self {
        Self {
            w: PackedW::new(params),
            exec,
        }
    }

    /// Computes `y[rows, out] = x[rows, hidden] · W^T + b`. Errors on wrong lengths.
    pub fn run(&self, x: &[f32], rows: usize, y: &mut [f32]) -> Result<()> {
        self.run_with_plan(Plan::for_rows(rows), x, rows, y)
    }

    /// Like [`run`](Self::run) with an explicit partition, for measuring the decode/GEMM
    /// switch point.
    pub fn run_with_plan(&self, plan: Plan, x: &[f32], rows: usize, y: &mut [f32]) -> Result<()> {
        validate::check_forward(self.w.hidden(), self.w.out(), rows, x.len(), y.len())?;
        if rows == 0 {
            return Ok(());
        }
        let src = PlainRows {
            x,
            hidden: self.w.hidden(),
        };
        self.exec.run(rows, &self.w, |threads| {
            driver::run(plan, &self.w, &src, rows, y, threads)
        });
        Ok(())
    }
}
