//! The `extern "system"` functions Dokan calls. Each one reads its arguments out of the raw
//! pointers Dokan passes, calls the matching [`DokanFs`] method, and writes the answer back.
//! No decision is made here.
//!
//! Every callback runs on a Dokan worker thread and may block it while the filesystem
//! answers; a panic inside a callback is caught and answered with
//! `STATUS_UNEXPECTED_IO_ERROR` (or ignored, for the callbacks that return nothing), since
//! unwinding into Dokan's C code would abort the process.

use core::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use log::error;
use mountkit_core::windows::ntstatus::status_of;
use mountkit_core::windows::ntstatus::{
    STATUS_BUFFER_OVERFLOW, STATUS_INVALID_PARAMETER, STATUS_IO_DEVICE_ERROR,
    STATUS_NOT_IMPLEMENTED, STATUS_SUCCESS, STATUS_UNEXPECTED_IO_ERROR,
};
use mountkit_core::windows::security::{
    copy_descriptor, Source, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION,
};
use mountkit_windows::{descriptor_from_sddl, sddl_of_parts, wide_from_ptr};
use parking_lot::Mutex;
use windows_sys::core::BOOL;
use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, WIN32_FIND_DATAW, WIN32_FIND_STREAM_DATA,
};

use crate::ffi::{
    DokanResetTimeoutFn, NtStatus, PFillFindData, PFillFindStreamData, DOKAN_ACCESS_STATE_HEAD,
    DOKAN_FILE_INFO, DOKAN_OPERATIONS,
};
use crate::ops::{Call, CreateRequest, DokanFs, FileTimes, WriteRequest};
use crate::request::Keepalive;

/// What the callbacks of one mount share, reached through `DOKAN_OPTIONS.GlobalContext`.
pub(crate) struct Volume {
    /// The mount's state and callback logic.
    pub fs: DokanFs,
    /// `DokanResetTimeout`, for keeping slow requests alive.
    pub reset_timeout: DokanResetTimeoutFn,
    /// The mount point Dokan reported in `Mounted`.
    pub mounted_at: Mutex<Option<String>>,
    /// Set by `Mounted`, cleared by `Unmounted`.
    pub mounted: AtomicBool,
}

// Dokan calls in from many threads at once, all sharing one `Volume` through a raw pointer.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Volume>();
};

/// The callback table handed to `DokanCreateFileSystem`: every operation is served.
pub(crate) fn operations() -> DOKAN_OPERATIONS {
    DOKAN_OPERATIONS {
        ZwCreateFile: Some(zw_create_file),
        Cleanup: Some(cleanup),
        CloseFile: Some(close_file),
        ReadFile: Some(read_file),
        WriteFile: Some(write_file),
        FlushFileBuffers: Some(flush_file_buffers),
        GetFileInformation: Some(get_file_information),
        FindFiles: Some(find_files),
        FindFilesWithPattern: Some(find_files_with_pattern),
        SetFileAttributes: Some(set_file_attributes),
        SetFileTime: Some(set_file_time),
        DeleteFile: Some(delete_file),
        DeleteDirectory: Some(delete_directory),
        MoveFile: Some(move_file),
        SetEndOfFile: Some(set_end_of_file),
        SetAllocationSize: Some(set_allocation_size),
        LockFile: Some(byte_range_lock),
        UnlockFile: Some(byte_range_lock),
        GetDiskFreeSpace: Some(get_disk_free_space),
        GetVolumeInformation: Some(get_volume_information),
        Mounted: Some(mounted),
        Unmounted: Some(unmounted),
        GetFileSecurity: Some(get_file_security),
        SetFileSecurity: Some(set_file_security),
        FindStreams: Some(find_streams),
    }
}

/// Extends the driver's timer of the request a callback is serving.
struct ResetTimeout {
    reset: DokanResetTimeoutFn,
    info: *mut DOKAN_FILE_INFO,
}

impl Keepalive for ResetTimeout {
    fn extend(&self, milliseconds: u32) -> bool {
        // SAFETY: `info` is the DOKAN_FILE_INFO of the request this thread is serving, valid
        // until the callback returns, and DokanResetTimeout is documented for use during it.
        unsafe { (self.reset)(milliseconds, self.info) != 0 }
    }
}

/// What a callback reads out of its `DOKAN_FILE_INFO` before doing anything.
struct Request<'a> {
    volume: &'a Volume,
    info: *mut DOKAN_FILE_INFO,
    context: u64,
    process_id: u32,
}

