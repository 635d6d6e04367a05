//! What the binary was compiled for versus what this CPU has.
//!
//! `wide` picks instructions at compile time: the workspace's `.cargo/config.toml` builds
//! x86_64 with `target-cpu=x86-64-v3`, so `f32x8` is one AVX2 register and `mul_add` one FMA.
//! A binary built that way runs AVX2/FMA/BMI code anywhere in this crate; on an older CPU that
//! is an illegal instruction, so [`check`] compares every feature the build enabled with the
//! running CPU and the provider reports `Unavailable` instead.

/// `Ok(ISA description)` when this CPU has every SIMD feature the binary was compiled for,
/// else `Err(reason)`.
pub fn check() -> Result<String, String> {
    imp::check()
}

#[cfg(target_arch = "x86_64")]
mod imp {
    macro_rules! compiled_vs_cpu {
        ($($f:tt),*) => {
            [$((cfg!(target_feature = $f), std::arch::is_x86_feature_detected!($f), $f)),*]
        };
    }

    pub fn check() -> Result<String, String> {
        let features =
            compiled_vs_cpu!("avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "lzcnt", "movbe");
        let missing: Vec<&str> = features
            .iter()
            .filter(|(compiled, present, _)| *compiled && !*present)
            .map(|&(_, _, name)| name)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "this binary was compiled for x86-64-v3 but the CPU lacks {}; rebuild without \
                 `-C target-cpu=x86-64-v3` (slower: f32x8 becomes two SSE halves)",
                missing.join(", ")
            ));
        }
        Ok(
            if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
                "AVX2+FMA".to_string()
            } else {
                "SSE2 only: built without AVX2+FMA, about half speed".to_string()
            },
        )
    }
}

#[cfg(target_arch = "aarch64")]
mod imp {
    pub fn check() -> Result<String, String> {
        Ok("NEON".to_string())
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod imp {
    pub fn check() -> Result<String, String> {
        Ok("portable (no SIMD target features)".to_string())
    }
}

/// The CPU's model name where the OS says it (Linux), else a generic name.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "host CPU".to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_test_machine_runs_what_it_was_built_for() {
        // Reaching this line at all means the CPU ran the binary; check must agree.
        assert!(super::check().is_ok(), "{:?}", super::check());
    }
}
