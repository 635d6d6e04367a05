//! The classic fused-vs-unfused demonstration: correctness of every available provider and
//! strategy against the f64 reference, then timings, unfused vs fused.

use std::time::Instant;

use lnl_core::tolerance::{check, expected};
use lnl_core::{testdata, Error, LayerNormLinear, Provider, Strategy};
use serde_json::{json, Value};

use crate::registry;

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// `[batch, seq]` when given as `BxSxHxO`, for display only; `rows = batch * seq`.
    pub batch_seq: Option<(usize, usize)>,
    pub rows: usize,
    pub hidden: usize,
    pub out: usize,
    pub eps: f32,
    pub seed: u64,
    /// Timed calls per provider and strategy; `None` picks from the problem size.
    pub iters: Option<usize>,
    pub strategies: Vec<Strategy>,
    /// `None`: every compiled-in provider. `Some(name)`: that one (or `auto`).
    pub provider: Option<String>,
}

impl Default for DemoConfig {
    /// The seed configuration: batch 4, seq 4, hidden 8, out 16, eps 1e-5.
    fn default() -> Self {
        Self {
            batch_seq: Some((4, 4)),
            rows: 16,
            hidden: 8,
            out: 16,
            eps: 1e-5,
            seed: 42,
            iters: None,
            strategies: Strategy::ALL.to_vec(),
            provider: None,
        }
    }
}

impl DemoConfig {
    /// Timed calls: about 0.2 s of f32 work at 20 GFLOP/s, between 5 and 2000.
    pub fn iters(&self) -> usize {
        self.iters.unwrap_or_else(|| {
            let flops = 2.0 * (self.rows * self.hidden * self.out) as f64;
            (4e9 / flops.max(1.0)).clamp(5.0, 2000.0) as usize
        })
    }
}

/// One provider x strategy outcome.
#[derive(Debug, Clone)]
pub struct DemoResult {
    pub provider: &'static str,
    pub device: String,
    pub strategy: Strategy,
    pub correct: bool,
    pub max_diff: f64,
    /// Largest error over its derived bound (<= 1 is correct).
    pub max_ratio: f64,
    pub detail: String,
    pub iters: usize,
    pub median_s: f64,
}

/// The whole demonstration's outcome.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub config: DemoConfig,
    pub results: Vec<DemoResult>,
    pub unavailable: Vec<(String, String)>,
}

impl DemoReport {
    /// True when every result is correct.
    pub fn all_correct(&self) -> bool {
        self.results.iter().all(|r| r.correct)
    }
}

