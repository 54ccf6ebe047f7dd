//! POSIX error codes, numbered as Linux numbers them.
//!
//! Every backend speaks this one vocabulary: FUSE sends the number to the kernel as is, and the
//! Windows backends translate it to an NTSTATUS. Handlers written in JavaScript name codes by
//! their symbolic name (`'ENOENT'`), which [`Errno::from_name`] resolves.

use std::fmt;

/// A POSIX error code with its Linux number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(i32);

macro_rules! errno_table {
    ($( $name:ident = $num:expr, $msg:expr; )*) => {
        impl Errno {
            $( #[doc = $msg] pub const $name: Errno = Errno($num); )*
        }
        const TABLE: &[(&str, i32, &str)] = &[ $( (stringify!($name), $num, $msg), )* ];
    };
}

errno_table! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ENOSTR = 60, "Device not a stream";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOLINK = 67, "Link has been severed";
    EPROTO = 71, "Protocol error";
    EBADMSG = 74, "Bad message";
    EOVERFLOW = 75, "Value too large for defined data type";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    EOPNOTSUPP = 95, "Operation not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ENETRESET = 102, "Network dropped connection on reset";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTDOWN = 112, "Host is down";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EDQUOT = 122, "Disk quota exceeded";
    ECANCELED = 125, "Operation canceled";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
}

/// Names that are aliases of another code on Linux.
const ALIASES: &[(&str, i32)] = &[("EWOULDBLOCK", 11), ("EDEADLOCK", 35), ("ENOTSUP", 95)];

impl Errno {
    /// Wraps a raw Linux error number. Numbers outside `1..=4095` are not error codes and
    /// become `EIO`, so a reply can never carry a success value by accident.
    pub fn from_raw(number: i32) -> Errno {
        if (1..=4095).contains(&number) {
            Errno(number)
        } else {
            Errno::EIO
        }
    }

    /// Resolves a symbolic name such as `"ENOENT"` (also `ENOTSUP`, `EWOULDBLOCK`).
    pub fn from_name(name: &str) -> Option<Errno> {
        TABLE
            .iter()
            .map(|&(n, num, _)| (n, num))
            .chain(ALIASES.iter().copied())
            .find(|&(n, _)| n == name)
            .map(|(_, num)| Errno(num))
    }

    /// The Linux error number.
    pub fn raw(self) -> i32 {
        self.0
    }

    /// The symbolic name, or `None` for a number this table does not know.
    pub fn name(self) -> Option<&'static str> {
        TABLE.iter().find(|e| e.1 == self.0).map(|e| e.0)
    }

    /// A short human description, as `strerror` would give on Linux.
    pub fn description(self) -> &'static str {
        TABLE
            .iter()
            .find(|e| e.1 == self.0)
            .map_or("Unknown error", |e| e.2)
    }

    /// Every code this table knows, for tests and for building translation tables.
    pub fn all() -> impl Iterator<Item = Errno> {
        TABLE.iter().map(|e| Errno(e.1))
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self, self.description())
    }
}

impl std::error::Error for Errno {}

impl From<std::io::Error> for Errno {
    /// Keeps the OS error number where the error has one (it is a Linux number on Linux);
    /// otherwise picks the closest code for the error's kind.
    fn from(err: std::io::Error) -> Errno {
        use std::io::ErrorKind as K;
        if cfg!(target_os = "linux") {
            if let Some(code) = err.raw_os_error() {
                return Errno::from_raw(code);
            }
        }
        match err.kind() {
            K::NotFound => Errno::ENOENT,
            K::PermissionDenied => Errno::EACCES,
            K::AlreadyExists => Errno::EEXIST,
            K::InvalidInput => Errno::EINVAL,
            K::TimedOut => Errno::ETIMEDOUT,
            K::Unsupported => Errno::ENOSYS,
            K::OutOfMemory => Errno::ENOMEM,
            K::WouldBlock => Errno::EAGAIN,
            K::Interrupted => Errno::EINTR,
            _ => Errno::EIO,
        }
    }
}

/// The result type of every filesystem operation.
pub type FsResult<T> = Result<T, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_numbers() {
        for errno in Errno::all() {
            let name = errno.name().expect("every table entry has a name");
            assert_eq!(Errno::from_name(name), Some(errno));
        }
    }

    #[test]
    fn aliases_resolve_to_their_linux_numbers() {
        assert_eq!(Errno::from_name("ENOTSUP"), Some(Errno::EOPNOTSUPP));
        assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert_eq!(Errno::from_name("NOPE"), None);
    }

    #[test]
    fn numbers_match_linux() {
        assert_eq!(Errno::ENOENT.raw(), 2);
        assert_eq!(Errno::ENOSYS.raw(), 38);
        assert_eq!(Errno::ENOTEMPTY.raw(), 39);
        assert_eq!(Errno::ETIMEDOUT.raw(), 110);
    }

    #[test]
    fn non_error_numbers_become_eio() {
        assert_eq!(Errno::from_raw(0), Errno::EIO);
        assert_eq!(Errno::from_raw(-2), Errno::EIO);
        assert_eq!(Errno::from_raw(2), Errno::ENOENT);
    }

    #[test]
    fn io_errors_keep_their_number() {
        let err = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(Errno::from(err), Errno::ENOENT);
        #[cfg(target_os = "linux")]
        assert_eq!(
            Errno::from(std::io::Error::from_raw_os_error(39)),
            Errno::ENOTEMPTY
        );
    }
}
