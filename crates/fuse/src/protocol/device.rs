//! One open descriptor of a FUSE connection: reading requests, writing replies and
//! notifications, and the device's ioctls (cloning, passthrough backing files).

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;

use super::abi::{self, notify, Wire};

/// One descriptor of a mounted FUSE connection. The kernel answers a request only through the
/// descriptor that delivered it, so a reply goes back through the `Device` it was read from.
#[derive(Debug)]
pub(crate) struct Device {
    fd: OwnedFd,
}

impl Device {
    /// Wraps a descriptor of a mounted connection (a dup of fuser's session descriptor, or one
    /// [`Device::clone_device`] made).
    pub(crate) fn new(fd: OwnedFd) -> Device {
        Device { fd }
    }

    /// A new descriptor of the same connection: opens `/dev/fuse` (close-on-exec, and
    /// non-blocking when `nonblocking`) and attaches it with `FUSE_DEV_IOC_CLONE`. Each reader
    /// thread gets its own, so the kernel spreads requests over them.
    pub(crate) fn clone_device(&self, nonblocking: bool) -> io::Result<Device> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(if nonblocking { libc::O_NONBLOCK } else { 0 })
            .open("/dev/fuse")
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot open /dev/fuse for another reader of the mount ({e}); \
                         check that the device exists and is readable and writable"
                    ),
                )
            })?;
        let source = self.fd.as_raw_fd() as u32;
        // SAFETY: `file` is an open descriptor and `source` a u32 that outlives the call; the
        // kernel only reads the argument.
        let result = unsafe {
            libc::ioctl(
                file.as_raw_fd(),
                abi::FUSE_DEV_IOC_CLONE as _,
                &source as *const u32,
            )
        };
        if result == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Device { fd: file.into() })
    }

    /// Reads one request into `buf`, which must hold [`receive_buffer_size`] bytes for the
    /// mount's `max_write`. Retries `EINTR`, and `ENOENT` (a request interrupted between being
    /// queued and read). Returns the raw `ENODEV` once the connection is gone (unmounted or
    /// aborted) and `EAGAIN` ([`io::ErrorKind::WouldBlock`]) on a non-blocking descriptor with
    /// nothing pending: the caller decides what those mean.
    pub(crate) fn receive(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call, and
            // the descriptor is open while `self` lives.
            let read = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if read >= 0 {
                return Ok(read as usize);
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EINTR | libc::ENOENT) => continue,
                _ => return Err(error),
            }
        }
    }

    /// Writes one reply or notification, gathered from `parts`, in one `writev(2)`; the kernel
    /// takes a message only whole. `ENOENT` for a reply means the request was interrupted or
    /// the connection aborted meanwhile: it is returned like any error, and callers ignore it.
    pub(crate) fn send(&self, parts: &[IoSlice<'_>]) -> io::Result<()> {
        let total: usize = parts.iter().map(|part| part.len()).sum();
        // SAFETY: `IoSlice` has the layout of `struct iovec` and every slice it points to is
        // borrowed for the whole call; the count is the slice's length.
        let written = unsafe {
            libc::writev(
                self.fd.as_raw_fd(),
                parts.as_ptr().cast::<libc::iovec>(),
                parts.len() as libc::c_int,
            )
        };
        if written < 0 {
            return Err(io::Error::last_os_error());
        }
        if written as usize != total {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("the FUSE device took {written} of a {total}-byte message"),
            ));
        }
        Ok(())
    }

    /// Registers `file` as a passthrough backing file of this connection
    /// (`FUSE_DEV_IOC_BACKING_OPEN`, Linux 6.9+, and only when INIT negotiated passthrough).
    /// The id is unregistered when the returned [`BackingId`] drops; the kernel keeps its own
    /// reference to the file for as long as an open file uses it.
    pub(crate) fn open_backing(self: &Arc<Self>, file: &File) -> io::Result<BackingId> {
        let map = abi::fuse_backing_map {
            fd: file.as_raw_fd(),
            flags: 0,
            padding: 0,
        };
        // SAFETY: `map` is a `#[repr(C)]` `struct fuse_backing_map` that outlives the call;
        // the kernel only reads it, and `file` is open.
        let id = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                abi::FUSE_DEV_IOC_BACKING_OPEN as _,
                &map as *const abi::fuse_backing_map,
            )
        };
        if id < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(BackingId {
            device: Arc::clone(self),
            id: id as u32,
        })
    }

    /// Tells the kernel to drop `ino`'s cached attributes and the cached data in
    /// `offset..offset + len` (`len` 0: to the end; `offset` negative: attributes only)
    /// (`FUSE_NOTIFY_INVAL_INODE`). The kernel's own errors (`ENOENT` for an inode it has
    /// forgotten) are returned as they are.
    pub(crate) fn inval_inode(&self, ino: u64, offset: i64, len: i64) -> io::Result<()> {
        let arg = abi::fuse_notify_inval_inode_out {
            ino,
            off: offset,
            len,
        };
        let message = notification(notify::FUSE_NOTIFY_INVAL_INODE, &arg, None);
        self.send(&[IoSlice::new(&message)])
    }

    /// Tells the kernel to drop its cached `name` in the directory `parent`
    /// (`FUSE_NOTIFY_INVAL_ENTRY`). The kernel's own errors (`ENOENT` for a directory it has
    /// forgotten) are returned as they are.
    pub(crate) fn inval_entry(&self, parent: u64, name: &OsStr) -> io::Result<()> {
        let name = name.as_bytes();
        let arg = abi::fuse_notify_inval_entry_out {
            parent,
            namelen: name.len() as u32,
            flags: 0,
        };
        let message = notification(notify::FUSE_NOTIFY_INVAL_ENTRY, &arg, Some(name));
        self.send(&[IoSlice::new(&message)])
    }
}

impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A notification's bytes: the header, the argument and, for a notification about a name, the
/// name and its NUL.
fn notification<T: Wire>(code: i32, arg: &T, name: Option<&[u8]>) -> Vec<u8> {
    let name_len = name.map_or(0, |name| name.len() + 1);
    let len = abi::fuse_out_header::SIZE + T::SIZE + name_len;
    let mut message = Vec::with_capacity(len);
    abi::fuse_out_header {
        len: len as u32,
        error: code,
        unique: 0,
    }
    .encode(&mut message);
    arg.encode(&mut message);
    if let Some(name) = name {
        message.extend_from_slice(name);
        message.push(0);
    }
    message
}

/// A registered passthrough backing file; dropping it unregisters the id.
#[derive(Debug)]
pub(crate) struct BackingId {
    device: Arc<Device>,
    id: u32,
}

impl BackingId {
    /// The id the kernel gave the file, for `fuse_open_out::backing_id`.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }
}

impl Drop for BackingId {
    fn drop(&mut self) {
        let id = self.id;
        // SAFETY: `id` is a u32 that outlives the call; the kernel only reads it, and the
        // device's descriptor is open while `self.device` lives.
        let result = unsafe {
            libc::ioctl(
                self.device.fd.as_raw_fd(),
                abi::FUSE_DEV_IOC_BACKING_CLOSE as _,
                &id as *const u32,
            )
        };
        if result == -1 {
            // The connection may already be gone, which closed every id with it.
            log::debug!(
                "FUSE_DEV_IOC_BACKING_CLOSE of backing id {id} failed: {}",
                io::Error::last_os_error()
            );
        }
    }
}

