//! The lean W-ring stream loop (kernels/cuda/gemv.cu) against the loop it replaced
//! (gemv_ring_old.cu, `LNL_CUDA_GEMV=ring-old`): both must give the same bits on every GEMV path,
//! since each output's products and their order are unchanged. The module is chosen once per
//! process, so the comparison spans two runs of this binary:
//!
//!     LNL_CUDA_GEMV=ring-old LNL_GEMV_AB_WRITE=/tmp/ab.txt gpu_gemv_ring_ab   # old: digests
//!     LNL_GEMV_AB_EXPECT=/tmp/ab.txt gpu_gemv_ring_ab                        # new: must match
//!
//! Without those variables it checks the outputs against the f64 reference (derived bound) only.
//! Skips without a GPU (prints why) unless LNL_REQUIRE_CUDA=1.

mod common;

use lnl_core::testdata::{normal_vec, random_params};
use lnl_cuda::kernels::gemv_ring_old;

/// FNV-1a over the f32 bit patterns (NaN payloads included).
fn digest(y: &[f32]) -> u64 {
    y.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        v.to_bits().to_le_bytes().iter().fold(h, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        })
    })
}

#[test]
fn lean_ring_gives_the_old_rings_bits() {
    let Some(p) = common::provider_or_skip() else {
        return;
    };
    eprintln!(
        "module: {}",
        if gemv_ring_old() {
            "ring-old"
        } else {
            "lean ring"
        }
    );
    // (rows, H, O): decode1, decode8, R=1 with a one-lane last chunk, R=2, R=4, R=8 with odd O
    // and a partial last chunk, five row groups, H shorter than one ring (H 256: 2 chunks),
    // H % 128 != 0 at R=8 (padded x chunks), the scalar path.
    let shapes = [
        (1usize, 4096usize, 4096usize),
        (8, 4096, 4096),
        (1, 4100, 33),
        (2, 4096, 257),
        (3, 1024, 777),
        (5, 1000, 999),
        (40, 100, 300),
        (8, 256, 1000),
        (8, 3000, 515),
        (3, 7, 3000),
    ];
    let mut lines = Vec::new();
    for (i, &(rows, h, o)) in shapes.iter().enumerate() {
        let params = random_params(h, o, 1e-5, 900 + i as u64);
        let mut x = normal_vec(rows * h, 950 + i as u64);
        if rows >= 3 {
            // A row with mean 1e4 x its std and a NaN row: the adversarial cases on this path.
            x[..h].iter_mut().for_each(|v| *v += 1e4);
            x[2 * h + h / 2] = f32::NAN;
        }
        let ys = common::check_both(&p, &params, &x, rows, "ring A/B");
        for (s, y) in ["unfused", "fused"].iter().zip(&ys) {
            lines.push(format!("{rows}x{h}->{o} {s} {:016x}", digest(y)));
        }
    }
    let text = lines.join("\n") + "\n";
    eprint!("{text}");
    if let Ok(path) = std::env::var("LNL_GEMV_AB_WRITE") {
        std::fs::write(&path, &text).expect("write digests");
    }
    if let Ok(path) = std::env::var("LNL_GEMV_AB_EXPECT") {
        let expected = std::fs::read_to_string(&path).expect("read digests");
        assert_eq!(
            expected, text,
            "the outputs differ in bits from the run that wrote {path}"
        );
    }
}
