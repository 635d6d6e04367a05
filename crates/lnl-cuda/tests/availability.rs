//! Runs everywhere: probing and building never panic; without a GPU they say why.

use lnl_core::{testdata::random_params, Error, Provider, Strategy};
use lnl_cuda::CudaProvider;

#[test]
fn probe_and_build_never_panic() {
    let p = CudaProvider::default();
    assert_eq!(p.name(), "cuda");
    match p.probe() {
        Ok(desc) => {
            assert!(!desc.is_empty());
            let layer = p
                .build(&random_params(4, 4, 1e-5, 1), Strategy::Fused)
                .unwrap();
            assert_eq!(layer.info().provider, "cuda");
        }
        Err(Error::Unavailable { provider, reason }) => {
            assert_eq!(provider, "cuda");
            assert!(!reason.is_empty());
            match p.build(&random_params(4, 4, 1e-5, 1), Strategy::Fused) {
                Err(Error::Unavailable { .. }) => {}
                Err(other) => panic!("build without CUDA gave {other}"),
                Ok(_) => panic!("build succeeded although probe failed"),
            }
            eprintln!("CUDA unavailable here: {reason}");
        }
        Err(other) => panic!("probe returned a non-Unavailable error: {other}"),
    }
}

#[test]
fn a_missing_device_ordinal_is_unavailable() {
    match CudaProvider::with_device(4096).probe() {
        Err(Error::Unavailable { .. }) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
