//! Both strategies against the f64 reference with the derived tolerance, on shapes that hit
//! every kernel path: the few-rows GEMV (R = 1, 2, 4, 8, several row groups), the tiled GEMM
//! with 16-byte and scalar staging, edges that are not multiples of any tile. Skips without a
//! GPU (prints why) unless LNL_REQUIRE_CUDA=1.

mod common;

use lnl_core::testdata::{normal_vec, random_params, SplitMix64};
use lnl_core::{shapes, LayerNormLinear, Strategy};

#[test]
fn fixed_shapes_cover_every_path() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let shapes: &[(usize, usize, usize)] = &[
        (1, 1, 1),         // tiny, fused from registers
        (1, 3, 5),         // tiny, registers, scalar loads
        (16, 8, 16),       // the seed shape: tiny, one launch fused
        (64, 16, 64),      // tiny, registers, 16 blocks
        (50, 13, 100),     // tiny, registers, 20 blocks, H % 4 != 0
        (12, 30, 40),      // tiny, 8-lane groups, H % 4 != 0
        (7, 200, 30),      // tiny, 32-lane groups
        (1, 4100, 33),     // GEMV R=1, last W chunk one lane wide
        (2, 4096, 257),    // GEMV R=2
        (3, 7, 3000),      // GEMV R=4, scalar (H % 4 != 0)
        (3, 1024, 777),    // GEMV R=4, W ring
        (5, 1000, 999),    // GEMV R=8, odd O, partial last W chunk
        (8, 4096, 4096),   // decode shape
        (40, 100, 300),    // GEMV, five row groups
        (8, 11008, 300),   // GEMV R=4 on 2 block sets (8 rows of x exceed shared memory)
        (3, 20000, 100),   // GEMV R=2 on 2 block sets, partial second group
        (2, 50000, 20),    // GEMV R=1 on 2 block sets
        (65, 64, 200),     // GEMM (rows > 64), vec
        (129, 1030, 1031), // GEMM scalar (H % 4 == 2), ragged tiles
        (257, 1024, 1100), // GEMM vec, ragged tiles
        (300, 33, 260),    // GEMM scalar, small K
        (700, 256, 2100),  // GEMM vec, 17 tile columns (64x128 under the automatic choice)
        (150, 1028, 520),  // GEMM vec, ragged last K-tile (K % 16 == 4): zero-filled k
        (70, 12, 300),     // GEMM vec, K shorter than one K-tile
        (1601, 68, 2100), // GEMM vec, W^T core (over 3 tiles per SM on the H100), ragged everywhere
        (901, 132, 2052), // GEMM vec, sliced W^T core (2 tiles per SM on the H100): slice 1 of
                          // the last K-tile (k 128..143) all zero-filled, ragged rows
    ];
    for (i, &(rows, h, o)) in shapes.iter().enumerate() {
        let params = random_params(h, o, 1e-5, 100 + i as u64);
        let x = normal_vec(rows * h, 200 + i as u64);
        common::check_both(&p, &params, &x, rows, "fixed shape");
    }
}

/// The row-wise kernels (lnl_layernorm, lnl_row_stats: a team of threads per row, the row in
/// registers) on every team size and both load paths; GEMM shapes, so the fused path runs
/// lnl_row_stats. A test of its own, for the sanitizers.
#[test]
fn row_wise_team_sizes() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let shapes: &[(usize, usize, usize)] = &[
        (512, 4096, 64), // mid512's rows: 256-thread teams, a block per row
        (65, 6000, 20),  // 512-thread teams, threads holding 2 or 3 float4s
        (80, 4098, 30),  // scalar registers (H % 4 == 2), 512-thread teams
        (90, 511, 50),   // one-warp teams, two per block, scalar
        (66, 16384, 30), // the register maximum: 1024-thread teams, 4 float4s each
        (70, 20000, 40), // past it: statistics and output re-read from memory
    ];
    for (i, &(rows, h, o)) in shapes.iter().enumerate() {
        let params = random_params(h, o, 1e-5, 300 + i as u64);
        // A mean of 4 standard deviations: the two-pass statistics must keep the residuals.
        let x: Vec<f32> = normal_vec(rows * h, 400 + i as u64)
            .iter()
            .map(|v| 4.0 + v)
            .collect();
        common::check_both(&p, &params, &x, rows, "row-wise");
    }
}

#[test]
fn random_shapes() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let mut rng = SplitMix64::new(0x5eed);
    for i in 0..24 {
        let rows = 1 + (rng.next_u64() % 300) as usize;
        let h = 1 + (rng.next_u64() % 700) as usize;
        let o = 1 + (rng.next_u64() % 700) as usize;
        let params = random_params(h, o, 1e-5, 1000 + i);
        // Non-zero mean and non-unit scale, different per test.
        let (shift, scale) = (rng.normal() as f32 * 3.0, 0.1 + rng.uniform() as f32 * 5.0);
        let x: Vec<f32> = normal_vec(rows * h, 2000 + i)
            .iter()
            .map(|v| v * scale + shift)
            .collect();
        common::check_both(&p, &params, &x, rows, "random shape");
    }
}

#[test]
fn suite_shapes_small_enough_for_the_reference() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    for s in shapes::SUITE
        .iter()
        .filter(|s| s.rows <= 8 || s.rows * s.hidden * s.out <= 1 << 24)
    {
        let params = random_params(s.hidden, s.out, 1e-5, 7);
        let x = normal_vec(s.rows * s.hidden, 8);
        common::check_both(&p, &params, &x, s.rows, s.name);
    }
}

#[test]
fn host_forward_matches_device_forward_and_zero_rows_is_a_no_op() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let params = random_params(96, 40, 1e-5, 3);
    for s in Strategy::ALL {
        let layer = p.build_layer(&params, s).unwrap();
        assert!(layer.forward(&[], 0).unwrap().is_empty());
        let empty = layer.alloc_zeros(0).unwrap();
        let mut y0 = layer.alloc_zeros(0).unwrap();
        layer.forward_device(&empty, 0, &mut y0).unwrap();
        let x = normal_vec(12 * 96, 4);
        let host = layer.forward(&x, 12).unwrap();
        let dev = common::run_poisoned(&layer, &x, 12, 40);
        assert_eq!(host, dev, "{s}");
    }
}

#[test]
fn seed_shape_fused_is_one_launch() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let s = shapes::SEED;
    let params = random_params(s.hidden, s.out, 1e-5, 1);
    let fused = p.build_layer(&params, Strategy::Fused).unwrap();
    assert_eq!(
        fused.launches(s.rows).len(),
        1,
        "{:?}",
        fused.launches(s.rows)
    );
    let unfused = p.build_layer(&params, Strategy::Unfused).unwrap();
    assert_eq!(
        unfused.launches(s.rows).len(),
        2,
        "{:?}",
        unfused.launches(s.rows)
    );
}

#[test]
fn layer_without_bias() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    let base = random_params(50, 70, 1e-5, 9);
    let params = lnl_core::LayerParams::new(
        50,
        70,
        base.weight().to_vec(),
        base.gamma().to_vec(),
        base.beta().to_vec(),
        None,
        1e-3,
    )
    .unwrap();
    for rows in [3, 100] {
        common::check_both(&p, &params, &normal_vec(rows * 50, 10), rows, "no bias");
    }
}
