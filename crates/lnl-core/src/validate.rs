//! Input checks shared by every provider, so that bad input gives the same error variant
//! whichever provider runs.

use crate::{Error, Param, Result};

/// `a * b`, or [`Error::SizeOverflow`] naming `param`.
pub fn checked_elems(param: Param, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or(Error::SizeOverflow {
        param,
        a,
        b,
        limit: "usize",
    })
}

/// `Ok` when `actual == expected`, else [`Error::LengthMismatch`].
pub fn check_len(param: Param, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            param,
            expected,
            actual,
        })
    }
}

/// `eps` must be finite and > 0 (NaN fails too).
pub fn check_eps(eps: f32) -> Result<()> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidEps { eps })
    }
}

/// Checks a forward call: `x` is `[rows, hidden]`, `y` is `[rows, out]`.
pub fn check_forward(
    hidden: usize,
    out: usize,
    rows: usize,
    x_len: usize,
    y_len: usize,
) -> Result<()> {
    if hidden == 0 {
        return Err(Error::ZeroSize {
            param: Param::Hidden,
        });
    }
    if out == 0 {
        return Err(Error::ZeroSize { param: Param::Out });
    }
    check_len(Param::X, checked_elems(Param::X, rows, hidden)?, x_len)?;
    check_len(
        Param::Output,
        checked_elems(Param::Output, rows, out)?,
        y_len,
    )
}

/// Converts a size to `u32` for a device kernel's index arithmetic, or [`Error::SizeOverflow`].
pub fn fits_u32(param: Param, a: usize, b: usize) -> Result<()> {
    match a.checked_mul(b) {
        Some(n) if n <= u32::MAX as usize => Ok(()),
        _ => Err(Error::SizeOverflow {
            param,
            a,
            b,
            limit: "u32 (device index)",
        }),
    }
}
