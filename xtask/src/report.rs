//! Turns one run's measurements and ceilings into report.md (the table), report.json (the same
//! rows with every derived number, plus the ceilings and what was skipped) and report.svg.

use crate::sources::{Ceiling, Measurement};
use serde_json::{json, Value};
use std::path::Path;

/// Everything one `cargo xtask bench` run produced.
pub struct Report {
    pub command: String,
    pub measurements: Vec<Measurement>,
    pub ceilings: Vec<Ceiling>,
    /// "what: why" for every provider, shape or step that did not run.
    pub skipped: Vec<String>,
}

/// A measurement with its derived numbers.
pub struct Row<'a> {
    pub m: &'a Measurement,
    pub gflops: f64,
    pub gbs: f64,
    pub pct_peak: Option<f64>,
    pub pct_read_bw: Option<f64>,
    /// unfused time / fused time, on fused rows.
    pub fused_speedup: Option<f64>,
    /// On fused rows: the reference this fused time is compared with, and the ratio.
    pub vs_reference: Option<(String, f64)>,
}

/// The suite's order (smallest first), for sorting; unknown shapes go last.
const SHAPE_ORDER: [&str; 6] = [
    "seed",
    "decode1",
    "decode8",
    "mid512",
    "large4096",
    "ffn8192",
];

fn shape_rank(name: &str) -> usize {
    SHAPE_ORDER
        .iter()
        .position(|s| *s == name)
        .unwrap_or(SHAPE_ORDER.len())
}

/// The ceilings that bound a measurement: the GPU's for cuda, PyTorch and GPU OpenCL devices,
/// the CPU's otherwise (the cpu provider, OpenCL on a CPU device such as PoCL).
pub fn ceiling_for<'a>(m: &Measurement, ceilings: &'a [Ceiling]) -> Option<&'a Ceiling> {
    let d = m.device.to_lowercase();
    let gpu =
        m.provider == "cuda" || m.provider == "torch" || d.contains("nvidia") || d.contains("gpu");
    ceilings
        .iter()
        .find(|c| c.kind == if gpu { "gpu" } else { "cpu" })
}

fn find<'a>(
    ms: &'a [Measurement],
    like: &Measurement,
    provider: &str,
    strategy: &str,
) -> Option<&'a Measurement> {
    ms.iter().find(|o| {
        o.shape == like.shape
            && o.provider == provider
            && o.timing == like.timing
            && o.strategy == strategy
    })
}

pub fn rows<'a>(rep: &'a Report) -> Vec<Row<'a>> {
    let ms = &rep.measurements;
    let mut out: Vec<Row> = ms
        .iter()
        .map(|m| {
            let gflops = m.flops() / m.median_s * 1e-9;
            let gbs = m.min_bytes() / m.median_s * 1e-9;
            let c = ceiling_for(m, &rep.ceilings);
            let fused = m.strategy == "fused";
            let fused_speedup = fused
                .then(|| find(ms, m, &m.provider, "unfused"))
                .flatten()
                .map(|u| u.median_s / m.median_s);
            // The fused path's targets: "LayerNorm for free" against the same GEMM without LN
            // (cpu), and PyTorch's LN + Linear timed the same way (GPU).
            let vs_reference = if !fused {
                None
            } else if let Some(b) = find(ms, m, &m.provider, "bare_gemm") {
                Some((
                    "fused time / bare GEMM time".to_string(),
                    m.median_s / b.median_s,
                ))
            } else {
                find(ms, m, "torch", "ln_linear").map(|t| {
                    (
                        "PyTorch LN+Linear time / fused time".to_string(),
                        t.median_s / m.median_s,
                    )
                })
            };
            Row {
                m,
                gflops,
                gbs,
                pct_peak: c.and_then(|c| c.peak_gflops).map(|p| 100.0 * gflops / p),
                pct_read_bw: c.and_then(|c| c.read_gbs).map(|b| 100.0 * gbs / b),
                fused_speedup,
                vs_reference,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (
            shape_rank(&a.m.shape),
            &a.m.provider,
            &a.m.timing,
            &a.m.strategy,
        )
            .cmp(&(
                shape_rank(&b.m.shape),
                &b.m.provider,
                &b.m.timing,
                &b.m.strategy,
            ))
    });
    out
}

/// A time in the unit that keeps three significant digits readable.
pub fn fmt_time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.digits$}"))
}

