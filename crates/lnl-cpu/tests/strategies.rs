//! Both strategies against the f64 reference and the derived tolerance of `lnl_core`, on the
//! awkward inputs: H not a multiple of 8, O not a multiple of 16, rows 1..=70, large mean
//! offsets, constant rows, |x| ~ 1e20, NaN rows; plus the provider's contract (probe, errors,
//! determinism, thread-count independence, fused == unfused bit for bit, concurrent use).

use lnl_core::testdata::{normal_vec, random_params, SplitMix64};
use lnl_core::tolerance::{check, expected};
use lnl_core::{Error, LayerNormLinear, LayerParams, Provider, Strategy};
use lnl_cpu::{BareGemm, CpuProvider};
use std::sync::Arc;

fn build(p: &LayerParams, s: Strategy) -> Box<dyn LayerNormLinear> {
    CpuProvider::default().build(p, s).unwrap()
}

/// Runs both strategies, checks each against the tolerance, and that they agree bit for bit.
fn check_both(p: &LayerParams, x: &[f32], rows: usize, what: &str) -> Vec<f32> {
    let exp = expected(p, x, rows).unwrap();
    let mut outs = Vec::new();
    for s in Strategy::ALL {
        let y = build(p, s).forward(x, rows).unwrap();
        let r = check(&exp, &y);
        assert!(r.passed(), "{what} {s}: {r}");
        outs.push(y);
    }
    let same = outs[0]
        .iter()
        .zip(&outs[1])
        .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
    assert!(same, "{what}: fused and unfused differ");
    outs.pop().unwrap()
}

#[test]
fn random_shapes_within_tolerance() {
    let mut rng = SplitMix64::new(2024);
    for case in 0..24 {
        let rows = 1 + (rng.next_u64() % 70) as usize;
        let h = 1 + (rng.next_u64() % 300) as usize;
        let o = 1 + (rng.next_u64() % 90) as usize;
        let p = random_params(h, o, 1e-5, case);
        let x = normal_vec(rows * h, case + 100);
        check_both(&p, &x, rows, &format!("case {case}: {rows}x{h}x{o}"));
    }
}

#[test]
fn every_row_count_1_to_70_across_both_partitions() {
    // H spans two k blocks (KC = 256) with a ragged tail; O a ragged panel.
    let (h, o) = (263, 37);
    let p = random_params(h, o, 1e-5, 5);
    let x = normal_vec(70 * h, 6);
    for rows in 1..=70 {
        check_both(&p, &x[..rows * h], rows, &format!("rows {rows}"));
    }
}

#[test]
fn big_enough_to_run_in_parallel() {
    // Above the serial threshold and with more rows than one row block.
    let (rows, h, o) = (300, 520, 200);
    let p = random_params(h, o, 1e-5, 8);
    let x = normal_vec(rows * h, 9);
    check_both(&p, &x, rows, "300x520x200");
}

#[test]
fn large_mean_offset_constant_rows_huge_and_nan_rows() {
    let (h, o, rows) = (77, 19, 6);
    let p = random_params(h, o, 1e-5, 11);
    let mut x = normal_vec(rows * h, 12);
    for v in &mut x[..h] {
        *v += 1e4; // mean 1e4 x std
    }
    for v in &mut x[h..2 * h] {
        *v = 3.25; // constant row: output is W·beta + b
    }
    for v in &mut x[2 * h..3 * h] {
        *v *= 1e20; // squares overflow f32: the scaled fallback keeps it exact
    }
    x[3 * h + 5] = f32::NAN;
    x[4 * h + 1] = f32::INFINITY;
    let y = check_both(&p, &x, rows, "special rows");
    assert!(
        y[2 * o..3 * o].iter().all(|v| v.is_finite()),
        "1e20 row must be finite"
    );
    assert!(y[3 * o..4 * o].iter().all(|v| !v.is_finite()), "NaN row");
    assert!(y[4 * o..5 * o].iter().all(|v| !v.is_finite()), "Inf row");
    for (i, rowy) in y.chunks(o).enumerate() {
        if i != 3 && i != 4 {
            assert!(
                rowy.iter().all(|v| v.is_finite()),
                "row {i} caught a neighbour's NaN"
            );
        }
    }
}

