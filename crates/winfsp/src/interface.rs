//! The `FSP_FILE_SYSTEM_INTERFACE` callbacks: each converts WinFsp's arguments, calls the
//! matching [`Engine`] method, and writes the answer where WinFsp wants it.
//!
//! Read, Write and ReadDirectory served by handlers return `STATUS_PENDING` after taking the
//! request's hint; their answer is sent later with `FspFileSystemSendResponse`, from whichever
//! thread the handler's answer arrives on, through a [`Ticket`](crate::gate::Ticket) of the
//! mount's [`Gate`]. Every other callback waits on its dispatcher thread for the handler's
//! answer.
//!
//! A panic inside a callback is caught and answered `STATUS_IO_DEVICE_ERROR` (void callbacks
//! just return), so it never unwinds into WinFsp.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use log::error;
use mountkit_core::windows::ntstatus::{
    status_of, STATUS_BUFFER_TOO_SMALL, STATUS_INVALID_PARAMETER, STATUS_IO_DEVICE_ERROR,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND, STATUS_PENDING, STATUS_REPARSE,
    STATUS_SUCCESS,
};
use mountkit_core::windows::security::{
    DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
};
use mountkit_core::RequestContext;
use mountkit_windows::{sddl_of_parts, wide_from_ptr};

use crate::dir::DirPage;
use crate::engine::{Engine, NtError, NtResult, OpenedFile};
use crate::ffi::{
    Api, Boolean, FileSystemInterface, FspFileSystem, IoStatusBlock, NtStatus, SecurityDescriptor,
};
use crate::fsctl::{
    DirInfo, FileInfo, OpenFileInfo, TransactReq, TransactRsp, VolumeInfo, KIND_QUERY_DIRECTORY,
    KIND_READ, KIND_WRITE,
};
use crate::gate::Gate;
use crate::security::copy_descriptor;

/// What the callbacks of one mount share; WinFsp's `UserContext` points to it for the life of
/// the file system object.
pub(crate) struct Shared {
    /// The platform-neutral file system.
    pub engine: Arc<Engine>,
    /// Whether pending requests may still be answered.
    pub gate: Arc<Gate>,
    /// WinFsp's functions.
    pub api: &'static Api,
    /// The file system object, as an address so that answers may carry it to other threads.
    pub file_system: usize,
}

impl Shared {
    /// The hint (request identifier) and the caller of the request being served on this
    /// thread.
    fn request(&self) -> (u64, RequestContext) {
        // SAFETY: called only from a callback, on the dispatcher thread serving the request,
        // where WinFsp keeps the operation context of that request in thread-local storage.
        let context = unsafe { (self.api.get_operation_context)() };
        if context.is_null() {
            return (0, RequestContext::default());
        }
        // SAFETY: a non-null operation context points to the live request and response of the
        // current operation.
        let request = unsafe { (*context).request };
        if request.is_null() {
            return (0, RequestContext::default());
        }
        // SAFETY: the request buffer holds at least a whole request header and stays valid
        // until this callback returns; it is only read here.
        let request = unsafe { &*request };
        let cx = RequestContext {
            pid: request.process_id(),
            ..RequestContext::default()
        };
        (request.hint, cx)
    }

    /// The SDDL of the security descriptor the caller of the create being served asked for
    /// (`SECURITY_ATTRIBUTES`): owner, group and DACL as given; `None` when it asked for none.
    /// Its system ACL (audit ACEs, the integrity label), which is not kept, is left out rather
    /// than refused, so the file is still created (docs/windows-winfsp.md, *Security*, says why).
    fn asked_security(&self) -> Option<String> {
        // SAFETY: called only from the Create callback, on the dispatcher thread serving the
        // request, whose operation context WinFsp keeps in thread-local storage.
        let context = unsafe { (self.api.get_operation_context)() };
        if context.is_null() {
            return None;
        }
        // SAFETY: a non-null operation context points to the live request of the operation.
        let request = unsafe { (*context).request };
        if request.is_null() {
            return None;
        }
        // SAFETY: the request stays valid until this callback returns; it is only read here.
        let (offset, size) = unsafe { &*request }.asked_security()?;
        // SAFETY: the descriptor lies in the trailing buffer, which starts right after the
        // request header; `asked_security` checked that its `offset + size` bytes end inside
        // the request.
        let descriptor = unsafe {
            request
                .cast::<u8>()
                .add(std::mem::size_of::<TransactReq>() + offset)
        };
        let all =
            OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
        // SAFETY: the driver checked the caller's descriptor, a self-relative one of `size`
        // bytes, valid during the callback.
        match unsafe { sddl_of_parts(descriptor.cast(), all) } {
            Ok(sddl) => Some(sddl),
            Err(detail) => {
                error!(
                    "{detail}; the new file's descriptor ignores what its creator asked \
                     ({size} bytes)"
                );
                None
            }
        }
    }