impl<'a> Request<'a> {
    /// # Safety
    ///
    /// `info` must be the DOKAN_FILE_INFO Dokan passed to the running callback, whose
    /// `DokanOptions.GlobalContext` holds the address of a [`Volume`] that outlives the mount.
    unsafe fn new(info: *mut DOKAN_FILE_INFO) -> Request<'a> {
        // SAFETY: per this function's contract, `info` and its `DokanOptions` are valid for
        // the callback, and `GlobalContext` was set by `mount` to the address of a `Volume`
        // kept alive until `DokanCloseHandle` has returned.
        unsafe {
            let options = (*info).DokanOptions;
            Request {
                volume: &*((*options).GlobalContext as usize as *const Volume),
                info,
                context: (*info).Context,
                process_id: (*info).ProcessId,
            }
        }
    }

    fn keepalive(&self) -> ResetTimeout {
        ResetTimeout {
            reset: self.volume.reset_timeout,
            info: self.info,
        }
    }

    fn fs(&self) -> &DokanFs {
        &self.volume.fs
    }

    /// Serves the callback `name`, shielded ([`shield`]): `body` gets the mount's
    /// [`DokanFs`], the [`Call`] (who asks, and the driver's timer to extend while the
    /// dispatcher is slow) and the open's context.
    fn serve(&self, name: &str, body: impl FnOnce(&DokanFs, &Call, u64) -> NtStatus) -> NtStatus {
        shield(name, || {
            let keepalive = self.keepalive();
            let call = Call {
                process_id: self.process_id,
                keepalive: &keepalive,
            };
            body(self.fs(), &call, self.context)
        })
    }
}

/// Runs `body`, answering `STATUS_UNEXPECTED_IO_ERROR` if it panics.
fn shield(name: &str, body: impl FnOnce() -> NtStatus) -> NtStatus {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        error!("the Dokan callback {name} panicked");
        STATUS_UNEXPECTED_IO_ERROR
    })
}

/// Copies `text` into a Windows buffer of `capacity` units, cutting it to fit and always
/// writing the terminating NUL.
///
/// # Safety
///
/// `buffer` must be null or valid for writing `capacity` units.
unsafe fn copy_wide(text: &str, buffer: *mut u16, capacity: usize) {
    if buffer.is_null() || capacity == 0 {
        return;
    }
    let units: Vec<u16> = text.encode_utf16().take(capacity - 1).collect();
    // SAFETY: at most `capacity - 1` units plus the NUL are written into a buffer of
    // `capacity` units.
    unsafe {
        ptr::copy_nonoverlapping(units.as_ptr(), buffer, units.len());
        *buffer.add(units.len()) = 0;
    }
}

fn filetime(value: u64) -> FILETIME {
    FILETIME {
        dwLowDateTime: value as u32,
        dwHighDateTime: (value >> 32) as u32,
    }
}

/// # Safety
///
/// `time` must be null or point to a readable FILETIME.
unsafe fn read_filetime(time: *const FILETIME) -> Option<u64> {
    if time.is_null() {
        return None;
    }
    // SAFETY: `time` is non-null and readable per the contract.
    let time = unsafe { *time };
    Some(u64::from(time.dwHighDateTime) << 32 | u64::from(time.dwLowDateTime))
}

/// The SDDL of the descriptor the caller of a create asked for, from Dokan's
/// `DOKAN_IO_SECURITY_CONTEXT`: owner, group and DACL; `None` when it asked for none. Its
/// system ACL (audit ACEs, the integrity label), which is not kept, is left out rather than
/// refused, so the file is still created (docs/windows-winfsp.md, *Security*, says why).
///
/// # Safety
///
/// `security_context` must be null or Dokan's security context of the create being served.
unsafe fn asked_security(security_context: *mut c_void) -> Option<String> {
    if security_context.is_null() {
        return None;
    }
    // SAFETY: as the caller guarantees, the context starts with a DOKAN_ACCESS_STATE.
    let asked = unsafe { (*security_context.cast::<DOKAN_ACCESS_STATE_HEAD>()).SecurityDescriptor };
    if asked.is_null() {
        return None;
    }
    let all = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    // SAFETY: Dokan passes the caller's self-relative descriptor, valid during the callback.
    match unsafe { sddl_of_parts(asked, all) } {
        Ok(sddl) => Some(sddl),
        Err(e) => {
            error!("{e}; the new file's descriptor ignores what its creator asked");
            None
        }
    }
}

