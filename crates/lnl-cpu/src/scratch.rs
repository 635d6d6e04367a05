//! Per-thread scratch buffers, reused across calls: a layer is shared `&self` between threads,
//! so nothing mutable lives in it, and a fresh multi-megabyte `Vec` per call would pay page
//! faults every time. Each thread keeps the largest buffer it has needed, up to
//! [`RETAIN_MAX_FLOATS`]; larger requests (the unfused tensor of a 4096-row call) get a fresh
//! `Vec`, whose page faults are small next to the GEMM of that size.

use std::cell::RefCell;

thread_local! {
    static PACK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static STAGE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Largest buffer a thread keeps between calls: 16 MiB.
pub const RETAIN_MAX_FLOATS: usize = 4 << 20;

/// Which buffer: packed `A` blocks (inside GEMM tasks) or whole-call staging (the unfused
/// normalised tensor, the decode path's packed rows), so the two never contend.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Packed `A` block of one GEMM task.
    Pack,
    /// Per-call staging held while tasks run.
    Stage,
}

/// Runs `f` on this thread's buffer of at least `len` floats (contents unspecified).
/// Re-entrant use (a task run on the thread that holds the buffer) gets a fresh `Vec`.
pub fn with<R>(kind: Kind, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let key = match kind {
        Kind::Pack => &PACK,
        Kind::Stage => &STAGE,
    };
    if len > RETAIN_MAX_FLOATS {
        return f(&mut vec![0.0; len]);
    }
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}
