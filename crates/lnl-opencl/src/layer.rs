//! The built layer: weights resident on the device, both strategies, device-resident entry
//! points for timings that exclude host transfers, and `LayerNormLinear` on top.
//!
//! Unfused: `layernorm` writes xhat `[rows, H]`, then the GEMM (or, for few rows, the GEMV)
//! reads it; bias in the epilogue. Fused: gamma and beta are folded into the weights when the
//! layer is built (W' = W diag(gamma) rounded once to f32; c = W beta + b summed in f64), so the
//! kernels only standardise x, (x - mean) * rstd, and add c in the epilogue; xhat never exists
//! in global memory. Many rows: `row_stats` (8 bytes per row) then the GEMM standardising x
//! tiles on their way into local memory. Few rows: one GEMV launch that computes its rows'
//! statistics itself: the mean first, then x centred as it is staged, the sum of squared
//! residuals taken from the staged values, rstd applied to each output's sum in the epilogue.
//! Both strategies run the same GEMM/GEMV source; they differ only in the staging step and the
//! epilogue (kernels/opencl/staging.cl, gemv.cl). Where the configuration enables it, the fused
//! strategy's few rows take the register GEMV instead (gemv_xreg.cl, its own row blocks; a wide
//! variant, its own program, for the rows past the narrow one's block); the unfused strategy
//! never does (see `GemvTiles`).

use crate::config::{KernelConfig, XregVariant};
use crate::errors::{device_error, map_err, PROVIDER};
use crate::launch::{Arg, Launch};
use crate::runtime::{runtime, Runtime};
use lnl_core::validate::{check_len, checked_elems, fits_u32};
use lnl_core::{LayerInfo, LayerNormLinear, LayerParams, Param, Result, Strategy};
use ocl::core::{self as cl, ProfilingInfo, ProfilingInfoResult};
use ocl::Buffer;
use std::sync::{Arc, Mutex};

/// Per-layer kernel objects (clSetKernelArg is not thread-safe: one user at a time) and the
/// scratch buffer (stats or xhat), grown on demand.
struct State {
    norm: cl::Kernel,
    gemm: cl::Kernel,
    gemv: cl::Kernel,
    /// The register GEMV (gemv_xreg.cl): fused layers whose configuration enables it.
    gemvx: Option<cl::Kernel>,
    /// Its wide variant, where the runtime built one.
    gemvx_wide: Option<cl::Kernel>,
    scratch: Option<Buffer<f32>>,
}

impl State {
    fn gemvx(&self, variant: XregVariant) -> Option<&cl::Kernel> {
        match variant {
            XregVariant::Narrow => self.gemvx.as_ref(),
            XregVariant::Wide => self.gemvx_wide.as_ref(),
        }
    }
}

/// One LayerNorm + Linear layer on an OpenCL device.
pub struct OpenClLayer {
    rt: Arc<Runtime>,
    strategy: Strategy,
    hidden: usize,
    out: usize,
    eps: f32,
    /// W (unfused) or W diag(gamma) (fused).
    weight: Buffer<f32>,
    /// gamma and beta for the unfused LayerNorm kernel; `None` when fused (folded).
    gamma_beta: Option<(Buffer<f32>, Buffer<f32>)>,
    /// b (unfused; zeros when the layer has none: `acc + 0` is exact and the epilogue stays
    /// branch-free) or W beta + b (fused).
    bias: Buffer<f32>,
    state: Mutex<State>,
}

impl std::fmt::Debug for OpenClLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenClLayer")
            .field("device", &self.rt.description())
            .field("strategy", &self.strategy)
            .field("hidden", &self.hidden)
            .field("out", &self.out)
            .finish()
    }
}

/// Device time of one enqueued forward, from its first kernel's start to its last one's end.
pub struct ProfiledRun {
    first: cl::Event,
    last: cl::Event,
    /// One kernel: `first` is `last`.
    single: bool,
    /// The kernels' names, first (none when single) and last.
    names: (Option<&'static str>, &'static str),
}

impl ProfiledRun {
    fn stamp(ev: &cl::Event, what: ProfilingInfo) -> Result<u64> {
        match cl::get_event_profiling_info(ev, what) {
            Ok(ProfilingInfoResult::Start(v)) | Ok(ProfilingInfoResult::End(v)) => Ok(v),
            other => Err(device_error(
                "",
                "reading profiling info",
                format!("{other:?}"),
            )),
        }
    }

