//! The umbrella criterion bench: every compiled-in provider that can run here x both strategies
//! x the shape suite, timing `forward_into` on host slices (label `host`: for GPU providers the
//! time includes the transfers), plus the cpu provider's bare GEMM (same packed `W` and driver,
//! no LayerNorm) as the "LayerNorm for free" reference. Throughput is in elements = flops, so
//! criterion's "Gelem/s" reads as GFLOP/s.
//!
//!     cargo bench --bench suite [--features opencl]
//!
//! Environment (what `cargo xtask bench` sets):
//! - `LNL_BENCH_PROVIDERS=cpu,opencl`, `LNL_BENCH_SHAPES=seed,decode1`: filters.
//! - `LNL_BENCH_QUICK=1`: 10 samples, short windows, no ffn8192 unless named.
//! - `LNL_BENCH_MAX_CALL_S`: a (provider, shape) whose single call (after one warm-up call)
//!   takes longer, or is predicted from the provider's best rate so far to take over 3 times
//!   longer, is skipped with a note (default 1 s quick, 3 s otherwise: ffn8192 is ~0.7 TFLOP,
//!   seconds on a CPU). Once one strategy of a shape ran, the others get 3 times the limit.
//! - `LNL_BENCH_MANIFEST=path`: writes what ran (criterion ids, devices) and what was skipped
//!   and why, as JSON, for the report.
//!
//! Lines starting with `lnl-bench:` on stderr are progress for `cargo xtask bench`.

use criterion::{BenchmarkGroup, Criterion, Throughput};
use layernorm_linear::shapes::{SuiteShape, SUITE};
use layernorm_linear::testdata::{normal_vec, random_params};
use layernorm_linear::{registry, LayerNormLinear, LayerParams, Provider, Strategy};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};

struct Settings {
    providers: Option<Vec<String>>,
    shapes: Option<Vec<String>>,
    quick: bool,
    max_call_s: f64,
}

fn list_env(name: &str) -> Option<Vec<String>> {
    let v = std::env::var(name).ok().filter(|s| !s.trim().is_empty())?;
    Some(v.split(',').map(|s| s.trim().to_string()).collect())
}

impl Settings {
    fn from_env() -> Self {
        let quick = std::env::var("LNL_BENCH_QUICK").is_ok_and(|v| v == "1");
        let max_call_s = std::env::var("LNL_BENCH_MAX_CALL_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if quick { 1.0 } else { 3.0 });
        Self {
            providers: list_env("LNL_BENCH_PROVIDERS"),
            shapes: list_env("LNL_BENCH_SHAPES"),
            quick,
            max_call_s,
        }
    }

    fn wants_provider(&self, name: &str) -> bool {
        self.providers
            .as_ref()
            .is_none_or(|p| p.iter().any(|n| n == name))
    }

    fn shapes(&self) -> Vec<SuiteShape> {
        SUITE
            .iter()
            .copied()
            .filter(|s| match &self.shapes {
                Some(names) => names.iter().any(|n| n == s.name),
                // Quick: the ~0.7 TFLOP shape only when named.
                None => !(self.quick && s.name == "ffn8192"),
            })
            .collect()
    }

    fn configure(
        &self,
        g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
        one_call_s: f64,
    ) {
        let (warm, meas) = if self.quick { (0.3, 1.0) } else { (1.0, 3.0) };
        if self.quick || one_call_s * 100.0 > meas {
            g.sample_size(10);
        }
        g.warm_up_time(Duration::from_secs_f64(warm));
        g.measurement_time(Duration::from_secs_f64(meas));
    }
}

/// One thing to time: a built layer, or the cpu provider's bare GEMM.
enum Subject {
    Layer(Box<dyn LayerNormLinear>),
    #[cfg(feature = "cpu")]
    BareGemm(lnl_cpu::BareGemm),
}

impl Subject {
    fn run(&self, x: &[f32], rows: usize, y: &mut [f32]) -> layernorm_linear::Result<()> {
        match self {
            Subject::Layer(l) => l.forward_into(x, rows, y),
            #[cfg(feature = "cpu")]
            Subject::BareGemm(g) => g.run(x, rows, y),
        }
    }
}

/// What the report needs to know of each timing besides criterion's estimates.
struct Record {
    provider: String,
    device: String,
    shape: SuiteShape,
    strategy: String,
    variant: &'static str,
}

/// The criterion function id (and result folder) of one timing.
fn function_id(provider: &str, strategy: &str, variant: &str) -> String {
    format!("{provider}_{strategy}_{variant}")
}

impl Record {
    fn function_id(&self) -> String {
        function_id(&self.provider, &self.strategy, self.variant)
    }
}

struct Run {
    settings: Settings,
    /// The best rate (flop/s) each provider reached so far: a shape whose predicted call time
    /// is far over the limit is skipped without calling it (a ~40 s call just to skip it).
    best_rate: Vec<(String, f64)>,
    ran: Vec<Value>,
    skipped: Vec<Value>,
    providers: Vec<Value>,
}

impl Run {
    fn skip(&mut self, provider: &str, shape: Option<&str>, what: Option<&str>, reason: String) {
        let label = [Some(provider), shape, what]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
        eprintln!("lnl-bench: skip {label}: {reason}");
        self.skipped
            .push(json!({ "provider": provider, "shape": shape, "what": what, "reason": reason }));
    }

