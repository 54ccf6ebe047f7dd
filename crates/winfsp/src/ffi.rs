//! The part of WinFsp's user-mode API (`winfsp/winfsp.h`, WinFsp 2.x) that this crate uses,
//! declared here and bound at run time.
//!
//! WinFsp's functions and the `FSP_FILE_SYSTEM_INTERFACE` callbacks are declared in C without a
//! calling convention, so they use the C default (`cdecl`): `extern "C"` here. (On x64 and
//! ARM64 there is only one convention; on x86, `extern "system"` would be wrong.)

use std::ffi::c_void;
use std::mem::{offset_of, size_of};
use std::sync::OnceLock;

use crate::errors::WinFspError;
use crate::fsctl::{DirInfo, FileInfo, TransactReq, TransactRsp, VolumeInfo, VolumeParams};
use crate::loader::win32::load;

/// An NTSTATUS.
pub(crate) type NtStatus = i32;
/// `PSECURITY_DESCRIPTOR`.
pub(crate) type SecurityDescriptor = *mut c_void;
/// `BOOLEAN`: 0 is false, anything else true.
pub(crate) type Boolean = u8;

/// The leading fields of `FSP_FILE_SYSTEM`, up to the ones this crate touches. The object is
/// allocated, owned and freed by WinFsp; this crate only ever holds a pointer to it.
#[repr(C)]
pub(crate) struct FspFileSystem {
    /// Set by WinFsp.
    pub version: u16,
    /// Free for the file system's use: this crate keeps its mount state here.
    pub user_context: *mut c_void,
    /// `VolumeName` through `DispatcherResult`, which this crate does not read.
    _volume_to_dispatcher: [u8; MOUNT_POINT_OFFSET - 2 * size_of::<usize>()],
    /// The mount point WinFsp set (`MountPoint`), NUL-terminated: for `*:`, the letter it
    /// took; null while none is set.
    pub mount_point: *const u16,
}

/// Where `MountPoint` lies in `FSP_FILE_SYSTEM`: after `Version` and `UserContext` (two
/// pointer slots), `VolumeName` (256 units), 27 pointers (`VolumeHandle`, the two operation
/// guards, the 22 `Operations`, `Interface`, `DispatcherThread`), and `DispatcherThreadCount`
/// and `DispatcherResult` (4 bytes each). 752 on 64-bit Windows, which the WinFsp double
/// checks against the header.
const MOUNT_POINT_OFFSET: usize = 29 * size_of::<usize>() + 512 + 8;

const _: () = assert!(offset_of!(FspFileSystem, mount_point) == MOUNT_POINT_OFFSET);

/// `FSP_FILE_SYSTEM_OPERATION_CONTEXT`: the request being served on the calling thread.
#[repr(C)]
pub(crate) struct OperationContext {
    /// The request being served.
    pub request: *mut TransactReq,
    /// The response WinFsp sends when the callback returns (unused here).
    pub response: *mut TransactRsp,
}

/// `IO_STATUS_BLOCK`: a status (in a pointer-sized union) and a count.
#[repr(C)]
pub(crate) struct IoStatusBlock {
    /// `Status`, widened to the union's size.
    pub status: usize,
    /// `Information`.
    pub information: usize,
}

/// The `GetReparsePointByName` callback `FspFileSystemResolveReparsePoints` takes: the reparse
/// data of a name, or only whether it is a reparse point when the buffer is null.
pub(crate) type GetReparsePointByName =
    unsafe extern "C" fn(Fs, *mut c_void, *mut u16, Boolean, *mut c_void, *mut usize) -> NtStatus;

/// A slot of the interface this crate leaves empty.
type Unused = Option<unsafe extern "C" fn()>;

type Fs = *mut FspFileSystem;
type Context = *mut c_void;