    /// Nanoseconds between the start of the first kernel and the end of the last. Call after
    /// the queue has finished.
    pub fn elapsed_ns(&self) -> Result<u64> {
        Ok(Self::stamp(&self.last, ProfilingInfo::End)?
            .saturating_sub(Self::stamp(&self.first, ProfilingInfo::Start)?))
    }

    /// Each kernel's own device time (start to end), first then last: the statistics or
    /// LayerNorm pass and the GEMM/GEMV; `None` for the first when the forward is one kernel.
    pub fn kernels_ns(&self) -> Result<(Option<u64>, u64)> {
        let own = |ev: &cl::Event| -> Result<u64> {
            Ok(Self::stamp(ev, ProfilingInfo::End)?
                .saturating_sub(Self::stamp(ev, ProfilingInfo::Start)?))
        };
        let first = (!self.single).then(|| own(&self.first)).transpose()?;
        Ok((first, own(&self.last)?))
    }

    /// The names of the kernels `kernels_ns` times: which GEMV or GEMM a forward took.
    pub fn kernel_names(&self) -> (Option<&'static str>, &'static str) {
        self.names
    }
}

impl OpenClLayer {
    /// Builds the layer on the selected device with the configuration chosen for it.
    pub fn new(params: &LayerParams, strategy: Strategy) -> Result<Self> {
        Self::on(runtime(None)?, params, strategy)
    }

    /// Builds the layer with explicit tile sizes (for tuning; it must fit the device).
    pub fn with_config(
        params: &LayerParams,
        strategy: Strategy,
        config: KernelConfig,
    ) -> Result<Self> {
        Self::on(runtime(Some(config))?, params, strategy)
    }

    fn on(rt: Arc<Runtime>, params: &LayerParams, strategy: Strategy) -> Result<Self> {
        let (h, o) = (params.hidden(), params.out());
        fits_u32(Param::Weight, o, h)?;
        let kernel = |program: &cl::Program, name: &str| {
            cl::create_kernel(program, name).map_err(|e| device_error(rt.description(), name, e))
        };
        let (norm, gemm, gemv) = match strategy {
            Strategy::Unfused => ("layernorm", "gemm_unfused", "gemv_unfused"),
            Strategy::Fused => ("row_stats", "gemm_fused", "gemv_fused"),
        };
        let xreg = strategy == Strategy::Fused && rt.config().gemv.xnt > 0;
        let gemvx = |program: Option<&cl::Program>| {
            let program = program.filter(|_| xreg);
            program.map(|p| kernel(p, "gemvx_fused")).transpose()
        };
        let state = State {
            norm: kernel(&rt.program, norm)?,
            gemm: kernel(&rt.program, gemm)?,
            gemv: kernel(&rt.program, gemv)?,
            gemvx: gemvx(Some(&rt.program_x))?,
            gemvx_wide: gemvx(rt.program_w.as_ref())?,
            scratch: None,
        };
        let (weight, gamma_beta, bias) = match strategy {
            Strategy::Unfused => {
                let bias = match params.bias() {
                    Some(b) => b.to_vec(),
                    None => vec![0.0f32; o],
                };
                let gb = (upload(&rt, params.gamma())?, upload(&rt, params.beta())?);
                (upload(&rt, params.weight())?, Some(gb), upload(&rt, &bias)?)
            }
            Strategy::Fused => {
                let (w, c) = fold(params);
                (upload(&rt, &w)?, None, upload(&rt, &c)?)
            }
        };
        Ok(Self {
            strategy,
            hidden: h,
            out: o,
            eps: params.eps(),
            weight,
            gamma_beta,
            bias,
            state: Mutex::new(state),
            rt,
        })
    }

    /// The device runtime (queue, configuration) this layer runs on.
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// Copies `data` into a new device buffer on this layer's queue.
    pub fn upload(&self, data: &[f32]) -> Result<Buffer<f32>> {
        upload(&self.rt, data)
    }

    /// A new device buffer of `len` elements (contents unspecified).
    pub fn alloc(&self, len: usize) -> Result<Buffer<f32>> {
        alloc(&self.rt, len)
    }

    /// Reads a device buffer back into `out` (blocking).
    pub fn download(&self, buf: &Buffer<f32>, out: &mut [f32]) -> Result<()> {
        check_len(Param::Output, buf.len(), out.len())?;
        buf.read(out)
            .enq()
            .map_err(|e| map_err(self.rt.description(), "reading a buffer", 0, e))
    }