    /// Serves a callback on the dispatcher thread serving its request, guarded ([`guard`]):
    /// `body` gets the request's hint and caller.
    fn serve(&self, body: impl FnOnce(u64, RequestContext) -> NtStatus) -> NtStatus {
        guard(|| {
            let (hint, cx) = self.request();
            body(hint, cx)
        })
    }

    /// Where a pending request's answer goes.
    fn answer(&self, kind: u32, hint: u64) -> Answer {
        Answer {
            api: self.api,
            file_system: self.file_system,
            kind,
            hint,
        }
    }
}

/// The address of a pending request's answer.
struct Answer {
    api: &'static Api,
    file_system: usize,
    kind: u32,
    hint: u64,
}

impl Answer {
    /// Sends `status` with `information` bytes transferred, and `file_info` for a write.
    fn send(&self, status: NtStatus, information: u32, file_info: Option<FileInfo>) {
        let mut response = TransactRsp::new(self.kind, self.hint, status, information);
        if let Some(file_info) = file_info {
            response = response.with_file_info(file_info);
        }
        // SAFETY: this runs under an open gate ticket, so the file system object has not been
        // deleted; `response` is a complete response without a trailing buffer.
        unsafe { (self.api.send_response)(self.file_system as *mut FspFileSystem, &mut response) };
    }
}

/// The mount state behind `fs`.
///
/// # Safety
///
/// `fs` must be a file system object this crate created, whose `UserContext` points to a live
/// [`Shared`]: true for every callback WinFsp makes, since the state is freed only after the
/// dispatcher stopped.
unsafe fn shared<'a>(fs: *mut FspFileSystem) -> &'a Shared {
    // SAFETY: as the caller guarantees.
    unsafe { &*((*fs).user_context as *const Shared) }
}

/// The `length` bytes at `buffer`, or none for a null pointer.
///
/// # Safety
///
/// A non-null `buffer` must be valid for reading `length` bytes for `'a`.
unsafe fn bytes<'a>(buffer: *const c_void, length: u32) -> &'a [u8] {
    if buffer.is_null() {
        return &[];
    }
    // SAFETY: as the caller guarantees.
    unsafe { std::slice::from_raw_parts(buffer.cast::<u8>(), length as usize) }
}

/// The `length` writable bytes at `buffer`, or none for a null pointer.
///
/// # Safety
///
/// A non-null `buffer` must be valid for writing `length` bytes, and not otherwise accessed,
/// for `'a`.
unsafe fn bytes_mut<'a>(buffer: *mut c_void, length: u32) -> &'a mut [u8] {
    if buffer.is_null() {
        return &mut [];
    }
    // SAFETY: as the caller guarantees.
    unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), length as usize) }
}

/// The file system's handle number of a WinFsp file context.
fn id(context: *mut c_void) -> u64 {
    context as usize as u64
}

/// Runs a callback's body, answering a panic with `STATUS_IO_DEVICE_ERROR`.
fn guard(body: impl FnOnce() -> NtStatus) -> NtStatus {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        error!("a WinFsp callback panicked; the request is answered STATUS_IO_DEVICE_ERROR");
        STATUS_IO_DEVICE_ERROR
    })
}

/// Runs a void callback's body, containing a panic.
fn guard_void(body: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(body)).is_err() {
        error!("a WinFsp callback panicked");
    }
}

/// Writes `value` through `target` and answers success, or answers the error.
///
/// # Safety
///
/// `target` must be valid for writing a `T`.
unsafe fn deliver<T>(result: NtResult<T>, target: *mut T) -> NtStatus {
    match result {
        Ok(value) => {
            // SAFETY: as the caller guarantees.
            unsafe { target.write(value) };
            STATUS_SUCCESS
        }
        Err(NtError(status)) => status,
    }
}