/// `FSP_FILE_SYSTEM_INTERFACE`: 64 function pointers, in WinFsp's order. An empty slot makes
/// WinFsp answer that request itself (usually `STATUS_INVALID_DEVICE_REQUEST`).
#[repr(C)]
pub(crate) struct FileSystemInterface {
    /// `GetVolumeInfo`.
    pub get_volume_info: Option<unsafe extern "C" fn(Fs, *mut VolumeInfo) -> NtStatus>,
    /// `SetVolumeLabel`.
    pub set_volume_label: Option<unsafe extern "C" fn(Fs, *mut u16, *mut VolumeInfo) -> NtStatus>,
    /// `GetSecurityByName`.
    pub get_security_by_name: Option<
        unsafe extern "C" fn(Fs, *mut u16, *mut u32, SecurityDescriptor, *mut usize) -> NtStatus,
    >,
    /// `Create`.
    #[allow(clippy::type_complexity)]
    pub create: Option<
        unsafe extern "C" fn(
            Fs,
            *mut u16,
            u32,
            u32,
            u32,
            SecurityDescriptor,
            u64,
            *mut Context,
            *mut FileInfo,
        ) -> NtStatus,
    >,
    /// `Open`.
    pub open: Option<
        unsafe extern "C" fn(Fs, *mut u16, u32, u32, *mut Context, *mut FileInfo) -> NtStatus,
    >,
    /// `Overwrite`.
    pub overwrite:
        Option<unsafe extern "C" fn(Fs, Context, u32, Boolean, u64, *mut FileInfo) -> NtStatus>,
    /// `Cleanup`.
    pub cleanup: Option<unsafe extern "C" fn(Fs, Context, *mut u16, u32)>,
    /// `Close`.
    pub close: Option<unsafe extern "C" fn(Fs, Context)>,
    /// `Read`.
    pub read:
        Option<unsafe extern "C" fn(Fs, Context, *mut c_void, u64, u32, *mut u32) -> NtStatus>,
    /// `Write`.
    #[allow(clippy::type_complexity)]
    pub write: Option<
        unsafe extern "C" fn(
            Fs,
            Context,
            *mut c_void,
            u64,
            u32,
            Boolean,
            Boolean,
            *mut u32,
            *mut FileInfo,
        ) -> NtStatus,
    >,
    /// `Flush`.
    pub flush: Option<unsafe extern "C" fn(Fs, Context, *mut FileInfo) -> NtStatus>,
    /// `GetFileInfo`.
    pub get_file_info: Option<unsafe extern "C" fn(Fs, Context, *mut FileInfo) -> NtStatus>,
    /// `SetBasicInfo`.
    pub set_basic_info: Option<
        unsafe extern "C" fn(Fs, Context, u32, u64, u64, u64, u64, *mut FileInfo) -> NtStatus,
    >,
    /// `SetFileSize`.
    pub set_file_size:
        Option<unsafe extern "C" fn(Fs, Context, u64, Boolean, *mut FileInfo) -> NtStatus>,
    /// `CanDelete`.
    pub can_delete: Option<unsafe extern "C" fn(Fs, Context, *mut u16) -> NtStatus>,
    /// `Rename`.
    pub rename: Option<unsafe extern "C" fn(Fs, Context, *mut u16, *mut u16, Boolean) -> NtStatus>,
    /// `GetSecurity`.
    pub get_security:
        Option<unsafe extern "C" fn(Fs, Context, SecurityDescriptor, *mut usize) -> NtStatus>,
    /// `SetSecurity`.
    pub set_security:
        Option<unsafe extern "C" fn(Fs, Context, u32, SecurityDescriptor) -> NtStatus>,
    /// `ReadDirectory`.
    #[allow(clippy::type_complexity)]
    pub read_directory: Option<
        unsafe extern "C" fn(
            Fs,
            Context,
            *mut u16,
            *mut u16,
            *mut c_void,
            u32,
            *mut u32,
        ) -> NtStatus,
    >,
    /// `ResolveReparsePoints`.
    #[allow(clippy::type_complexity)]
    pub resolve_reparse_points: Option<
        unsafe extern "C" fn(
            Fs,
            *mut u16,
            u32,
            Boolean,
            *mut IoStatusBlock,
            *mut c_void,
            *mut usize,
        ) -> NtStatus,
    >,
    /// `GetReparsePoint`.
    pub get_reparse_point:
        Option<unsafe extern "C" fn(Fs, Context, *mut u16, *mut c_void, *mut usize) -> NtStatus>,
    /// `SetReparsePoint`.
    pub set_reparse_point:
        Option<unsafe extern "C" fn(Fs, Context, *mut u16, *mut c_void, usize) -> NtStatus>,
    /// `DeleteReparsePoint`.
    pub delete_reparse_point:
        Option<unsafe extern "C" fn(Fs, Context, *mut u16, *mut c_void, usize) -> NtStatus>,
    /// `GetStreamInfo`.
    pub get_stream_info: Unused,
    /// `GetDirInfoByName`.
    pub get_dir_info_by_name:
        Option<unsafe extern "C" fn(Fs, Context, *mut u16, *mut DirInfo) -> NtStatus>,
    /// `Control`.
    pub control: Unused,
    /// `SetDelete`.
    pub set_delete: Option<unsafe extern "C" fn(Fs, Context, *mut u16, Boolean) -> NtStatus>,
    /// `CreateEx`.
    pub create_ex: Unused,
    /// `OverwriteEx`.
    pub overwrite_ex: Unused,
    /// `GetEa`.
    pub get_ea: Unused,
    /// `SetEa`.
    pub set_ea: Unused,
    /// `Obsolete0`.
    pub obsolete0: Unused,
    /// `DispatcherStopped` (WinFsp 2.0), then `Reserved`, room for later operations.
    pub reserved: [Unused; 32],
}

