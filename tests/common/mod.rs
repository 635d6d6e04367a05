//! Shared by the integration tests: the providers to test, written once and run per provider
//! (as burn runs one test suite per backend).
#![allow(dead_code)]

pub mod cases;

use layernorm_linear::{registry, Provider};

/// The provider of that name if it is compiled in and can run here. If not, prints why and
/// returns `None`, unless `LNL_REQUIRE_<NAME>=1` (e.g. `LNL_REQUIRE_OPENCL=1` in CI,
/// `LNL_REQUIRE_CUDA=1` on the GPU host): then its absence fails the test.
pub fn provider_or_skip(name: &str) -> Option<Box<dyn Provider>> {
    let var = format!("LNL_REQUIRE_{}", name.to_uppercase());
    match registry::by_name(name).and_then(|p| p.probe().map(|_| p)) {
        Ok(p) => Some(p),
        Err(e) if std::env::var(&var).is_ok_and(|v| v == "1") => {
            panic!("{var}=1 but provider {name} is unavailable: {e}")
        }
        Err(e) => {
            eprintln!("skipping provider {name}: {e}");
            None
        }
    }
}

/// Every compiled-in provider that can run here (see [`provider_or_skip`]).
pub fn available_providers() -> Vec<Box<dyn Provider>> {
    let out: Vec<Box<dyn Provider>> = registry::compiled()
        .iter()
        .filter_map(|p| provider_or_skip(p.name()))
        .collect();
    assert!(!out.is_empty(), "no provider can run here");
    out
}
