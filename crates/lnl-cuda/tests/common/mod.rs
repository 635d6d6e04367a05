//! Shared by the GPU tests: skip cleanly without a device, unless LNL_REQUIRE_CUDA=1.

#![allow(dead_code)]

use lnl_core::{reference, tolerance, LayerParams, Provider, Strategy};
use lnl_cuda::{CudaLayer, CudaProvider};

/// The provider, or `None` (after printing why) when this machine cannot run CUDA.
pub fn provider_or_skip() -> Option<CudaProvider> {
    let p = CudaProvider::default();
    match p.probe() {
        Ok(_) => Some(p),
        Err(e) => {
            let required = std::env::var("LNL_REQUIRE_CUDA").is_ok_and(|v| v == "1");
            assert!(!required, "LNL_REQUIRE_CUDA=1 but CUDA is unavailable: {e}");
            eprintln!("skipped: {e}");
            None
        }
    }
}

/// Runs `layer` on device buffers with y poisoned (NaN) first, so an unwritten element fails.
pub fn run_poisoned(layer: &CudaLayer, x: &[f32], rows: usize, out: usize) -> Vec<f32> {
    let xd = layer.upload(x).expect("upload x");
    let mut yd = layer
        .upload(&vec![f32::NAN; rows * out])
        .expect("upload poison");
    layer
        .forward_device(&xd, rows, &mut yd)
        .expect("forward_device");
    let mut y = vec![0.0; rows * out];
    layer.download(&yd, &mut y).expect("download");
    y
}

/// Checks both strategies on one input against the f64 reference with the derived bound,
/// plus: rows that may overflow are either all finite or all non-finite. Returns the outputs.
pub fn check_both(
    p: &CudaProvider,
    params: &LayerParams,
    x: &[f32],
    rows: usize,
    what: &str,
) -> [Vec<f32>; 2] {
    let expected = tolerance::expected(params, x, rows).expect("expected");
    let out = params.out();
    Strategy::ALL.map(|s| {
        let layer = p.build_layer(params, s).expect("build");
        let y = run_poisoned(&layer, x, rows, out);
        let report = tolerance::check(&expected, &y);
        assert!(
            report.passed(),
            "{what} [{s}, rows {rows}, H {}, O {out}, launches {:?}]: {report}",
            params.hidden(),
            layer.launches(rows)
        );
        for (r, &may) in expected.may_overflow.iter().enumerate() {
            if may {
                let row = &y[r * out..(r + 1) * out];
                let finite = row.iter().filter(|v| v.is_finite()).count();
                assert!(
                    finite == 0 || finite == out,
                    "{what} [{s}]: overflow row {r} is partly finite ({finite} of {out})"
                );
            }
        }
        y
    })
}

/// The f64 reference, for tests that only need it.
pub fn reference(params: &LayerParams, x: &[f32], rows: usize) -> Vec<f64> {
    reference::forward(params, x, rows).expect("reference")
}
