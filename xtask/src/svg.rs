//! The report's plot, as a hand-written SVG (no plotting dependency): GFLOP/s against
//! arithmetic intensity (flops per minimum byte), both log scales, one line per provider x
//! strategy x timing through the suite's shapes, and the roofline of each measured ceiling
//! (min(peak, read bandwidth x intensity)). Each shape sits at its own intensity, so the x axis
//! is also "the shape", labelled below.

use crate::report::Row;
use crate::sources::Ceiling;
use std::collections::BTreeMap;
use std::fmt::Write;

const W: f64 = 1100.0;
const H: f64 = 620.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 330.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 90.0;
const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

fn dash(timing: &str) -> &'static str {
    match timing {
        "host" => "",
        "device call" | "device event" => "6,3",
        _ => "2,3",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

struct Scale {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Scale {
    fn x(&self, v: f64) -> f64 {
        LEFT + (v.log10() - self.x0) / (self.x1 - self.x0) * (W - LEFT - RIGHT)
    }
    fn y(&self, v: f64) -> f64 {
        H - BOTTOM - (v.log10() - self.y0) / (self.y1 - self.y0) * (H - TOP - BOTTOM)
    }
}

pub fn plot(rows: &[Row], ceilings: &[Ceiling]) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="22" font-size="15">layernorm-linear: throughput vs arithmetic intensity (shape), with rooflines</text>"#
    );
    let pts: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (r.m.flops() / r.m.min_bytes(), r.gflops))
        .filter(|(x, y)| x.is_finite() && y.is_finite() && *x > 0.0 && *y > 0.0)
        .collect();
    if pts.is_empty() {
        let _ = writeln!(
            svg,
            r#"<text x="{LEFT}" y="80">no measurements</text></svg>"#
        );
        return svg;
    }
    let peaks = ceilings.iter().filter_map(|c| c.peak_gflops);
    let (mut xmin, mut xmax) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (mut ymin, mut ymax) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    ymax = peaks.fold(ymax, f64::max);
    xmin /= 2.0;
    xmax *= 2.0;
    ymin /= 3.0;
    ymax *= 2.0;
    let s = Scale {
        x0: xmin.log10().floor(),
        x1: xmax.log10().ceil(),
        y0: ymin.log10().floor(),
        y1: ymax.log10().ceil(),
    };

    // Grid and decade labels.
    for d in (s.x0 as i32)..=(s.x1 as i32) {
        let x = s.x(10f64.powi(d));
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/>"##,
            H - BOTTOM
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">1e{d}</text>"#,
            H - BOTTOM + 15.0
        );
    }
    for d in (s.y0 as i32)..=(s.y1 as i32) {
        let y = s.y(10f64.powi(d));
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/>"##,
            W - RIGHT
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">1e{d}</text>"#,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{:.1}" height="{:.1}" fill="none" stroke="#444"/>"##,
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">flops per minimum byte (log); shapes at their intensity</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 12.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">GFLOP/s (log)</text>"#,
        (TOP + H - BOTTOM) / 2.0
    );

    // Shape markers on the x axis.
    let mut shapes: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        shapes.insert(r.m.shape.clone(), r.m.flops() / r.m.min_bytes());
    }
    for (name, ai) in &shapes {
        let x = s.x(*ai);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ccc" stroke-dasharray="1,4"/>"##,
            H - BOTTOM
        );
        let _ = writeln!(
            svg,
            r##"<text transform="translate({:.1},{:.1}) rotate(-35)" text-anchor="end" fill="#555">{}</text>"##,
            x + 3.0,
            H - BOTTOM + 30.0,
            esc(name)
        );
    }

    // Rooflines.
    // Alternate roofs are labelled below their line: two GPU roofs sit close together.
    for (i, c) in ceilings.iter().enumerate() {
        let (Some(peak), Some(bw)) = (c.peak_gflops, c.read_gbs) else {
            continue;
        };
        let (xa, xb) = (10f64.powf(s.x0), 10f64.powf(s.x1));
        let ridge = (peak / bw).clamp(xa, xb);
        let path = [
            (xa, (bw * xa).min(peak)),
            (ridge, (bw * ridge).min(peak)),
            (xb, (bw * xb).min(peak)),
        ]
        .iter()
        .filter(|(_, y)| *y >= 10f64.powf(s.y0))
        .map(|(x, y)| format!("{:.1},{:.1}", s.x(*x), s.y(*y)))
        .collect::<Vec<_>>()
        .join(" ");
        let _ = writeln!(
            svg,
            r##"<polyline points="{path}" fill="none" stroke="#000" stroke-width="2" opacity="0.5"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{} roof: {:.0} GFLOP/s, {:.0} GB/s read</text>"#,
            W - RIGHT - 4.0,
            s.y(peak) + if i % 2 == 1 { 14.0 } else { -5.0 },
            esc(&c.kind),
            peak,
            bw
        );
    }

    // One line per provider x strategy x timing.
    let mut series: BTreeMap<(String, String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows {
        series
            .entry((
                r.m.provider.clone(),
                r.m.strategy.clone(),
                r.m.timing.clone(),
            ))
            .or_default()
            .push((r.m.flops() / r.m.min_bytes(), r.gflops));
    }
    let mut colours: BTreeMap<(String, String), &str> = BTreeMap::new();
    for (i, (key, pts)) in series.iter_mut().enumerate() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = colours.len();
        let colour = *colours
            .entry((key.0.clone(), key.1.clone()))
            .or_insert(PALETTE[n % PALETTE.len()]);
        let line = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", s.x(*x), s.y(*y)))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            svg,
            r#"<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.8" stroke-dasharray="{}"/>"#,
            dash(&key.2)
        );
        for (x, y) in pts.iter() {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                s.x(*x),
                s.y(*y)
            );
        }
        let ly = TOP + 10.0 + 18.0 * i as f64;
        let lx = W - RIGHT + 15.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2" stroke-dasharray="{}"/>"#,
            lx + 28.0,
            dash(&key.2)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}">{} {} ({})</text>"#,
            lx + 34.0,
            ly + 4.0,
            esc(&key.0),
            esc(&key.1),
            esc(&key.2)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use crate::report::{rows, Report};
    use crate::sources::{Ceiling, Measurement};

    #[test]
    fn one_line_per_series_and_a_roof_per_ceiling() {
        let m = |shape: &str, rows: usize, strategy: &str, t: f64| Measurement {
            shape: shape.into(),
            rows,
            hidden: 4096,
            out: 4096,
            provider: "cpu".into(),
            device: "cpu".into(),
            strategy: strategy.into(),
            timing: "host".into(),
            median_s: t,
        };
        let rep = Report {
            command: String::new(),
            measurements: vec![
                m("decode1", 1, "fused", 1e-3),
                m("mid512", 512, "fused", 0.3),
                m("decode1", 1, "unfused", 1e-3),
            ],
            ceilings: vec![Ceiling {
                kind: "cpu".into(),
                device: "cpu".into(),
                peak_gflops: Some(100.0),
                peak_method: String::new(),
                read_gbs: Some(20.0),
                copy_gbs: None,
            }],
            skipped: vec![],
        };
        let svg = super::plot(&rows(&rep), &rep.ceilings);
        // Two series lines plus one roofline.
        assert_eq!(svg.matches("<polyline").count(), 3, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("cpu roof: 100 GFLOP/s, 20 GB/s read"));
        assert!(svg.contains(">mid512<") && svg.ends_with("</svg>\n"));
    }
}
