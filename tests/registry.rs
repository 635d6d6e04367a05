//! Runtime provider selection.

use layernorm_linear::{registry, Error};

#[test]
fn unknown_name_lists_the_valid_ones() {
    match registry::by_name("nosuch") {
        Err(Error::UnknownProvider { name, valid }) => {
            assert_eq!(name, "nosuch");
            assert!(valid.contains(&"auto".to_string()), "{valid:?}");
            for p in registry::compiled() {
                assert!(valid.contains(&p.name().to_string()), "{valid:?}");
            }
        }
        other => panic!(
            "expected UnknownProvider, got {:?}",
            other.map(|p| p.name())
        ),
    }
}

#[test]
fn every_compiled_provider_is_found_by_its_name() {
    for p in registry::compiled() {
        assert_eq!(registry::by_name(p.name()).unwrap().name(), p.name());
    }
}

#[test]
fn compiled_providers_follow_auto_order() {
    let names: Vec<&str> = registry::compiled().iter().map(|p| p.name()).collect();
    let order: Vec<&str> = registry::AUTO_ORDER
        .iter()
        .copied()
        .filter(|n| names.contains(n))
        .collect();
    assert_eq!(names, order);
}

#[cfg(feature = "cpu")]
#[test]
fn auto_picks_an_available_provider() {
    let p = registry::auto().unwrap();
    assert!(
        p.probe().is_ok(),
        "auto chose {}, which is unavailable",
        p.name()
    );
    // The CPU provider is always available on a supported CPU, so auto finds one at least as preferred.
    let pos = |n: &str| registry::AUTO_ORDER.iter().position(|&m| m == n).unwrap();
    assert!(pos(p.name()) <= pos("cpu"));
}

#[cfg(not(feature = "opencl"))]
#[test]
fn known_but_not_compiled_provider_names_its_feature() {
    match registry::by_name("opencl") {
        Err(Error::Unavailable { provider, reason }) => {
            assert_eq!(provider, "opencl");
            assert!(reason.contains("--features opencl"), "{reason}");
        }
        other => panic!("expected Unavailable, got {:?}", other.map(|p| p.name())),
    }
}

#[test]
fn explicit_name_wins_over_nothing() {
    // LNL_PROVIDER is read only when no explicit name is given (checked through the CLI tests,
    // which set the variable in a child process rather than in this shared test process).
    assert_eq!(
        registry::requested_name(Some("cpu")).as_deref(),
        Some("cpu")
    );
}