    /// Why a call of `shape` would be far over `limit` (3 times), predicted from the provider's
    /// best rate so far; `None` when it may run, or nothing has been measured yet.
    fn predicted_too_slow(&self, provider: &str, shape: &SuiteShape, limit: f64) -> Option<String> {
        let (_, rate) = self.best_rate.iter().find(|(p, _)| p == provider)?;
        let t = shape.flops() / rate;
        (t > 3.0 * limit).then(|| {
            format!(
                "predicted {t:.1} s per call from its best rate so far ({:.1} GFLOP/s), over the \
                 {limit:.1} s limit (LNL_BENCH_MAX_CALL_S raises it)",
                rate * 1e-9
            )
        })
    }

    /// [`Self::timed`], with a panic in a provider turned into a skip note: one provider's bug
    /// must not end the whole run (the panic message is in the log too).
    fn bench(
        &mut self,
        c: &mut Criterion,
        rec: Record,
        subject: Subject,
        x: &[f32],
        y: &mut [f32],
    ) {
        let (provider, shape, id) = (rec.provider.clone(), rec.shape.name, rec.function_id());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.timed(c, rec, subject, x, y)
        }));
        if let Err(p) = outcome {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let reason = format!("panicked (a bug in the provider): {msg}");
            self.skip(&provider, Some(shape), Some(&id), reason);
        }
    }

    /// Times `subject` under criterion. Before that: a skip when the provider's best rate so
    /// far predicts a call far over the limit; one untimed call (it also pays one-time costs such
    /// as PoCL's kernel compilation at first launch), then a second that gives the size of a
    /// call: over the limit, it is skipped, not timed.
    fn timed(
        &mut self,
        c: &mut Criterion,
        rec: Record,
        subject: Subject,
        x: &[f32],
        y: &mut [f32],
    ) {
        let id = rec.function_id();
        let rows = rec.shape.rows;
        // Once one strategy of this (provider, shape) ran, the others get slack: a report row
        // set of one strategy without the other compares nothing.
        let admitted = self
            .ran
            .iter()
            .any(|r| r["provider"] == rec.provider.as_str() && r["shape"] == rec.shape.name);
        let limit = self.settings.max_call_s * if admitted { 3.0 } else { 1.0 };
        if let Some(reason) = self.predicted_too_slow(&rec.provider, &rec.shape, limit) {
            return self.skip(&rec.provider, Some(rec.shape.name), Some(&id), reason);
        }
        let mut one = f64::INFINITY;
        for call in 0..2 {
            let t = Instant::now();
            if let Err(e) = subject.run(x, rows, y) {
                let reason = format!("call {} failed: {e}", call + 1);
                return self.skip(&rec.provider, Some(rec.shape.name), Some(&id), reason);
            }
            one = t.elapsed().as_secs_f64();
            if one > 30.0 * limit {
                break;
            }
        }
        if one > limit {
            let reason = format!(
                "one call takes {one:.2} s, over the {limit:.1} s limit (LNL_BENCH_MAX_CALL_S raises it)"
            );
            return self.skip(&rec.provider, Some(rec.shape.name), Some(&id), reason);
        }
        let r = rec.shape.flops() / one;
        match self.best_rate.iter_mut().find(|(p, _)| *p == rec.provider) {
            Some((_, best)) => *best = best.max(r),
            None => self.best_rate.push((rec.provider.clone(), r)),
        }
        eprintln!("lnl-bench: start {}/{id}", rec.shape.name);
        let mut g = c.benchmark_group(rec.shape.name);
        self.settings.configure(&mut g, one);
        g.throughput(Throughput::Elements(rec.shape.flops() as u64));
        g.bench_function(&id, |b| {
            b.iter(|| {
                subject
                    .run(black_box(x), rows, black_box(&mut *y))
                    .expect("forward failed mid-benchmark")
            })
        });
        g.finish();
        self.ran.push(json!({
            "group": rec.shape.name,
            "function": id,
            "provider": rec.provider,
            "device": rec.device,
            "shape": rec.shape.name,
            "rows": rec.shape.rows,
            "hidden": rec.shape.hidden,
            "out": rec.shape.out,
            "strategy": rec.strategy,
            "variant": rec.variant,
        }));
    }

    fn provider(&mut self, c: &mut Criterion, p: &dyn Provider, device: &str) {
        let name = p.name();
        for shape in self.settings.shapes() {
            // Before generating and packing ~100 MB of parameters for a shape that will not run.
            let limit = self.settings.max_call_s;
            if let Some(reason) = self.predicted_too_slow(name, &shape, limit) {
                let variants = Strategy::ALL
                    .iter()
                    .map(|s| s.name())
                    .chain((cfg!(feature = "cpu") && name == "cpu").then_some("bare_gemm"));
                for v in variants {
                    let id = function_id(name, v, "host");
                    self.skip(name, Some(shape.name), Some(&id), reason.clone());
                }
                continue;
            }
            let params = random_params(shape.hidden, shape.out, 1e-5, 42);
            let x = normal_vec(shape.rows * shape.hidden, 7);
            let mut y = vec![0.0f32; shape.rows * shape.out];
            for strategy in Strategy::ALL {
                let rec = Record {
                    provider: name.into(),
                    device: device.into(),
                    shape,
                    strategy: strategy.name().into(),
                    variant: "host",
                };
                match p.build(&params, strategy) {
                    Ok(layer) => self.bench(c, rec, Subject::Layer(layer), &x, &mut y),
                    Err(e) => self.skip(
                        name,
                        Some(shape.name),
                        Some(&rec.function_id()),
                        format!("build failed: {e}"),
                    ),
                }
            }
            self.bare_gemm(c, name, device, shape, &params, &x, &mut y);
        }
    }

    #[cfg(feature = "cpu")]
    #[allow(clippy::too_many_arguments)]
    fn bare_gemm(
        &mut self,
        c: &mut Criterion,
        name: &str,
        device: &str,
        shape: SuiteShape,
        params: &LayerParams,
        x: &[f32],
        y: &mut [f32],
    ) {
        if name != "cpu" {
            return;
        }
        let rec = Record {
            provider: name.into(),
            device: device.into(),
            shape,
            strategy: "bare_gemm".into(),
            variant: "host",
        };
        self.bench(
            c,
            rec,
            Subject::BareGemm(lnl_cpu::BareGemm::new(params)),
            x,
            y,
        );
    }

    #[cfg(not(feature = "cpu"))]
    #[allow(clippy::too_many_arguments)]
    fn bare_gemm(
        &mut self,
        _: &mut Criterion,
        _: &str,
        _: &str,
        _: SuiteShape,
        _: &LayerParams,
        _: &[f32],
        _: &mut [f32],
    ) {
    }
}

