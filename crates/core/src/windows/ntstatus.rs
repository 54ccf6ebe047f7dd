//! NTSTATUS codes and their translation to and from [`Errno`].
//!
//! Handlers answer with POSIX codes; the WinFsp and Dokan backends must answer the Windows
//! kernel with NTSTATUS values. Everything here comes from one table, so the constants, their
//! names, their descriptions and both translation directions cannot drift apart.
//!
//! Each row names the errno that the status translates back to, and the errnos that translate
//! to the status. Every code of [`Errno::all`] appears in exactly one row's list (a test checks
//! it), and every one of them lands on an error-severity status: never a success, and never a
//! warning, because a warning such as `STATUS_BUFFER_OVERFLOW` tells the I/O manager that data
//! was returned.

use crate::errno::Errno;

/// One row of the table: the status, its symbolic name, what it means, the errno it
/// translates back to (`None` for a status that is not an error), and the errnos that
/// translate to it.
struct Row {
    status: i32,
    name: &'static str,
    text: &'static str,
    errno: Option<Errno>,
    from: &'static [Errno],
}

macro_rules! reverse {
    (-) => {
        None
    };
    ($errno:ident) => {
        Some(Errno::$errno)
    };
}

macro_rules! ntstatus_table {
    ($( $name:ident = $value:literal, $text:literal, to $to:tt, from [$($from:ident),*]; )*) => {
        $(
            #[doc = concat!("`", stringify!($value), "`: ", $text, ".")]
            pub const $name: i32 = {
                let bits: u32 = $value;
                bits as i32
            };
        )*
        const TABLE: &[Row] = &[$(
            Row {
                status: $name,
                name: stringify!($name),
                text: $text,
                errno: reverse!($to),
                from: &[$(Errno::$from),*],
            },
        )*];
    };
}

