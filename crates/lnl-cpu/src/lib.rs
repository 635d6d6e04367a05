//! The `cpu` provider: LayerNorm + Linear on rayon and `wide` SIMD.
//!
//! Building blocks, each written once and shared by both strategies:
//!
//! * [`row_stats`]: two-pass row statistics (mean, then squared residuals;
//!   never `E[x^2] - mean^2`), with the scaled fallback of [`lnl_core::row_stats`].
//! * A packed GEMM in the BLIS split: `W` packed once at build time into `NR = 16`-column panels
//!   ([`PackedW`](crate::packed_w::PackedW)); `A` packed per block into `MR = 6`-row micro-panels
//!   ([`pack_a`]); a 6 x 16 FMA microkernel on `f32x8` with the bias applied in
//!   its store ([`microkernel`]); a driver blocking for L1/L2/L3 and
//!   parallel with rayon ([`driver`]), with a decode partition for 1 to
//!   [`DECODE_MAX_ROWS`] rows that splits the outputs across threads and streams `W` once.
//!
//! The strategies differ only in what feeds the `A` packing: **unfused** runs LayerNorm into a
//! `[rows, hidden]` buffer that the GEMM then packs; **fused** computes 2 floats per row (mean,
//! rstd) and normalises each element as it is packed, so the normalised tensor never exists.
//! Both evaluate the same expression on the same lanes and feed the same driver: their outputs
//! are bit-identical. Results are deterministic and independent of the thread count (every
//! output is summed in a fixed `k` order).
//!
//! Threads: rayon's global pool (`RAYON_NUM_THREADS`), or a pool of the layer's own via
//! [`CpuProvider::with_pool`]. Calls under about 2 MFLOP run on the calling thread.
//!
//! Two `unsafe` blocks in the crate, each kept because it measurably pays: a prefetch hint
//! (`prefetch.rs`) and the huge-page advice for the packed `W` (`huge_pages.rs`, Linux). The microkernel reaches full speed in safe code (slices turned into arrays, so bounds
//! checks vanish), and the output is split into disjoint tiles with `split_at_mut`.
//!
//! ```
//! use lnl_core::{testdata, Provider, Strategy};
//! let params = testdata::random_params(64, 32, 1e-5, 1);
//! let layer = lnl_cpu::CpuProvider::default().build(&params, Strategy::Fused)?;
//! let y = layer.forward(&testdata::normal_vec(2 * 64, 2), 2)?;
//! assert_eq!(y.len(), 2 * 32);
//! # Ok::<(), lnl_core::Error>(())
//! ```

pub mod driver;
mod huge_pages;
mod isa;
mod layer;
pub mod microkernel;
pub mod pack_a;
pub mod packed_w;
mod prefetch;
pub mod row_stats;
mod scratch;
mod simd;

pub use driver::{Plan, DECODE_MAX_ROWS};
pub use layer::{BareGemm, CpuLayer};

use lnl_core::{Error, LayerNormLinear, LayerParams, Provider, Result, Strategy};
use std::sync::Arc;

/// The CPU provider. `Default` uses rayon's global pool; [`with_pool`](Self::with_pool) gives
/// the layers it builds a pool of their own.
#[derive(Clone, Default)]
pub struct CpuProvider {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl std::fmt::Debug for CpuProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuProvider")
            .field(
                "own_pool_threads",
                &self.pool.as_ref().map(|p| p.current_num_threads()),
            )
            .finish()
    }
}

impl CpuProvider {
    /// A provider whose layers run on `pool` instead of rayon's global pool.
    pub fn with_pool(pool: Arc<rayon::ThreadPool>) -> Self {
        Self { pool: Some(pool) }
    }
}

fn unavailable(reason: String) -> Error {
    Error::Unavailable {
        provider: "cpu".into(),
        reason,
    }
}

impl Provider for CpuProvider {
    fn name(&self) -> &'static str {
        "cpu"
    }

    /// The CPU model and ISA, or `Unavailable` when the CPU lacks what the binary was compiled
    /// for (e.g. an x86-64-v3 build on a CPU without AVX2/FMA).
    fn probe(&self) -> Result<String> {
        let isa = isa::check().map_err(unavailable)?;
        Ok(format!("{} ({isa})", isa::cpu_model()))
    }

    fn build(&self, params: &LayerParams, strategy: Strategy) -> Result<Box<dyn LayerNormLinear>> {
        let device = self.probe()?;
        Ok(Box::new(CpuLayer::new(
            params,
            strategy,
            layer::Exec::new(self.pool.clone()),
            device,
        )))
    }
}