/// Seconds since the epoch as "YYYY-MM-DD HH:MM UTC" (civil-from-days; no date crate needed).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn markdown(rep: &Report, rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str("# layernorm-linear benchmark report\n\n");
    s.push_str(&format!("{}; `{}`.\n\n", utc_now(), rep.command));
    s.push_str("## Ceilings measured in this run\n\n| kind | device | peak GFLOP/s | how | read GB/s | copy GB/s (read + written) |\n| --- | --- | --- | --- | --- | --- |\n");
    for c in &rep.ceilings {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            c.kind,
            c.device,
            opt(c.peak_gflops, 1),
            c.peak_method,
            opt(c.read_gbs, 1),
            opt(c.copy_gbs, 1)
        ));
    }
    if rep.ceilings.is_empty() {
        s.push_str("| – | none measured | | | | |\n");
    }
    s.push_str(
        "\nTimings: `host` = criterion median around `forward_into` on host slices (GPU providers: \
         transfers included); `device call` = events around one device-resident call, synchronised \
         each time; `device graph` = per call in a replayed CUDA graph of 20 calls; `device event` = \
         OpenCL profiling events, first kernel start to last kernel end; `device b2b` = 20 calls \
         enqueued back to back, per call. GFLOP/s = 2·rows·H·O / time; GB/s = the minimum bytes \
         (x, W, γ, β, b read once, y written once) / time; % peak against the FMA/GEMM ceiling, \
         % BW against the read bandwidth, of the device that ran it. Speedup = unfused time / \
         fused time in the same timing. Over 100% of the read bandwidth: the timing beat this \
         run's single-stream-per-thread read measurement (part of the bytes in a cache, several \
         streams per thread, or a noisy shared machine); read it as \"at the ceiling\".\n\n",
    );
    s.push_str("| shape | rows x H -> O | provider | strategy | timing | median | GFLOP/s | GB/s | % peak | % read BW | fused speedup | fused vs reference |\n");
    s.push_str("| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for r in rows {
        let m = r.m;
        s.push_str(&format!(
            "| {} | {} x {} -> {} | {} | {} | {} | {} | {:.1} | {:.1} | {} | {} | {} | {} |\n",
            m.shape,
            m.rows,
            m.hidden,
            m.out,
            m.provider,
            m.strategy,
            m.timing,
            fmt_time(m.median_s),
            r.gflops,
            r.gbs,
            opt(r.pct_peak, 1),
            opt(r.pct_read_bw, 1),
            r.fused_speedup
                .map_or(String::new(), |x| format!("{x:.2}x")),
            r.vs_reference
                .as_ref()
                .map_or(String::new(), |(what, x)| format!("{x:.2} ({what})")),
        ));
    }
    let mut devices: Vec<(String, String)> = rep
        .measurements
        .iter()
        .map(|m| (m.provider.clone(), m.device.clone()))
        .collect();
    devices.sort();
    devices.dedup();
    s.push_str("\n## Devices\n\n");
    for (p, d) in devices {
        s.push_str(&format!("- {p}: {d}\n"));
    }
    s.push_str("\n## Skipped\n\n");
    if rep.skipped.is_empty() {
        s.push_str("Nothing.\n");
    }
    for k in &rep.skipped {
        s.push_str(&format!("- {k}\n"));
    }
    s.push_str("\n![throughput vs arithmetic intensity](report.svg)\n");
    s
}

fn json_doc(rep: &Report, rows: &[Row]) -> Value {
    json!({
        "generated": utc_now(),
        "command": rep.command,
        "ceilings": rep.ceilings.iter().map(|c| json!({
            "kind": c.kind, "device": c.device, "peak_gflops": c.peak_gflops,
            "peak_method": c.peak_method, "read_gbs": c.read_gbs, "copy_gbs": c.copy_gbs,
        })).collect::<Vec<_>>(),
        "rows": rows.iter().map(|r| json!({
            "shape": r.m.shape, "rows": r.m.rows, "hidden": r.m.hidden, "out": r.m.out,
            "provider": r.m.provider, "device": r.m.device, "strategy": r.m.strategy,
            "timing": r.m.timing, "median_s": r.m.median_s, "gflops": r.gflops, "gbs": r.gbs,
            "pct_peak": r.pct_peak, "pct_read_bw": r.pct_read_bw,
            "fused_speedup": r.fused_speedup,
            "vs_reference": r.vs_reference.as_ref().map(|(what, x)| json!({ "what": what, "ratio": x })),
        })).collect::<Vec<_>>(),
        "skipped": rep.skipped,
    })
}

