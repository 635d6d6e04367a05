//! A built layer: weights resident on the device, device-resident entry points, and the
//! host-slice `LayerNormLinear` on top of them.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use cudarc::driver::{
    CudaContext, CudaSlice, CudaStream, DevicePtr, DevicePtrMut, LaunchConfig, PushKernelArg,
};
use lnl_core::{validate, Error, LayerInfo, LayerNormLinear, LayerParams, Param, Result, Strategy};

use crate::device::{Device, DeviceInfo};
use crate::errors::{self, PROVIDER};
use crate::kernels::{gemm_threads, GEMM_TILES};
use crate::module_cache::{self, Kernels};
use crate::overlap;
use crate::plan::{self, Core};

/// The CUDA layer. All work is queued on [`stream`](Self::stream) in order; nothing here waits
/// for the device except the host-slice [`LayerNormLinear::forward`] (which must, to return y).
///
/// The context's per-slice event tracking is off (it would add hidden synchronisation and
/// breaks graph capture): buffers used on other streams must be synchronised by the caller.
#[derive(Debug)]
pub struct CudaLayer {
    device: Device,
    stream: Arc<CudaStream>,
    kernels: Arc<Kernels>,
    strategy: Strategy,
    hidden: usize,
    out: usize,
    eps: f32,
    /// Unfused: W. Fused: W' = W diag(gamma) (gamma folded in at build).
    weight: CudaSlice<f32>,
    /// Unfused: b, zeros when the layer has none (adding 0.0 changes no value).
    /// Fused: c = W beta + b (beta folded in at build, summed in f64).
    bias: CudaSlice<f32>,
    /// Unfused only: gamma and beta for the LayerNorm kernel.
    ln_params: Option<(CudaSlice<f32>, CudaSlice<f32>)>,
    /// Intermediate buffer reused across calls: xhat [rows, H] (unfused) or (mean, rstd) per row
    /// (fused GEMM path). Locked while a call queues its launches, so concurrent callers on the
    /// shared stream cannot interleave between the two kernels that use it.
    scratch: Mutex<Option<CudaSlice<f32>>>,
    /// The weight above transposed, `[hidden, out]`, for the W^T GEMM core
    /// (kernels/cuda/gemm_wt_tile.cu). Built on the device, in stream order, the first time a
    /// call's plan picks that core (or by `prepare`), then kept: it doubles the weight memory of
    /// layers that run such calls, and only theirs. Locked after `scratch`, never before.
    weight_t: Mutex<Option<CudaSlice<f32>>>,
}

impl CudaLayer {
    pub(crate) fn new(device: Device, params: &LayerParams, strategy: Strategy) -> Result<Self> {
        let (h, o) = (params.hidden(), params.out());
        validate::fits_u32(Param::Weight, o, h)?;
        let kernels = module_cache::kernels(&device)?;
        let name = device.info.name.clone();
        let stream = device
            .ctx
            .new_stream()
            .map_err(|e| errors::device(&name, "cuStreamCreate", e))?;
        let up = |v: &[f32]| upload(&stream, &name, v);
        let (weight, bias, ln_params) = match strategy {
            Strategy::Unfused => {
                let bias = params
                    .bias()
                    .map_or_else(|| vec![0.0f32; o], <[f32]>::to_vec);
                let ln = (up(params.gamma())?, up(params.beta())?);
                (up(params.weight())?, up(&bias)?, Some(ln))
            }
            Strategy::Fused => {
                let (w, c) = fold_gamma_beta(params);
                (up(&w)?, up(&c)?, None)
            }
        };
        let layer = Self {
            weight,
            bias,
            ln_params,
            device,
            stream,
            kernels,
            strategy,
            hidden: h,
            out: o,
            eps: params.eps(),
            scratch: Mutex::new(None),
            weight_t: Mutex::new(None),
        };
        // The uploads read host memory that the caller may free after build returns.
        layer.sync()?;
        Ok(layer)
    }