/// Copies a file's security descriptor (or the failure to build it) the way WinFsp's security
/// callbacks report one: `size` holds the buffer's size on entry and the descriptor's size on
/// return.
///
/// # Safety
///
/// `size` must be valid for reading and writing; `descriptor`, if not null, must be valid for
/// writing `*size` bytes.
unsafe fn report_security(
    built: NtResult<Vec<u8>>,
    descriptor: SecurityDescriptor,
    size: *mut usize,
) -> NtStatus {
    let built = match built {
        Ok(built) => built,
        Err(NtError(status)) => return status,
    };
    // SAFETY: as the caller guarantees.
    let capacity = unsafe { *size };
    let buffer = (!descriptor.is_null()).then(|| {
        // SAFETY: as the caller guarantees, the buffer has `capacity` writable bytes.
        unsafe { std::slice::from_raw_parts_mut(descriptor.cast::<u8>(), capacity) }
    });
    let (status, reported) = match copy_descriptor(&built, capacity, buffer) {
        Ok(copied) => (STATUS_SUCCESS, copied),
        Err((status, needed)) => (status, needed),
    };
    // SAFETY: as the caller guarantees.
    unsafe { *size = reported };
    status
}

extern "C" fn get_volume_info(fs: *mut FspFileSystem, info: *mut VolumeInfo) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        // SAFETY: WinFsp passes a writable volume information structure.
        unsafe { deliver(shared.engine.volume_info(cx), info) }
    })
}

extern "C" fn set_volume_label(
    fs: *mut FspFileSystem,
    label: *mut u16,
    info: *mut VolumeInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        // SAFETY: the label is a NUL-terminated string in the request, valid during the call.
        let label = unsafe { wide_from_ptr(label) };
        // SAFETY: WinFsp passes a writable volume information structure.
        unsafe { deliver(shared.engine.set_volume_label(cx, label), info) }
    })
}

extern "C" fn get_security_by_name(
    fs: *mut FspFileSystem,
    name: *mut u16,
    attributes: *mut u32,
    descriptor: SecurityDescriptor,
    descriptor_size: *mut usize,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|hint, cx| {
        // SAFETY: the name is a NUL-terminated string in the request, valid during the call.
        let name = unsafe { wide_from_ptr(name) };
        let (found, path, stat) = match shared.engine.security_by_name(cx, name, Some(hint)) {
            Ok(found) => found,
            // Only a name whose directory is missing (or is not a directory) can run through a
            // link; WinFsp resolves it when told where the link is: the index of its component
            // goes where the attributes would.
            Err(NtError(status)) if status == STATUS_OBJECT_PATH_NOT_FOUND => {
                let Some(index) = shared.engine.reparse_on_the_way(cx, name) else {
                    return status;
                };
                if !attributes.is_null() {
                    // SAFETY: a non-null attributes pointer is writable.
                    unsafe { *attributes = index };
                }
                return STATUS_REPARSE;
            }
            Err(NtError(status)) => return status,
        };
        if !attributes.is_null() {
            // SAFETY: a non-null attributes pointer is writable.
            unsafe { *attributes = found };
        }
        if descriptor_size.is_null() {
            return STATUS_SUCCESS;
        }
        let built = shared.engine.descriptor(cx, &path, &stat);
        // SAFETY: WinFsp passes the size of `descriptor`'s buffer in `descriptor_size`.
        unsafe { report_security(built, descriptor, descriptor_size) }
    })
}

#[allow(clippy::too_many_arguments)]
extern "C" fn create(
    fs: *mut FspFileSystem,
    name: *mut u16,
    create_options: u32,
    granted_access: u32,
    file_attributes: u32,
    // What WinFsp's DLL built with `CreatePrivateObjectSecurity`: mountkit builds the new
    // file's descriptor itself, from the caller's request (`Shared::asked_security`), the same
    // way on both backends.
    _security_descriptor: SecurityDescriptor,
    _allocation_size: u64,
    context: *mut *mut c_void,
    info: *mut FileInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|hint, cx| {
        // SAFETY: the name is a NUL-terminated string in the request, valid during the call.
        let name = unsafe { wide_from_ptr(name) };
        let asked = if shared.engine.options.persistent_acls {
            shared.asked_security()
        } else {
            None
        };
        let created = shared.engine.create(
            cx,
            name,
            create_options,
            granted_access,
            file_attributes,
            asked.as_deref(),
            Some(hint),
        );
        opened(created, context, info)
    })
}