ntstatus_table! {
    STATUS_SUCCESS = 0x00000000, "the operation completed successfully",
        to -, from [];
    STATUS_PENDING = 0x00000103, "the operation was started and will complete later",
        to -, from [];
    STATUS_REPARSE = 0x00000104,
        "the name led to a symbolic link; the open must be tried again at its target",
        to -, from [];
    STATUS_BUFFER_OVERFLOW = 0x80000005,
        "the data did not fit in the buffer; the part that fit was returned",
        to ERANGE, from [];
    STATUS_NO_MORE_FILES = 0x80000006, "no more files match the search",
        to ENOENT, from [];
    STATUS_STOPPED_ON_SYMLINK = 0x8000002D, "a symbolic link was reached and not followed",
        to ELOOP, from [];
    STATUS_UNSUCCESSFUL = 0xC0000001, "the operation failed",
        to EIO, from [];
    STATUS_NOT_IMPLEMENTED = 0xC0000002, "the requested operation is not implemented",
        to ENOSYS, from [];
    STATUS_INVALID_HANDLE = 0xC0000008, "the handle is not valid",
        to EBADF, from [EBADF];
    STATUS_INVALID_PARAMETER = 0xC000000D, "a parameter of the request is not valid",
        to EINVAL, from [EINVAL, ENOTBLK, ESPIPE, EDOM, ENOSTR, EMSGSIZE];
    STATUS_NO_SUCH_DEVICE = 0xC000000E, "the device does not exist",
        to ENODEV, from [ENODEV, ENXIO];
    STATUS_NO_SUCH_FILE = 0xC000000F, "the file does not exist",
        to ENOENT, from [];
    STATUS_INVALID_DEVICE_REQUEST = 0xC0000010,
        "the request is not supported by this file system or object",
        to ENOSYS, from [ENOSYS, ENOTTY, ENOTSOCK];
    STATUS_END_OF_FILE = 0xC0000011, "the end of the file was reached",
        to ENODATA, from [];
    STATUS_NO_MEMORY = 0xC0000017, "there is not enough memory to complete the operation",
        to ENOMEM, from [ENOMEM];
    STATUS_ACCESS_DENIED = 0xC0000022, "access is denied",
        to EACCES, from [EACCES, EPERM];
    STATUS_BUFFER_TOO_SMALL = 0xC0000023, "the buffer is too small for the result",
        to ERANGE, from [ERANGE];
    STATUS_OBJECT_NAME_INVALID = 0xC0000033, "the object name is not valid",
        to EINVAL, from [EILSEQ];
    STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034, "the object name is not found",
        to ENOENT, from [ENOENT];
    STATUS_OBJECT_NAME_COLLISION = 0xC0000035, "the object name already exists",
        to EEXIST, from [EEXIST];
    STATUS_OBJECT_PATH_INVALID = 0xC0000039, "a component of the path is not a directory",
        to ENOTDIR, from [];
    STATUS_OBJECT_PATH_NOT_FOUND = 0xC000003A, "the path does not exist",
        to ENOENT, from [];
    STATUS_OBJECT_PATH_SYNTAX_BAD = 0xC000003B, "the path syntax is not valid",
        to EINVAL, from [];
    STATUS_DATA_ERROR = 0xC000003E, "the data could not be read or written intact",
        to EIO, from [EBADMSG];
    STATUS_SHARING_VIOLATION = 0xC0000043,
        "the file is in use in a way that conflicts with this request",
        to EBUSY, from [EBUSY, ETXTBSY];
    STATUS_EA_TOO_LARGE = 0xC0000050, "the extended attributes are too large",
        to E2BIG, from [E2BIG];
    STATUS_NONEXISTENT_EA_ENTRY = 0xC0000051, "the extended attribute does not exist",
        to ENODATA, from [ENODATA];
    STATUS_NO_EAS_ON_FILE = 0xC0000052, "the file has no extended attributes",
        to ENODATA, from [];
    STATUS_FILE_LOCK_CONFLICT = 0xC0000054,
        "a byte-range lock held through another handle prevents this access",
        to EAGAIN, from [];
    STATUS_LOCK_NOT_GRANTED = 0xC0000055,
        "the requested byte-range lock conflicts with an existing lock",
        to EAGAIN, from [ENOLCK];
    STATUS_DELETE_PENDING = 0xC0000056, "the file is being deleted and cannot be opened",
        to EIDRM, from [EIDRM];
    STATUS_PRIVILEGE_NOT_HELD = 0xC0000061, "a required privilege is not held",
        to EPERM, from [];
    STATUS_PROCEDURE_NOT_FOUND = 0xC000007A, "a function was not found in a DLL",
        to ENOSYS, from [];
    STATUS_INVALID_IMAGE_FORMAT = 0xC000007B, "the file is not a valid executable image",
        to ENOEXEC, from [ENOEXEC];
    STATUS_RANGE_NOT_LOCKED = 0xC000007E, "the byte range to unlock is not locked",
        to ENOLCK, from [];
    STATUS_DISK_FULL = 0xC000007F, "there is not enough space on the disk",
        to ENOSPC, from [ENOSPC];
    STATUS_INTEGER_OVERFLOW = 0xC0000095, "a value is too large for its data type",
        to EOVERFLOW, from [EOVERFLOW];
    STATUS_FILE_INVALID = 0xC0000098,
        "the file was changed externally and the open handle is no longer valid",
        to ESTALE, from [ESTALE];
    STATUS_INSUFFICIENT_RESOURCES = 0xC000009A,
        "there are not enough system resources to complete the operation",
        to ENOMEM, from [ENOBUFS, EUSERS];
    STATUS_MEDIA_WRITE_PROTECTED = 0xC00000A2, "the media is write protected",
        to EROFS, from [EROFS];
    STATUS_DEVICE_NOT_READY = 0xC00000A3, "the device is not ready",
        to ENOTCONN, from [ENOTCONN];
    STATUS_IO_TIMEOUT = 0xC00000B5, "the operation did not complete within its time limit",
        to ETIMEDOUT, from [ETIMEDOUT, ETIME];
    STATUS_FILE_IS_A_DIRECTORY = 0xC00000BA, "the file is a directory",
        to EISDIR, from [EISDIR];
    STATUS_NOT_SUPPORTED = 0xC00000BB, "the request is not supported",
        to EOPNOTSUPP, from [EOPNOTSUPP, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT, EAFNOSUPPORT];
    STATUS_NOT_SAME_DEVICE = 0xC00000D4, "the source and the target are on different devices",
        to EXDEV, from [EXDEV];
    STATUS_INVALID_USER_BUFFER = 0xC00000E8, "a buffer address is not valid",
        to EFAULT, from [EFAULT];
    STATUS_UNEXPECTED_IO_ERROR = 0xC00000E9, "an unexpected I/O error occurred",
        to EIO, from [EOWNERDEAD, ENOTRECOVERABLE];
    STATUS_DIRECTORY_NOT_EMPTY = 0xC0000101, "the directory is not empty",
        to ENOTEMPTY, from [ENOTEMPTY];
    STATUS_NOT_A_DIRECTORY = 0xC0000103, "a directory was expected but the object is not one",
        to ENOTDIR, from [ENOTDIR];
    STATUS_NAME_TOO_LONG = 0xC0000106, "the name is too long",
        to ENAMETOOLONG, from [ENAMETOOLONG];
    STATUS_TOO_MANY_OPENED_FILES = 0xC000011F, "too many files are open",
        to EMFILE, from [EMFILE, ENFILE];
    STATUS_CANCELLED = 0xC0000120, "the operation was cancelled",
        to ECANCELED, from [ECANCELED, EINTR];
    STATUS_CANNOT_DELETE = 0xC0000121, "the file cannot be deleted",
        to EACCES, from [];
    STATUS_FILE_DELETED = 0xC0000123, "the file has been deleted",
        to ENOENT, from [];
    STATUS_FILE_CLOSED = 0xC0000128, "the handle has already been closed",
        to EBADF, from [];
    STATUS_DLL_NOT_FOUND = 0xC0000135, "a DLL the program needs was not found",
        to ENOENT, from [];
    STATUS_DLL_INIT_FAILED = 0xC0000142, "a DLL could not be initialized",
        to EIO, from [];
    STATUS_PIPE_BROKEN = 0xC000014B, "the other end of the pipe has been closed",
        to EPIPE, from [EPIPE];
    STATUS_INVALID_DEVICE_STATE = 0xC0000184,
        "the device is not in a state that allows this request",
        to EIO, from [EALREADY, EINPROGRESS];
    STATUS_IO_DEVICE_ERROR = 0xC0000185, "an I/O error occurred on the device",
        to EIO, from [EIO];
    STATUS_DEVICE_PROTOCOL_ERROR = 0xC0000186, "the device reported a protocol error",
        to EPROTO, from [EPROTO];
    STATUS_POSSIBLE_DEADLOCK = 0xC0000194, "the operation could cause a deadlock",
        to EDEADLK, from [EDEADLK];
    STATUS_INVALID_ADDRESS_COMPONENT = 0xC0000207, "the network address is not valid",
        to EADDRNOTAVAIL, from [EADDRNOTAVAIL, EDESTADDRREQ];
    STATUS_ADDRESS_ALREADY_EXISTS = 0xC000020A, "the network address is already in use",
        to EADDRINUSE, from [EADDRINUSE];
    STATUS_CONNECTION_DISCONNECTED = 0xC000020C, "the network connection was disconnected",
        to ENOTCONN, from [ENOLINK];
    STATUS_CONNECTION_RESET = 0xC000020D, "the network connection was reset",
        to ECONNRESET, from [ECONNRESET, ENETRESET];
    STATUS_NOT_FOUND = 0xC0000225, "the object was not found",
        to ENOENT, from [ESRCH, ECHILD, ENOMSG];
    STATUS_RETRY = 0xC000022D, "the request could not be completed now and should be retried",
        to EAGAIN, from [EAGAIN];
    STATUS_CONNECTION_REFUSED = 0xC0000236, "the remote system refused the connection",
        to ECONNREFUSED, from [ECONNREFUSED];
    STATUS_CONNECTION_ACTIVE = 0xC000023B, "the connection is already established",
        to EISCONN, from [EISCONN];
    STATUS_NETWORK_UNREACHABLE = 0xC000023C, "the network cannot be reached",
        to ENETUNREACH, from [ENETUNREACH, ENETDOWN];
    STATUS_HOST_UNREACHABLE = 0xC000023D, "the remote host cannot be reached",
        to EHOSTUNREACH, from [EHOSTUNREACH];
    STATUS_CONNECTION_ABORTED = 0xC0000241, "the connection was aborted by the local system",
        to ECONNABORTED, from [ECONNABORTED];
    STATUS_PLUGPLAY_NO_DEVICE = 0xC000025E, "the device or its driver service is disabled",
        to ENODEV, from [];
    STATUS_TOO_MANY_LINKS = 0xC0000265, "the file has too many links",
        to EMLINK, from [EMLINK];
    STATUS_DRIVER_UNABLE_TO_LOAD = 0xC000026C, "the driver could not be loaded",
        to ENODEV, from [];
    STATUS_NOT_A_REPARSE_POINT = 0xC0000275, "the file is not a reparse point (symbolic link)",
        to EINVAL, from [];
    STATUS_IO_REPARSE_TAG_MISMATCH = 0xC0000277,
        "the reparse point is of another kind than the one asked for",
        to EINVAL, from [];
    STATUS_IO_REPARSE_DATA_INVALID = 0xC0000278, "the reparse point's data is malformed",
        to EINVAL, from [];
    STATUS_REPARSE_POINT_NOT_RESOLVED = 0xC0000280,
        "a symbolic link could not be resolved (a loop or too many levels)",
        to ELOOP, from [ELOOP];
    STATUS_HOST_DOWN = 0xC0000350, "the remote host is down",
        to EHOSTDOWN, from [EHOSTDOWN];
    STATUS_DRIVER_BLOCKED = 0xC000036C, "the system's policy blocked the driver from loading",
        to EPERM, from [];
    STATUS_DISK_QUOTA_EXCEEDED = 0xC0000802, "the disk quota has been exceeded",
        to EDQUOT, from [EDQUOT];
    STATUS_FILE_TOO_LARGE = 0xC0000904, "the file is too large",
        to EFBIG, from [EFBIG];
}

