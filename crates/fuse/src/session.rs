//! The request loop: reader threads that each read the kernel's requests from a descriptor of
//! their own and start serving them, and the [`Pump`] through which a dispatcher reads them on
//! its own thread while it waits for work.
//!
//! Every request is answered through the descriptor that delivered it (the kernel matches a
//! reply only against the requests that descriptor handed out), whichever thread answers.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use mountkit_core::{Errno, RequestPump};
use parking_lot::Mutex;

use crate::adapter::{Adapter, MAX_WRITE};
use crate::protocol::{parse, receive_buffer_size, Channel, Device, ReplyEmpty, ReplyTo};

/// Starts `count` reader threads on `master`'s connection, each with a cloned descriptor.
/// They end when the connection does (unmount or abort), or at DESTROY.
pub(crate) fn start_readers(
    adapter: &Arc<Adapter>,
    master: &Device,
    count: usize,
) -> io::Result<Vec<JoinHandle<io::Result<()>>>> {
    (0..count)
        .map(|index| {
            let device = Arc::new(master.clone_device(false)?);
            let adapter = adapter.clone();
            std::thread::Builder::new()
                .name(format!("mountkit-fuse-{index}"))
                .spawn(move || read_requests(&adapter, &device))
        })
        .collect()
}

/// Reads and serves requests until the connection ends.
fn read_requests(adapter: &Adapter, device: &Arc<Device>) -> io::Result<()> {
    let mut buffer = vec![0; receive_buffer_size(MAX_WRITE)];
    loop {
        let len = match device.receive(&mut buffer) {
            Ok(len) => len,
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(()),
            Err(e) => return Err(e),
        };
        if !serve(adapter, &buffer[..len], &device.clone().into(), device) {
            return Ok(());
        }
    }
}

/// Serves the request in `bytes`, which came through `channel`, on the connection of
/// `device`. Returns `false` once the kernel has ended the session.
pub(crate) fn serve(
    adapter: &Adapter,
    bytes: &[u8],
    channel: &Channel,
    device: &Arc<Device>,
) -> bool {
    match parse(bytes) {
        Ok(request) => adapter.serve(&request, channel, device),
        Err(error) => {
            log::warn!("the kernel sent a FUSE request this backend cannot read: {error}");
            if let Some(unique) = error.unique {
                ReplyEmpty::from(ReplyTo::new(channel.clone(), unique)).error(Errno::EIO);
            }
            true
        }
    }
}

/// Reads a request the kernel has waiting on a non-blocking descriptor of its own, and serves
/// it on the calling thread: what a dispatcher calls while it spins for work
/// ([`mountkit_core::Dispatch::attach_pump`]).
pub(crate) struct Pump {
    adapter: Weak<Adapter>,
    device: Arc<Device>,
    /// Allocated at the first call: a mount whose dispatcher never pumps does not pay for it.
    buffer: Mutex<Vec<u8>>,
    served: Arc<AtomicU64>,
}

impl Pump {
    /// A pump for `adapter`'s mount on the non-blocking descriptor `device`; `served` counts
    /// the requests it reads.
    pub(crate) fn new(adapter: &Arc<Adapter>, device: Device, served: Arc<AtomicU64>) -> Pump {
        Pump {
            adapter: Arc::downgrade(adapter),
            device: Arc::new(device),
            buffer: Mutex::new(Vec::new()),
            served,
        }
    }
}

impl RequestPump for Pump {
    fn pump(&self) -> bool {
        let Some(adapter) = self.adapter.upgrade() else {
            return false;
        };
        // One caller at a time; another thread pumping meanwhile finds it taken.
        let Some(mut buffer) = self.buffer.try_lock() else {
            return false;
        };
        if buffer.is_empty() {
            buffer.resize(receive_buffer_size(MAX_WRITE), 0);
        }
        // Nothing waiting (EAGAIN) and a connection that has ended alike: nothing served.
        let Ok(len) = self.device.receive(&mut buffer) else {
            return false;
        };
        self.served.fetch_add(1, Ordering::Relaxed);
        serve(
            &adapter,
            &buffer[..len],
            &self.device.clone().into(),
            &self.device,
        );
        true
    }
}
