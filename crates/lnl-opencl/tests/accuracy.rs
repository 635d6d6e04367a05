//! Both strategies against the f64 reference and its derived bound, on shapes that exercise
//! the GEMV (few rows) and GEMM (many rows) paths, edges of every tile, and adversarial rows.

mod common;

use common::{check_both, layer};
use lnl_core::testdata::{normal_vec, random_params, SplitMix64};
use lnl_core::{LayerNormLinear, LayerParams, Strategy};

#[test]
fn random_shapes_including_non_multiples_of_tiles() {
    // (rows, H, O): rows 1/3/16 take the GEMV, 17+ the GEMM; H and O off every tile size.
    let shapes = [
        (1, 8, 16),
        (3, 37, 29),
        (16, 8, 16),
        (16, 130, 65),
        (17, 33, 47),
        (70, 67, 131),
        (70, 128, 128),
        (129, 257, 66),
        (5, 1, 3),
        (40, 2, 1),
    ];
    for (i, &(rows, h, o)) in shapes.iter().enumerate() {
        let params = random_params(h, o, 1e-5, 100 + i as u64);
        let x = normal_vec(rows * h, 200 + i as u64);
        check_both(&params, &x, rows, "random");
    }
}

#[test]
fn random_shapes_from_a_seeded_generator() {
    let mut rng = SplitMix64::new(42);
    for case in 0..6u64 {
        let rows = 1 + (rng.next_u64() % 90) as usize;
        let h = 1 + (rng.next_u64() % 300) as usize;
        let o = 1 + (rng.next_u64() % 200) as usize;
        let params = random_params(h, o, 1e-5, 300 + case);
        let x = normal_vec(rows * h, 400 + case);
        check_both(&params, &x, rows, "seeded");
    }
}

#[test]
fn zero_rows_is_a_no_op_and_no_bias_works() {
    let p = random_params(24, 10, 1e-5, 5);
    let no_bias = LayerParams::new(
        24,
        10,
        p.weight().to_vec(),
        p.gamma().to_vec(),
        p.beta().to_vec(),
        None,
        1e-5,
    )
    .unwrap();
    for s in Strategy::ALL {
        assert!(layer(&no_bias, s).forward(&[], 0).unwrap().is_empty());
    }
    check_both(&no_bias, &normal_vec(3 * 24, 6), 3, "no bias");
    check_both(&no_bias, &normal_vec(70 * 24, 7), 70, "no bias");
}

/// Rows: mean 1e4 x std, constant, |x| ~ 1e20 (squares overflow), NaN, and a normal row after
/// each to show that nothing leaks between rows.
fn adversarial_rows(h: usize, seed: u64) -> (Vec<f32>, usize) {
    let n = normal_vec(h, seed);
    let mut x = Vec::new();
    let mut rows = 0;
    let mut push = |row: Vec<f32>| {
        x.extend(row);
        rows += 1;
    };
    push(n.iter().map(|v| 1e4 + v).collect());
    push(n.clone());
    push(vec![3.5; h]);
    push(n.iter().map(|v| v * 1e20).collect());
    push(n.iter().map(|v| 1e20 + v * 1e19).collect());
    let mut with_nan = n.clone();
    with_nan[h / 2] = f32::NAN;
    push(with_nan);
    push(n.iter().map(|v| -v).collect());
    (x, rows)
}

/// `rows` normal rows (seed `x_seed`) whose first rows are replaced by [`adversarial_rows`]
/// (seed `adv_seed`), as many as fit; also returns how many adversarial rows there are.
fn normal_with_adversarial_head(
    rows: usize,
    h: usize,
    adv_seed: u64,
    x_seed: u64,
) -> (Vec<f32>, usize) {
    let (adv, adv_rows) = adversarial_rows(h, adv_seed);
    let mut x = normal_vec(rows * h, x_seed);
    let n = adv.len().min(x.len());
    x[..n].copy_from_slice(&adv[..n]);
    (x, adv_rows)
}

#[test]
fn adversarial_rows_on_both_paths() {
    for (h, o) in [(64, 24), (257, 40)] {
        let params = random_params(h, o, 1e-5, 11);
        let (x, rows) = adversarial_rows(h, 12);
        // As they come (few rows: the GEMV path) ...
        check_both(&params, &x, rows, "adversarial, GEMV");
        // ... and repeated past the GEMV limit (the GEMM path).
        let many: Vec<f32> = x.iter().copied().cycle().take(x.len() * 5).collect();
        check_both(&params, &many, rows * 5, "adversarial, GEMM");
    }
}