unsafe extern "system" fn zw_create_file(
    file_name: *const u16,
    security_context: *mut c_void,
    desired_access: u32,
    file_attributes: u32,
    _share_access: u32,
    create_disposition: u32,
    create_options: u32,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("ZwCreateFile", |fs, call, prior_context| {
        // SAFETY: Dokan passes a NUL-terminated file name valid during the callback.
        let file_name = unsafe { wide_from_ptr(file_name) };
        // SAFETY: Dokan passes the security context of this create.
        let asked = fs
            .stores_security()
            .then(|| unsafe { asked_security(security_context) })
            .flatten();
        let outcome = fs.create(
            call,
            &CreateRequest {
                file_name,
                desired_access,
                file_attributes,
                create_disposition,
                create_options,
                prior_context,
                asked_security: asked.as_deref(),
            },
        );
        // SAFETY: `info` is valid and ours to update until the callback returns.
        unsafe {
            (*info).Context = outcome.context;
            if outcome.opened() {
                (*info).IsDirectory = u8::from(outcome.is_directory);
            }
        }
        outcome.status
    })
}

unsafe extern "system" fn cleanup(_file_name: *const u16, info: *mut DOKAN_FILE_INFO) {
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("Cleanup", |fs, call, context| {
        fs.cleanup(call, context);
        STATUS_SUCCESS
    });
}

unsafe extern "system" fn close_file(_file_name: *const u16, info: *mut DOKAN_FILE_INFO) {
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("CloseFile", |fs, call, context| {
        fs.close(call, context);
        // SAFETY: `info` is valid and ours to update; a cleared context cannot be reused
        // by a create Dokan retries with the same DOKAN_FILE_INFO.
        unsafe { (*info).Context = 0 };
        STATUS_SUCCESS
    });
}

unsafe extern "system" fn read_file(
    _file_name: *const u16,
    buffer: *mut c_void,
    buffer_length: u32,
    read_length: *mut u32,
    offset: i64,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    if buffer.is_null() || read_length.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("ReadFile", |fs, call, context| {
        // SAFETY: Dokan's buffer holds `buffer_length` writable bytes for the callback.
        let buffer =
            unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), buffer_length as usize) };
        let read = fs.read(call, context, buffer, offset);
        // SAFETY: `read_length` is non-null and writable; `count` fits the buffer, whose
        // length is a u32.
        status_of(read.map(|count| unsafe { *read_length = count as u32 }))
    })
}

unsafe extern "system" fn write_file(
    _file_name: *const u16,
    buffer: *const c_void,
    bytes_to_write: u32,
    bytes_written: *mut u32,
    offset: i64,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    if (buffer.is_null() && bytes_to_write > 0) || bytes_written.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("WriteFile", |fs, call, context| {
        let data: &[u8] = if bytes_to_write == 0 {
            &[]
        } else {
            // SAFETY: Dokan's buffer holds `bytes_to_write` readable bytes for the
            // callback.
            unsafe { std::slice::from_raw_parts(buffer.cast::<u8>(), bytes_to_write as usize) }
        };
        // SAFETY: `info` is valid; the flags are plain bytes.
        let (write_to_end_of_file, paging_io) =
            unsafe { ((*info).WriteToEndOfFile != 0, (*info).PagingIo != 0) };
        let write = WriteRequest {
            data,
            offset,
            write_to_end_of_file,
            paging_io,
        };
        let written = fs.write(call, context, &write);
        // SAFETY: `bytes_written` is non-null and writable; `count` is at most
        // `bytes_to_write`.
        status_of(written.map(|count| unsafe { *bytes_written = count as u32 }))
    })
}

unsafe extern "system" fn flush_file_buffers(
    _file_name: *const u16,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("FlushFileBuffers", |fs, call, context| {
        status_of(fs.flush(call, context))
    })
}

unsafe extern "system" fn get_file_information(
    _file_name: *const u16,
    buffer: *mut BY_HANDLE_FILE_INFORMATION,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    if buffer.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("GetFileInformation", |fs, call, context| {
        let file = match fs.get_file_information(call, context) {
            Ok(file) => file,
            Err(error) => return error.0,
        };
        let answer = BY_HANDLE_FILE_INFORMATION {
            dwFileAttributes: file.attributes,
            ftCreationTime: filetime(file.creation_time),
            ftLastAccessTime: filetime(file.last_access_time),
            ftLastWriteTime: filetime(file.last_write_time),
            dwVolumeSerialNumber: file.volume_serial,
            nFileSizeHigh: (file.size >> 32) as u32,
            nFileSizeLow: file.size as u32,
            nNumberOfLinks: file.links,
            nFileIndexHigh: (file.index >> 32) as u32,
            nFileIndexLow: file.index as u32,
        };
        // SAFETY: `buffer` is non-null and points to Dokan's writable structure.
        unsafe { buffer.write(answer) };
        STATUS_SUCCESS
    })
}

