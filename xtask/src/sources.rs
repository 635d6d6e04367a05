//! Reads what one bench run measured, each source in its own format, into [`Measurement`]s
//! and [`Ceiling`]s: the criterion suite (its manifest + criterion's estimates), the CUDA
//! helper's `cuda_bench --json`, the OpenCL helper's `opencl_bench` JSON lines, PyTorch's
//! `torch_anchor.py --json`, and the `ceilings` program.

use serde_json::Value;
use std::path::Path;

/// One timing of one (shape, provider, strategy) under one timing method.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub shape: String,
    pub rows: usize,
    pub hidden: usize,
    pub out: usize,
    pub provider: String,
    pub device: String,
    /// unfused, fused, bare_gemm (cpu), ln_linear / bare_linear (PyTorch).
    pub strategy: String,
    /// How it was timed: "host" (criterion around `forward_into` on host slices, transfers
    /// included), "device call" (events around one call), "device graph" (CUDA-graph replay),
    /// "device event" (OpenCL profiling events), "device b2b" (back-to-back enqueues).
    pub timing: String,
    pub median_s: f64,
}

impl Measurement {
    pub fn flops(&self) -> f64 {
        2.0 * self.rows as f64 * self.hidden as f64 * self.out as f64
    }
    /// x, W, gamma, beta, b read once, y written once (f32), as `SuiteShape::min_bytes`.
    pub fn min_bytes(&self) -> f64 {
        let (r, h, o) = (self.rows as f64, self.hidden as f64, self.out as f64);
        4.0 * (r * h + o * h + 2.0 * h + o + r * o)
    }
}

/// A machine ceiling measured in this run.
#[derive(Debug, Clone)]
pub struct Ceiling {
    /// "cpu" or "gpu".
    pub kind: String,
    pub device: String,
    pub peak_gflops: Option<f64>,
    pub peak_method: String,
    /// Read bandwidth (what streaming W needs), GB/s.
    pub read_gbs: Option<f64>,
    pub copy_gbs: Option<f64>,
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn us(v: &Value) -> Option<f64> {
    v.as_f64().map(|t| t * 1e-6)
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap_or(0) as usize
}

/// The suite's runs: the manifest lists them, criterion's `estimates.json` has the median.
pub fn criterion(
    manifest: &Path,
    criterion_home: &Path,
) -> Result<(Vec<Measurement>, Value), String> {
    let doc = read_json(manifest)?;
    let mut out = Vec::new();
    for r in doc["ran"].as_array().into_iter().flatten() {
        let (group, function) = (
            r["group"].as_str().unwrap_or(""),
            r["function"].as_str().unwrap_or(""),
        );
        let est = criterion_home
            .join(group)
            .join(function)
            .join("new/estimates.json");
        let median_ns = read_json(&est)?["median"]["point_estimate"]
            .as_f64()
            .ok_or_else(|| format!("{}: no median", est.display()))?;
        out.push(Measurement {
            shape: group.into(),
            rows: usize_of(&r["rows"]),
            hidden: usize_of(&r["hidden"]),
            out: usize_of(&r["out"]),
            provider: r["provider"].as_str().unwrap_or("").into(),
            device: r["device"].as_str().unwrap_or("").into(),
            strategy: r["strategy"].as_str().unwrap_or("").into(),
            timing: r["variant"].as_str().unwrap_or("host").into(),
            median_s: median_ns * 1e-9,
        });
    }
    Ok((out, doc))
}

/// `cuda_bench --json`: `{device, shapes: [{name, rows, hidden, out, unfused: {per_call_us,
/// graph_us}, fused: {...}}]}`.
pub fn cuda_bench(path: &Path) -> Result<Vec<Measurement>, String> {
    let doc = read_json(path)?;
    let device = doc["device"].as_str().unwrap_or("").to_string();
    let mut out = Vec::new();
    for s in doc["shapes"].as_array().into_iter().flatten() {
        for strategy in ["unfused", "fused"] {
            for (key, timing) in [("per_call_us", "device call"), ("graph_us", "device graph")] {
                let Some(t) = us(&s[strategy][key]) else {
                    continue;
                };
                out.push(Measurement {
                    shape: s["name"].as_str().unwrap_or("").into(),
                    rows: usize_of(&s["rows"]),
                    hidden: usize_of(&s["hidden"]),
                    out: usize_of(&s["out"]),
                    provider: "cuda".into(),
                    device: device.clone(),
                    strategy: strategy.into(),
                    timing: timing.into(),
                    median_s: t,
                });
            }
        }
    }
    Ok(out)
}

/// `opencl_bench`: one JSON object per line, `{provider, device, shape, rows, hidden, out,
/// strategy, median_s, b2b_s, ...}`; other lines are ignored.
pub fn opencl_bench(path: &Path) -> Result<Vec<Measurement>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        for (key, timing) in [("median_s", "device event"), ("b2b_s", "device b2b")] {
            let Some(t) = v[key].as_f64() else { continue };
            out.push(Measurement {
                shape: v["shape"].as_str().unwrap_or("").into(),
                rows: usize_of(&v["rows"]),
                hidden: usize_of(&v["hidden"]),
                out: usize_of(&v["out"]),
                provider: v["provider"].as_str().unwrap_or("opencl").into(),
                device: v["device"].as_str().unwrap_or("").into(),
                strategy: v["strategy"].as_str().unwrap_or("").into(),
                timing: timing.into(),
                median_s: t,
            });
        }
    }
    Ok(out)
}