extern "C" fn open(
    fs: *mut FspFileSystem,
    name: *mut u16,
    create_options: u32,
    granted_access: u32,
    context: *mut *mut c_void,
    info: *mut FileInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|hint, cx| {
        // SAFETY: the name is a NUL-terminated string in the request, valid during the call.
        let name = unsafe { wide_from_ptr(name) };
        let result = shared
            .engine
            .open(cx, name, create_options, granted_access, Some(hint));
        opened(result, context, info)
    })
}

/// Reports a successful create or open: the context number, the file information and, when
/// there is one that fits WinFsp's buffer, the normalized name.
fn opened(
    result: NtResult<OpenedFile>,
    context: *mut *mut c_void,
    info: *mut FileInfo,
) -> NtStatus {
    let opened = match result {
        Ok(opened) => opened,
        Err(NtError(status)) => return status,
    };
    // SAFETY: the file information WinFsp passes Create and Open is the first member of an
    // open-file information structure (winfsp.h, `FspFileSystemGetOpenFileInfo`).
    let open_info = unsafe { &mut *info.cast::<OpenFileInfo>() };
    // SAFETY: WinFsp passes a writable slot for the context.
    unsafe { *context = opened.id as usize as *mut c_void };
    open_info.file_info = opened.info;
    if let Some(name) = opened.normalized_name {
        match u16::try_from(name.len() * 2) {
            Ok(size)
                if size <= open_info.normalized_name_size
                    && !open_info.normalized_name.is_null() =>
            {
                // SAFETY: WinFsp's buffer holds `normalized_name_size` bytes, which the name
                // was just checked to fit.
                unsafe {
                    ptr::copy_nonoverlapping(name.as_ptr(), open_info.normalized_name, name.len())
                };
                open_info.normalized_name_size = size;
            }
            // No room: WinFsp then keeps the name opened, upper-cased.
            _ => {}
        }
    }
    STATUS_SUCCESS
}

extern "C" fn overwrite(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    file_attributes: u32,
    replace_file_attributes: Boolean,
    _allocation_size: u64,
    info: *mut FileInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        let result = shared.engine.overwrite(
            cx,
            id(context),
            file_attributes,
            replace_file_attributes != 0,
        );
        // SAFETY: WinFsp passes a writable file information structure.
        unsafe { deliver(result, info) }
    })
}

extern "C" fn cleanup(fs: *mut FspFileSystem, context: *mut c_void, _name: *mut u16, flags: u32) {
    guard_void(|| {
        // SAFETY: WinFsp passes the file system this crate created.
        let shared = unsafe { shared(fs) };
        let (_, cx) = shared.request();
        shared.engine.cleanup(cx, id(context), flags);
    });
}

extern "C" fn close(fs: *mut FspFileSystem, context: *mut c_void) {
    guard_void(|| {
        // SAFETY: WinFsp passes the file system this crate created.
        let shared = unsafe { shared(fs) };
        let (_, cx) = shared.request();
        shared.engine.close(cx, id(context));
    });
}

extern "C" fn read(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    buffer: *mut c_void,
    offset: u64,
    length: u32,
    transferred: *mut u32,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|hint, cx| {
        let id = id(context);
        {
            // SAFETY: WinFsp passes a buffer of `length` writable bytes, valid until the
            // request is answered; this borrow ends before anything else touches it.
            let target = unsafe { bytes_mut(buffer, length) };
            if let Some(result) = shared.engine.read_backing(id, offset, target) {
                // SAFETY: WinFsp passes a writable byte count.
                return unsafe { deliver(result.map(|read| read as u32), transferred) };
            }
        }
        let answer = shared.answer(KIND_READ, hint);
        let ticket = shared.gate.ticket();
        let target = buffer as usize;
        shared
            .engine
            .read(cx, id, offset, length, move |result: NtResult<&[u8]>| {
                ticket.answer(|| match result {
                    Ok(data) => {
                        // SAFETY: the gate ticket guarantees the request is still pending, so
                        // its buffer of `length` bytes is still mapped; the engine never
                        // returns more than `length` bytes.
                        unsafe {
                            ptr::copy_nonoverlapping(data.as_ptr(), target as *mut u8, data.len())
                        };
                        answer.send(STATUS_SUCCESS, data.len() as u32, None);
                    }
                    Err(NtError(status)) => answer.send(status, 0, None),
                });
            });
        STATUS_PENDING
    })
}