    /// The stream every launch of this layer is queued on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }
    /// The CUDA context (the device's primary context).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.device.ctx
    }
    /// Facts about the device.
    pub fn device_info(&self) -> &DeviceInfo {
        &self.device.info
    }
    /// Unfused or fused.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The kernels a call with `rows` rows launches, in order (for reports and tests).
    pub fn launches(&self, rows: usize) -> Vec<String> {
        if rows == 0 {
            return Vec::new();
        }
        let core = plan::choose(&self.device.info, rows, self.hidden, self.out);
        let core_label = match self.ln_step(core) {
            LnStep::Layernorm => format!("{} + bias", core.name()),
            LnStep::RowStats => format!(
                "{} [centre while staging; rstd, bias in epilogue]",
                core.name()
            ),
            LnStep::InKernel => {
                format!("{} [stats, normalise on chip; bias]", core.name())
            }
        };
        match self.ln_step(core) {
            LnStep::Layernorm => vec!["layernorm".into(), core_label],
            LnStep::RowStats => vec!["row_stats".into(), core_label],
            LnStep::InKernel => vec![core_label],
        }
    }

    /// How the LayerNorm is done for this strategy and core: the one place that decides it,
    /// used by `forward_device`, `launches` and the scratch sizing.
    fn ln_step(&self, core: Core) -> LnStep {
        match (self.strategy, core) {
            (Strategy::Unfused, _) => LnStep::Layernorm,
            (Strategy::Fused, Core::Gemm { .. }) => LnStep::RowStats,
            (Strategy::Fused, _) => LnStep::InKernel,
        }
    }

    /// Copies host data to a new device buffer (queued on the layer's stream).
    pub fn upload(&self, data: &[f32]) -> Result<CudaSlice<f32>> {
        upload(&self.stream, &self.device.info.name, data)
    }

    /// A zeroed device buffer of `len` floats; `Error::OutOfMemory` when the device has no room.
    pub fn alloc_zeros(&self, len: usize) -> Result<CudaSlice<f32>> {
        let bytes = len.saturating_mul(4);
        self.stream
            .alloc_zeros::<f32>(len)
            .map_err(|e| errors::alloc(&self.device.info.name, bytes, e))
    }

    /// Copies a device buffer into `dst` and waits for the copy (this one synchronises).
    pub fn download(&self, src: &CudaSlice<f32>, dst: &mut [f32]) -> Result<()> {
        validate::check_len(Param::Output, dst.len(), src.len())?;
        self.stream
            .memcpy_dtoh(src, dst)
            .map_err(|e| errors::device(&self.device.info.name, "cuMemcpyDtoHAsync", e))?;
        self.sync()
    }

    /// Waits for all work queued on the layer's stream.
    pub fn sync(&self) -> Result<()> {
        self.stream
            .synchronize()
            .map_err(|e| errors::device(&self.device.info.name, "cuStreamSynchronize", e))
    }

    /// Sizes the reusable intermediate buffer for calls of up to `rows` rows, and builds the
    /// transposed weight if a call of `rows` rows uses it, so that such a call allocates nothing
    /// (do this before capturing calls into a CUDA graph).
    pub fn prepare(&self, rows: usize) -> Result<()> {
        let mut scratch = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        self.ensure_scratch(&mut scratch, self.scratch_len(rows)?)?;
        if rows > 0
            && self.uses_weight_t(plan::choose(&self.device.info, rows, self.hidden, self.out))
        {
            let mut wt = self.weight_t.lock().unwrap_or_else(|p| p.into_inner());
            self.ensure_weight_t(&mut wt)?;
        }
        Ok(())
    }

    fn uses_weight_t(&self, core: Core) -> bool {
        matches!(core, Core::Gemm { tile, .. } if GEMM_TILES[tile].w_transposed)
    }

    /// Builds W^T from the layer's weight on the device (queued on the stream), once.
    fn ensure_weight_t(&self, wt: &mut Option<CudaSlice<f32>>) -> Result<()> {
        if wt.is_some() {
            return Ok(());
        }
        let (o, h) = (self.out, self.hidden);
        let name = &self.device.info.name;
        // SAFETY: the transpose queued right after writes every element.
        let mut buf = unsafe { self.stream.alloc::<f32>(o * h) }
            .map_err(|e| errors::alloc(name, o * h * 4, e))?;
        let (o32, h32) = (o as u32, h as u32);
        // O*H fits u32 (checked at build), so the tile count does too.
        let tiles = (o.div_ceil(32) * h.div_ceil(32)) as u32;
        let cfg = LaunchConfig {
            grid_dim: (tiles, 1, 1),
            block_dim: (TRANSPOSE_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut b = self.stream.launch_builder(&self.kernels.transpose);
        b.arg(&self.weight).arg(&mut buf).arg(&o32).arg(&h32);
        // SAFETY: argument list matches lnl_transpose (src, dst, rows, cols); weight holds O*H
        // floats (O rows of H), buf O*H; one block per 32 x 32 tile.
        unsafe { b.launch(cfg) }.map_err(|e| errors::device(name, "launch lnl_transpose", e))?;
        *wt = Some(buf);
        Ok(())
    }

    fn scratch_len(&self, rows: usize) -> Result<usize> {
        if rows == 0 {
            return Ok(0);
        }
        let core = plan::choose(&self.device.info, rows, self.hidden, self.out);
        Ok(match self.ln_step(core) {
            LnStep::Layernorm => validate::checked_elems(Param::X, rows, self.hidden)?,
            LnStep::RowStats => validate::checked_elems(Param::Rows, rows, 2)?,
            LnStep::InKernel => 0,
        })
    }

    fn ensure_scratch(&self, scratch: &mut Option<CudaSlice<f32>>, len: usize) -> Result<()> {
        if len > scratch.as_ref().map_or(0, |s| s.len()) {
            // The old buffer is freed in stream order, after the work that used it.
            *scratch = None;
            // SAFETY: every element a kernel reads from scratch is written earlier in the same
            // call by the layernorm or row-statistics kernel, in stream order.
            let buf = unsafe { self.stream.alloc::<f32>(len) }
                .map_err(|e| errors::alloc(&self.device.info.name, len * 4, e))?;
            *scratch = Some(buf);
        }
        Ok(())
    }

    /// `y = W·LN(x) + b` on device buffers: `x` is `[rows, hidden]`, `y` is `[rows, out]`, both
    /// of exactly that length and on this layer's context. Queued on [`stream`](Self::stream);
    /// returns before the device finishes. Zero rows queues nothing.
    pub fn forward_device(
        &self,
        x: &CudaSlice<f32>,
        rows: usize,
        y: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let (h, o) = (self.hidden, self.out);
        validate::check_forward(h, o, rows, x.len(), y.len())?;
        if rows == 0 {
            return Ok(());
        }
        validate::fits_u32(Param::X, rows, h)?;
        validate::fits_u32(Param::Output, rows, o)?;
        let name = &self.device.info.name;
        for (s, what) in [(x.context(), "x"), (y.context(), "y")] {
            if s.cu_ctx() != self.device.ctx.cu_ctx() {
                return Err(Error::Device {
                    provider: PROVIDER.into(),
                    device: name.clone(),
                    message: format!("{what} belongs to another CUDA context"),
                });
            }
        }
        let core = plan::choose(&self.device.info, rows, h, o);
        let (rows32, h32, o32) = (rows as u32, h as u32, o as u32);
        let k = &self.kernels;
        let launch_err = |what: &'static str| move |e| errors::device(name, what, e);

        let mut scratch = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        self.ensure_scratch(&mut scratch, self.scratch_len(rows)?)?;
        let mut weight_t = self.weight_t.lock().unwrap_or_else(|p| p.into_inner());
        if self.uses_weight_t(core) {
            self.ensure_weight_t(&mut weight_t)?;
        }
        // Both LayerNorm steps share one launch plan, so the paths differ only in what they write.
        let rl = plan::row_launch(&self.device.info, rows, h);
        let row_cfg = LaunchConfig {
            grid_dim: (rl.blocks, 1, 1),
            block_dim: (rl.threads, 1, 1),
            shared_mem_bytes: 0,
        };
        // LayerNorm step: unfused writes xhat to scratch; the fused GEMM path writes only the
        // row statistics; the fused tiny and GEMV paths do it inside their one kernel.
        match self.ln_step(core) {
            LnStep::Layernorm => {
                let (gamma, beta) = self
                    .ln_params
                    .as_ref()
                    .expect("unfused layers keep gamma, beta");
                let xhat = scratch.as_mut().expect("scratch sized above");
                let mut b = self.stream.launch_builder(&k.layernorm);
                b.arg(x).arg(gamma).arg(beta).arg(xhat);
                b.arg(&rows32).arg(&h32).arg(&self.eps).arg(&rl.row_threads);
                // SAFETY: argument list matches lnl_layernorm; x is rows*H (checked), xhat holds
                // at least rows*H, gamma/beta hold H; the grid has a team for every row.
                unsafe { b.launch(row_cfg) }.map_err(launch_err("launch lnl_layernorm"))?;
            }
            LnStep::RowStats => {
                let stats = scratch.as_mut().expect("scratch sized above");
                let mut b = self.stream.launch_builder(&k.row_stats);
                b.arg(x).arg(stats).arg(&rows32).arg(&h32).arg(&self.eps);
                b.arg(&rl.row_threads);
                // SAFETY: argument list matches lnl_row_stats; stats holds at least 2*rows; the
                // grid has a team for every row.
                unsafe { b.launch(row_cfg) }.map_err(launch_err("launch lnl_row_stats"))?;
            }
            LnStep::InKernel => {}
        }
        let norm = usize::from(self.strategy == Strategy::Fused);
        // The core's A operand: xhat for unfused, x for fused.
        let a: &CudaSlice<f32> = match self.strategy {
            Strategy::Unfused => scratch.as_ref().expect("scratch sized above"),
            Strategy::Fused => x,
        };
        let (f, cfg) = match core {
            Core::Tiny {
                row_lanes,
                smem_bytes,
                blocks,
            } => {
                // [plain, norm_w8, norm_w32, norm_reg]; only norm_reg takes several blocks and
                // no shared memory.
                let (which, blocks, smem) = match (norm, row_lanes) {
                    (0, _) => (0, 1, smem_bytes),
                    (_, 1) => (3, blocks, 0),
                    (_, 8) => (1, 1, smem_bytes),
                    _ => (2, 1, smem_bytes),
                };
                let cfg = LaunchConfig {
                    grid_dim: (blocks, 1, 1),
                    block_dim: (Core::tiny_threads(), 1, 1),
                    shared_mem_bytes: smem,
                };
                (&k.tiny[which], cfg)
            }
            Core::Gemv {
                rows_per_group,
                row_groups,
                threads,
                blocks,
                smem_bytes,
            } => {
                let cfg = LaunchConfig {
                    grid_dim: (blocks, row_groups, 1),
                    block_dim: (threads, 1, 1),
                    shared_mem_bytes: smem_bytes,
                };
                (&k.gemv[norm][Core::gemv_index(rows_per_group)], cfg)
            }
            Core::Gemm {
                vec,
                tile,
                blocks,
                smem_bytes,
            } => {
                // The W^T core reads W^T [H, O], the other core W [O, H].
                let w = if GEMM_TILES[tile].w_transposed {
                    weight_t.as_ref().expect("built above")
                } else {
                    &self.weight
                };
                let vec = vec && aligned16(a, &self.stream) && aligned16(w, &self.stream);
                // The fused kernel reads (mean, rstd) from scratch; the plain one ignores it.
                let stats: &CudaSlice<f32> = match self.strategy {
                    Strategy::Fused => scratch.as_ref().expect("scratch sized above"),
                    Strategy::Unfused => &self.bias,
                };
                let f = &k.gemm[norm][usize::from(vec)][tile];
                let cfg = LaunchConfig {
                    grid_dim: (blocks, 1, 1),
                    block_dim: (gemm_threads(tile), 1, 1),
                    shared_mem_bytes: smem_bytes,
                };
                let (pa, _ga) = a.device_ptr(&self.stream);
                let (pw, _gw) = w.device_ptr(&self.stream);
                let (pb, _gb) = self.bias.device_ptr(&self.stream);
                let (ps, _gs) = stats.device_ptr(&self.stream);
                let (py, _gy) = y.device_ptr_mut(&self.stream);
                let mut params = [
                    &pa as *const u64 as *mut c_void,
                    &pw as *const u64 as *mut c_void,
                    &pb as *const u64 as *mut c_void,
                    &py as *const u64 as *mut c_void,
                    &rows32 as *const u32 as *mut c_void,
                    &o32 as *const u32 as *mut c_void,
                    &h32 as *const u32 as *mut c_void,
                    &ps as *const u64 as *mut c_void,
                ];
                let per_sm = k.gemm_per_sm[norm][usize::from(vec)][tile]
                    .min(plan::blocks_by_smem(&self.device.info, smem_bytes));
                let early_start = overlap::enabled(self.device.info.cc)
                    && overlap::placement_safe(blocks, per_sm, self.device.info.sm_count);
                // SAFETY: params are lnl_gemm_*'s (a, w, bias, c, m, n, k, stats), each pointing
                // to a value of that type that outlives the launch; a is rows*H, w is O*H (W or W^T),
                // bias O, y rows*O, stats 2*rows (fused); one block per output tile of y; the
                // dynamic shared memory is the tile's pipeline, within the limit set at module
                // load. With overlap, the GEMM reads a and stats only after the kernel before
                // it has finished (grid_dependency.cu).
                unsafe {
                    if early_start {
                        overlap::launch_overlapped(&self.stream, f, cfg, &mut params)
                    } else {
                        cudarc::driver::result::launch_kernel(
                            f.cu_function(),
                            cfg.grid_dim,
                            cfg.block_dim,
                            cfg.shared_mem_bytes,
                            self.stream.cu_stream(),
                            &mut params,
                        )
                    }
                }
                .map_err(launch_err("launch lnl_gemm"))?;
                return Ok(());
            }
        };
        let mut b = self.stream.launch_builder(f);
        b.arg(a).arg(&self.weight).arg(&self.bias).arg(&mut *y);
        b.arg(&rows32).arg(&h32).arg(&o32).arg(&self.eps);
        // SAFETY: argument list matches lnl_tiny_* / lnl_gemv_*; a is rows*H, W is O*H, bias O,
        // y rows*O; the dynamic shared memory is within the limit set at module load.
        unsafe { b.launch(cfg) }.map_err(launch_err("launch lnl_tiny/lnl_gemv"))?;
        Ok(())
    }
}

/// Threads of an `lnl_transpose` block (32 x 8; its `__launch_bounds__`, kernels/cuda/transpose.cu).
const TRANSPOSE_THREADS: u32 = 256;

/// Where the LayerNorm of a call happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LnStep {
    /// Unfused: `lnl_layernorm` writes xhat to device memory.
    Layernorm,
    /// Fused GEMM: `lnl_row_stats` writes (mean, rstd) per row; the GEMM normalises.
    RowStats,
    /// Fused tiny / GEMV: inside the one kernel, in shared memory.
    InKernel,
}