/// `torch_anchor.py --json`: `{device, torch, ceilings: {read_bw_TBps, copy_bw_TBps,
/// sgemm_8192_TFLOPs}, shapes: [{name, rows, hidden, out, eager_ln_linear: {per_call_us,
/// graph_us}, bare_linear: {...}, ln_alone: {...}}]}`. LN alone is no full layer: left out of
/// the table (it stays in the raw JSON).
pub fn torch(path: &Path) -> Result<(Vec<Measurement>, Option<Ceiling>), String> {
    let doc = read_json(path)?;
    let device = format!(
        "{} (PyTorch {})",
        doc["device"].as_str().unwrap_or(""),
        doc["torch"].as_str().unwrap_or("?")
    );
    let mut out = Vec::new();
    for s in doc["shapes"].as_array().into_iter().flatten() {
        for (key, strategy) in [
            ("eager_ln_linear", "ln_linear"),
            ("bare_linear", "bare_linear"),
        ] {
            for (tkey, timing) in [("per_call_us", "device call"), ("graph_us", "device graph")] {
                let Some(t) = us(&s[key][tkey]) else { continue };
                out.push(Measurement {
                    shape: s["name"].as_str().unwrap_or("").into(),
                    rows: usize_of(&s["rows"]),
                    hidden: usize_of(&s["hidden"]),
                    out: usize_of(&s["out"]),
                    provider: "torch".into(),
                    device: device.clone(),
                    strategy: strategy.into(),
                    timing: timing.into(),
                    median_s: t,
                });
            }
        }
    }
    let c = &doc["ceilings"];
    let ceiling = c.is_object().then(|| Ceiling {
        kind: "gpu SGEMM".into(),
        device: doc["device"].as_str().unwrap_or("").into(),
        peak_gflops: c["sgemm_8192_TFLOPs"].as_f64().map(|t| t * 1e3),
        peak_method: "cuBLAS SGEMM 8192^3, fp32, TF32 off (torch.mm)".into(),
        read_gbs: c["read_bw_TBps"].as_f64().map(|t| t * 1e3),
        copy_gbs: c["copy_bw_TBps"].as_f64().map(|t| t * 1e3),
    });
    Ok((out, ceiling))
}