#[test]
fn same_bits_every_run_and_every_thread_count() {
    let (rows, h, o) = (150, 300, 130);
    let p = random_params(h, o, 1e-5, 13);
    let x = normal_vec(rows * h, 14);
    for s in Strategy::ALL {
        let base = build(&p, s).forward(&x, rows).unwrap();
        for threads in [1, 2, 3, 5] {
            let pool = Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap(),
            );
            let layer = CpuProvider::with_pool(pool).build(&p, s).unwrap();
            assert_eq!(
                layer.forward(&x, rows).unwrap(),
                base,
                "{s} threads {threads}"
            );
            assert_eq!(layer.forward(&x, rows).unwrap(), base, "{s} rerun");
        }
    }
}

#[test]
fn concurrent_calls_on_one_layer() {
    let (h, o) = (200, 70);
    let p = random_params(h, o, 1e-5, 15);
    let layer: Arc<dyn LayerNormLinear> = Arc::from(build(&p, Strategy::Fused));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let layer = Arc::clone(&layer);
            let p = p.clone();
            std::thread::spawn(move || {
                let rows = 20 + 30 * t;
                let x = normal_vec(rows * h, t as u64);
                let want = build(&p, Strategy::Fused).forward(&x, rows).unwrap();
                for _ in 0..5 {
                    assert_eq!(layer.forward(&x, rows).unwrap(), want);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn seed_shape_and_no_bias() {
    let s = lnl_core::shapes::SEED;
    let p = random_params(s.hidden, s.out, 1e-5, 1);
    let x = normal_vec(s.rows * s.hidden, 2);
    check_both(&p, &x, s.rows, "seed");
    let nb = LayerParams::new(
        s.hidden,
        s.out,
        p.weight().to_vec(),
        p.gamma().to_vec(),
        p.beta().to_vec(),
        None,
        p.eps(),
    )
    .unwrap();
    check_both(&nb, &x, s.rows, "seed without bias");
}

#[test]
fn bad_lengths_are_typed_errors() {
    let p = random_params(8, 4, 1e-5, 1);
    for s in Strategy::ALL {
        let l = build(&p, s);
        assert!(matches!(
            l.forward(&[0.0; 7], 1),
            Err(Error::LengthMismatch { .. })
        ));
        let mut y = vec![0.0; 3];
        assert!(matches!(
            l.forward_into(&[0.0; 8], 1, &mut y),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(l.forward(&[], 0).unwrap().is_empty());
    }
    let g = BareGemm::new(&p);
    assert!(matches!(
        g.run(&[0.0; 8], 1, &mut [0.0; 5]),
        Err(Error::LengthMismatch { .. })
    ));
}

#[test]
fn bare_gemm_matches_f64() {
    let (rows, h, o) = (33, 129, 45);
    let p = random_params(h, o, 1e-5, 21);
    let x = normal_vec(rows * h, 22);
    let mut y = vec![0.0; rows * o];
    BareGemm::new(&p).run(&x, rows, &mut y).unwrap();
    for r in 0..rows {
        for c in 0..o {
            let terms: Vec<f64> = (0..h)
                .map(|k| x[r * h + k] as f64 * p.weight()[c * h + k] as f64)
                .collect();
            let want = terms.iter().sum::<f64>() + p.bias().unwrap()[c] as f64;
            let scale = terms.iter().map(|t| t.abs()).sum::<f64>() + 1.0;
            let got = y[r * o + c] as f64;
            assert!(
                (got - want).abs() <= 1e-5 * scale,
                "[{r},{c}] {got} vs {want}"
            );
        }
    }
}

#[test]
fn provider_contract() {
    let cpu = CpuProvider::default();
    assert_eq!(cpu.name(), "cpu");
    let d = cpu.probe().unwrap();
    assert!(!d.is_empty());
    let l = build(&random_params(8, 4, 1e-5, 1), Strategy::Fused);
    let info = l.info();
    assert_eq!(
        (info.provider, info.strategy, info.hidden, info.out),
        ("cpu", Strategy::Fused, 8, 4)
    );
}
