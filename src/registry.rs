//! Which providers are compiled in, and choosing one at run time.
//!
//! Cargo features decide what is compiled in (`cpu`, `cuda` by default; `opencl` opt-in). At run
//! time a provider is chosen by name (`--provider`, else the `LNL_PROVIDER` variable), or `auto`:
//! the first available in [`AUTO_ORDER`].

use lnl_core::{Error, Provider, Result};

/// Environment variable naming the provider when no `--provider` flag is given.
pub const ENV_VAR: &str = "LNL_PROVIDER";

/// Every provider this project knows, compiled in or not, in `auto` preference order: a GPU
/// first, then the native CPU provider. OpenCL comes last because on a machine without a GPU it
/// runs on a CPU device (PoCL), slower than the native provider; name it to choose it.
pub const AUTO_ORDER: [&str; 3] = ["cuda", "cpu", "opencl"];

/// The providers compiled into this build, in [`AUTO_ORDER`].
// The pushes are feature-gated, which `vec![...]` cannot express on stable.
#[allow(clippy::vec_init_then_push, unused_mut)]
pub fn compiled() -> Vec<Box<dyn Provider>> {
    let mut v: Vec<Box<dyn Provider>> = Vec::new();
    #[cfg(feature = "cuda")]
    v.push(Box::new(lnl_cuda::CudaProvider::default()));
    #[cfg(feature = "cpu")]
    v.push(Box::new(lnl_cpu::CpuProvider::default()));
    #[cfg(feature = "opencl")]
    v.push(Box::new(lnl_opencl::OpenClProvider));
    v
}

/// Names accepted by [`select`]: the compiled-in providers and `auto`.
pub fn valid_names() -> Vec<String> {
    let mut names: Vec<String> = compiled().iter().map(|p| p.name().to_string()).collect();
    names.push("auto".into());
    names
}

/// The provider of that name. `auto` picks the first available one. A known provider that this
/// build lacks is reported as unavailable with the feature to enable; an unknown name lists the
/// valid ones.
pub fn by_name(name: &str) -> Result<Box<dyn Provider>> {
    if name == "auto" {
        return auto();
    }
    if let Some(p) = compiled().into_iter().find(|p| p.name() == name) {
        return Ok(p);
    }
    if AUTO_ORDER.contains(&name) {
        return Err(Error::Unavailable {
            provider: name.into(),
            reason: format!("not compiled into this build; rebuild with `--features {name}`"),
        });
    }
    Err(Error::UnknownProvider {
        name: name.into(),
        valid: valid_names(),
    })
}

/// The first available compiled-in provider, or `Unavailable` listing why each was refused.
pub fn auto() -> Result<Box<dyn Provider>> {
    let mut reasons = Vec::new();
    for p in compiled() {
        match p.probe() {
            Ok(_) => return Ok(p),
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(Error::Unavailable {
        provider: "auto".into(),
        reason: if reasons.is_empty() {
            "no provider is compiled in; enable a feature (cpu, cuda, opencl)".into()
        } else {
            reasons.join("; ")
        },
    })
}

/// The name to use: the explicit one if given, else `LNL_PROVIDER` if set and not empty.
pub fn requested_name(explicit: Option<&str>) -> Option<String> {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var(ENV_VAR).ok().filter(|s| !s.is_empty()))
}

/// [`by_name`] of [`requested_name`], or `auto` when neither is given.
pub fn select(explicit: Option<&str>) -> Result<Box<dyn Provider>> {
    by_name(requested_name(explicit).as_deref().unwrap_or("auto"))
}
