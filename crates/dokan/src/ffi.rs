//! The part of Dokan 2's C API this backend uses: the structures of `dokan.h` and the
//! signatures of the `dokan2.dll` functions it calls, written from the Dokan 2 headers
//! (`dokan/dokan.h`, `dokan/fileinfo.h`, `sys/public.h`). Win32 structures come from
//! `windows-sys`. Layouts are checked at compile time against the sizes and offsets of the C
//! structures on 64-bit Windows.
//!
//! Dokan's callbacks and exports use the `stdcall` convention (`DOKAN_CALLBACK`,
//! `DOKANAPI`), which is `extern "system"` in Rust.

#![allow(non_camel_case_types, non_snake_case)]

use core::ffi::c_void;

use windows_sys::core::BOOL;
use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, WIN32_FIND_DATAW, WIN32_FIND_STREAM_DATA,
};

/// An NTSTATUS, as Dokan callbacks return it.
pub(crate) type NtStatus = i32;

/// A mounted Dokan instance, from `DokanCreateFileSystem`.
pub(crate) type DOKAN_HANDLE = *mut c_void;

/// The size of `DOKAN_OPTIONS.VolumeSecurityDescriptor`.
pub(crate) const VOLUME_SECURITY_DESCRIPTOR_MAX_SIZE: usize = 16 * 1024;

/// `DOKAN_OPTIONS` (Dokan 2): how a volume is mounted. Dokan keeps a pointer to it for the
/// whole life of the mount.
#[repr(C)]
#[allow(
    dead_code,
    reason = "the C layout needs every field, including those this backend never reads"
)]
pub(crate) struct DOKAN_OPTIONS {
    pub Version: u16,
    pub SingleThread: u8,
    pub Options: u32,
    pub GlobalContext: u64,
    pub MountPoint: *const u16,
    pub UNCName: *const u16,
    pub Timeout: u32,
    pub AllocationUnitSize: u32,
    pub SectorSize: u32,
    pub VolumeSecurityDescriptorLength: u32,
    pub VolumeSecurityDescriptor: [i8; VOLUME_SECURITY_DESCRIPTOR_MAX_SIZE],
}

/// `DOKAN_FILE_INFO` (Dokan 2): the per-request view of an open file. `DeleteOnClose` is set
/// while the file's delete is pending, whichever way it was asked for (the create option or a
/// set-disposition request).
#[repr(C)]
#[allow(
    dead_code,
    reason = "the C layout needs every field, including those this backend never reads"
)]
pub(crate) struct DOKAN_FILE_INFO {
    pub Context: u64,
    pub DokanContext: u64,
    pub DokanOptions: *mut DOKAN_OPTIONS,
    pub ProcessingContext: *mut c_void,
    pub ProcessId: u32,
    pub IsDirectory: u8,
    pub DeleteOnClose: u8,
    pub PagingIo: u8,
    pub SynchronousIo: u8,
    pub Nocache: u8,
    pub WriteToEndOfFile: u8,
}

/// `PFillFindData`: adds one entry to a `FindFiles`/`FindFilesWithPattern` answer; returns 1
/// when the buffer is full.
pub(crate) type PFillFindData =
    Option<unsafe extern "system" fn(*mut WIN32_FIND_DATAW, *mut DOKAN_FILE_INFO) -> i32>;

/// `PFillFindStreamData` (Dokan 2): adds one stream to a `FindStreams` answer, given the
/// `FindStreamContext`; returns FALSE when the buffer is full.
pub(crate) type PFillFindStreamData =
    Option<unsafe extern "system" fn(*mut WIN32_FIND_STREAM_DATA, *mut c_void) -> BOOL>;

type FileInfo = *mut DOKAN_FILE_INFO;
type Name = *const u16;