#[allow(clippy::too_many_arguments)]
extern "C" fn write(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    buffer: *mut c_void,
    offset: u64,
    length: u32,
    write_to_end_of_file: Boolean,
    constrained_io: Boolean,
    transferred: *mut u32,
    info: *mut FileInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|hint, cx| {
        let id = id(context);
        let (to_end, constrained) = (write_to_end_of_file != 0, constrained_io != 0);
        // SAFETY: WinFsp passes `length` readable bytes, valid during this call; they are
        // copied before it returns.
        let data = unsafe { bytes(buffer, length) };
        if let Some(result) = shared
            .engine
            .write_backing(id, data, offset, to_end, constrained)
        {
            return match result {
                Ok((written, file_info)) => {
                    // SAFETY: WinFsp passes a writable byte count and file information.
                    unsafe {
                        *transferred = written;
                        *info = file_info;
                    }
                    STATUS_SUCCESS
                }
                Err(NtError(status)) => status,
            };
        }
        let data = shared.engine.dispatch.write_data(data);
        let answer = shared.answer(KIND_WRITE, hint);
        let ticket = shared.gate.ticket();
        shared
            .engine
            .write(cx, id, data, offset, to_end, constrained, move |result| {
                ticket.answer(|| match result {
                    Ok((written, file_info)) => {
                        answer.send(STATUS_SUCCESS, written, Some(file_info))
                    }
                    Err(NtError(status)) => answer.send(status, 0, None),
                });
            });
        STATUS_PENDING
    })
}

extern "C" fn flush(fs: *mut FspFileSystem, context: *mut c_void, info: *mut FileInfo) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        let handle = (!context.is_null()).then(|| id(context));
        match shared.engine.flush(cx, handle) {
            Ok(Some(file_info)) => {
                // SAFETY: WinFsp passes a writable file information structure.
                unsafe { *info = file_info };
                STATUS_SUCCESS
            }
            Ok(None) => STATUS_SUCCESS,
            Err(NtError(status)) => status,
        }
    })
}

extern "C" fn get_file_info(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    info: *mut FileInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        // SAFETY: WinFsp passes a writable file information structure.
        unsafe { deliver(shared.engine.file_info(cx, id(context)), info) }
    })
}

/// The change time is not set (see `Engine::set_basic_info`).
#[allow(clippy::too_many_arguments)]
extern "C" fn set_basic_info(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    file_attributes: u32,
    creation_time: u64,
    last_access_time: u64,
    last_write_time: u64,
    _change_time: u64,
    info: *mut FileInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        let result = shared.engine.set_basic_info(
            cx,
            id(context),
            file_attributes,
            creation_time,
            last_access_time,
            last_write_time,
        );
        // SAFETY: WinFsp passes a writable file information structure.
        unsafe { deliver(result, info) }
    })
}

extern "C" fn set_file_size(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    size: u64,
    set_allocation_size: Boolean,
    info: *mut FileInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        let result = shared
            .engine
            .set_file_size(cx, id(context), size, set_allocation_size != 0);
        // SAFETY: WinFsp passes a writable file information structure.
        unsafe { deliver(result, info) }
    })
}

extern "C" fn can_delete(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    _name: *mut u16,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| status_of(shared.engine.can_delete(cx, id(context))))
}

extern "C" fn set_delete(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    _name: *mut u16,
    delete: Boolean,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| status_of(shared.engine.set_delete(cx, id(context), delete != 0)))
}

/// WinFsp's Rename. The file's current name (`_name`) is not read: the engine renames from
/// the path its context holds, which is the handler's spelling where WinFsp's may not be
/// ([`Engine::rename`](crate::engine::Engine::rename)).
extern "C" fn rename(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    _name: *mut u16,
    new_name: *mut u16,
    replace_if_exists: Boolean,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        // SAFETY: the new name is a NUL-terminated string in the request, valid during the
        // call.
        let to = unsafe { wide_from_ptr(new_name) };
        status_of(
            shared
                .engine
                .rename(cx, id(context), to, replace_if_exists != 0),
        )
    })
}

extern "C" fn get_security(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    descriptor: SecurityDescriptor,
    descriptor_size: *mut usize,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        let built = shared.engine.file_security(cx, id(context));
        // SAFETY: WinFsp passes the size of `descriptor`'s buffer in `descriptor_size`, which
        // is never null here.
        unsafe { report_security(built, descriptor, descriptor_size) }
    })
}

