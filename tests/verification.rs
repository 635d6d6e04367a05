//! The cross-provider verification suite: written once, run for every provider and strategy
//! (cpu, cuda, opencl; those not compiled in or not available here are skipped with the reason,
//! unless `LNL_REQUIRE_<NAME>=1`).
//!
//! Each random case checks every strategy against the f64 reference with the derived tolerance,
//! and fused against unfused (two results each within its bound of the reference are within the
//! sum of the bounds of each other). Bad input is checked per provider in `bad_input.rs`. `PROPTEST_CASES` raises the case count (256 by default);
//! on the GPU host: `PROPTEST_CASES=10000 LNL_REQUIRE_CUDA=1 ./verification-<hash>`.

mod common;

use std::sync::Arc;

use common::cases::{case, Case};
use layernorm_linear::tolerance::{check, expected};
use layernorm_linear::{shapes, testdata, LayerNormLinear, Provider, Strategy};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        ..Config::default()
    }
}

/// One case on one provider: both strategies against the reference, and against each other.
fn check_case(provider: &dyn Provider, c: &Case) -> Result<(), TestCaseError> {
    let params = c.params();
    let x = c.x();
    let exp = expected(&params, &x, c.rows).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut outputs = Vec::new();
    for strategy in Strategy::ALL {
        let layer = provider.build(&params, strategy).map_err(|e| {
            TestCaseError::fail(format!("{} {strategy}: build: {e}", provider.name()))
        })?;
        let mut y = vec![f32::NAN; c.rows * c.out]; // poison: every element must be written
        layer.forward_into(&x, c.rows, &mut y).map_err(|e| {
            TestCaseError::fail(format!("{} {strategy}: forward: {e}", provider.name()))
        })?;
        let report = check(&exp, &y);
        prop_assert!(
            report.passed(),
            "{} {strategy} vs f64 reference: {report}",
            provider.name()
        );
        outputs.push(y);
    }
    // Fused vs unfused: each is within its bound of the reference, so within twice of each other,
    // and non-finite at the same places.
    for (i, (u, f)) in outputs[0].iter().zip(&outputs[1]).enumerate() {
        let (row, col) = (i / c.out, i % c.out);
        let bound = 2.0 * exp.bound[i];
        let agree = if u.is_finite() && f.is_finite() {
            ((*u as f64) - (*f as f64)).abs() <= bound
        } else {
            u.is_finite() == f.is_finite() || exp.may_overflow[row]
        };
        prop_assert!(
            agree,
            "{}: fused y[{row}, {col}] = {f:e} vs unfused {u:e}, allowed {bound:.3e}",
            provider.name()
        );
    }
    Ok(())
}

/// The seed configuration, fixed: batch 4, seq 4, hidden 8, out 16, eps 1e-5.
fn seed_configuration(p: &dyn Provider) {
    let s = shapes::SEED;
    let params = testdata::random_params(s.hidden, s.out, 1e-5, 42);
    let x = testdata::normal_vec(s.rows * s.hidden, 43);
    let exp = expected(&params, &x, s.rows).unwrap();
    for strategy in Strategy::ALL {
        let y = p
            .build(&params, strategy)
            .unwrap()
            .forward(&x, s.rows)
            .unwrap();
        let report = check(&exp, &y);
        assert!(report.passed(), "{} {strategy}: {report}", p.name());
    }
}

/// Rows holding NaN or Inf give non-finite outputs in those rows only; the rest match.
fn non_finite_rows_stay_in_their_row(p: &dyn Provider) {
    let (rows, h, o) = (6, 37, 19);
    let params = testdata::random_params(h, o, 1e-5, 5);
    let mut x = testdata::normal_vec(rows * h, 6);
    x[h + 3] = f32::NAN;
    x[3 * h] = f32::INFINITY;
    x[5 * h + h - 1] = f32::NEG_INFINITY;
    let exp = expected(&params, &x, rows).unwrap();
    for strategy in Strategy::ALL {
        let y = p
            .build(&params, strategy)
            .unwrap()
            .forward(&x, rows)
            .unwrap();
        for r in 0..rows {
            let row = &y[r * o..(r + 1) * o];
            if [1, 3, 5].contains(&r) {
                assert!(
                    row.iter().all(|v| !v.is_finite()),
                    "{} {strategy}: row {r} should be non-finite: {row:?}",
                    p.name()
                );
            } else {
                assert!(
                    row.iter().all(|v| v.is_finite()),
                    "{} {strategy}: row {r} leaked non-finite values",
                    p.name()
                );
            }
        }
        let report = check(&exp, &y);
        assert!(report.passed(), "{} {strategy}: {report}", p.name());
    }
}

