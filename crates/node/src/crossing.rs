//! The two calls JavaScript makes on every batch, `drain` and `replyBatch`, as plain N-API
//! functions bound to one mount.
//!
//! Their fixed cost is paid once per batch, which under a serial caller means once per
//! request. A `#[napi]` class method registers a borrow of its receiver in napi-rs's
//! process-wide borrow table, under a lock, on every call: about 200 ns on the bench machines.
//! These functions reach their mount through the function's own data pointer instead, and a
//! call costs about 15 ns. Arguments and results still go through napi-rs's conversions, so
//! the only hand-written N-API here is the function binding and the call entry.

use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use mountkit_core::Bytes;
use napi::bindgen_prelude::{FromNapiValue, ToNapiValue};
use napi::{check_status, sys, Error, JsError, Result, Status};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use crate::bridge::{self, Bridge, RequestId};
use crate::convert::{self, DataPlace};
use crate::payload::Payload;
use crate::wire::{DrainHeader, DRAIN_HEADER, REQUEST_FIELDS};
use crate::NativeReplyProblem;

/// The most string capacity a drain keeps for the next one, in bytes.
const RETAINED_STRINGS: usize = 64 * 1024;

/// What the per-batch calls of one mount share with its `NativeMount`.
pub(crate) struct Crossing {
    bridge: Arc<Bridge>,
    /// Payloads of the last drain until JavaScript takes them.
    payloads: Mutex<Vec<Payload>>,
    /// By request id, the write-pool data of requests whose handlers have it: the slot stays
    /// theirs until their reply crosses back.
    lent: Mutex<FxHashMap<RequestId, Bytes>>,
    /// The strings of the last drain; kept between drains so that its capacity is reused.
    strings: Mutex<String>,
}

impl Crossing {
    pub(crate) fn new(bridge: Arc<Bridge>) -> Crossing {
        Crossing {
            bridge,
            payloads: Mutex::new(Vec::new()),
            lent: Mutex::new(FxHashMap::default()),
            strings: Mutex::new(String::new()),
        }
    }

    /// The mount's request queue, for the calls that are not per batch.
    pub(crate) fn bridge(&self) -> &Arc<Bridge> {
        &self.bridge
    }

    /// Lets go of the write data lent to handlers, and of payloads JavaScript never took, once
    /// the bridge has closed: its retired pool lends no slot twice, so a handler that never
    /// settles need not hold one. (Its `data` view keeps the slot's memory through
    /// JavaScript's own `ArrayBuffer`.) Call it on the JavaScript thread, where no drain can
    /// be lending meanwhile.
    pub(crate) fn close(&self) {
        self.lent.lock().clear();
        self.payloads.lock().clear();
    }

    /// Packs the requests queued since the last call into `slots`: a `DRAIN_HEADER` header,
    /// then `REQUEST_FIELDS` numbers per request (as many as fit), and the requests' strings
    /// into `strings`, each ended by a NUL. Numbers and one string cross instead of an object per
    /// request, whose every property would be a separate N-API call.
    ///
    /// With nothing queued, waits up to `spin_micros` for a request before returning none.
    /// A drain that returns none lets backend threads wake JavaScript again; until then,
    /// JavaScript must keep draining or call `rewake()`.
    pub(crate) fn drain(
        &self,
        slots: &mut [f64],
        spin_micros: u32,
        strings: &mut String,
    ) -> std::result::Result<(), String> {
        let Some(room) = slots.len().checked_sub(DRAIN_HEADER) else {
            return Err("drain needs room for its header".to_owned());
        };
        let (header, body) = slots.split_at_mut(DRAIN_HEADER);
        let mut fields = body.chunks_exact_mut(REQUEST_FIELDS);
        if strings.capacity() > RETAINED_STRINGS {
            // A burst of long paths need not stay allocated.
            *strings = String::new();
        }
        strings.clear();
        let mut payloads = self.payloads.lock();
        let mut lent = self.lent.lock();
        let pool = self.bridge.write_pool();
        let visit = |id: RequestId, p: &mut bridge::Pending| {
            let numbers = fields
                .next()
                .expect("the bridge drains no more requests than fit");
            let place = |bytes: Bytes| match pool.and_then(|pool| pool.slot_of(&bytes)) {
                Some(slot) => {
                    lent.insert(id, bytes);
                    DataPlace::Slot(slot)
                }
                None => {
                    payloads.push(Payload(bytes));
                    DataPlace::Payload
                }
            };
            let head = convert::RequestHead {
                id,
                code: p.code,
                context: p.context,
                then_stat: p.then_stat,
            };
            convert::write_request(head, &mut p.operation, numbers, strings, place);
        };
        let spin = Duration::from_micros(u64::from(spin_micros));
        let drained = self.bridge.drain(room / REQUEST_FIELDS, spin, visit);
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        header[DrainHeader::Count.at()] = drained.count as f64;
        header[DrainHeader::More.at()] = flag(drained.more);
        header[DrainHeader::Payloads.at()] = payloads.len() as f64;
        header[DrainHeader::Faults.at()] = flag(self.bridge.has_faults());
        Ok(())
    }