/// Serves `FindFiles` (`pattern` null) and `FindFilesWithPattern`, named `name`.
///
/// # Safety
///
/// The arguments must be those Dokan passed to the running callback.
unsafe fn find(
    name: &str,
    pattern: *const u16,
    fill: PFillFindData,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    let Some(fill) = fill else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: per the contract, `info` is this request's DOKAN_FILE_INFO.
    let request = unsafe { Request::new(info) };
    request.serve(name, |fs, call, context| {
        // SAFETY: per the contract, `pattern` is null or Dokan's NUL-terminated pattern.
        let pattern = (!pattern.is_null()).then(|| unsafe { wide_from_ptr(pattern) });
        let entries = match fs.find_files(call, context, pattern) {
            Ok(entries) => entries,
            Err(error) => return error.0,
        };
        for entry in entries {
            let mut data = WIN32_FIND_DATAW {
                dwFileAttributes: entry.attributes,
                ftCreationTime: filetime(entry.creation_time),
                ftLastAccessTime: filetime(entry.last_access_time),
                ftLastWriteTime: filetime(entry.last_write_time),
                nFileSizeHigh: (entry.size >> 32) as u32,
                nFileSizeLow: entry.size as u32,
                ..WIN32_FIND_DATAW::default()
            };
            let capacity = data.cFileName.len();
            // SAFETY: `cFileName` is a local array of `capacity` units.
            unsafe { copy_wide(&entry.name, data.cFileName.as_mut_ptr(), capacity) };
            // SAFETY: `fill` is Dokan's FillFindData for this request; it copies `data`
            // before returning, and `info` is the request's DOKAN_FILE_INFO it expects.
            if unsafe { fill(&mut data, info) } == 1 {
                return STATUS_BUFFER_OVERFLOW;
            }
        }
        STATUS_SUCCESS
    })
}

unsafe extern "system" fn find_files(
    _file_name: *const u16,
    fill: PFillFindData,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: the arguments are Dokan's, passed on unchanged.
    unsafe { find("FindFiles", ptr::null(), fill, info) }
}

unsafe extern "system" fn find_files_with_pattern(
    _path_name: *const u16,
    pattern: *const u16,
    fill: PFillFindData,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: the arguments are Dokan's, passed on unchanged.
    unsafe { find("FindFilesWithPattern", pattern, fill, info) }
}

unsafe extern "system" fn set_file_attributes(
    _file_name: *const u16,
    file_attributes: u32,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("SetFileAttributes", |fs, call, context| {
        status_of(fs.set_file_attributes(call, context, file_attributes))
    })
}

unsafe extern "system" fn set_file_time(
    _file_name: *const u16,
    creation: *const FILETIME,
    last_access: *const FILETIME,
    last_write: *const FILETIME,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: each pointer is null or one of Dokan's readable FILETIMEs.
    let times = unsafe {
        FileTimes {
            creation: read_filetime(creation),
            last_access: read_filetime(last_access),
            last_write: read_filetime(last_write),
        }
    };
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("SetFileTime", |fs, call, context| {
        status_of(fs.set_file_time(call, context, &times))
    })
}

/// Serves `DeleteFile` and `DeleteDirectory` (named `name`), which differ only in what Dokan
/// opened.
///
/// # Safety
///
/// `info` must be the DOKAN_FILE_INFO Dokan passed to the running callback.
unsafe fn set_delete(name: &str, info: *mut DOKAN_FILE_INFO) -> NtStatus {
    // SAFETY: per the contract.
    let request = unsafe { Request::new(info) };
    request.serve(name, |fs, call, context| {
        // SAFETY: `info` is valid; the flag is a plain byte.
        let delete = unsafe { (*info).DeleteOnClose } != 0;
        status_of(fs.set_delete(call, context, delete))
    })
}

unsafe extern "system" fn delete_file(
    _file_name: *const u16,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: `info` is Dokan's, passed on unchanged.
    unsafe { set_delete("DeleteFile", info) }
}

unsafe extern "system" fn delete_directory(
    _file_name: *const u16,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: `info` is Dokan's, passed on unchanged.
    unsafe { set_delete("DeleteDirectory", info) }
}