/// The providers to run: all compiled-in ones, or the one requested. Unknown names are an error;
/// unavailable providers are returned with their reason.
fn providers(config: &DemoConfig) -> Result<Vec<Box<dyn Provider>>, Error> {
    match registry::requested_name(config.provider.as_deref()) {
        Some(name) => Ok(vec![registry::by_name(&name)?]),
        None => Ok(registry::compiled()),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds of one host-slice forward call, after warm-up.
fn time_layer(
    layer: &dyn LayerNormLinear,
    x: &[f32],
    rows: usize,
    y: &mut [f32],
    iters: usize,
) -> Result<f64, Error> {
    for _ in 0..iters.clamp(2, 20) {
        layer.forward_into(x, rows, y)?;
    }
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        layer.forward_into(x, rows, y)?;
        samples.push(t.elapsed().as_secs_f64());
    }
    Ok(median(samples))
}

/// Runs the demonstration. Errors only for an unknown provider name or invalid sizes/eps;
/// providers that cannot run are reported in `unavailable`.
pub fn run(config: &DemoConfig) -> Result<DemoReport, Error> {
    let params = testdata::try_random_params(config.hidden, config.out, config.eps, config.seed)?;
    let x_len = lnl_core::validate::checked_elems(lnl_core::Param::X, config.rows, config.hidden)?;
    lnl_core::validate::checked_elems(lnl_core::Param::Output, config.rows, config.out)?;
    let x = testdata::normal_vec(x_len, config.seed.wrapping_add(1));
    let exp = expected(&params, &x, config.rows)?;
    let mut report = DemoReport {
        config: config.clone(),
        results: Vec::new(),
        unavailable: Vec::new(),
    };
    let iters = config.iters();
    for provider in providers(config).or_else(|e| match e {
        Error::Unavailable { provider, reason } => {
            report.unavailable.push((provider, reason));
            Ok(Vec::new())
        }
        other => Err(other),
    })? {
        let device = match provider.probe() {
            Ok(d) => d,
            Err(e) => {
                report
                    .unavailable
                    .push((provider.name().into(), unavailable_reason(e)));
                continue;
            }
        };
        for &strategy in &config.strategies {
            let layer = match provider.build(&params, strategy) {
                Ok(l) => l,
                Err(e) => {
                    report.unavailable.push((
                        format!("{}/{}", provider.name(), strategy),
                        unavailable_reason(e),
                    ));
                    continue;
                }
            };
            let mut y = vec![f32::NAN; config.rows * config.out];
            layer.forward_into(&x, config.rows, &mut y)?;
            let check = check(&exp, &y);
            let median_s = time_layer(layer.as_ref(), &x, config.rows, &mut y, iters)?;
            report.results.push(DemoResult {
                provider: provider.name(),
                device: device.clone(),
                strategy,
                correct: check.passed(),
                max_diff: check.max_abs_diff,
                max_ratio: check.max_ratio,
                detail: check.to_string(),
                iters,
                median_s,
            });
        }
    }
    Ok(report)
}

fn unavailable_reason(e: Error) -> String {
    match e {
        Error::Unavailable { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn dims(config: &DemoConfig) -> (String, String) {
    match config.batch_seq {
        Some((b, s)) => (
            format!("[{b}, {s}, {}]", config.hidden),
            format!("[{b}, {s}, {}]", config.out),
        ),
        None => (
            format!("[{}, {}]", config.rows, config.hidden),
            format!("[{}, {}]", config.rows, config.out),
        ),
    }
}

fn fmt_time(s: f64) -> String {
    match s {
        s if s < 1e-3 => format!("{:8.2} us", s * 1e6),
        s if s < 1.0 => format!("{:8.3} ms", s * 1e3),
        s => format!("{s:8.3} s "),
    }
}

/// The human-readable report.
pub fn render_text(report: &DemoReport) -> String {
    use std::fmt::Write;
    let c = &report.config;
    let (xin, yout) = dims(c);
    let mut s = String::new();
    let _ = writeln!(s, "Testing with dimensions: {xin} -> {yout}");
    let _ = writeln!(s, "eps = {:e}, dtype f32, seed {}\n", c.eps, c.seed);
    let _ = writeln!(
        s,
        "Correctness (vs the f64 reference; bound = derived tolerance, see lnl_core::tolerance):"
    );
    for r in &report.results {
        let verdict = if r.correct { "CORRECT" } else { "WRONG" };
        let _ = writeln!(
            s,
            "  {:<7} {:<8} max diff {:.3e}  (error/bound {:.3})  {verdict}",
            r.provider, r.strategy, r.max_diff, r.max_ratio
        );
        if !r.correct {
            let _ = writeln!(s, "          {}", r.detail);
        }
    }
    for (p, reason) in &report.unavailable {
        let _ = writeln!(s, "  {p:<16} unavailable: {reason}");
    }
    let ok = report.results.iter().filter(|r| r.correct).count();
    let _ = writeln!(
        s,
        "\nSummary: {ok}/{} results CORRECT{}",
        report.results.len(),
        if report.unavailable.is_empty() {
            String::new()
        } else {
            format!(", {} unavailable", report.unavailable.len())
        }
    );
    if report.results.is_empty() {
        return s;
    }
    let flops = 2.0 * (c.rows * c.hidden * c.out) as f64;
    let _ = writeln!(
        s,
        "\nBenchmark (median of {} calls each; host slices in and out, so GPU times include transfers):",
        c.iters()
    );
    for r in &report.results {
        let _ = writeln!(
            s,
            "  {:<7} {:<8} {}  {:9.2} GFLOP/s   [{}]",
            r.provider,
            r.strategy,
            fmt_time(r.median_s),
            flops / r.median_s / 1e9,
            r.device
        );
    }
    for (provider, u, f) in fused_pairs(report) {
        let (winner, ratio) = if f.median_s <= u.median_s {
            ("fused", u.median_s / f.median_s)
        } else {
            ("unfused", f.median_s / u.median_s)
        };
        let _ = writeln!(s, "  {provider}: {winner} wins, {ratio:.2}x faster");
    }
    if let Some(best) = report
        .results
        .iter()
        .min_by(|a, b| a.median_s.total_cmp(&b.median_s))
    {
        let _ = writeln!(
            s,
            "Fastest: {} {} at {}",
            best.provider,
            best.strategy,
            fmt_time(best.median_s).trim()
        );
    }
    s
}

/// (provider, unfused, fused) for providers that ran both.
fn fused_pairs(report: &DemoReport) -> Vec<(&'static str, &DemoResult, &DemoResult)> {
    let find = |p: &str, st| {
        report
            .results
            .iter()
            .find(|r| r.provider == p && r.strategy == st)
    };
    let mut pairs = Vec::new();
    for r in report
        .results
        .iter()
        .filter(|r| r.strategy == Strategy::Unfused)
    {
        if let Some(f) = find(r.provider, Strategy::Fused) {
            pairs.push((r.provider, r, f));
        }
    }
    pairs
}

/// The machine-readable report: one JSON object (a stable, public interface; extend, never rename).
pub fn render_json(report: &DemoReport) -> Value {
    let c = &report.config;
    let flops = 2.0 * (c.rows * c.hidden * c.out) as f64;
    json!({
        "rows": c.rows,
        "hidden": c.hidden,
        "out": c.out,
        "batch": c.batch_seq.map(|b| b.0),
        "seq": c.batch_seq.map(|b| b.1),
        // Shortest decimal of the f32 (1e-5, not 9.99999974e-6).
        "eps": c.eps.to_string().parse::<f64>().unwrap_or(f64::NAN),
        "seed": c.seed,
        "dtype": "f32",
        "all_correct": report.all_correct(),
        "results": report.results.iter().map(|r| json!({
            "provider": r.provider,
            "strategy": r.strategy.name(),
            "device": r.device,
            "correct": r.correct,
            "max_diff": r.max_diff,
            "max_error_over_bound": r.max_ratio,
            "iters": r.iters,
            "median_s": r.median_s,
            "gflops": flops / r.median_s / 1e9,
            "timing": "host slices in and out",
        })).collect::<Vec<_>>(),
        "unavailable": report.unavailable.iter().map(|(p, reason)| json!({"provider": p, "reason": reason})).collect::<Vec<_>>(),
    })
}
