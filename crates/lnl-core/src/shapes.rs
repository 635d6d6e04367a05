//! The shape suite shared by tests, benchmarks and the command line.

/// One benchmark shape: `x: [rows, hidden]`, `W: [out, hidden]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuiteShape {
    /// Short name used in reports and `--shapes` filters.
    pub name: &'static str,
    pub rows: usize,
    pub hidden: usize,
    pub out: usize,
}

impl SuiteShape {
    /// Floating-point operations of the GEMM, `2 * rows * hidden * out`.
    pub fn flops(&self) -> f64 {
        2.0 * self.rows as f64 * self.hidden as f64 * self.out as f64
    }
    /// The fewest bytes any implementation must move (f32): x, W, gamma, beta, b read once, y
    /// written once.
    pub fn min_bytes(&self) -> f64 {
        let (r, h, o) = (self.rows as f64, self.hidden as f64, self.out as f64);
        4.0 * (r * h + o * h + 2.0 * h + o + r * o)
    }
}

/// The seed configuration: batch 4, seq 4, hidden 8, out 16.
pub const SEED: SuiteShape = SuiteShape {
    name: "seed",
    rows: 16,
    hidden: 8,
    out: 16,
};

/// The suite, smallest first.
pub const SUITE: [SuiteShape; 6] = [
    SEED,
    SuiteShape {
        name: "decode1",
        rows: 1,
        hidden: 4096,
        out: 4096,
    },
    SuiteShape {
        name: "decode8",
        rows: 8,
        hidden: 4096,
        out: 4096,
    },
    SuiteShape {
        name: "mid512",
        rows: 512,
        hidden: 4096,
        out: 4096,
    },
    SuiteShape {
        name: "large4096",
        rows: 4096,
        hidden: 4096,
        out: 4096,
    },
    SuiteShape {
        name: "ffn8192",
        rows: 8192,
        hidden: 4096,
        out: 11008,
    },
];

/// The suite shape of that name.
pub fn by_name(name: &str) -> Option<SuiteShape> {
    SUITE.iter().copied().find(|s| s.name == name)
}
