//! Adversarial inputs, many rows, determinism, concurrency and errors. Skips without a GPU
//! (prints why) unless LNL_REQUIRE_CUDA=1.

mod common;

use std::sync::Arc;

use lnl_core::testdata::{normal_vec, random_params};
use lnl_core::{Error, LayerNormLinear, Param, Strategy};

/// Rows of every adversarial kind, for `h` columns: large mean offset, constant, huge
/// magnitude (squares overflow f32), NaN, Inf, tiny magnitude, and plain rows between them.
fn adversarial_rows(h: usize, seed: u64) -> (Vec<f32>, usize) {
    let n = normal_vec(h * 9, seed);
    let mut x = Vec::new();
    let row = |i: usize| &n[i * h..(i + 1) * h];
    x.extend(row(0).iter().map(|v| 1e4 + v)); // mean 1e4 x std
    x.extend(row(1).iter().map(|v| -3e5 + 10.0 * v)); // mean 3e4 x std, negative
    x.extend(std::iter::repeat_n(7.25f32, h)); // constant: var 0, xhat 0, y = W beta + b
    x.extend(row(2).iter().map(|v| v * 1e20)); // squares overflow: scaled statistics
    x.extend(row(3).iter()); // plain
    let mut nan = row(4).to_vec();
    nan[h / 2] = f32::NAN;
    x.extend(nan);
    let mut inf = row(5).to_vec();
    inf[0] = f32::INFINITY;
    x.extend(inf);
    x.extend(row(6).iter().map(|v| v * 1e-20)); // tiny: eps dominates
    x.extend(row(7).iter()); // plain, after the NaN/Inf rows
    (x, 9)
}

#[test]
fn adversarial_rows_on_every_path() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    // (H, O, extra plain rows; a negative count drops that many of the 9 adversarial rows):
    // tiny (registers, vec and scalar; 8-lane groups), GEMV R=8 twice (9 rows -> 2 groups),
    // GEMM vec, GEMM scalar, GEMV R=4 on two block sets (8 rows of H = 11008), GEMM with
    // the row-wise kernels' block-wide teams (registers; memory past 16384).
    for (i, &(h, o, extra)) in [
        (8usize, 40usize, 0isize),
        (13, 20, 0),
        (64, 48, 0),
        (256, 2000, 0),
        (4096, 300, 70),
        (1030, 260, 100),
        (4096, 4096, 0),
        (11008, 64, -1),
        (8192, 64, 60),  // row-wise kernels: 512-thread teams, the row in registers
        (20000, 64, 60), // rows past the registers: re-read from memory
    ]
    .iter()
    .enumerate()
    {
        let params = random_params(h, o, 1e-5, 50 + i as u64);
        let (mut x, mut rows) = adversarial_rows(h, 60 + i as u64);
        if extra >= 0 {
            x.extend(normal_vec(extra as usize * h, 70 + i as u64));
        } else {
            x.truncate((rows - extra.unsigned_abs()) * h);
        }
        rows = x.len() / h;
        let [unfused, fused] = common::check_both(&p, &params, &x, rows, "adversarial");
        // NaN and Inf rows (5 and 6) are non-finite, all other rows finite.
        for y in [&unfused, &fused] {
            for r in 0..rows {
                let row = &y[r * o..(r + 1) * o];
                if r == 5 || r == 6 {
                    assert!(
                        row.iter().all(|v| !v.is_finite()),
                        "row {r} should be non-finite"
                    );
                } else {
                    assert!(
                        row.iter().all(|v| v.is_finite()),
                        "row {r} should be finite (H {h})"
                    );
                }
            }
        }
    }
}

#[test]
fn a_million_rows_and_a_few_million() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    for (rows, h, o) in [(1usize << 20, 16usize, 24usize), (3_000_000, 4, 4)] {
        let params = random_params(h, o, 1e-5, rows as u64);
        let x = normal_vec(rows * h, 1 + rows as u64);
        common::check_both(&p, &params, &x, rows, "many rows");
    }
}

#[test]
fn results_are_bitwise_deterministic() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    for (rows, h, o) in [
        (8usize, 4096usize, 1000usize),
        (300, 1024, 700),
        (16, 8, 16),
        (512, 4096, 64), // row-wise kernels: block-wide reductions in shared memory
        (70, 20000, 30), // and from memory, past the registers
    ] {
        let params = random_params(h, o, 1e-5, 11);
        let x = normal_vec(rows * h, 12);
        for s in Strategy::ALL {
            let layer = p.build_layer(&params, s).unwrap();
            let first = common::run_poisoned(&layer, &x, rows, o);
            for _ in 0..3 {
                let again = common::run_poisoned(&layer, &x, rows, o);
                assert!(
                    first
                        .iter()
                        .zip(&again)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{s} rows {rows}: results differ between runs"
                );
            }
        }
    }
}

#[test]
fn one_layer_shared_by_threads() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let params = random_params(512, 300, 1e-5, 21);
    for s in Strategy::ALL {
        let layer = Arc::new(p.build_layer(&params, s).unwrap());
        let inputs: Vec<(usize, Vec<f32>)> = [4usize, 100, 7, 300]
            .iter()
            .enumerate()
            .map(|(i, &r)| (r, normal_vec(r * 512, 30 + i as u64)))
            .collect();
        let alone: Vec<Vec<f32>> = inputs
            .iter()
            .map(|(r, x)| layer.forward(x, *r).unwrap())
            .collect();
        let handles: Vec<_> = inputs
            .into_iter()
            .map(|(r, x)| {
                let layer = layer.clone();
                std::thread::spawn(move || {
                    (0..5)
                        .map(|_| layer.forward(&x, r).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for (h, want) in handles.into_iter().zip(&alone) {
            for got in h.join().unwrap() {
                assert_eq!(&got, want, "{s}: a concurrent call changed the result");
            }
        }
    }
}

#[test]
fn out_of_memory_is_an_error() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let layer = p
        .build_layer(&random_params(8, 8, 1e-5, 1), Strategy::Fused)
        .unwrap();
    let total = layer.device_info().total_mem;
    match layer.alloc_zeros(total) {
        // total_mem bytes -> 4x that in floats: more than the device has.
        Err(Error::OutOfMemory {
            provider,
            requested_bytes,
            ..
        }) => {
            assert_eq!(provider, "cuda");
            assert_eq!(requested_bytes, total * 4);
        }
        other => panic!("expected OutOfMemory, got {:?}", other.map(|s| s.len())),
    }
    // The layer still works after the failed allocation.
    assert_eq!(layer.forward(&normal_vec(16, 2), 2).unwrap().len(), 16);
}

#[test]
fn bad_lengths_are_typed_errors() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let layer = p
        .build_layer(&random_params(8, 4, 1e-5, 1), Strategy::Unfused)
        .unwrap();
    assert!(matches!(
        layer.forward(&[0.0; 15], 2),
        Err(Error::LengthMismatch {
            param: Param::X,
            expected: 16,
            actual: 15
        })
    ));
    let x = layer.alloc_zeros(16).unwrap();
    let mut y = layer.alloc_zeros(7).unwrap();
    assert!(matches!(
        layer.forward_device(&x, 2, &mut y),
        Err(Error::LengthMismatch {
            param: Param::Output,
            expected: 8,
            actual: 7
        })
    ));
}
