//! The one tokio runtime that every mount in a process shares.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide runtime that runs filesystem futures and request timers. It is created on
/// first use with two worker threads: the handlers' own work is I/O-bound, and a mount's
/// dispatch threads belong to its backend, not to this runtime.
pub fn shared() -> Handle {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("mountkit-rt")
                .enable_time()
                .build()
                .expect("mountkit could not start its tokio runtime (out of threads or memory?)")
        })
        .handle()
        .clone()
}