/// `DOKAN_OPERATIONS` (Dokan 2): the callbacks, in header order.
#[repr(C)]
#[allow(
    dead_code,
    reason = "the C layout needs every field, which Dokan reads and Rust only writes"
)]
pub(crate) struct DOKAN_OPERATIONS {
    pub ZwCreateFile: Option<
        unsafe extern "system" fn(Name, *mut c_void, u32, u32, u32, u32, u32, FileInfo) -> NtStatus,
    >,
    pub Cleanup: Option<unsafe extern "system" fn(Name, FileInfo)>,
    pub CloseFile: Option<unsafe extern "system" fn(Name, FileInfo)>,
    pub ReadFile: Option<
        unsafe extern "system" fn(Name, *mut c_void, u32, *mut u32, i64, FileInfo) -> NtStatus,
    >,
    pub WriteFile: Option<
        unsafe extern "system" fn(Name, *const c_void, u32, *mut u32, i64, FileInfo) -> NtStatus,
    >,
    pub FlushFileBuffers: Option<unsafe extern "system" fn(Name, FileInfo) -> NtStatus>,
    pub GetFileInformation: Option<
        unsafe extern "system" fn(Name, *mut BY_HANDLE_FILE_INFORMATION, FileInfo) -> NtStatus,
    >,
    pub FindFiles: Option<unsafe extern "system" fn(Name, PFillFindData, FileInfo) -> NtStatus>,
    pub FindFilesWithPattern:
        Option<unsafe extern "system" fn(Name, Name, PFillFindData, FileInfo) -> NtStatus>,
    pub SetFileAttributes: Option<unsafe extern "system" fn(Name, u32, FileInfo) -> NtStatus>,
    pub SetFileTime: Option<
        unsafe extern "system" fn(
            Name,
            *const FILETIME,
            *const FILETIME,
            *const FILETIME,
            FileInfo,
        ) -> NtStatus,
    >,
    pub DeleteFile: Option<unsafe extern "system" fn(Name, FileInfo) -> NtStatus>,
    pub DeleteDirectory: Option<unsafe extern "system" fn(Name, FileInfo) -> NtStatus>,
    pub MoveFile: Option<unsafe extern "system" fn(Name, Name, BOOL, FileInfo) -> NtStatus>,
    pub SetEndOfFile: Option<unsafe extern "system" fn(Name, i64, FileInfo) -> NtStatus>,
    pub SetAllocationSize: Option<unsafe extern "system" fn(Name, i64, FileInfo) -> NtStatus>,
    pub LockFile: Option<unsafe extern "system" fn(Name, i64, i64, FileInfo) -> NtStatus>,
    pub UnlockFile: Option<unsafe extern "system" fn(Name, i64, i64, FileInfo) -> NtStatus>,
    pub GetDiskFreeSpace:
        Option<unsafe extern "system" fn(*mut u64, *mut u64, *mut u64, FileInfo) -> NtStatus>,
    pub GetVolumeInformation: Option<
        unsafe extern "system" fn(
            *mut u16,
            u32,
            *mut u32,
            *mut u32,
            *mut u32,
            *mut u16,
            u32,
            FileInfo,
        ) -> NtStatus,
    >,
    pub Mounted: Option<unsafe extern "system" fn(Name, FileInfo) -> NtStatus>,
    pub Unmounted: Option<unsafe extern "system" fn(FileInfo) -> NtStatus>,
    pub GetFileSecurity: Option<
        unsafe extern "system" fn(Name, *mut u32, *mut c_void, u32, *mut u32, FileInfo) -> NtStatus,
    >,
    pub SetFileSecurity:
        Option<unsafe extern "system" fn(Name, *mut u32, *mut c_void, u32, FileInfo) -> NtStatus>,
    pub FindStreams: Option<
        unsafe extern "system" fn(Name, PFillFindStreamData, *mut c_void, FileInfo) -> NtStatus,
    >,
}

/// `void DokanInit(void)`.
pub(crate) type DokanInitFn = unsafe extern "system" fn();
/// `int DokanCreateFileSystem(PDOKAN_OPTIONS, PDOKAN_OPERATIONS, DOKAN_HANDLE *)`.
pub(crate) type DokanCreateFileSystemFn =
    unsafe extern "system" fn(*mut DOKAN_OPTIONS, *mut DOKAN_OPERATIONS, *mut DOKAN_HANDLE) -> i32;
/// `void DokanCloseHandle(DOKAN_HANDLE)`: unmounts and waits until the instance is released.
pub(crate) type DokanCloseHandleFn = unsafe extern "system" fn(DOKAN_HANDLE);
/// `BOOL DokanResetTimeout(ULONG Timeout, PDOKAN_FILE_INFO)`.
pub(crate) type DokanResetTimeoutFn = unsafe extern "system" fn(u32, *mut DOKAN_FILE_INFO) -> BOOL;
/// `BOOL DokanNotifyCreate(DOKAN_HANDLE, LPCWSTR FilePath, BOOL IsDirectory)`, and
/// `DokanNotifyDelete` alike.
pub(crate) type DokanNotifyNameFn =
    unsafe extern "system" fn(DOKAN_HANDLE, *const u16, BOOL) -> BOOL;
/// `BOOL DokanNotifyUpdate(DOKAN_HANDLE, LPCWSTR FilePath)`.
pub(crate) type DokanNotifyUpdateFn = unsafe extern "system" fn(DOKAN_HANDLE, *const u16) -> BOOL;
/// `BOOL DokanNotifyRename(DOKAN_HANDLE, LPCWSTR OldPath, LPCWSTR NewPath, BOOL IsDirectory,
/// BOOL IsInSameDirectory)`.
pub(crate) type DokanNotifyRenameFn =
    unsafe extern "system" fn(DOKAN_HANDLE, *const u16, *const u16, BOOL, BOOL) -> BOOL;