    /// Blocks until everything enqueued on this layer's queue has finished.
    pub fn finish(&self) -> Result<()> {
        self.rt
            .queue()
            .finish()
            .map_err(|e| map_err(self.rt.description(), "clFinish", 0, e))
    }

    /// Enqueues `y = W·LN(x) + b` on device-resident `x` (`[rows, H]`) and `y` (`[rows, O]`)
    /// without waiting. Lengths must match exactly.
    pub fn enqueue(&self, x: &Buffer<f32>, rows: usize, y: &Buffer<f32>) -> Result<()> {
        self.run(x, rows, y, false).map(|_| ())
    }

    /// As [`enqueue`](Self::enqueue), returning the events that bound the forward's device time.
    /// `None` for zero rows (nothing is enqueued).
    pub fn enqueue_profiled(
        &self,
        x: &Buffer<f32>,
        rows: usize,
        y: &Buffer<f32>,
    ) -> Result<Option<ProfiledRun>> {
        self.run(x, rows, y, true)
    }

    /// Enqueues and waits: the device-resident forward.
    pub fn forward_device(&self, x: &Buffer<f32>, rows: usize, y: &Buffer<f32>) -> Result<()> {
        self.enqueue(x, rows, y)?;
        self.finish()
    }

    fn run(
        &self,
        x: &Buffer<f32>,
        rows: usize,
        y: &Buffer<f32>,
        profiled: bool,
    ) -> Result<Option<ProfiledRun>> {
        let (h, o) = (self.hidden, self.out);
        check_len(Param::X, checked_elems(Param::X, rows, h)?, x.len())?;
        check_len(
            Param::Output,
            checked_elems(Param::Output, rows, o)?,
            y.len(),
        )?;
        fits_u32(Param::Rows, rows, 1)?;
        if rows == 0 {
            return Ok(None);
        }
        let cfg = *self.rt.config();
        let dev = self.rt.description();
        let fused = self.strategy == Strategy::Fused;
        let few_rows = rows <= cfg.gemv_max_rows;
        // Scratch: xhat (unfused), per-row (mean, rstd) for the fused GEMM, none for the fused
        // GEMV (it computes its rows' statistics itself).
        let scratch_len = match (fused, few_rows) {
            (false, _) => rows * h,
            (true, false) => 2 * rows,
            (true, true) => 1,
        };

        // Held until every kernel is enqueued: the scratch and the kernels' arguments are ours.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let st = &mut *guard;
        if st.scratch.as_ref().is_none_or(|b| b.len() < scratch_len) {
            st.scratch = Some(alloc(&self.rt, scratch_len)?);
        }
        let scratch = st.scratch.as_ref().expect("allocated just above");
        let (m, n, k) = (rows as u32, o as u32, h as u32);
        let mut first = cl::Event::null();
        let mut last = cl::Event::null();
        let queue = self.rt.queue();

        // First pass, unless the fused GEMV does it all.
        let two_passes = !(fused && few_rows);
        let first_name = match (two_passes, fused) {
            (false, _) => None,
            (true, true) => Some("row_stats"),
            (true, false) => Some("layernorm"),
        };
        if let Some(name) = first_name {
            let norm_args: Vec<Arg> = match &self.gamma_beta {
                Some((gamma, beta)) => vec![
                    Arg::Mem(x),
                    Arg::U32(k),
                    Arg::F32(self.eps),
                    Arg::Mem(gamma),
                    Arg::Mem(beta),
                    Arg::Mem(scratch),
                    Arg::LocalF32(cfg.norm_wg),
                ],
                None => vec![
                    Arg::Mem(x),
                    Arg::U32(k),
                    Arg::F32(self.eps),
                    Arg::Mem(scratch),
                    Arg::LocalF32(cfg.norm_wg),
                ],
            };
            Launch {
                kernel: &st.norm,
                name,
                groups: [rows, 1],
                local: [cfg.norm_wg, 1],
            }
            .enqueue(
                queue,
                &norm_args,
                dev,
                4 * scratch_len,
                profiled.then_some(&mut first),
            )?;
        }

        let tail = [
            Arg::Mem(&self.weight),
            Arg::Mem(&self.bias),
            Arg::Mem(y),
            Arg::U32(m),
            Arg::U32(n),
            Arg::U32(k),
        ];
        let (launch, mut args) = if few_rows {
            let v = cfg.gemv;
            let cus = self.rt.compute_units();
            // The register GEMV's kernels exist for fused layers only; the variant keeps its
            // row blocks within two.
            let xreg = v.xreg_variant(h, rows);
            let launch = match xreg.and_then(|x| Some((x, st.gemvx(x)?))) {
                Some((x, kernel)) => Launch {
                    kernel,
                    name: x.kernel_name(),
                    groups: [v.xreg_groups(o, cus), rows.div_ceil(v.xreg_tiles(x).xr)],
                    local: [v.xnt, 1],
                },
                None => Launch {
                    kernel: &st.gemv,
                    name: if fused { "gemv_fused" } else { "gemv_unfused" },
                    groups: [v.groups(o, cus), rows.div_ceil(v.r)],
                    local: [v.work_group(), 1],
                },
            };
            let head = if fused {
                vec![Arg::Mem(x), Arg::F32(self.eps)]
            } else {
                vec![Arg::Mem(scratch)]
            };
            (launch, head)
        } else {
            let g = cfg.gemm;
            let launch = Launch {
                kernel: &st.gemm,
                name: if fused { "gemm_fused" } else { "gemm_unfused" },
                groups: [o.div_ceil(g.bn), rows.div_ceil(g.bm)],
                local: [g.work_group(), 1],
            };
            let head = if fused {
                vec![Arg::Mem(x), Arg::Mem(scratch)]
            } else {
                vec![Arg::Mem(scratch)]
            };
            (launch, head)
        };
        args.extend(tail);
        let last_name = launch.name;
        launch.enqueue(
            queue,
            &args,
            dev,
            4 * rows * o,
            profiled.then_some(&mut last),
        )?;
        if profiled && !two_passes {
            first = last.clone();
        }
        Ok(profiled.then_some(ProfiledRun {
            first,
            last,
            single: !two_passes,
            names: (first_name, last_name),
        }))
    }
}