// Where `winfsp.h` puts them, as printed by a C program built against WinFsp 2.1's headers.
const _: () = {
    let slot = size_of::<usize>();
    assert!(size_of::<FileSystemInterface>() == 64 * slot);
    assert!(offset_of!(FileSystemInterface, create) == 3 * slot);
    assert!(offset_of!(FileSystemInterface, read) == 8 * slot);
    assert!(offset_of!(FileSystemInterface, read_directory) == 18 * slot);
    assert!(offset_of!(FileSystemInterface, resolve_reparse_points) == 19 * slot);
    assert!(offset_of!(FileSystemInterface, delete_reparse_point) == 22 * slot);
    assert!(size_of::<IoStatusBlock>() == 2 * slot);
    assert!(offset_of!(FileSystemInterface, get_dir_info_by_name) == 24 * slot);
    assert!(offset_of!(FileSystemInterface, set_delete) == 26 * slot);
    assert!(offset_of!(FileSystemInterface, obsolete0) == 31 * slot);
    assert!(offset_of!(FileSystemInterface, reserved) == 32 * slot);
    assert!(offset_of!(FspFileSystem, user_context) == slot);
    assert!(offset_of!(OperationContext, response) == slot);
};

/// The WinFsp functions this crate calls, bound from the DLL.
pub(crate) struct Api {
    /// The DLL's full path.
    pub path: String,
    /// `FspFileSystemCreate`.
    pub file_system_create: unsafe extern "C" fn(
        *const u16,
        *const VolumeParams,
        *const FileSystemInterface,
        *mut Fs,
    ) -> NtStatus,
    /// `FspFileSystemDelete`.
    pub file_system_delete: unsafe extern "C" fn(Fs),
    /// `FspFileSystemSetMountPoint`.
    pub set_mount_point: unsafe extern "C" fn(Fs, *mut u16) -> NtStatus,
    /// `FspFileSystemRemoveMountPoint`.
    pub remove_mount_point: unsafe extern "C" fn(Fs),
    /// `FspFileSystemStartDispatcher`.
    pub start_dispatcher: unsafe extern "C" fn(Fs, u32) -> NtStatus,
    /// `FspFileSystemStopDispatcher`.
    pub stop_dispatcher: unsafe extern "C" fn(Fs),
    /// `FspFileSystemSendResponse`.
    pub send_response: unsafe extern "C" fn(Fs, *mut TransactRsp),
    /// `FspFileSystemGetOperationContext`.
    pub get_operation_context: unsafe extern "C" fn() -> *mut OperationContext,
    /// `FspFileSystemAddDirInfo`.
    pub add_dir_info: unsafe extern "C" fn(*mut DirInfo, *mut c_void, u32, *mut u32) -> Boolean,
    /// `FspFileSystemNotifyBegin`: holds off renames (waiting up to the timeout, in ms, for
    /// one in progress) while changes are reported.
    pub notify_begin: unsafe extern "C" fn(Fs, u32) -> NtStatus,
    /// `FspFileSystemNotify`: reports changes, as `FSP_FSCTL_NOTIFY_INFO` records of the
    /// given total size in bytes.
    pub notify: unsafe extern "C" fn(Fs, *mut c_void, usize) -> NtStatus,
    /// `FspFileSystemNotifyEnd`: lets renames go again.
    pub notify_end: unsafe extern "C" fn(Fs) -> NtStatus,
    /// `FspFileSystemResolveReparsePoints`: follows the links along a name, asking the
    /// callback for each component's reparse data, and writes the result as reparse data.
    #[allow(clippy::type_complexity)]
    pub resolve_reparse_points: unsafe extern "C" fn(
        Fs,
        GetReparsePointByName,
        *mut c_void,
        *mut u16,
        u32,
        Boolean,
        *mut IoStatusBlock,
        *mut c_void,
        *mut usize,
    ) -> NtStatus,
    /// `FspVersion`: the DLL's version, major in the high 16 bits.
    pub version: unsafe extern "C" fn(*mut u32) -> NtStatus,
    /// `FspSxsIdent` (WinFsp 2.0 and later): the instance id of a side-by-side installation,
    /// which names the driver service the DLL starts; `None` in older DLLs.
    sxs_ident: Option<unsafe extern "C" fn() -> *const u16>,
}