/// `ULONG DokanVersion(void)` and `ULONG DokanDriverVersion(void)`.
pub(crate) type DokanVersionFn = unsafe extern "system" fn() -> u32;

/// The start of `DOKAN_IO_SECURITY_CONTEXT`: its `DOKAN_ACCESS_STATE` up to the security
/// descriptor the caller of a create asked for (null when it asked for none).
#[repr(C)]
#[allow(
    dead_code,
    reason = "the C layout needs every field, including those this backend never reads"
)]
pub(crate) struct DOKAN_ACCESS_STATE_HEAD {
    pub SecurityEvaluated: u8,
    pub GenerateAudit: u8,
    pub GenerateOnClose: u8,
    pub AuditPrivileges: u8,
    pub Flags: u32,
    pub RemainingDesiredAccess: u32,
    pub PreviouslyGrantedAccess: u32,
    pub OriginalDesiredAccess: u32,
    pub SecurityDescriptor: *mut c_void,
}

#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(offset_of!(DOKAN_ACCESS_STATE_HEAD, Flags) == 4);
    assert!(offset_of!(DOKAN_ACCESS_STATE_HEAD, OriginalDesiredAccess) == 16);
    assert!(offset_of!(DOKAN_ACCESS_STATE_HEAD, SecurityDescriptor) == 24);
    assert!(size_of::<DOKAN_OPTIONS>() == 16432);
    assert!(offset_of!(DOKAN_OPTIONS, SingleThread) == 2);
    assert!(offset_of!(DOKAN_OPTIONS, Options) == 4);
    assert!(offset_of!(DOKAN_OPTIONS, GlobalContext) == 8);
    assert!(offset_of!(DOKAN_OPTIONS, MountPoint) == 16);
    assert!(offset_of!(DOKAN_OPTIONS, UNCName) == 24);
    assert!(offset_of!(DOKAN_OPTIONS, Timeout) == 32);
    assert!(offset_of!(DOKAN_OPTIONS, AllocationUnitSize) == 36);
    assert!(offset_of!(DOKAN_OPTIONS, SectorSize) == 40);
    assert!(offset_of!(DOKAN_OPTIONS, VolumeSecurityDescriptorLength) == 44);
    assert!(offset_of!(DOKAN_OPTIONS, VolumeSecurityDescriptor) == 48);

    assert!(size_of::<DOKAN_FILE_INFO>() == 48);
    assert!(offset_of!(DOKAN_FILE_INFO, DokanContext) == 8);
    assert!(offset_of!(DOKAN_FILE_INFO, DokanOptions) == 16);
    assert!(offset_of!(DOKAN_FILE_INFO, ProcessingContext) == 24);
    assert!(offset_of!(DOKAN_FILE_INFO, ProcessId) == 32);
    assert!(offset_of!(DOKAN_FILE_INFO, IsDirectory) == 36);
    assert!(offset_of!(DOKAN_FILE_INFO, DeleteOnClose) == 37);
    assert!(offset_of!(DOKAN_FILE_INFO, PagingIo) == 38);
    assert!(offset_of!(DOKAN_FILE_INFO, SynchronousIo) == 39);
    assert!(offset_of!(DOKAN_FILE_INFO, Nocache) == 40);
    assert!(offset_of!(DOKAN_FILE_INFO, WriteToEndOfFile) == 41);

    assert!(size_of::<DOKAN_OPERATIONS>() == 25 * 8);
    assert!(offset_of!(DOKAN_OPERATIONS, Cleanup) == 8);
    assert!(offset_of!(DOKAN_OPERATIONS, FindFilesWithPattern) == 64);
    assert!(offset_of!(DOKAN_OPERATIONS, MoveFile) == 104);
    assert!(offset_of!(DOKAN_OPERATIONS, GetDiskFreeSpace) == 144);
    assert!(offset_of!(DOKAN_OPERATIONS, Mounted) == 160);
    assert!(offset_of!(DOKAN_OPERATIONS, FindStreams) == 192);

    assert!(size_of::<BY_HANDLE_FILE_INFORMATION>() == 52);
    assert!(offset_of!(BY_HANDLE_FILE_INFORMATION, dwVolumeSerialNumber) == 28);
    assert!(offset_of!(BY_HANDLE_FILE_INFORMATION, nFileIndexLow) == 48);
    assert!(size_of::<WIN32_FIND_DATAW>() == 592);
    assert!(offset_of!(WIN32_FIND_DATAW, nFileSizeHigh) == 28);
    assert!(offset_of!(WIN32_FIND_DATAW, cFileName) == 44);
    assert!(offset_of!(WIN32_FIND_DATAW, cAlternateFileName) == 564);
    assert!(size_of::<WIN32_FIND_STREAM_DATA>() == 600);
    assert!(offset_of!(WIN32_FIND_STREAM_DATA, cStreamName) == 8);
};