#[test]
fn nan_row_poisons_only_its_own_outputs() {
    let (h, o) = (48, 20);
    let params = random_params(h, o, 1e-5, 13);
    for rows in [4, 40] {
        let mut x = normal_vec(rows * h, 14);
        x[2 * h + 5] = f32::NAN;
        for s in Strategy::ALL {
            let y = layer(&params, s).forward(&x, rows).unwrap();
            for (r, row) in y.chunks(o).enumerate() {
                assert_eq!(
                    row.iter().all(|v| v.is_nan()),
                    r == 2,
                    "{s} rows {rows} row {r}"
                );
                assert!(r == 2 || row.iter().all(|v| v.is_finite()), "{s} row {r}");
            }
        }
    }
}

#[test]
fn results_are_bitwise_deterministic() {
    let params = random_params(200, 90, 1e-5, 15);
    for rows in [5, 50] {
        let x = normal_vec(rows * 200, 16);
        for s in Strategy::ALL {
            let l = layer(&params, s);
            let first = l.forward(&x, rows).unwrap();
            for _ in 0..3 {
                let again = l.forward(&x, rows).unwrap();
                let same = first
                    .iter()
                    .zip(&again)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{s} rows {rows}: results differ between runs");
            }
        }
    }
}

#[test]
fn device_resident_entry_points_match_the_host_path() {
    let (rows, h, o) = (20, 40, 30);
    let params = random_params(h, o, 1e-5, 17);
    let x = normal_vec(rows * h, 18);
    for s in Strategy::ALL {
        let l = layer(&params, s);
        let host = l.forward(&x, rows).unwrap();
        let xb = l.upload(&x).unwrap();
        let yb = l.alloc(rows * o).unwrap();
        let run = l.enqueue_profiled(&xb, rows, &yb).unwrap().unwrap();
        l.finish().unwrap();
        assert!(run.elapsed_ns().unwrap() > 0);
        let mut dev = vec![f32::NAN; rows * o];
        l.download(&yb, &mut dev).unwrap();
        assert_eq!(host, dev, "{s}");
        // A wrong length is a typed error, not a panic or an out-of-bounds kernel.
        let short = l.alloc(rows * o - 1).unwrap();
        assert!(matches!(
            l.forward_device(&xb, rows, &short),
            Err(lnl_core::Error::LengthMismatch { .. })
        ));
    }
}

#[test]
fn layer_reports_its_provider_and_device() {
    let params = random_params(8, 16, 1e-5, 19);
    let info = layer(&params, Strategy::Fused).info();
    assert_eq!(info.provider, "opencl");
    assert_eq!(
        (info.hidden, info.out, info.strategy),
        (8, 16, Strategy::Fused)
    );
    assert!(!info.device.is_empty());
}

/// The first configuration of an H100-sized GPU whose kernels this device accepts (on a real GPU
/// a kernel's register use can lower its work-group limit below the configuration's). Portable
/// GPU levels only; the NVIDIA-only hints are in the GEMV variant test.
fn first_gpu_config() -> lnl_opencl::KernelConfig {
    let gpu = lnl_opencl::DeviceLimits {
        is_gpu: true,
        max_work_group: 1024,
        max_items_dim0: 1024,
        local_mem_bytes: 48 * 1024,
        compute_units: 132,
        nvidia: false,
    };
    let probe = random_params(8, 8, 1e-5, 499);
    lnl_opencl::KernelConfig::candidates(&gpu)
        .into_iter()
        .find(|&c| lnl_opencl::OpenClLayer::with_config(&probe, Strategy::Fused, c).is_ok())
        .expect("a GPU-level configuration this device accepts")
}

/// The configuration an H100-class GPU gets (128x128 tiles, 8x8 per work-item, 256-wide GEMV),
/// run here on whatever device there is (PoCL in CI), so that its index arithmetic is tested
/// where there is no GPU.
#[test]
fn gpu_sized_configuration_is_correct_here() {
    let cfg = first_gpu_config();
    assert_eq!(cfg.gemm.tm, 8, "{cfg:?}");
    for (i, &(rows, h, o)) in [
        (3, 1030, 70),
        (16, 64, 33),
        (150, 131, 260),
        (129, 256, 128),
    ]
    .iter()
    .enumerate()
    {
        let params = random_params(h, o, 1e-5, 500 + i as u64);
        let (x, adv_rows) = normal_with_adversarial_head(rows, h, 600 + i as u64, 700 + i as u64);
        let exp = lnl_core::tolerance::expected(&params, &x, rows).unwrap();
        for s in Strategy::ALL {
            let l = lnl_opencl::OpenClLayer::with_config(&params, s, cfg).unwrap();
            let y = l.forward(&x, rows).unwrap();
            let report = lnl_core::tolerance::check(&exp, &y);
            assert!(
                report.passed(),
                "{s} rows {rows} H {h} O {o} ({adv_rows} adversarial): {report}"
            );
        }
    }
}