extern "C" fn set_security(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    security_information: u32,
    modification: SecurityDescriptor,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        // SAFETY: WinFsp passes the self-relative descriptor of the request, valid during the
        // call.
        let changes = match unsafe { sddl_of_parts(modification, security_information) } {
            Ok(changes) => changes,
            Err(detail) => {
                error!("{detail}");
                return STATUS_INVALID_PARAMETER;
            }
        };
        status_of(
            shared
                .engine
                .set_security(cx, id(context), security_information, &changes),
        )
    })
}

extern "C" fn read_directory(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    pattern: *mut u16,
    marker: *mut u16,
    buffer: *mut c_void,
    length: u32,
    _transferred: *mut u32,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|hint, cx| {
        // SAFETY: pattern and marker are null or NUL-terminated strings in the request buffer,
        // which is reused once this call returns: they are copied now.
        let (pattern, marker) = unsafe {
            (
                (!pattern.is_null()).then(|| String::from_utf16_lossy(wide_from_ptr(pattern))),
                (!marker.is_null()).then(|| String::from_utf16_lossy(wide_from_ptr(marker))),
            )
        };
        let answer = shared.answer(KIND_QUERY_DIRECTORY, hint);
        let ticket = shared.gate.ticket();
        let target = buffer as usize;
        let api = shared.api;
        shared.engine.read_directory(
            cx,
            id(context),
            pattern,
            marker,
            length as usize,
            move |result| {
                ticket.answer(|| match result {
                    Ok(page) => {
                        let filled = fill_directory(api, target as *mut c_void, length, &page);
                        answer.send(STATUS_SUCCESS, filled, None);
                    }
                    Err(NtError(status)) => answer.send(status, 0, None),
                });
            },
        );
        STATUS_PENDING
    })
}

/// Adds a page's entries to a ReadDirectory buffer while they fit, then the end-of-listing
/// mark if the page is complete and everything fit; returns the bytes used.
fn fill_directory(api: &Api, buffer: *mut c_void, length: u32, page: &DirPage) -> u32 {
    let mut transferred = 0u32;
    for (name, file_info) in &page.entries {
        let Some(mut record) = DirInfo::new(name, *file_info) else {
            continue;
        };
        // SAFETY: the caller holds an open gate ticket, so `buffer` is the pending request's
        // buffer of `length` bytes; WinFsp copies the record's `size` bytes into it.
        let added = unsafe { (api.add_dir_info)(&mut record, buffer, length, &mut transferred) };
        if added == 0 {
            return transferred;
        }
    }
    if page.complete {
        // SAFETY: as above; a null record adds the end-of-listing mark.
        unsafe { (api.add_dir_info)(ptr::null_mut(), buffer, length, &mut transferred) };
    }
    transferred
}

extern "C" fn get_dir_info_by_name(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    name: *mut u16,
    dir_info: *mut DirInfo,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        // SAFETY: the name is a NUL-terminated string in the request, valid during the call.
        let name = unsafe { wide_from_ptr(name) };
        let (name, file_info) = match shared.engine.dir_info_by_name(cx, id(context), name) {
            Ok(found) => found,
            Err(NtError(status)) => return status,
        };
        let Some(record) = DirInfo::new(&name, file_info) else {
            return STATUS_OBJECT_NAME_NOT_FOUND;
        };
        // SAFETY: WinFsp passes room for a directory record with a 255-unit name, and a
        // record's `size` never exceeds that.
        unsafe {
            ptr::copy_nonoverlapping(
                (&record as *const DirInfo).cast::<u8>(),
                dir_info.cast::<u8>(),
                usize::from(record.size),
            )
        };
        STATUS_SUCCESS
    })
}

/// Copies reparse data the way WinFsp's reparse callbacks report it: `size` holds the buffer's
/// size on entry and the data's size on return; a null `buffer` only asks whether there is
/// data.
///
/// # Safety
///
/// `size` must be valid for reading and writing; `buffer`, if not null, must be valid for
/// writing `*size` bytes.
unsafe fn report_reparse(
    data: NtResult<Vec<u8>>,
    buffer: *mut c_void,
    size: *mut usize,
) -> NtStatus {
    let data = match data {
        Ok(data) => data,
        Err(NtError(status)) => return status,
    };
    if buffer.is_null() {
        return STATUS_SUCCESS;
    }
    // SAFETY: as the caller guarantees.
    if data.len() > unsafe { *size } {
        return STATUS_BUFFER_TOO_SMALL;
    }
    // SAFETY: the buffer holds `*size` bytes, which the data was just checked to fit.
    unsafe {
        ptr::copy_nonoverlapping(data.as_ptr(), buffer.cast::<u8>(), data.len());
        *size = data.len();
    }
    STATUS_SUCCESS
}