/// Writes report.md, report.json and report.svg into `dir`.
pub fn write(dir: &Path, rep: &Report) -> Result<(), String> {
    let rows = rows(rep);
    let put = |name: &str, text: String| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    put("report.md", markdown(rep, &rows))?;
    let json = serde_json::to_string_pretty(&json_doc(rep, &rows)).map_err(|e| e.to_string())?;
    put("report.json", json)?;
    put("report.svg", crate::svg::plot(&rows, &rep.ceilings))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(provider: &str, device: &str, strategy: &str, timing: &str, median_s: f64) -> Measurement {
        Measurement {
            shape: "mid512".into(),
            rows: 512,
            hidden: 4096,
            out: 4096,
            provider: provider.into(),
            device: device.into(),
            strategy: strategy.into(),
            timing: timing.into(),
            median_s,
        }
    }

    fn ceilings() -> Vec<Ceiling> {
        let c = |kind: &str, peak: f64, bw: f64| Ceiling {
            kind: kind.into(),
            device: kind.into(),
            peak_gflops: Some(peak),
            peak_method: String::new(),
            read_gbs: Some(bw),
            copy_gbs: None,
        };
        vec![c("cpu", 100.0, 20.0), c("gpu", 50_000.0, 3000.0)]
    }

    #[test]
    fn derived_numbers_pair_like_with_like() {
        let rep = Report {
            command: String::new(),
            measurements: vec![
                m("cpu", "EPYC", "unfused", "host", 0.4),
                m("cpu", "EPYC", "fused", "host", 0.2),
                m("cpu", "EPYC", "bare_gemm", "host", 0.19),
                m("cuda", "H100", "fused", "device graph", 1e-4),
                m("cuda", "H100", "unfused", "device call", 1e-3),
                m("torch", "H100", "ln_linear", "device graph", 2e-4),
            ],
            ceilings: ceilings(),
            skipped: vec![],
        };
        let rows = rows(&rep);
        let find = |p: &str, s: &str, t: &str| {
            rows.iter()
                .find(|r| r.m.provider == p && r.m.strategy == s && r.m.timing == t)
                .unwrap()
        };
        let cpu = find("cpu", "fused", "host");
        assert!((cpu.fused_speedup.unwrap() - 2.0).abs() < 1e-12);
        assert!((cpu.vs_reference.as_ref().unwrap().1 - 0.2 / 0.19).abs() < 1e-12);
        let flops = 2.0 * 512.0 * 4096.0 * 4096.0;
        assert!((cpu.gflops - flops / 0.2 * 1e-9).abs() < 1e-9);
        assert!(
            (cpu.pct_peak.unwrap() - cpu.gflops).abs() < 1e-9,
            "peak is 100 GFLOP/s"
        );
        // The graph-timed fused row has no graph-timed unfused peer: no speedup from the
        // per-call row; PyTorch in the same timing is its reference, on the GPU ceiling.
        let gpu = find("cuda", "fused", "device graph");
        assert!(gpu.fused_speedup.is_none());
        assert!((gpu.vs_reference.as_ref().unwrap().1 - 2.0).abs() < 1e-12);
        assert!((gpu.pct_peak.unwrap() - 100.0 * gpu.gflops / 50_000.0).abs() < 1e-9);
        assert!(find("cpu", "unfused", "host").fused_speedup.is_none());
    }

    #[test]
    fn opencl_on_a_cpu_device_uses_the_cpu_ceiling() {
        let c = ceilings();
        let pocl = m(
            "opencl",
            "Portable Computing Language / pthread-haswell",
            "fused",
            "host",
            1.0,
        );
        let nv = m(
            "opencl",
            "NVIDIA CUDA / NVIDIA H100 80GB HBM3",
            "fused",
            "host",
            1.0,
        );
        assert_eq!(ceiling_for(&pocl, &c).unwrap().kind, "cpu");
        assert_eq!(ceiling_for(&nv, &c).unwrap().kind, "gpu");
    }

    #[test]
    fn times_keep_three_significant_digits() {
        assert_eq!(fmt_time(2.5e-6), "2.50 µs");
        assert_eq!(fmt_time(0.0123), "12.300 ms");
        assert_eq!(fmt_time(3.0), "3.000 s");
    }

    #[test]
    fn the_date_is_civil_utc() {
        let d = utc_now();
        assert_eq!(d.len(), "2026-11-23 06:21 UTC".len(), "{d}");
        let year: i32 = d[..4].parse().unwrap();
        assert!(year >= 2024, "{d}");
    }
}