unsafe extern "system" fn move_file(
    _file_name: *const u16,
    new_file_name: *const u16,
    replace_if_existing: BOOL,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("MoveFile", |fs, call, context| {
        // SAFETY: Dokan passes a NUL-terminated new name valid during the callback.
        let new_name = unsafe { wide_from_ptr(new_file_name) };
        status_of(fs.move_file(call, context, new_name, replace_if_existing != 0))
    })
}

unsafe extern "system" fn set_end_of_file(
    _file_name: *const u16,
    length: i64,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("SetEndOfFile", |fs, call, context| {
        status_of(fs.set_end_of_file(call, context, length))
    })
}

unsafe extern "system" fn set_allocation_size(
    _file_name: *const u16,
    allocation: i64,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("SetAllocationSize", |fs, call, context| {
        status_of(fs.set_allocation_size(call, context, allocation))
    })
}

/// `LockFile` and `UnlockFile`. Byte-range locks are kept by the Dokan driver: the mount does
/// not set `DOKAN_OPTION_FILELOCK_USER_MODE`, so Dokan never calls this, and if it did,
/// `STATUS_NOT_IMPLEMENTED` tells it to handle the lock itself.
unsafe extern "system" fn byte_range_lock(
    _file_name: *const u16,
    _offset: i64,
    _length: i64,
    _info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    STATUS_NOT_IMPLEMENTED
}

unsafe extern "system" fn get_disk_free_space(
    free_bytes_available: *mut u64,
    total_bytes: *mut u64,
    total_free_bytes: *mut u64,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    // SAFETY: Dokan passes a DOKAN_FILE_INFO (without an open) for this request.
    let request = unsafe { Request::new(info) };
    request.serve("GetDiskFreeSpace", |fs, call, _| {
        let space = match fs.disk_free_space(call) {
            Ok(space) => space,
            Err(error) => return error.0,
        };
        for (target, value) in [
            (free_bytes_available, space.free_bytes_available),
            (total_bytes, space.total_bytes),
            (total_free_bytes, space.total_free_bytes),
        ] {
            if !target.is_null() {
                // SAFETY: a non-null target is one of Dokan's writable counters.
                unsafe { *target = value };
            }
        }
        STATUS_SUCCESS
    })
}

unsafe extern "system" fn get_volume_information(
    volume_name: *mut u16,
    volume_name_size: u32,
    serial_number: *mut u32,
    maximum_component_length: *mut u32,
    file_system_flags: *mut u32,
    file_system_name: *mut u16,
    file_system_name_size: u32,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    shield("GetVolumeInformation", || {
        // SAFETY: Dokan passes a DOKAN_FILE_INFO (without an open) for this request.
        let request = unsafe { Request::new(info) };
        let volume = request.fs().volume();
        // SAFETY: Dokan's name buffers hold the given number of units; its counters are
        // writable when non-null.
        unsafe {
            copy_wide(&volume.label, volume_name, volume_name_size as usize);
            copy_wide(
                &volume.file_system_name,
                file_system_name,
                file_system_name_size as usize,
            );
            for (target, value) in [
                (serial_number, volume.serial),
                (maximum_component_length, volume.max_component_length),
                (file_system_flags, volume.flags),
            ] {
                if !target.is_null() {
                    *target = value;
                }
            }
        }
        STATUS_SUCCESS
    })
}

unsafe extern "system" fn mounted(mount_point: *const u16, info: *mut DOKAN_FILE_INFO) -> NtStatus {
    shield("Mounted", || {
        // SAFETY: Dokan passes a DOKAN_FILE_INFO whose options are the mount's.
        let request = unsafe { Request::new(info) };
        // SAFETY: Dokan passes its NUL-terminated mount point.
        let mount_point = String::from_utf16_lossy(unsafe { wide_from_ptr(mount_point) });
        *request.volume.mounted_at.lock() = Some(mount_point);
        request.volume.mounted.store(true, Ordering::SeqCst);
        STATUS_SUCCESS
    })
}

unsafe extern "system" fn unmounted(info: *mut DOKAN_FILE_INFO) -> NtStatus {
    shield("Unmounted", || {
        // SAFETY: Dokan passes a DOKAN_FILE_INFO whose options are the mount's.
        let request = unsafe { Request::new(info) };
        request.volume.mounted.store(false, Ordering::SeqCst);
        STATUS_SUCCESS
    })
}

