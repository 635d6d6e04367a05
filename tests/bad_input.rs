//! Every bad input gives the same typed error on every provider, and never a panic.

mod common;

use layernorm_linear::{Error, LayerParams, Param, Strategy};

fn params(hidden: usize, out: usize) -> LayerParams {
    layernorm_linear::testdata::random_params(hidden, out, 1e-5, 9)
}

fn length(param: Param, expected: usize, actual: usize) -> Error {
    Error::LengthMismatch {
        param,
        expected,
        actual,
    }
}

#[test]
fn params_reject_wrong_lengths_zero_sizes_and_bad_eps() {
    let ok = |w: usize, g: usize, b: usize, bias: Option<usize>, eps: f32| {
        LayerParams::new(
            4,
            3,
            vec![0.1; w],
            vec![1.0; g],
            vec![0.0; b],
            bias.map(|n| vec![0.0; n]),
            eps,
        )
    };
    assert!(ok(12, 4, 4, Some(3), 1e-5).is_ok());
    assert!(ok(12, 4, 4, None, 1e-5).is_ok());
    assert_eq!(
        ok(11, 4, 4, None, 1e-5).unwrap_err(),
        length(Param::Weight, 12, 11)
    );
    assert_eq!(
        ok(12, 5, 4, None, 1e-5).unwrap_err(),
        length(Param::Gamma, 4, 5)
    );
    assert_eq!(
        ok(12, 4, 3, None, 1e-5).unwrap_err(),
        length(Param::Beta, 4, 3)
    );
    assert_eq!(
        ok(12, 4, 4, Some(4), 1e-5).unwrap_err(),
        length(Param::Bias, 3, 4)
    );
    for eps in [0.0, -1e-5, f32::NAN, f32::INFINITY] {
        match ok(12, 4, 4, None, eps).unwrap_err() {
            Error::InvalidEps { eps: got } => assert!(got.to_bits() == eps.to_bits()),
            other => panic!("eps {eps}: {other:?}"),
        }
    }
    let zero_hidden = LayerParams::new(0, 3, vec![], vec![], vec![], None, 1e-5);
    assert_eq!(
        zero_hidden.unwrap_err(),
        Error::ZeroSize {
            param: Param::Hidden
        }
    );
    let zero_out = LayerParams::new(4, 0, vec![], vec![1.0; 4], vec![0.0; 4], None, 1e-5);
    assert_eq!(zero_out.unwrap_err(), Error::ZeroSize { param: Param::Out });
    let huge = LayerParams::new(usize::MAX / 2, 3, vec![], vec![], vec![], None, 1e-5);
    assert!(matches!(
        huge.unwrap_err(),
        Error::SizeOverflow {
            param: Param::Weight,
            ..
        }
    ));
}

#[test]
fn forward_rejects_wrong_lengths_and_overflow_on_every_provider() {
    let p = params(5, 3);
    for provider in common::available_providers() {
        for strategy in Strategy::ALL {
            let layer = provider.build(&p, strategy).unwrap();
            let who = format!("{} {strategy}", provider.name());
            let mut y = vec![0.0; 6];
            assert_eq!(
                layer.forward_into(&[0.5; 9], 2, &mut y).unwrap_err(),
                length(Param::X, 10, 9),
                "{who}"
            );
            assert_eq!(
                layer.forward_into(&[0.5; 10], 2, &mut y[..5]).unwrap_err(),
                length(Param::Output, 6, 5),
                "{who}"
            );
            assert_eq!(
                layer.forward(&[0.5; 11], 2).unwrap_err(),
                length(Param::X, 10, 11),
                "{who}"
            );
            let overflow = layer.forward(&[], usize::MAX / 4).unwrap_err();
            assert!(
                matches!(overflow, Error::SizeOverflow { .. }),
                "{who}: {overflow:?}"
            );
            assert!(
                layer.forward(&[], 0).unwrap().is_empty(),
                "{who}: zero rows"
            );
            assert!(
                layer.forward_into(&[], 0, &mut []).is_ok(),
                "{who}: zero rows into"
            );
        }
    }
}
