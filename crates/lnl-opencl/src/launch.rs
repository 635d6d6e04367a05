//! Setting a kernel's arguments and enqueueing it: the one place that talks to clSetKernelArg
//! and clEnqueueNDRangeKernel.

use crate::errors::map_err;
use lnl_core::Result;
use ocl::core::{self as cl, ArgVal};
use ocl::Buffer;

/// One kernel argument.
pub(crate) enum Arg<'a> {
    Mem(&'a Buffer<f32>),
    U32(u32),
    F32(f32),
    /// `__local float[n]`.
    LocalF32(usize),
}

/// A 2-D launch: `groups[d]` work-groups of `local[d]` work-items along each dimension.
pub(crate) struct Launch<'a> {
    pub kernel: &'a cl::Kernel,
    pub name: &'static str,
    pub groups: [usize; 2],
    pub local: [usize; 2],
}

impl Launch<'_> {
    /// Sets `args` in order and enqueues; `event` receives the launch's event when asked.
    /// `bytes` is what an allocation failure reported here would be about (lazy allocators).
    pub(crate) fn enqueue(
        &self,
        queue: &ocl::Queue,
        args: &[Arg<'_>],
        device: &str,
        bytes: usize,
        event: Option<&mut cl::Event>,
    ) -> Result<()> {
        let err = |what: &str, e: ocl::OclCoreError| {
            map_err(device, &format!("{} {what}", self.name), bytes, e)
        };
        for (i, arg) in args.iter().enumerate() {
            let v = match arg {
                Arg::Mem(b) => ArgVal::mem(b.as_core()),
                Arg::U32(v) => ArgVal::scalar(v),
                Arg::F32(v) => ArgVal::scalar(v),
                Arg::LocalF32(n) => ArgVal::local::<f32>(n),
            };
            cl::set_kernel_arg(self.kernel, i as u32, v).map_err(|e| err("argument", e))?;
        }
        let global = [
            self.groups[0] * self.local[0],
            self.groups[1] * self.local[1],
            1,
        ];
        let local = [self.local[0], self.local[1], 1];
        // SAFETY: every argument the kernel declares was set just above with the type the .cl
        // source declares; the buffers are alive for the call and OpenCL retains them until
        // the command completes; sizes were checked against the buffers by the caller.
        unsafe {
            cl::enqueue_kernel(
                queue.as_core(),
                self.kernel,
                2,
                None,
                &global,
                Some(local),
                None::<&cl::Event>,
                event,
            )
        }
        .map_err(|e| err("enqueue", e))
    }
}