/// The buffer [`Device::receive`] needs for a mount whose `max_write` is `max_write`: a header,
/// a `fuse_write_in` and `max_write` bytes of data (what the kernel checks before it hands
/// over a request), rounded up to whole 4 KiB pages and never below the kernel's
/// `FUSE_MIN_READ_BUFFER`.
pub(crate) fn receive_buffer_size(max_write: u32) -> usize {
    const PAGE: usize = 4096;
    let needed = abi::fuse_in_header::SIZE + abi::fuse_write_in::SIZE + max_write as usize;
    needed.next_multiple_of(PAGE).max(abi::FUSE_MIN_READ_BUFFER)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    /// A device over one end of a datagram socket pair, and the other end, which receives
    /// each message the device sends whole (as the kernel would take it).
    pub(crate) fn device_pair() -> (Arc<Device>, UnixDatagram) {
        let (ours, theirs) = UnixDatagram::pair().expect("a socket pair");
        (Arc::new(Device::new(ours.into())), theirs)
    }

    /// A backing id over a device that is not a FUSE connection: only its id is real, and
    /// closing it on drop fails quietly.
    pub(crate) fn backing_id(id: u32) -> BackingId {
        BackingId {
            device: device_pair().0,
            id,
        }
    }

    /// The next message the device sent.
    pub(crate) fn next_message(socket: &UnixDatagram) -> Vec<u8> {
        let mut buf = vec![0; 1 << 16];
        let len = socket.recv(&mut buf).expect("a message");
        buf.truncate(len);
        buf
    }

    /// A `/dev/fuse` descriptor that belongs to no connection yet.
    fn unconnected_device() -> Arc<Device> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/fuse")
            .expect("/dev/fuse opens (the tests need FUSE)");
        Arc::new(Device::new(file.into()))
    }

    #[test]
    fn the_kernel_knows_the_clone_ioctl() {
        // A wrong ioctl number would fail with ENOTTY; the clone ioctl itself refuses a
        // source descriptor that has no connection (EPERM on recent kernels, EINVAL on older ones).
        let error = unconnected_device().clone_device(true).unwrap_err();
        assert!(
            matches!(error.raw_os_error(), Some(libc::EPERM | libc::EINVAL)),
            "{error}"
        );
    }

    #[test]
    fn the_kernel_knows_the_backing_open_ioctl() {
        // As above: EPERM is the ioctl's own answer on a descriptor with no connection.
        let file = File::open("/dev/null").unwrap();
        let error = unconnected_device().open_backing(&file).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EPERM), "{error}");
    }

    #[test]
    fn receive_buffer_size_fits_the_largest_write_in_whole_pages() {
        assert_eq!(receive_buffer_size(0), 8192);
        assert_eq!(receive_buffer_size(4096), 8192);
        assert_eq!(receive_buffer_size(8192 - 80), 8192);
        assert_eq!(receive_buffer_size(8192 - 79), 12288);
        assert_eq!(receive_buffer_size(1 << 20), (1 << 20) + 4096);
    }

    #[test]
    fn receive_returns_one_message() {
        let (device, socket) = device_pair();
        socket.send(b"one request").unwrap();
        socket.send(b"another").unwrap();
        let mut buf = [0; 64];
        assert_eq!(device.receive(&mut buf).unwrap(), 11);
        assert_eq!(&buf[..11], b"one request");
        assert_eq!(device.receive(&mut buf).unwrap(), 7);
    }

    #[test]
    fn send_gathers_the_parts_into_one_message() {
        let (device, socket) = device_pair();
        device
            .send(&[
                IoSlice::new(b"head"),
                IoSlice::new(b""),
                IoSlice::new(b"tail"),
            ])
            .unwrap();
        assert_eq!(next_message(&socket), b"headtail");
    }

    #[test]
    fn inval_inode_notification() {
        let (device, socket) = device_pair();
        device.inval_inode(12, -1, 0).unwrap();
        let message = next_message(&socket);
        assert_eq!(message.len(), 16 + 24);
        let header = abi::fuse_out_header::decode(&message);
        assert_eq!(
            header,
            abi::fuse_out_header {
                len: 40,
                error: notify::FUSE_NOTIFY_INVAL_INODE,
                unique: 0
            }
        );
        assert_eq!(
            abi::fuse_notify_inval_inode_out::decode(&message[16..]),
            abi::fuse_notify_inval_inode_out {
                ino: 12,
                off: -1,
                len: 0
            }
        );
    }

    #[test]
    fn inval_entry_notification_ends_the_name_with_nul() {
        let (device, socket) = device_pair();
        device.inval_entry(1, OsStr::new("name")).unwrap();
        let message = next_message(&socket);
        assert_eq!(message.len(), 16 + 16 + 5);
        let header = abi::fuse_out_header::decode(&message);
        assert_eq!(header.len, 37);
        assert_eq!(header.error, notify::FUSE_NOTIFY_INVAL_ENTRY);
        assert_eq!(
            abi::fuse_notify_inval_entry_out::decode(&message[16..]),
            abi::fuse_notify_inval_entry_out {
                parent: 1,
                namelen: 4,
                flags: 0
            }
        );
        assert_eq!(&message[32..], b"name\0");
    }
}