/// Whether `status` reports success, as the `NT_SUCCESS` macro decides: success and
/// informational codes (severity 0 and 1) are successes; warnings and errors are not.
pub fn nt_success(status: i32) -> bool {
    status >= 0
}

/// The NTSTATUS a Windows backend answers for `errno`.
///
/// Every code in [`Errno::all`] has an explicit entry, and every entry is an error-severity
/// status (`0xC…`), never a success or a warning. The notable choices:
///
/// - `ENOENT` is `STATUS_OBJECT_NAME_NOT_FOUND`. When the *parent* directory is missing,
///   NTFS answers `STATUS_OBJECT_PATH_NOT_FOUND`; a lookup's
///   [`Found::missing_status`](super::lookup::Found::missing_status) tells the two apart.
/// - `ENOSYS` (a handler that does not exist) is `STATUS_INVALID_DEVICE_REQUEST`.
/// - `EIDRM` is `STATUS_DELETE_PENDING`: the core uses `EIDRM` to refuse opening a file whose
///   deletion is pending (see [`super::delete`]).
/// - `EBUSY` and `ETXTBSY` are `STATUS_SHARING_VIOLATION`, the status Windows programs expect
///   for a file that is in use.
/// - `ETIMEDOUT` (a handler that did not answer in time) is `STATUS_IO_TIMEOUT`.
///
/// A number outside the table (possible only through [`Errno::from_raw`]) is treated as `EIO`.
pub fn errno_to_ntstatus(errno: Errno) -> i32 {
    TABLE
        .iter()
        .find(|row| row.from.contains(&errno))
        .map_or(STATUS_IO_DEVICE_ERROR, |row| row.status)
}