fn main() {
    let settings = Settings::from_env();
    let quick = settings.quick;
    let mut c = Criterion::default().configure_from_args();
    if quick {
        c = c.nresamples(10_000);
    }
    let mut run = Run {
        settings,
        best_rate: Vec::new(),
        ran: Vec::new(),
        skipped: Vec::new(),
        providers: Vec::new(),
    };
    if let Some(wanted) = run.settings.providers.clone() {
        for w in wanted
            .iter()
            .filter(|w| !registry::compiled().iter().any(|p| p.name() == w.as_str()))
        {
            let reason = match registry::by_name(w) {
                Err(e) => e.to_string(),
                Ok(_) => "not compiled in".into(),
            };
            run.skip(w, None, None, reason);
        }
    }
    // Probe first, so that the plan (for the progress bar) counts only what can run.
    let mut ready: Vec<(Box<dyn Provider>, String)> = Vec::new();
    for p in registry::compiled() {
        if !run.settings.wants_provider(p.name()) {
            continue;
        }
        match p.probe() {
            Ok(device) => {
                eprintln!("lnl-bench: provider {}: {device}", p.name());
                run.providers
                    .push(json!({ "provider": p.name(), "device": device }));
                ready.push((p, device));
            }
            Err(e) => run.skip(p.name(), None, None, e.to_string()),
        }
    }
    let per_shape = |p: &dyn Provider| {
        Strategy::ALL.len() + usize::from(cfg!(feature = "cpu") && p.name() == "cpu")
    };
    let planned: usize = ready
        .iter()
        .map(|(p, _)| run.settings.shapes().len() * per_shape(p.as_ref()))
        .sum();
    eprintln!("lnl-bench: plan {planned}");
    for (p, device) in &ready {
        run.provider(&mut c, p.as_ref(), device);
    }
    c.final_summary();
    if let Ok(path) = std::env::var("LNL_BENCH_MANIFEST") {
        let doc = json!({ "quick": quick, "providers": run.providers, "ran": run.ran, "skipped": run.skipped });
        let text = serde_json::to_string_pretty(&doc).expect("JSON of plain values");
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("lnl-bench: cannot write the manifest {path}: {e}");
            std::process::exit(1);
        }
    }
}
