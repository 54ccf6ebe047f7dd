//! Rust-owned bytes handed to JavaScript: write-pool slots as `ArrayBuffer`s, and other bulk
//! bytes (writes the pool did not take, xattr values) as a `Buffer` each.
//!
//! Both are views over the Rust-owned memory, with no copy, kept alive until the JavaScript
//! garbage collector finalizes the view. Runtimes that forbid such external memory (Electron)
//! get no write pool, and one copy per `Buffer` instead. `MOUNTKIT_COPY_BUFFERS=1` forces
//! that path, so that it is tested outside Electron too.

use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, OnceLock};

use mountkit_core::Bytes;
use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{check_status, sys, Result, ValueType};

use crate::write_pool::Slot;

pub struct Payload(pub Bytes);

pub(crate) fn copy_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| std::env::var_os("MOUNTKIT_COPY_BUFFERS").is_some_and(|v| v == "1"))
}

/// Whether JavaScript in `env` may see Rust-owned memory, and `MOUNTKIT_COPY_BUFFERS=1` does
/// not forbid it. Runtimes built with V8's memory sandbox (Electron) refuse external memory.
///
/// # Safety
///
/// `env` must be the live environment of the calling JavaScript thread.
pub(crate) unsafe fn external_allowed(env: sys::napi_env) -> bool {
    if copy_forced() {
        return false;
    }
    let probe = Box::into_raw(Box::new(0u8));
    let mut value = ptr::null_mut();
    // SAFETY: `probe` is one byte that `release_probe` frees once the `ArrayBuffer` is
    // collected; `env` is live (this function's contract).
    let status = unsafe {
        sys::napi_create_external_arraybuffer(
            env,
            probe.cast(),
            1,
            Some(release_probe),
            ptr::null_mut(),
            &mut value,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: the call failed, so N-API did not take `probe`.
        drop(unsafe { Box::from_raw(probe) });
    }
    status == sys::Status::napi_ok
}

unsafe extern "C" fn release_probe(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the byte `external_allowed` leaked, finalized exactly once.
    drop(unsafe { Box::from_raw(data.cast::<u8>()) });
}

/// A write-pool slot, seen from JavaScript as an `ArrayBuffer` over its memory.
pub struct SlotBuffer(pub Arc<Slot>);

unsafe extern "C" fn release_slot(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Arc<Slot>>` leaked in `to_napi_value`, finalized once.
    drop(unsafe { Box::from_raw(hint.cast::<Arc<Slot>>()) });
}

impl TypeName for SlotBuffer {
    fn type_name() -> &'static str {
        "ArrayBuffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for SlotBuffer {
    unsafe fn to_napi_value(env: sys::napi_env, slot: SlotBuffer) -> Result<sys::napi_value> {
        let data = slot.0.as_ptr().cast::<c_void>();
        let len = slot.0.capacity();
        let owner = Box::into_raw(Box::new(slot.0));
        let mut value = ptr::null_mut();
        // SAFETY: `data` points at the `len` bytes of the slot `owner` keeps alive until
        // `release_slot` runs, however long JavaScript keeps the `ArrayBuffer`; which write's
        // bytes they hold is the pool's business (see `write_pool`).
        let status = unsafe {
            sys::napi_create_external_arraybuffer(
                env,
                data,
                len,
                Some(release_slot),
                owner.cast(),
                &mut value,
            )
        };
        if status != sys::Status::napi_ok {
            // SAFETY: the call failed, so N-API did not take `owner`.
            drop(unsafe { Box::from_raw(owner) });
            check_status!(status, "exposing a write-pool slot to JavaScript failed")?;
        }
        Ok(value)
    }
}

unsafe extern "C" fn release_bytes(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Bytes>` leaked in `to_napi_value`, finalized exactly once.
    drop(unsafe { Box::from_raw(hint.cast::<Bytes>()) });
}

impl TypeName for Payload {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Payload {
    unsafe fn to_napi_value(env: sys::napi_env, payload: Payload) -> Result<sys::napi_value> {
        let bytes = payload.0;
        let mut value = ptr::null_mut();
        if !bytes.is_empty() && !copy_forced() {
            let data = bytes.as_ptr().cast_mut().cast::<c_void>();
            let len = bytes.len();
            let owner = Box::into_raw(Box::new(bytes));
            // SAFETY: `data` points at `len` bytes owned by `owner`, which lives until
            // `release_bytes` runs; JavaScript only reads the view of write data.
            let status = unsafe {
                sys::napi_create_external_buffer(
                    env,
                    len,
                    data,
                    Some(release_bytes),
                    owner.cast(),
                    &mut value,
                )
            };
            if status == sys::Status::napi_ok {
                return Ok(value);
            }
            // SAFETY: the call failed, so N-API did not take `owner`; reclaim it.
            let bytes = unsafe { Box::from_raw(owner) };
            if status != sys::Status::napi_no_external_buffers_allowed {
                check_status!(status, "creating a Buffer over write data failed")?;
            }
            // SAFETY: `env` is the live environment this conversion was called with.
            return unsafe { copy(env, &bytes) };
        }
        // SAFETY: `env` is the live environment this conversion was called with.
        unsafe { copy(env, &bytes) }
    }
}

/// A JavaScript-owned copy of `bytes`.
unsafe fn copy(env: sys::napi_env, bytes: &[u8]) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    let mut data = ptr::null_mut();
    // SAFETY: `bytes` is valid for `bytes.len()` bytes for the duration of the call, which
    // copies them; `env` is the live environment of the calling JavaScript thread.
    let status = unsafe {
        sys::napi_create_buffer_copy(
            env,
            bytes.len(),
            bytes.as_ptr().cast(),
            &mut data,
            &mut value,
        )
    };
    check_status!(status, "copying write data into a Buffer failed")?;
    Ok(value)
}
