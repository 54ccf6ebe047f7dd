//! Bulk bytes handed to JavaScript (write data, xattr values) as a `Buffer`.
//!
//! The `Buffer` is a view over the Rust-owned bytes, with no copy: the bytes stay alive until
//! the JavaScript garbage collector finalizes the view. Runtimes that forbid external buffers
//! (Electron) get one copy instead. `MOUNTKIT_COPY_BUFFERS=1` forces the copy path, so that
//! path is tested outside Electron too.

use std::ffi::c_void;
use std::ptr;
use std::sync::OnceLock;

use mountkit_core::Bytes;
use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{check_status, sys, Result, ValueType};

pub struct Payload(pub Bytes);

pub fn copy_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| std::env::var_os("MOUNTKIT_COPY_BUFFERS").is_some_and(|v| v == "1"))
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
            return unsafe { copy(env, &bytes) };
        }
        unsafe { copy(env, &bytes) }
    }
}

/// A JavaScript-owned copy of `bytes`.
unsafe fn copy(env: sys::napi_env, bytes: &[u8]) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    let mut data = ptr::null_mut();
    // SAFETY: `bytes` is valid for `bytes.len()` bytes for the duration of the call, which
    // copies them; `env` is the live environment of the calling JavaScript thread.
    check_status!(
        unsafe {
            sys::napi_create_buffer_copy(
                env,
                bytes.len(),
                bytes.as_ptr().cast(),
                &mut data,
                &mut value,
            )
        },
        "copying write data into a Buffer failed"
    )?;
    Ok(value)
}