/// `FspFileSystemResolveReparsePoints`' question about one name on the way: its link data.
extern "C" fn reparse_point_by_name(
    fs: *mut FspFileSystem,
    _context: *mut c_void,
    name: *mut u16,
    _is_directory: Boolean,
    buffer: *mut c_void,
    size: *mut usize,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        // SAFETY: the name is a NUL-terminated string WinFsp builds, valid during the call.
        let name = unsafe { wide_from_ptr(name) };
        let data = shared.engine.reparse_point_by_name(cx, name);
        // SAFETY: WinFsp passes a null buffer, or one of `*size` writable bytes.
        unsafe { report_reparse(data, buffer, size) }
    })
}

/// Resolves the links along a name with WinFsp's own resolver, which asks
/// [`reparse_point_by_name`] about each component.
extern "C" fn resolve_reparse_points(
    fs: *mut FspFileSystem,
    name: *mut u16,
    reparse_point_index: u32,
    resolve_last_component: Boolean,
    io_status: *mut IoStatusBlock,
    buffer: *mut c_void,
    size: *mut usize,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    guard(|| {
        // SAFETY: every pointer is WinFsp's own, passed on unchanged, and the callback is
        // this crate's for this file system.
        unsafe {
            (shared.api.resolve_reparse_points)(
                fs,
                reparse_point_by_name,
                ptr::null_mut(),
                name,
                reparse_point_index,
                resolve_last_component,
                io_status,
                buffer,
                size,
            )
        }
    })
}

extern "C" fn get_reparse_point(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    _name: *mut u16,
    buffer: *mut c_void,
    size: *mut usize,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        let data = shared.engine.get_reparse_point(cx, id(context));
        // SAFETY: WinFsp passes a response buffer of `*size` writable bytes.
        unsafe { report_reparse(data, buffer, size) }
    })
}

extern "C" fn set_reparse_point(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    _name: *mut u16,
    buffer: *mut c_void,
    size: usize,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| {
        // SAFETY: WinFsp passes the request's `size` bytes of reparse data, valid during the
        // call.
        let data = unsafe { bytes(buffer, size as u32) };
        status_of(shared.engine.set_reparse_point(cx, id(context), data))
    })
}

extern "C" fn delete_reparse_point(
    fs: *mut FspFileSystem,
    context: *mut c_void,
    _name: *mut u16,
    _buffer: *mut c_void,
    _size: usize,
) -> NtStatus {
    // SAFETY: WinFsp passes the file system this crate created.
    let shared = unsafe { shared(fs) };
    shared.serve(|_, cx| status_of(shared.engine.delete_reparse_point(cx, id(context))))
}

/// The callbacks of every mount. Empty slots (named streams, extended attributes, device
/// control) make WinFsp answer `STATUS_INVALID_DEVICE_REQUEST`; the volume is created without
/// those features, so Windows does not ask for them.
pub(crate) static INTERFACE: FileSystemInterface = FileSystemInterface {
    get_volume_info: Some(get_volume_info),
    set_volume_label: Some(set_volume_label),
    get_security_by_name: Some(get_security_by_name),
    create: Some(create),
    open: Some(open),
    overwrite: Some(overwrite),
    cleanup: Some(cleanup),
    close: Some(close),
    read: Some(read),
    write: Some(write),
    flush: Some(flush),
    get_file_info: Some(get_file_info),
    set_basic_info: Some(set_basic_info),
    set_file_size: Some(set_file_size),
    can_delete: Some(can_delete),
    rename: Some(rename),
    get_security: Some(get_security),
    set_security: Some(set_security),
    read_directory: Some(read_directory),
    resolve_reparse_points: Some(resolve_reparse_points),
    get_reparse_point: Some(get_reparse_point),
    set_reparse_point: Some(set_reparse_point),
    delete_reparse_point: Some(delete_reparse_point),
    get_stream_info: None,
    get_dir_info_by_name: Some(get_dir_info_by_name),
    control: None,
    set_delete: Some(set_delete),
    create_ex: None,
    overwrite_ex: None,
    get_ea: None,
    set_ea: None,
    obsolete0: None,
    reserved: [None; 32],
};
