//! Shared helpers: build a layer, run it, judge it against the f64 reference.

use lnl_core::{tolerance, LayerNormLinear, LayerParams, Strategy};
use lnl_opencl::OpenClLayer;

pub fn layer(params: &LayerParams, strategy: Strategy) -> OpenClLayer {
    OpenClLayer::new(params, strategy).expect("an OpenCL device (PoCL in CI)")
}

/// Runs both strategies on `x` and checks each against the derived tolerance.
pub fn check_both(params: &LayerParams, x: &[f32], rows: usize, what: &str) {
    let exp = tolerance::expected(params, x, rows).unwrap();
    for s in Strategy::ALL {
        let y = layer(params, s).forward(x, rows).unwrap();
        let report = tolerance::check(&exp, &y);
        assert!(
            report.passed(),
            "{what}, {s}, rows {rows}, H {}, O {}: {report}",
            params.hidden(),
            params.out()
        );
    }
}