/// The errno a status translates to, for a backend that receives an NTSTATUS from Windows
/// (a passthrough to an NTFS file, say) and must report it to the core.
///
/// Every status in the table has a chosen errno; several statuses share one (all the
/// "not found" statuses are `ENOENT`). A failure status the table does not know is `EIO`. A
/// status that is not a failure ([`nt_success`] is true) is not an error at all and also
/// yields `EIO`, so a misrouted success can never turn into a success reply.
pub fn ntstatus_to_errno(status: i32) -> Errno {
    TABLE
        .iter()
        .find(|row| row.status == status)
        .and_then(|row| row.errno)
        .unwrap_or(Errno::EIO)
}

/// The symbolic name of a status, such as `"STATUS_ACCESS_DENIED"`, or `None` for a status
/// the table does not list.
pub fn ntstatus_name(status: i32) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|row| row.status == status)
        .map(|row| row.name)
}

/// A one-line human description of any status, for logs and error messages, so that nobody
/// is left with a bare hex code.
///
/// A known status reads `STATUS_OBJECT_NAME_NOT_FOUND (0xC0000034): the object name is not
/// found`. A Win32 error code carried as a status (`0x8007xxxx`, how WinFsp passes on errors
/// it has no status for, such as a service marked for deletion) names the Windows error. Any
/// other unknown status still names its severity, e.g. `unknown NTSTATUS (0xC0ABCDEF): an
/// error status`.
pub fn describe_ntstatus(status: i32) -> String {
    const WIN32_ERROR_STATUS: u32 = 0x8007_0000;
    let bits = status as u32;
    match TABLE.iter().find(|row| row.status == status) {
        Some(row) => format!("{} (0x{bits:08X}): {}", row.name, row.text),
        None if bits & 0xFFFF_0000 == WIN32_ERROR_STATUS => format!(
            "Windows error {} passed on as an NTSTATUS (0x{bits:08X})",
            bits & 0xFFFF
        ),
        None => {
            let severity = match bits >> 30 {
                0 => "a success",
                1 => "an informational",
                2 => "a warning",
                _ => "an error",
            };
            format!("unknown NTSTATUS (0x{bits:08X}): {severity} status")
        }
    }
}