/// Every GEMV variant meets the bound on the GEMV path, adversarial rows included: one or more
/// rounds of outputs per work-group, and, where the device takes them, the NVIDIA-only cache
/// hints (variants a device rejects are listed and skipped).
#[test]
fn every_gemv_variant_meets_the_bound() {
    let base = first_gpu_config();
    let with = |f: &dyn Fn(&mut lnl_opencl::GemvTiles)| {
        let mut c = base;
        f(&mut c.gemv);
        c
    };
    let variants = [
        ("plain", base, true),
        ("one group", with(&|v| v.per_cu = 1), true),
        ("NVIDIA loads past L1", with(&|v| v.nv = true), false),
        (
            "NVIDIA loads past L1, L2 prefetch",
            with(&|v| (v.nv, v.pf) = (true, 4)),
            false,
        ),
    ];
    for (rows, h, o) in [(8, 512, 700), (1, 512, 70), (5, 1032, 33), (3, 30, 20)] {
        let params = random_params(h, o, 1e-5, 900 + rows as u64);
        let (x, _) = normal_with_adversarial_head(rows, h, 901, 902);
        let exp = lnl_core::tolerance::expected(&params, &x, rows).unwrap();
        for (what, cfg, portable) in variants {
            let layer = match lnl_opencl::OpenClLayer::with_config(&params, Strategy::Fused, cfg) {
                Ok(l) => l,
                Err(lnl_core::Error::Unavailable { reason, .. }) if !portable => {
                    eprintln!("{what}: not on this device ({reason})");
                    continue;
                }
                Err(e) => panic!("{what}: {e}"),
            };
            let report = lnl_core::tolerance::check(&exp, &layer.forward(&x, rows).unwrap());
            assert!(report.passed(), "{what}: rows {rows} H {h} O {o}: {report}");
        }
    }
}

