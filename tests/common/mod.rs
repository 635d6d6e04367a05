//! Shared by the integration tests: the providers to test, written once and run per provider
//! (as burn runs one test suite per backend).
#![allow(dead_code)]

pub mod cases;

use layernorm_linear::{registry, Provider};

/// Every compiled-in provider that can run here. Unavailable ones are skipped with a printed
/// reason, unless `LNL_REQUIRE_<NAME>=1` (e.g. `LNL_REQUIRE_OPENCL=1` in CI, `LNL_REQUIRE_CUDA=1`
/// on the GPU host): then their absence fails the test.
pub fn available_providers() -> Vec<Box<dyn Provider>> {
    let mut out = Vec::new();
    for p in registry::compiled() {
        match p.probe() {
            Ok(_) => out.push(p),
            Err(e) => {
                let var = format!("LNL_REQUIRE_{}", p.name().to_uppercase());
                if std::env::var(&var).is_ok_and(|v| v == "1") {
                    panic!("{var}=1 but provider {} is unavailable: {e}", p.name());
                }
                eprintln!("skipping provider {}: {e}", p.name());
            }
        }
    }
    assert!(!out.is_empty(), "no provider can run here");
    out
}