/// The fused layer's weights: W' = W diag(gamma) (each product rounded once, as an f32
/// multiply would) and c = W beta + b summed in f64, so the fused kernels only centre and scale.
fn fold_gamma_beta(params: &LayerParams) -> (Vec<f32>, Vec<f32>) {
    let h = params.hidden();
    let (g, beta) = (params.gamma(), params.beta());
    let mut w = Vec::with_capacity(params.weight().len());
    let mut c = Vec::with_capacity(params.out());
    for (o, row) in params.weight().chunks_exact(h).enumerate() {
        w.extend(row.iter().zip(g).map(|(&a, &b)| a * b));
        let wb: f64 = row
            .iter()
            .zip(beta)
            .map(|(&a, &b)| a as f64 * b as f64)
            .sum();
        c.push((wb + params.bias().map_or(0.0, |b| b[o] as f64)) as f32);
    }
    (w, c)
}

fn aligned16(s: &CudaSlice<f32>, stream: &CudaStream) -> bool {
    let (ptr, _guard) = s.device_ptr(stream);
    ptr % 16 == 0
}

fn upload(stream: &Arc<CudaStream>, device: &str, data: &[f32]) -> Result<CudaSlice<f32>> {
    // SAFETY: the whole buffer is written by the copy queued right after, in stream order.
    let mut buf = unsafe { stream.alloc::<f32>(data.len()) }
        .map_err(|e| errors::alloc(device, data.len() * 4, e))?;
    stream
        .memcpy_htod(data, &mut buf)
        .map_err(|e| errors::device(device, "cuMemcpyHtoDAsync", e))?;
    Ok(buf)
}

impl LayerNormLinear for CudaLayer {
    fn info(&self) -> LayerInfo {
        LayerInfo {
            provider: PROVIDER,
            strategy: self.strategy,
            device: self.device.info.describe(),
            hidden: self.hidden,
            out: self.out,
        }
    }

    fn compute(&self, x: &[f32], rows: usize, y: &mut [f32]) -> Result<()> {
        let xd = self.upload(x)?;
        // SAFETY: every element of y is written by the forward's last kernel before the copy.
        let mut yd = unsafe { self.stream.alloc::<f32>(y.len()) }
            .map_err(|e| errors::alloc(&self.device.info.name, y.len() * 4, e))?;
        self.forward_device(&xd, rows, &mut yd)?;
        self.download(&yd, y)
    }
}
