//! `W` packed once, when the layer is built, into the layout the microkernel streams: column
//! panels of [`NR`] outputs, each `[hidden][NR]` contiguous (`k`-major), the last panel
//! zero-padded. A `k` range of a panel is one contiguous slice, so every `KC` block of the GEMM
//! and the decode path's full-`k` stream read straight through memory.

use crate::huge_pages;
use crate::microkernel::{NR, NV};
use lnl_core::LayerParams;
use rayon::prelude::*;
use wide::f32x8;

/// Packed weights and the bias padded to whole panels (zeros where the layer has none).
#[derive(Debug, Clone)]
pub struct PackedW {
    hidden: usize,
    out: usize,
    panels: usize,
    data: Vec<f32x8>,
    bias: Vec<f32>,
}

impl PackedW {
    /// Packs `params.weight()` (`[out, hidden]`) and the bias. Parallel over panels.
    pub fn new(params: &LayerParams) -> Self {
        let (h, o) = (params.hidden(), params.out());
        let panels = o.div_ceil(NR);
        let w = params.weight();
        // Huge pages: decode streams all of W every call (docs/PERF.md).
        let mut data = huge_pages::filled_vec(panels * h * NV, f32x8::ZERO);
        data.par_chunks_mut(h * NV)
            .enumerate()
            .for_each(|(j, panel)| {
                for (k, vecs) in panel.chunks_exact_mut(NV).enumerate() {
                    for (v, lane_vec) in vecs.iter_mut().enumerate() {
                        let lanes = lane_vec.as_mut_array();
                        for (l, lane) in lanes.iter_mut().enumerate() {
                            let col = j * NR + v * 8 + l;
                            if col < o {
                                *lane = w[col * h + k];
                            }
                        }
                    }
                }
            });
        let mut bias = vec![0.0; panels * NR];
        if let Some(b) = params.bias() {
            bias[..o].copy_from_slice(b);
        }
        Self {
            hidden: h,
            out: o,
            panels,
            data,
            bias,
        }
    }

    /// Hidden size `K`.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
    /// Output size `N`.
    pub fn out(&self) -> usize {
        self.out
    }
    /// Number of [`NR`]-wide column panels.
    pub fn panels(&self) -> usize {
        self.panels
    }
    /// Rows `k0..k1` of panel `j`, `(k1 - k0) * NV` vectors.
    #[inline]
    pub fn panel(&self, j: usize, k0: usize, k1: usize) -> &[f32x8] {
        let base = j * self.hidden * NV;
        &self.data[base + k0 * NV..base + k1 * NV]
    }
    /// The padded bias of panel `j` ([`NR`] values).
    #[inline]
    pub fn bias(&self, j: usize) -> &[f32] {
        &self.bias[j * NR..(j + 1) * NR]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnl_core::testdata::random_params;

    #[test]
    fn every_weight_lands_in_its_panel_slot_and_padding_is_zero() {
        let (h, o) = (5, 21); // two panels, the second holds 5 real columns
        let p = random_params(h, o, 1e-5, 3);
        let pw = PackedW::new(&p);
        assert_eq!(pw.panels(), 2);
        for j in 0..2 {
            let panel = pw.panel(j, 0, h);
            for k in 0..h {
                for l in 0..NR {
                    let got = panel[k * NV + l / 8].as_array()[l % 8];
                    let col = j * NR + l;
                    let want = if col < o {
                        p.weight()[col * h + k]
                    } else {
                        0.0
                    };
                    assert_eq!(got, want, "panel {j} k {k} lane {l}");
                }
            }
            for (l, &b) in pw.bias(j).iter().enumerate() {
                let col = j * NR + l;
                let want = if col < o { p.bias().unwrap()[col] } else { 0.0 };
                assert_eq!(b, want);
            }
        }
    }
}