/// The fused strategy's weights: W' = W diag(gamma) (one f32 rounding per element, within the
/// element-wise allowance of the tolerance) and c = W beta + b summed in f64, then rounded once.
fn fold(params: &LayerParams) -> (Vec<f32>, Vec<f32>) {
    let h = params.hidden();
    let (g, beta) = (params.gamma(), params.beta());
    let mut w = Vec::with_capacity(params.weight().len());
    let mut c = Vec::with_capacity(params.out());
    for (oi, row) in params.weight().chunks_exact(h).enumerate() {
        w.extend(row.iter().zip(g).map(|(&a, &gg)| a * gg));
        let wb: f64 = row
            .iter()
            .zip(beta)
            .map(|(&a, &b)| a as f64 * b as f64)
            .sum();
        c.push((wb + params.bias().map_or(0.0, |b| b[oi] as f64)) as f32);
    }
    (w, c)
}

fn upload(rt: &Runtime, data: &[f32]) -> Result<Buffer<f32>> {
    Buffer::<f32>::builder()
        .queue(rt.queue().clone())
        .len(data.len())
        .copy_host_slice(data)
        .build()
        .map_err(|e| map_err(rt.description(), "creating a buffer", 4 * data.len(), e))
}

fn alloc(rt: &Runtime, len: usize) -> Result<Buffer<f32>> {
    // NVIDIA's OpenCL accepts buffers beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE and fails only at first
    // use (seen on an H100, 2026-11-23): check the limit here so the error is OutOfMemory, at once.
    let bytes = len.max(1).saturating_mul(4);
    if rt.max_alloc_bytes().is_some_and(|max| bytes as u64 > max) {
        return Err(lnl_core::Error::OutOfMemory {
            provider: PROVIDER.into(),
            device: rt.description().to_string(),
            requested_bytes: bytes,
        });
    }
    Buffer::<f32>::builder()
        .queue(rt.queue().clone())
        .len(len.max(1))
        .build()
        .map_err(|e| map_err(rt.description(), "creating a buffer", 4 * len, e))
}

impl LayerNormLinear for OpenClLayer {
    fn info(&self) -> LayerInfo {
        LayerInfo {
            provider: PROVIDER,
            strategy: self.strategy,
            device: self.rt.description().to_string(),
            hidden: self.hidden,
            out: self.out,
        }
    }

    fn compute(&self, x: &[f32], rows: usize, y: &mut [f32]) -> Result<()> {
        let xb = self.upload(x)?;
        let yb = self.alloc(y.len())?;
        self.enqueue(&xb, rows, &yb)?;
        self.download(&yb, y)
    }
}