static API: OnceLock<Api> = OnceLock::new();

/// WinFsp's API, loading the DLL on first use. A failure is not remembered, so installing
/// WinFsp while the process runs lets a later mount succeed.
pub(crate) fn api() -> Result<&'static Api, WinFspError> {
    if let Some(api) = API.get() {
        return Ok(api);
    }
    let api = Api::load()?;
    Ok(API.get_or_init(|| api))
}

impl Api {
    fn load() -> Result<Api, WinFspError> {
        let library = load()?;
        macro_rules! bind {
            ($name:literal) => {
                // SAFETY: `$name` is exported by WinFsp with the C signature of the field this
                // initializes (declared above from winfsp.h), and the DLL is never unloaded.
                unsafe { library.function($name) }?
            };
        }
        Ok(Api {
            file_system_create: bind!("FspFileSystemCreate"),
            file_system_delete: bind!("FspFileSystemDelete"),
            set_mount_point: bind!("FspFileSystemSetMountPoint"),
            remove_mount_point: bind!("FspFileSystemRemoveMountPoint"),
            start_dispatcher: bind!("FspFileSystemStartDispatcher"),
            stop_dispatcher: bind!("FspFileSystemStopDispatcher"),
            send_response: bind!("FspFileSystemSendResponse"),
            get_operation_context: bind!("FspFileSystemGetOperationContext"),
            add_dir_info: bind!("FspFileSystemAddDirInfo"),
            notify_begin: bind!("FspFileSystemNotifyBegin"),
            notify: bind!("FspFileSystemNotify"),
            notify_end: bind!("FspFileSystemNotifyEnd"),
            resolve_reparse_points: bind!("FspFileSystemResolveReparsePoints"),
            version: bind!("FspVersion"),
            // SAFETY: WinFsp 2.0 and later export `PWSTR FspSxsIdent(VOID)`; older DLLs lack
            // it, and `sxs_ident` then answers `None`.
            sxs_ident: unsafe { library.function("FspSxsIdent") }.ok(),
            path: library.path().to_owned(),
        })
    }

    /// What the DLL's `FspSxsIdent` answers: the instance id of a side-by-side installation,
    /// or an empty string outside one; `None` when the DLL predates it (WinFsp 1.x).
    pub(crate) fn sxs_ident(&self) -> Option<String> {
        // WinFsp keeps the id in a buffer of 32 units and a terminator.
        const LONGEST: usize = 33;
        let sxs_ident = self.sxs_ident?;
        // SAFETY: `FspSxsIdent` takes no arguments and returns a static NUL-terminated string.
        let text = unsafe { sxs_ident() };
        if text.is_null() {
            return Some(String::new());
        }
        let units: Vec<u16> = (0..LONGEST)
            // SAFETY: reads stop at the terminator, which lies within the first `LONGEST`
            // units of the string.
            .map(|index| unsafe { *text.add(index) })
            .take_while(|&unit| unit != 0)
            .collect();
        Some(String::from_utf16_lossy(&units))
    }
}
