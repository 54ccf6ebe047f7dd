//! mountkit's own FUSE request layer: the kernel's wire format ([`abi`]), one device
//! descriptor ([`device`]), the entries of a FUSE-over-io_uring ring ([`ring`]), request parsing
//! ([`request`]) and typed replies ([`reply`]).
//! fuser still mounts and makes the INIT handshake; everything after that goes through here.

pub(crate) mod abi;
pub(crate) mod device;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod ring;

pub(crate) use device::{receive_buffer_size, BackingId, Device};
pub(crate) use reply::{
    Channel, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty,
    ReplyEntry, ReplyLseek, ReplyOpen, ReplyStatfs, ReplyTo, ReplyWrite, ReplyXattr,
};
pub(crate) use request::{parse, Operation, ParseError, Request, SetattrIn};
pub(crate) use ring::{RingEntries, RingSlot};
