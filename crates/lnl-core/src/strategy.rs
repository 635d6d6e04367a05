use std::fmt;
use std::str::FromStr;

/// How a provider computes the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// LayerNorm writes the normalised tensor `[rows, hidden]` to memory, then the GEMM reads it.
    Unfused,
    /// The normalised tensor never exists in memory: rows are normalised as the GEMM stages them.
    Fused,
}

impl Strategy {
    /// Both strategies, unfused first (the baseline).
    pub const ALL: [Strategy; 2] = [Strategy::Unfused, Strategy::Fused];

    /// The lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Unfused => "unfused",
            Strategy::Fused => "fused",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unfused" => Ok(Strategy::Unfused),
            "fused" => Ok(Strategy::Fused),
            other => Err(format!("unknown strategy {other:?}; valid: unfused, fused")),
        }
    }
}