/// Same layer, same input: the same bits, run to run.
fn deterministic(p: &dyn Provider) {
    let (rows, h, o) = (67, 515, 129);
    let params = testdata::random_params(h, o, 1e-5, 8);
    let x = testdata::normal_vec(rows * h, 9);
    for strategy in Strategy::ALL {
        let layer = p.build(&params, strategy).unwrap();
        let a = layer.forward(&x, rows).unwrap();
        for _ in 0..3 {
            let b = layer.forward(&x, rows).unwrap();
            assert!(
                a.iter().zip(&b).all(|(u, v)| u.to_bits() == v.to_bits()),
                "{} {strategy}: results differ run to run",
                p.name()
            );
        }
    }
}

/// One built layer used from 8 threads at once gives what serial use gives.
fn concurrent_use(p: &dyn Provider) {
    let (h, o) = (129, 77);
    let params = testdata::random_params(h, o, 1e-5, 10);
    for strategy in Strategy::ALL {
        let layer: Arc<dyn LayerNormLinear> = Arc::from(p.build(&params, strategy).unwrap());
        let inputs: Vec<(usize, Vec<f32>)> = (0..8)
            .map(|t| {
                (
                    1 + 9 * t,
                    testdata::normal_vec((1 + 9 * t) * h, 100 + t as u64),
                )
            })
            .collect();
        let serial: Vec<Vec<f32>> = inputs
            .iter()
            .map(|(rows, x)| layer.forward(x, *rows).unwrap())
            .collect();
        let parallel: Vec<Vec<f32>> = std::thread::scope(|s| {
            let handles: Vec<_> = inputs
                .iter()
                .map(|(rows, x)| {
                    let layer = Arc::clone(&layer);
                    s.spawn(move || {
                        // Several calls per thread, so that the threads overlap.
                        let mut y = Vec::new();
                        for _ in 0..5 {
                            y = layer.forward(x, *rows).unwrap();
                        }
                        y
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (t, (a, b)) in serial.iter().zip(&parallel).enumerate() {
            assert!(
                a.iter().zip(b).all(|(u, v)| u.to_bits() == v.to_bits()),
                "{} {strategy}: thread {t} differs from serial",
                p.name()
            );
        }
    }
}

macro_rules! provider_suite {
    ($module:ident, $name:literal) => {
        mod $module {
            use super::*;

            proptest! {
                #![proptest_config(config())]
                #[test]
                fn random_cases_match_reference_and_each_other(c in case()) {
                    if let Some(p) = common::provider_or_skip($name) {
                        check_case(p.as_ref(), &c)?;
                    }
                }
            }

            #[test]
            fn seed_configuration() {
                if let Some(p) = common::provider_or_skip($name) {
                    super::seed_configuration(p.as_ref());
                }
            }
            #[test]
            fn non_finite_rows_stay_in_their_row() {
                if let Some(p) = common::provider_or_skip($name) {
                    super::non_finite_rows_stay_in_their_row(p.as_ref());
                }
            }
            #[test]
            fn deterministic() {
                if let Some(p) = common::provider_or_skip($name) {
                    super::deterministic(p.as_ref());
                }
            }
            #[test]
            fn concurrent_use() {
                if let Some(p) = common::provider_or_skip($name) {
                    super::concurrent_use(p.as_ref());
                }
            }
        }
    };
}

provider_suite!(cpu, "cpu");
provider_suite!(cuda, "cuda");
provider_suite!(opencl, "opencl");
