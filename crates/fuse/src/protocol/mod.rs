//! mountkit's own FUSE request layer: the kernel's wire format ([`abi`]), one device
//! descriptor ([`device`]), request parsing ([`request`]) and typed replies ([`reply`]).
//! fuser still mounts and makes the INIT handshake; everything after that goes through here.

pub(crate) mod abi;
pub(crate) mod device;
pub(crate) mod reply;
pub(crate) mod request;

pub(crate) use device::{receive_buffer_size, BackingId, Device};
pub(crate) use reply::{
    ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry,
    ReplyLseek, ReplyOpen, ReplyStatfs, ReplyTo, ReplyWrite, ReplyXattr,
};
pub(crate) use request::{parse, Operation, ParseError, Request, SetattrIn};