/// The `ceilings` program's JSON: `{cpu: {threads, fma_gflops, fma_method, copy_gbs, read_gbs}}`.
pub fn cpu_ceiling(path: &Path, device: &str) -> Result<Ceiling, String> {
    let c = &read_json(path)?["cpu"];
    Ok(Ceiling {
        kind: "cpu".into(),
        device: device.into(),
        peak_gflops: c["fma_gflops"].as_f64(),
        peak_method: format!(
            "independent FMA chains, {}, {} threads",
            c["fma_method"].as_str().unwrap_or("?"),
            c["threads"].as_u64().unwrap_or(0)
        ),
        read_gbs: c["read_gbs"].as_f64(),
        copy_gbs: c["copy_gbs"].as_f64(),
    })
}

/// The `gpu-ceilings` program's JSON: `{gpu: {device, sm, sms, fma_gflops, read_gbs, copy_gbs}}`.
pub fn gpu_ceiling(path: &Path) -> Result<Ceiling, String> {
    let c = &read_json(path)?["gpu"];
    Ok(Ceiling {
        kind: "gpu".into(),
        device: c["device"].as_str().unwrap_or("").into(),
        peak_gflops: c["fma_gflops"].as_f64(),
        peak_method: format!(
            "independent fmaf chains, 8 per thread, every SM full ({}, {} SMs)",
            c["sm"].as_str().unwrap_or("?"),
            c["sms"].as_u64().unwrap_or(0)
        ),
        read_gbs: c["read_gbs"].as_f64(),
        copy_gbs: c["copy_gbs"].as_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("xtask-sources-{}-{name}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_the_helpers_formats() {
        let cuda = temp(
            "cuda.json",
            r#"{"device":"H100","shapes":[{"name":"decode1","rows":1,"hidden":4096,"out":4096,
               "unfused":{"per_call_us":50.0,"graph_us":40.0},"fused":{"per_call_us":30.0,"graph_us":25.0}}]}"#,
        );
        let ms = cuda_bench(&cuda).unwrap();
        assert_eq!(ms.len(), 4);
        let f = ms
            .iter()
            .find(|m| m.strategy == "fused" && m.timing == "device graph")
            .unwrap();
        assert!((f.median_s - 25e-6).abs() < 1e-15 && f.provider == "cuda" && f.rows == 1);

        let cl = temp(
            "cl.jsonl",
            "table line\n{\"provider\":\"opencl\",\"device\":\"PoCL\",\"shape\":\"seed\",\"rows\":16,\"hidden\":8,\"out\":16,\"strategy\":\"fused\",\"median_s\":1e-5,\"b2b_s\":2e-5}\n",
        );
        let ms = opencl_bench(&cl).unwrap();
        assert_eq!(ms.len(), 2);
        assert!(ms
            .iter()
            .any(|m| m.timing == "device b2b" && (m.median_s - 2e-5).abs() < 1e-15));

        let torch_json = temp(
            "torch.json",
            r#"{"device":"H100","torch":"2.11","ceilings":{"read_bw_TBps":3.0,"copy_bw_TBps":2.9,"sgemm_8192_TFLOPs":51.0},
               "shapes":[{"name":"seed","rows":16,"hidden":8,"out":16,
               "eager_ln_linear":{"per_call_us":35.0,"graph_us":5.0},"bare_linear":{"per_call_us":22.0,"graph_us":2.4},
               "ln_alone":{"per_call_us":20.0,"graph_us":2.9}}]}"#,
        );
        let (ms, ceiling) = torch(&torch_json).unwrap();
        assert_eq!(ms.len(), 4, "LN alone is not a layer: left out");
        let c = ceiling.unwrap();
        assert_eq!((c.peak_gflops, c.read_gbs), (Some(51_000.0), Some(3000.0)));
        for p in [cuda, cl, torch_json] {
            let _ = std::fs::remove_file(p);
        }
    }
}