    /// The payloads of the last drain, in request order.
    pub(crate) fn take_payloads(&self) -> Vec<Payload> {
        std::mem::take(&mut *self.payloads.lock())
    }

    /// Answers a batch of requests whose replies are numbers only, and frees the write-pool
    /// slots their data was lent in. `records` holds one record per reply: request id, reply
    /// tag, then the tag's numbers (see `wire::ReplyTag`). Returns the replies that were not
    /// delivered, by record index: late ones (the request had timed out or the mount closed)
    /// without a message, refused ones (answered `EIO`) with the reason.
    pub(crate) fn reply_batch(
        &self,
        records: &[f64],
    ) -> std::result::Result<Option<Vec<NativeReplyProblem>>, String> {
        let mut problems = Vec::new();
        let mut lent = self.lent.lock();
        let mut at = 0;
        let mut index = 0;
        while at < records.len() {
            let (id, tag, numbers) = convert::reply_record(&records[at..])?;
            at += 2 + numbers.len();
            if !lent.is_empty() {
                // The handler has settled: its write data's slot may serve the next write.
                lent.remove(&id);
            }
            match self
                .bridge
                .settle(id, |pending| tag.answer(numbers, pending))
            {
                Ok(true) => {}
                Ok(false) => problems.push(NativeReplyProblem {
                    index,
                    message: None,
                }),
                Err(message) => problems.push(NativeReplyProblem {
                    index,
                    message: Some(message),
                }),
            }
            index += 1;
        }
        Ok((!problems.is_empty()).then_some(problems))
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Makes the object `{ drain, replyBatch }` whose functions serve `crossing`.
///
/// # Safety
///
/// `env` must be the live environment of the calling JavaScript thread.
pub(crate) unsafe fn bind(env: sys::napi_env, crossing: &Arc<Crossing>) -> Result<sys::napi_value> {
    let mut object = ptr::null_mut();
    // SAFETY: `env` is live (this function's contract); `object` receives the new object.
    check_status!(unsafe { sys::napi_create_object(env, &mut object) })?;
    let functions: [(&CStr, Callback); 2] =
        [(c"drain", drain_entry), (c"replyBatch", reply_batch_entry)];
    for (name, entry) in functions {
        let data = Box::into_raw(Box::new(crossing.clone()));
        let mut function = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `data` stays valid until `release_crossing`
        // frees it, which the finalizer below runs only once the function is collected.
        let status = unsafe {
            sys::napi_create_function(
                env,
                name.as_ptr(),
                name.count_bytes() as isize,
                Some(entry),
                data.cast(),
                &mut function,
            )
        };
        if status != sys::Status::napi_ok {
            // SAFETY: no function was made, so nothing else holds `data`.
            drop(unsafe { Box::from_raw(data) });
            check_status!(status, "creating the {name:?} function failed")?;
        }
        // SAFETY: `function` is the value just made; `data` is freed exactly once, when it
        // is collected. Should attaching the finalizer fail, `data` is leaked rather than
        // freed under a function that still points at it.
        check_status!(unsafe {
            sys::napi_add_finalizer(
                env,
                function,
                data.cast(),
                Some(release_crossing),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        })?;
        // SAFETY: `object` and `function` are live values of `env`.
        check_status!(unsafe {
            sys::napi_set_named_property(env, object, name.as_ptr(), function)
        })?;
    }
    Ok(object)
}

unsafe extern "C" fn release_crossing(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<Arc<Crossing>>` that `bind` leaked for this function.
    drop(unsafe { Box::from_raw(data.cast::<Arc<Crossing>>()) });
}

/// The bound [`Crossing`] and the first `N` arguments of a call.
///
/// # Safety
///
/// `env` and `info` must be those of a call to a function made by [`bind`].
unsafe fn enter<'a, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Result<(&'a Crossing, [sys::napi_value; N])> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let mut data = ptr::null_mut();
    // SAFETY: `argv` has room for `argc` values; the rest are out-parameters.
    check_status!(unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        )
    })?;
    if argc < N {
        return Err(invalid(format!("expected {N} arguments, got {argc}")));
    }
    // SAFETY: `data` is the `Box<Arc<Crossing>>` `bind` attached to this function. It is
    // freed only when the function is collected, which cannot happen during its own call.
    let crossing = unsafe { &**data.cast::<Arc<Crossing>>() };
    Ok((crossing, argv))
}

/// Serves one call of a function made by [`bind`]: `work` gets the bound [`Crossing`] and the
/// call's first `N` arguments, and its value, or its error thrown, goes back to JavaScript. A
/// panic is thrown as an error too, rather than unwinding into Node.
///
/// # Safety
///
/// `env` and `info` must be those of a call to a function made by [`bind`].
unsafe fn serve<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    work: impl FnOnce(&Crossing, [sys::napi_value; N]) -> Result<sys::napi_value>,
) -> sys::napi_value {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `env` and `info` are this call's (this function's contract).
        let (crossing, arguments) = unsafe { enter::<N>(env, info) }?;
        work(crossing, arguments)
    }));
    let error = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error,
        Err(panic) => napi::bindgen_prelude::panic_to_error(panic),
    };
    // SAFETY: `env` is the current call's; the error becomes its pending exception.
    unsafe { JsError::from(error).throw_into(env) };
    ptr::null_mut()
}

unsafe extern "C" fn drain_entry(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let work = |crossing: &Crossing, [slots, spin]: [sys::napi_value; 2]| {
        // SAFETY: the typed array's memory stays valid for this call, and nothing else
        // reads or writes it meanwhile: JavaScript is blocked in this call.
        let slots = unsafe { <&mut [f64]>::from_napi_value(env, slots) }?;
        // SAFETY: `spin` is a value of this call.
        let spin = unsafe { u32::from_napi_value(env, spin) }?;
        let mut strings = crossing.strings.lock();
        crossing.drain(slots, spin, &mut strings).map_err(invalid)?;
        // SAFETY: `env` is this call's; the string is copied into JavaScript.
        unsafe { <&str>::to_napi_value(env, strings.as_str()) }
    };
    // SAFETY: N-API calls this entry with its own `env` and `info`.
    unsafe { serve(env, info, work) }
}

unsafe extern "C" fn reply_batch_entry(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let work = |crossing: &Crossing, [records, length]: [sys::napi_value; 2]| {
        // SAFETY: as in `drain_entry`: the array is valid and untouched during the call.
        let records = unsafe { <&[f64]>::from_napi_value(env, records) }?;
        // SAFETY: `length` is a value of this call.
        let length = unsafe { u32::from_napi_value(env, length) }? as usize;
        let records = records.get(..length).ok_or_else(|| {
            invalid(format!(
                "replyBatch: length {length} exceeds the {} records given",
                records.len()
            ))
        })?;
        let problems = crossing.reply_batch(records).map_err(invalid)?;
        // SAFETY: `env` is this call's.
        unsafe { ToNapiValue::to_napi_value(env, problems) }
    };
    // SAFETY: N-API calls this entry with its own `env` and `info`.
    unsafe { serve(env, info, work) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::tests::{bridge, bridge_with_pool, request};
    use crate::wire::{self, ReplyTag, RequestField};
    use crate::write_pool::WritePool;
    use mountkit_core::{
        Dispatch, Errno, FsResult, Operation, Reply, Request, RequestContext, Responder,
    };
    use std::sync::mpsc::{self, Receiver};

    fn tag(tag: ReplyTag) -> f64 {
        tag.at() as f64
    }

    fn slots(requests: usize) -> Vec<f64> {
        vec![0.0; DRAIN_HEADER + requests * REQUEST_FIELDS]
    }

    #[test]
    fn a_drain_packs_each_request_and_starts_its_strings_afresh() {
        let (bridge, _) = bridge(Duration::from_secs(5));
        let crossing = Crossing::new(bridge.clone());
        let (a, _ra) = request(1, "/a");
        let (b, _rb) = request(1, "/bb");
        bridge.dispatch(a);
        bridge.dispatch(b);
        let mut slots = slots(4);
        let mut strings = "left over from before".to_owned();
        crossing.drain(&mut slots, 0, &mut strings).unwrap();
        assert_eq!(slots[DrainHeader::Count.at()], 2.0, "two requests");
        assert_eq!(strings, "/a\0/bb\0");
        crossing.drain(&mut slots, 0, &mut strings).unwrap();
        assert_eq!(slots[DrainHeader::Count.at()], 0.0, "nothing left");
        assert_eq!(strings, "", "an empty drain leaves no strings");
    }

    #[test]
    fn a_drain_without_room_for_its_header_is_refused() {
        let (bridge, _) = bridge(Duration::from_secs(5));
        let crossing = Crossing::new(bridge);
        let mut too_small = vec![0.0; DRAIN_HEADER - 1];
        let error = crossing
            .drain(&mut too_small, 0, &mut String::new())
            .unwrap_err();
        assert!(error.contains("header"), "{error}");
    }

    #[test]
    fn a_batch_answers_pending_requests_and_reports_the_rest_by_index() {
        let (bridge, _) = bridge(Duration::from_secs(5));
        let crossing = Crossing::new(bridge.clone());
        let (a, answer) = request(1, "/a");
        bridge.dispatch(a);
        let mut slots = slots(1);
        crossing.drain(&mut slots, 0, &mut String::new()).unwrap();
        let id = slots[DRAIN_HEADER];
        let records = [
            id,
            tag(ReplyTag::Error),
            f64::from(Errno::ENOENT.raw()),
            id + 1000.0,
            tag(ReplyTag::Empty),
        ];
        let problems = crossing.reply_batch(&records).unwrap().unwrap();
        assert_eq!(answer.recv().unwrap(), Err::<Reply, _>(Errno::ENOENT));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].index, 1, "the second record found no request");
        assert_eq!(problems[0].message, None, "late, not refused");
    }

    /// Dispatches a 7-byte write through `bridge` and drains it: its request id, the slot its
    /// data is lent in, and where its caller's answer arrives.
    fn lend_write(
        bridge: &Bridge,
        crossing: &Crossing,
        pool: &WritePool,
    ) -> (f64, u32, Receiver<FsResult<Reply>>) {
        let data = bridge.write_data(b"written");
        let slot = pool
            .slot_of(&data)
            .expect("the bridge copies writes into its pool");
        let (tx, answer) = mpsc::channel();
        bridge.dispatch(Request {
            context: RequestContext::default(),
            operation: Operation::Write {
                path: "/f".into(),
                handle: 1,
                offset: 0,
                data,
            },
            responder: Responder::new(move |r| {
                let _ = tx.send(r);
            }),
        });
        let mut slots = slots(1);
        crossing.drain(&mut slots, 0, &mut String::new()).unwrap();
        let request = |field: RequestField| slots[DRAIN_HEADER + field.at()];
        assert_eq!(
            request(RequestField::DataPlace),
            wire::DataPlace::Slot.at() as f64,
            "the data is in a slot"
        );
        assert_eq!(request(RequestField::Slot), f64::from(slot));
        assert_eq!(request(RequestField::SlotLength), 7.0);
        assert_eq!(
            slots[DrainHeader::Payloads.at()],
            0.0,
            "and not among the payloads"
        );
        (request(RequestField::Id), slot, answer)
    }

    #[test]
    fn pooled_write_data_is_lent_until_its_reply_crosses_back() {
        let pool = WritePool::new();
        let (bridge, _) = bridge_with_pool(Duration::from_secs(5), Some(pool.clone()));
        let crossing = Crossing::new(bridge.clone());
        let (id, slot, answer) = lend_write(&bridge, &crossing, &pool);
        let meanwhile = bridge.write_data(b"meanwhile");
        assert_ne!(
            pool.slot_of(&meanwhile),
            Some(slot),
            "a lent slot is not reused"
        );
        assert!(
            crossing
                .reply_batch(&[id, tag(ReplyTag::Count), 7.0])
                .unwrap()
                .is_none(),
            "delivered"
        );
        assert_eq!(answer.recv().unwrap(), Ok(Reply::Count(7)));
        let next = bridge.write_data(b"next");
        assert_eq!(pool.slot_of(&next), Some(slot), "the slot is free again");
    }

    #[test]
    fn a_closed_mount_frees_its_slots_even_for_handlers_that_never_answer() {
        let pool = WritePool::new();
        let (bridge, _) = bridge_with_pool(Duration::from_secs(5), Some(pool.clone()));
        let crossing = Crossing::new(bridge.clone());
        let (_, _, answer) = lend_write(&bridge, &crossing, &pool);
        assert!(pool.held_bytes() > 0);
        bridge.close();
        assert_eq!(
            answer.recv().unwrap(),
            Err(Errno::EIO),
            "the caller is answered"
        );
        assert!(pool.held_bytes() > 0, "the handler still has the slot");
        crossing.close();
        assert_eq!(pool.held_bytes(), 0);
    }

    #[test]
    fn a_slot_stays_lent_past_its_timeout_until_the_handler_answers() {
        let pool = WritePool::new();
        let (bridge, _) = bridge_with_pool(Duration::from_millis(20), Some(pool.clone()));
        let crossing = Crossing::new(bridge.clone());
        let (id, slot, answer) = lend_write(&bridge, &crossing, &pool);
        let timed_out = answer.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(
            timed_out,
            Err(Errno::ETIMEDOUT),
            "the caller stopped waiting"
        );
        let meanwhile = bridge.write_data(b"meanwhile");
        assert_ne!(
            pool.slot_of(&meanwhile),
            Some(slot),
            "the handler may still be reading its data"
        );
        // The handler failed, late.
        let problems = crossing
            .reply_batch(&[id, tag(ReplyTag::Error), f64::from(Errno::EIO.raw())])
            .unwrap()
            .unwrap();
        assert_eq!(problems[0].message, None, "late");
        let next = bridge.write_data(b"next");
        assert_eq!(pool.slot_of(&next), Some(slot), "the slot is free again");
    }
}
