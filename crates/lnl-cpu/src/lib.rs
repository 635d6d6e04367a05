//! The `cpu` provider. STAND-IN: a plain scalar implementation until the SIMD provider lands.

use lnl_core::row_stats::row_stats;
use lnl_core::{LayerInfo, LayerNormLinear, LayerParams, Provider, Result, Strategy};

/// The CPU provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuProvider;

impl Provider for CpuProvider {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn probe(&self) -> Result<String> {
        Ok("host CPU (scalar stand-in)".into())
    }
    fn build(&self, params: &LayerParams, strategy: Strategy) -> Result<Box<dyn LayerNormLinear>> {
        Ok(Box::new(ScalarLayer {
            params: params.clone(),
            strategy,
        }))
    }
}

struct ScalarLayer {
    params: LayerParams,
    strategy: Strategy,
}

impl LayerNormLinear for ScalarLayer {
    fn info(&self) -> LayerInfo {
        LayerInfo {
            provider: "cpu",
            strategy: self.strategy,
            device: "host CPU (scalar stand-in)".into(),
            hidden: self.params.hidden(),
            out: self.params.out(),
        }
    }
    fn compute(&self, x: &[f32], _rows: usize, y: &mut [f32]) -> Result<()> {
        let p = &self.params;
        let h = p.hidden();
        let mut xn = vec![0.0f32; h];
        for (row, yr) in x.chunks_exact(h).zip(y.chunks_exact_mut(p.out())) {
            let s = row_stats(row, p.eps());
            for (((n, &v), &g), &b) in xn.iter_mut().zip(row).zip(p.gamma()).zip(p.beta()) {
                *n = (v - s.mean) * s.rstd * g + b;
            }
            for (o, (yo, w)) in yr.iter_mut().zip(p.weight().chunks_exact(h)).enumerate() {
                let dot: f32 = w.iter().zip(&xn).map(|(a, b)| a * b).sum();
                *yo = dot + p.bias().map_or(0.0, |b| b[o]);
            }
        }
        Ok(())
    }
}