#[test]
fn an_impossible_allocation_is_out_of_memory() {
    let l = layer(&random_params(8, 4, 1e-5, 21), Strategy::Fused);
    // 4 TiB: beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE of any device this runs on.
    match l.alloc(1 << 40) {
        Err(lnl_core::Error::OutOfMemory {
            requested_bytes, ..
        }) => assert_eq!(requested_bytes, 4 << 40),
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
}

/// The register GEMV (gemv_xreg.cl; on NVIDIA with shuffles through inline PTX, here with the
/// same exchanges through local memory, so the same sums in the same order): the fused strategy
/// (the unfused one takes the staged GEMV on the same configuration), adversarial rows, a NaN row that stays in its row, several row blocks, several flushes of
/// the warps' totals per work-group, H not a multiple of 4, H above the kernel's capacity (the
/// staged GEMV takes it), and the same bits on every run. The H100 shape (512 work-items, 2
/// float4 per row) included.
#[test]
fn register_gemv_meets_the_bound_and_isolates_rows() {
    let base = first_gpu_config();
    let with = |xnt, xp, xb, xf| {
        let mut c = base;
        (c.gemv.xnt, c.gemv.xp, c.gemv.xb, c.gemv.xf) = (xnt, xp, xb, xf);
        c.gemv.xdb = xb != 4; // both loop forms
        c.gemv.xr = 8; // up to 16 rows: as many as the staged GEMV's limit here
        c
    };
    let h100 = [(8, 4096, 40), (1, 4096, 8), (3, 2050, 17), (8, 64, 24)];
    let nvidia = |xb| {
        let mut c = with(512, 2, xb, 8);
        (c.gemv.nv, c.gemv.pf) = (true, 4);
        c
    };
    // Row blocks of 4 (256 work-items x 4 float4 per row: the same 64 registers of x), W not
    // double-buffered; the staged GEMV keeps its row blocks of 8.
    let mut r4 = with(256, 4, 1, 8);
    (r4.gemv.xr, r4.gemv.xdb) = (4, false);
    let mut r4_nvidia = r4;
    (r4_nvidia.gemv.nv, r4_nvidia.gemv.pf) = (true, 4);
    let cases = [
        (r4, [(8, 4096, 40), (7, 1000, 9), (1, 4096, 8), (3, 64, 24)]),
        (
            with(64, 2, 2, 3),
            [(8, 512, 70), (13, 257, 41), (1, 30, 9), (5, 600, 33)],
        ),
        (
            with(32, 1, 4, 2),
            [(16, 128, 50), (3, 126, 20), (2, 4, 5), (9, 100, 64)],
        ),
        (with(512, 2, 2, 8), h100),
        // NVIDIA's platform only (shuffles and cache hints through inline PTX): the default,
        // then 512-wide variants (refused by the H100's driver so far).
        (
            r4_nvidia,
            [(8, 4096, 40), (7, 1000, 9), (1, 4096, 8), (3, 64, 24)],
        ),
        (nvidia(2), h100),
        (nvidia(1), h100),
    ];
    for (cfg, shapes) in cases {
        assert!(cfg.gemv.xreg_fits(cfg.gemv.xnt * 4 * cfg.gemv.xp));
        let probe = random_params(8, 8, 1e-5, 999);
        // PoCL (CI) must run every portable case. Elsewhere a configuration the device refuses
        // (the NVIDIA-only cases off NVIDIA; on the H100, 512-wide kernels allowed only 256
        // work-items) is listed and skipped: the runtime would not pick it either.
        let pocl = on_pocl();
        match lnl_opencl::OpenClLayer::with_config(&probe, Strategy::Fused, cfg) {
            Err(lnl_core::Error::Unavailable { reason, .. }) if cfg.gemv.nv || !pocl => {
                eprintln!("{:?}: not on this device ({reason})", cfg.gemv);
                continue;
            }
            other => drop(other.unwrap()),
        }
        for (i, &(rows, h, o)) in shapes.iter().enumerate() {
            let params = random_params(h, o, 1e-5, 1000 + i as u64);
            let (x, adv_rows) =
                normal_with_adversarial_head(rows, h, 1100 + i as u64, 1200 + i as u64);
            let exp = lnl_core::tolerance::expected(&params, &x, rows).unwrap();
            for s in Strategy::ALL {
                let l = lnl_opencl::OpenClLayer::with_config(&params, s, cfg).unwrap();
                let y = l.forward(&x, rows).unwrap();
                let what = format!("{s} {:?} rows {rows} H {h} O {o}", cfg.gemv);
                let report = lnl_core::tolerance::check(&exp, &y);
                assert!(report.passed(), "{what} ({adv_rows} adversarial): {report}");
                // Row 5 of the adversarial block holds a NaN: exactly its outputs are NaN.
                for (r, row) in y.chunks(o).enumerate() {
                    let nan_row = r == 5 && rows > 5;
                    assert_eq!(row.iter().all(|v| v.is_nan()), nan_row, "{what} row {r}");
                    assert!(
                        nan_row || row.iter().all(|v| v.is_finite()),
                        "{what} row {r}"
                    );
                }
                let again = l.forward(&x, rows).unwrap();
                assert!(
                    y.iter()
                        .zip(&again)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{what}: results differ between runs"
                );
            }
        }
    }
}

/// Whether the tests run on PoCL (CI), where every portable configuration must build and run.
fn on_pocl() -> bool {
    let probe = random_params(8, 8, 1e-5, 998);
    common::layer(&probe, Strategy::Fused)
        .runtime()
        .description()
        .contains("Portable Computing Language")
}

/// One configuration with the register GEMV on, both strategies: the fused strategy takes the
/// register GEMV (one launch) where H fits, up to two row blocks of its widest variant: the
/// narrow variant up to its rows per block, then the wide one where the configuration has one,
/// else two narrow blocks; the staged GEMV otherwise. The unfused strategy: LayerNorm then
/// always the staged GEMV (rows up to 16 here; the GEMM beyond). Each forward's kernels are read
/// from its profiling record, and its output (into a NaN-poisoned buffer) meets the bound
/// against the f64 reference, adversarial rows included. Configurations: the NVIDIA default's
/// register GEMV shape with portable shuffles, narrow only and with the wide variant (both must
/// run on PoCL), and the NVIDIA default itself (only where NVIDIA's platform takes it; there a
/// refused wide variant leaves the narrow one, which the kernels then show).
#[test]
fn each_strategy_takes_its_own_gemv_kernel() {
    let mut narrow = first_gpu_config();
    let v = &mut narrow.gemv;
    (v.xnt, v.xp, v.xb, v.xf, v.xdb, v.xr) = (256, 4, 1, 8, false, 4);
    let mut wide = narrow;
    (wide.gemv.xr2, wide.gemv.xf2) = (8, 16);
    let h100 = lnl_opencl::DeviceLimits {
        is_gpu: true,
        max_work_group: 1024,
        max_items_dim0: 1024,
        local_mem_bytes: 48 * 1024,
        compute_units: 132,
        nvidia: true,
    };
    let nvidia = lnl_opencl::KernelConfig::candidates(&h100)[0];
    let pocl = on_pocl();
    // (rows, H, O, the fused strategy's kernels without the wide variant, with it, the unfused
    // strategy's).
    let gemvx = (None, "gemvx_fused");
    let gemvx_w = (None, "gemvx_wide_fused");
    let gemv_f = (None, "gemv_fused");
    let gemv_u = (Some("layernorm"), "gemv_unfused");
    let gemm = (Some("row_stats"), "gemm_fused");
    let cases = [
        (8, 4096, 40, gemvx, gemvx_w, gemv_u), // decode8's shape: two narrow blocks or one wide
        (1, 4096, 24, gemvx, gemvx, gemv_u),
        (4, 1000, 9, gemvx, gemvx, gemv_u),
        (5, 1000, 9, gemvx, gemvx_w, gemv_u),
        (9, 512, 33, gemv_f, gemvx_w, gemv_u), // beyond two narrow blocks
        (16, 64, 20, gemv_f, gemvx_w, gemv_u),
        (3, 4097, 17, gemv_f, gemv_f, gemv_u), // H beyond the register GEMV's columns
        (17, 64, 20, gemm, gemm, (Some("layernorm"), "gemm_unfused")),
    ];
    for cfg in [narrow, wide, nvidia] {
        assert_eq!(
            (cfg.gemv.r, cfg.gemv.xr, cfg.gemv_max_rows),
            (8, 4, 16),
            "{cfg:?}"
        );
        let probe = random_params(8, 8, 1e-5, 1299);
        let built = match lnl_opencl::OpenClLayer::with_config(&probe, Strategy::Fused, cfg) {
            Err(lnl_core::Error::Unavailable { reason, .. }) if cfg.gemv.nv || !pocl => {
                eprintln!("{:?}: not on this device ({reason})", cfg.gemv);
                continue;
            }
            other => {
                let layer = other.unwrap();
                if let Some((None, why)) = layer.runtime().xreg_wide_program() {
                    eprintln!("{:?}: wide variant {why}", cfg.gemv);
                }
                *layer.runtime().config()
            }
        };
        // PoCL builds every portable variant; elsewhere a refused wide one leaves the narrow.
        assert!(!pocl || built == cfg, "{cfg:?} became {built:?}");
        let with_wide = built.gemv.xr2 > 0;
        for (i, &(rows, h, o, narrow_only, wide_too, unfused)) in cases.iter().enumerate() {
            let fused = if with_wide { wide_too } else { narrow_only };
            let params = random_params(h, o, 1e-5, 1300 + i as u64);
            let (x, adv_rows) =
                normal_with_adversarial_head(rows, h, 1400 + i as u64, 1500 + i as u64);
            let exp = lnl_core::tolerance::expected(&params, &x, rows).unwrap();
            for (s, kernels) in [(Strategy::Fused, fused), (Strategy::Unfused, unfused)] {
                let l = lnl_opencl::OpenClLayer::with_config(&params, s, cfg).unwrap();
                let xb = l.upload(&x).unwrap();
                let yb = l.upload(&vec![f32::NAN; rows * o]).unwrap();
                let run = l.enqueue_profiled(&xb, rows, &yb).unwrap().unwrap();
                l.finish().unwrap();
                let what = format!("{s} {:?} rows {rows} H {h} O {o}", built.gemv);
                assert_eq!(run.kernel_names(), kernels, "{what}");
                let mut y = vec![0.0; rows * o];
                l.download(&yb, &mut y).unwrap();
                let report = lnl_core::tolerance::check(&exp, &y);
                assert!(report.passed(), "{what} ({adv_rows} adversarial): {report}");
            }
        }
    }
}
