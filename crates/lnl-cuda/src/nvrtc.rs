//! NVRTC: source -> CUBIN for one architecture, keeping the compiler's log (also on success,
//! so that a test can insist on a clean log).

use std::ffi::{c_char, CString};

use cudarc::nvrtc::{result, sys};
use lnl_core::{Error, Result};

use crate::errors::{guarded, unavailable, PROVIDER};

/// Machine code for one architecture and the compiler's log.
#[derive(Debug, Clone)]
pub struct CompiledModule {
    /// The CUBIN image, loadable with `cuModuleLoadData`.
    pub cubin: Vec<u8>,
    /// NVRTC's log (warnings); empty when the compile was clean.
    pub log: String,
}

/// Whether libnvrtc can be loaded here (checked without letting cudarc panic).
pub fn nvrtc_available() -> bool {
    // SAFETY: loads the NVIDIA runtime-compiler library by name, which runs only its own
    // initialisers; the handle is dropped at once.
    unsafe { sys::is_culib_present() }
}

/// NVRTC's version, `(major, minor)`.
pub fn nvrtc_version() -> Result<(i32, i32)> {
    if !nvrtc_available() {
        return Err(unavailable(no_nvrtc()));
    }
    guarded("NVRTC", || {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: both out-pointers are valid for the call.
        unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
            .result()
            .map_err(|e| unavailable(format!("nvrtcVersion failed: {e:?}")))?;
        Ok((major, minor))
    })
}

fn no_nvrtc() -> String {
    "libnvrtc not found (install the CUDA toolkit's NVRTC or the PyPI package \
     nvidia-cuda-nvrtc, and put its folder with an unversioned libnvrtc.so on LD_LIBRARY_PATH)"
        .into()
}

/// Compiles `source` (named `name` in the log) with `options`. A failed compile returns
/// `Error::KernelBuild` carrying NVRTC's log; no libnvrtc gives `Error::Unavailable`.
pub fn compile_cubin(name: &str, source: &str, options: &[String]) -> Result<CompiledModule> {
    if !nvrtc_available() {
        return Err(unavailable(no_nvrtc()));
    }
    let build_err = |log: String| Error::KernelBuild {
        provider: PROVIDER.into(),
        kernel: name.into(),
        log,
    };
    let src = CString::new(source).map_err(|_| build_err("source contains a NUL byte".into()))?;
    let cname = CString::new(name).map_err(|_| build_err("name contains a NUL byte".into()))?;
    guarded("NVRTC", || {
        let prog = result::create_program(&src, Some(&cname))
            .map_err(|e| build_err(format!("nvrtcCreateProgram: {e:?}")))?;
        // SAFETY: `prog` was just created and is destroyed exactly once below; `src` and `cname`
        // outlive it.
        let compiled = unsafe { result::compile_program(prog, options) };
        // SAFETY: as above.
        let log = unsafe { result::get_program_log(prog) }
            .map(|raw| c_chars_to_string(&raw))
            .unwrap_or_default();
        let out = match compiled {
            Err(e) => Err(build_err(format!("{e:?}\n{log}"))),
            // SAFETY: as above; the program compiled.
            Ok(()) => unsafe { cubin(prog) }
                .map(|cubin| CompiledModule { cubin, log })
                .map_err(|e| build_err(format!("nvrtcGetCUBIN: {e:?}"))),
        };
        // SAFETY: `prog` is live and not used after this.
        let _ = unsafe { result::destroy_program(prog) };
        out
    })
}

/// # Safety
/// `prog` must be a live, successfully compiled program.
unsafe fn cubin(prog: sys::nvrtcProgram) -> std::result::Result<Vec<u8>, result::NvrtcError> {
    let mut size = 0usize;
    // SAFETY: caller guarantees `prog`; `size` is a valid out-pointer.
    unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) }.result()?;
    let mut buf = vec![0u8; size];
    // SAFETY: `buf` holds exactly the `size` bytes NVRTC reported.
    unsafe { sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr() as *mut c_char) }.result()?;
    Ok(buf)
}

fn c_chars_to_string(raw: &[c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).trim().to_string()
}