/// Answers with the parts asked for of the file's descriptor ([`DokanFs::file_security`]);
/// `STATUS_BUFFER_OVERFLOW` with the needed length when there is no buffer or it is too small
/// ([`copy_descriptor`]).
unsafe extern "system" fn get_file_security(
    _file_name: *const u16,
    security_information: *mut u32,
    descriptor: *mut c_void,
    buffer_length: u32,
    length_needed: *mut u32,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    if security_information.is_null() || length_needed.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("GetFileSecurity", |fs, call, context| {
        // SAFETY: non-null, and Dokan's readable SECURITY_INFORMATION.
        let requested = unsafe { *security_information };
        let (sddl, source) = match fs.file_security(call, context, requested) {
            Ok(found) => found,
            Err(error) => return error.0,
        };
        let bytes = match descriptor_from_sddl(&sddl) {
            Ok(bytes) => bytes,
            Err(e) => {
                match source {
                    Source::Handler => error!(
                        "{e}: getSecurity returned it; return the owner, group and DACL in SDDL"
                    ),
                    Source::Derived => error!("{e}: a bug in mountkit, please report it"),
                }
                return STATUS_IO_DEVICE_ERROR;
            }
        };
        let capacity = if descriptor.is_null() {
            0
        } else {
            buffer_length as usize
        };
        let buffer = (!descriptor.is_null()).then(|| {
            // SAFETY: Dokan's buffer holds `buffer_length` writable bytes.
            unsafe { std::slice::from_raw_parts_mut(descriptor.cast::<u8>(), capacity) }
        });
        let (status, size) = match copy_descriptor(&bytes, capacity, buffer) {
            Ok(copied) => (STATUS_SUCCESS, copied),
            Err((status, needed)) => (status, needed),
        };
        // SAFETY: `length_needed` is non-null and writable.
        unsafe { *length_needed = u32::try_from(size).unwrap_or(u32::MAX) };
        status
    })
}

/// A program's change of the parts `security_information` names, read as SDDL and given to
/// [`DokanFs::set_file_security`].
unsafe extern "system" fn set_file_security(
    _file_name: *const u16,
    security_information: *mut u32,
    descriptor: *mut c_void,
    _buffer_length: u32,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    if security_information.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("SetFileSecurity", |fs, call, context| {
        // SAFETY: non-null, and Dokan's readable SECURITY_INFORMATION.
        let information = unsafe { *security_information };
        // SAFETY: Dokan passes the self-relative descriptor of the request, valid during the
        // call.
        let changes = match unsafe { sddl_of_parts(descriptor, information) } {
            Ok(changes) => changes,
            Err(e) => {
                error!("{e}");
                return STATUS_INVALID_PARAMETER;
            }
        };
        // Compared as Windows stores them, so aliases and hexadecimal masks match their SIDs
        // and named rights.
        let same_descriptor = |merged: &str, current: &str| match (
            descriptor_from_sddl(merged),
            descriptor_from_sddl(current),
        ) {
            (Ok(merged), Ok(current)) => merged == current,
            _ => false,
        };
        match fs.set_file_security(call, context, information, &changes, same_descriptor) {
            Ok(()) => STATUS_SUCCESS,
            Err(error) => error.0,
        }
    })
}

unsafe extern "system" fn find_streams(
    _file_name: *const u16,
    fill: PFillFindStreamData,
    find_stream_context: *mut c_void,
    info: *mut DOKAN_FILE_INFO,
) -> NtStatus {
    let Some(fill) = fill else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: Dokan passes the DOKAN_FILE_INFO of this request.
    let request = unsafe { Request::new(info) };
    request.serve("FindStreams", |fs, call, context| {
        let streams = match fs.find_streams(call, context) {
            Ok(streams) => streams,
            Err(error) => return error.0,
        };
        for stream in streams {
            let mut data = WIN32_FIND_STREAM_DATA {
                StreamSize: i64::try_from(stream.size).unwrap_or(i64::MAX),
                ..WIN32_FIND_STREAM_DATA::default()
            };
            let capacity = data.cStreamName.len();
            // SAFETY: `cStreamName` is a local array of `capacity` units.
            unsafe { copy_wide(&stream.name, data.cStreamName.as_mut_ptr(), capacity) };
            // SAFETY: `fill` is Dokan's FillFindStreamData, given the context Dokan
            // passed for it; it copies `data` before returning.
            if unsafe { fill(&mut data, find_stream_context) } == 0 {
                return STATUS_BUFFER_OVERFLOW;
            }
        }
        STATUS_SUCCESS
    })
}