/// A failed Windows request: the NTSTATUS a backend answers with. A handler's [`Errno`]
/// converts with [`errno_to_ntstatus`], so `?` on an [`FsResult`](crate::FsResult) gives the
/// status Windows expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtError(pub i32);

impl From<Errno> for NtError {
    fn from(errno: Errno) -> NtError {
        NtError(errno_to_ntstatus(errno))
    }
}

/// The result of a Windows request that can fail with an NTSTATUS.
pub type NtResult<T> = Result<T, NtError>;

/// The NTSTATUS a callback returns for `result`: `STATUS_SUCCESS`, or the failure's.
pub fn status_of(result: NtResult<()>) -> i32 {
    match result {
        Ok(()) => STATUS_SUCCESS,
        Err(NtError(status)) => status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn severity(status: i32) -> u32 {
        (status as u32) >> 30
    }

    #[test]
    fn every_errno_maps_to_an_error_status() {
        for errno in Errno::all() {
            let status = errno_to_ntstatus(errno);
            assert_ne!(status, STATUS_SUCCESS, "{errno:?} maps to success");
            assert!(!nt_success(status), "{errno:?} maps to a non-failure");
            assert_eq!(
                severity(status),
                3,
                "{errno:?} maps to a non-error severity"
            );
        }
    }

    #[test]
    fn every_errno_is_listed_exactly_once() {
        for errno in Errno::all() {
            let rows = TABLE.iter().filter(|row| row.from.contains(&errno)).count();
            assert_eq!(rows, 1, "{errno:?} appears in {rows} rows");
        }
    }

    #[test]
    fn the_common_codes_map_as_windows_programs_expect() {
        let expected = [
            (Errno::ENOENT, STATUS_OBJECT_NAME_NOT_FOUND),
            (Errno::EEXIST, STATUS_OBJECT_NAME_COLLISION),
            (Errno::EACCES, STATUS_ACCESS_DENIED),
            (Errno::EPERM, STATUS_ACCESS_DENIED),
            (Errno::ENOTEMPTY, STATUS_DIRECTORY_NOT_EMPTY),
            (Errno::ENOTDIR, STATUS_NOT_A_DIRECTORY),
            (Errno::EISDIR, STATUS_FILE_IS_A_DIRECTORY),
            (Errno::EINVAL, STATUS_INVALID_PARAMETER),
            (Errno::ENOSYS, STATUS_INVALID_DEVICE_REQUEST),
            (Errno::ENOSPC, STATUS_DISK_FULL),
            (Errno::EROFS, STATUS_MEDIA_WRITE_PROTECTED),
            (Errno::ETIMEDOUT, STATUS_IO_TIMEOUT),
            (Errno::EBUSY, STATUS_SHARING_VIOLATION),
            (Errno::EIDRM, STATUS_DELETE_PENDING),
            (Errno::EXDEV, STATUS_NOT_SAME_DEVICE),
            (Errno::EBADF, STATUS_INVALID_HANDLE),
            (Errno::EIO, STATUS_IO_DEVICE_ERROR),
            (Errno::ENAMETOOLONG, STATUS_NAME_TOO_LONG),
            (Errno::EOPNOTSUPP, STATUS_NOT_SUPPORTED),
            (Errno::ECANCELED, STATUS_CANCELLED),
            (Errno::EMLINK, STATUS_TOO_MANY_LINKS),
            (Errno::ELOOP, STATUS_REPARSE_POINT_NOT_RESOLVED),
            (Errno::ENOMEM, STATUS_NO_MEMORY),
            (Errno::EDQUOT, STATUS_DISK_QUOTA_EXCEEDED),
            (Errno::EFBIG, STATUS_FILE_TOO_LARGE),
            (Errno::ENODATA, STATUS_NONEXISTENT_EA_ENTRY),
            (Errno::ERANGE, STATUS_BUFFER_TOO_SMALL),
        ];
        for (errno, status) in expected {
            assert_eq!(
                errno_to_ntstatus(errno),
                status,
                "{errno:?} -> {}",
                describe_ntstatus(errno_to_ntstatus(errno))
            );
        }
    }

    #[test]
    fn unknown_errno_numbers_map_like_eio() {
        assert_eq!(
            errno_to_ntstatus(Errno::from_raw(4000)),
            errno_to_ntstatus(Errno::EIO)
        );
    }

    #[test]
    fn values_are_the_real_ones() {
        assert_eq!(STATUS_SUCCESS, 0);
        assert_eq!(STATUS_PENDING, 0x103);
        assert_eq!(STATUS_OBJECT_NAME_NOT_FOUND as u32, 0xC000_0034);
        assert_eq!(STATUS_OBJECT_PATH_NOT_FOUND as u32, 0xC000_003A);
        assert_eq!(STATUS_ACCESS_DENIED as u32, 0xC000_0022);
        assert_eq!(STATUS_BUFFER_OVERFLOW as u32, 0x8000_0005);
        assert_eq!(STATUS_NO_MORE_FILES as u32, 0x8000_0006);
        assert_eq!(STATUS_STOPPED_ON_SYMLINK as u32, 0x8000_002D);
        assert_eq!(STATUS_DELETE_PENDING as u32, 0xC000_0056);
        assert_eq!(STATUS_CANNOT_DELETE as u32, 0xC000_0121);
        assert_eq!(STATUS_TOO_MANY_LINKS as u32, 0xC000_0265);
        assert_eq!(STATUS_FILE_TOO_LARGE as u32, 0xC000_0904);
        assert_eq!(STATUS_DLL_INIT_FAILED as u32, 0xC000_0142);
        assert_eq!(STATUS_DLL_NOT_FOUND as u32, 0xC000_0135);
        assert_eq!(STATUS_DRIVER_UNABLE_TO_LOAD as u32, 0xC000_026C);
        const {
            assert!(
                STATUS_ACCESS_DENIED < 0,
                "error statuses are negative as i32"
            )
        };
    }

    #[test]
    fn statuses_are_unique() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert_ne!(
                    a.status, b.status,
                    "{} and {} share a value",
                    a.name, b.name
                );
            }
        }
    }

    #[test]
    fn canonical_codes_round_trip() {
        for errno in [
            Errno::ENOENT,
            Errno::EEXIST,
            Errno::EACCES,
            Errno::ENOTEMPTY,
            Errno::ENOTDIR,
            Errno::EISDIR,
            Errno::EINVAL,
            Errno::ENOSYS,
            Errno::EIDRM,
            Errno::ETIMEDOUT,
            Errno::EBUSY,
            Errno::EIO,
        ] {
            assert_eq!(ntstatus_to_errno(errno_to_ntstatus(errno)), errno);
        }
    }

    #[test]
    fn reverse_mapping_covers_windows_only_statuses() {
        assert_eq!(
            ntstatus_to_errno(STATUS_OBJECT_PATH_NOT_FOUND),
            Errno::ENOENT
        );
        assert_eq!(ntstatus_to_errno(STATUS_NO_SUCH_FILE), Errno::ENOENT);
        assert_eq!(ntstatus_to_errno(STATUS_CANNOT_DELETE), Errno::EACCES);
        assert_eq!(ntstatus_to_errno(STATUS_PRIVILEGE_NOT_HELD), Errno::EPERM);
        assert_eq!(ntstatus_to_errno(STATUS_NOT_A_REPARSE_POINT), Errno::EINVAL);
        assert_eq!(ntstatus_to_errno(STATUS_FILE_CLOSED), Errno::EBADF);
        assert_eq!(ntstatus_to_errno(STATUS_BUFFER_OVERFLOW), Errno::ERANGE);
        assert_eq!(ntstatus_to_errno(STATUS_NOT_IMPLEMENTED), Errno::ENOSYS);
    }

    #[test]
    fn non_failures_and_unknown_failures_become_eio() {
        assert_eq!(ntstatus_to_errno(STATUS_SUCCESS), Errno::EIO);
        assert_eq!(ntstatus_to_errno(STATUS_PENDING), Errno::EIO);
        assert_eq!(ntstatus_to_errno(0xC0AB_CDEF_u32 as i32), Errno::EIO);
    }

    #[test]
    fn names_and_descriptions() {
        assert_eq!(
            ntstatus_name(STATUS_OBJECT_NAME_NOT_FOUND),
            Some("STATUS_OBJECT_NAME_NOT_FOUND")
        );
        assert_eq!(ntstatus_name(0xC0AB_CDEF_u32 as i32), None);
        assert_eq!(
            describe_ntstatus(STATUS_OBJECT_NAME_NOT_FOUND),
            "STATUS_OBJECT_NAME_NOT_FOUND (0xC0000034): the object name is not found"
        );
        assert_eq!(
            describe_ntstatus(STATUS_SUCCESS),
            "STATUS_SUCCESS (0x00000000): the operation completed successfully"
        );
        assert_eq!(
            describe_ntstatus(0xC0AB_CDEF_u32 as i32),
            "unknown NTSTATUS (0xC0ABCDEF): an error status"
        );
        assert_eq!(
            describe_ntstatus(0x8000_1234_u32 as i32),
            "unknown NTSTATUS (0x80001234): a warning status"
        );
        assert_eq!(
            describe_ntstatus(0x8007_0430_u32 as i32),
            "Windows error 1072 passed on as an NTSTATUS (0x80070430)"
        );
        assert_eq!(
            describe_ntstatus(0x4000_1234),
            "unknown NTSTATUS (0x40001234): an informational status"
        );
        assert_eq!(
            describe_ntstatus(0x1234),
            "unknown NTSTATUS (0x00001234): a success status"
        );
    }

    #[test]
    fn statuses_of_loading_and_starting_drivers_are_described() {
        // What loading a DLL, or WinFsp starting its driver service, can fail with.
        for (status, text) in [
            (
                0xC000_0142_u32,
                "STATUS_DLL_INIT_FAILED (0xC0000142): a DLL could not be",
            ),
            (0xC000_0135, "STATUS_DLL_NOT_FOUND (0xC0000135)"),
            (0xC000_007A, "STATUS_PROCEDURE_NOT_FOUND (0xC000007A)"),
            (0xC000_0001, "STATUS_UNSUCCESSFUL (0xC0000001)"),
            (0xC000_025E, "STATUS_PLUGPLAY_NO_DEVICE (0xC000025E)"),
            (0xC000_026C, "STATUS_DRIVER_UNABLE_TO_LOAD (0xC000026C)"),
            (0xC000_036C, "STATUS_DRIVER_BLOCKED (0xC000036C)"),
        ] {
            let description = describe_ntstatus(status as i32);
            assert!(description.starts_with(text), "{description}");
        }
    }

    #[test]
    fn every_row_has_a_description() {
        for row in TABLE {
            assert!(row.name.starts_with("STATUS_"));
            assert!(!row.text.is_empty());
            assert!(
                !row.text.ends_with('.'),
                "{} description ends with a period",
                row.name
            );
            assert!(describe_ntstatus(row.status).starts_with(row.name));
        }
    }

    #[test]
    fn handler_errors_become_the_status_windows_expects() {
        let failed: NtResult<()> = (|| Ok(Err(Errno::ENOENT)?))();
        assert_eq!(failed, Err(NtError(STATUS_OBJECT_NAME_NOT_FOUND)));
        assert_eq!(NtError::from(Errno::EACCES), NtError(STATUS_ACCESS_DENIED));
    }

    #[test]
    fn results_become_the_status_a_callback_returns() {
        assert_eq!(status_of(Ok(())), STATUS_SUCCESS);
        assert_eq!(
            status_of(Err(NtError(STATUS_ACCESS_DENIED))),
            STATUS_ACCESS_DENIED
        );
    }
}
