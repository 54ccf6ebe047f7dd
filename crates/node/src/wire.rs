//! The encoding of requests and replies between this addon and `lib/*.ts`, written down once.
//!
//! Every number whose meaning both sides must agree on is defined here: where a drain puts
//! each request's fields, each operation's code and named arguments, reply tags, where bulk
//! bytes are, what a missing handler means, file-kind codes, the packed stat's layout.
//! [`typescript`] renders the same tables as `lib/wire.generated.ts`; a test compares the
//! checked-in file with a fresh rendering, so a change here that was not regenerated
//! (`npm run generate:wire`) fails `cargo test`. At run time `lib/wire.ts` compares
//! [`fingerprint`] with the one the generated file carries, so an addon and a JavaScript side
//! built from different tables refuse to work together instead of misreading each other.

use std::fmt::Write as _;
use std::time::SystemTime;

use mountkit_core::{
    Bytes, FileKind, OpenFlags, Operation, RenameMode, ReplyKind, SetTime, WindowsAttributes,
    XattrMode,
};

/// Declares a list of named positions (or codes) as an enum, in the order of the list, with
/// each entry's JavaScript name and what it means, for the generated TypeScript.
macro_rules! positions {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($variant:ident = $js:literal: $doc:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $(#[doc = $doc] $variant,)*
        }

        impl $name {
            /// Every entry, in position order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The entry's position, or code.
            pub const fn at(self) -> usize {
                self as usize
            }

            fn entries() -> Vec<Entry> {
                vec![$(Entry { js: $js, doc: $doc, value: $name::$variant as u32 },)*]
            }

            /// Writes the entries as a TypeScript table of the same name, `doc` above it.
            fn write_table(out: &mut String, doc: &str) {
                table(out, doc, stringify!($name), &Self::entries());
            }
        }
    };
}

/// Declares bit flags packed into one number, with their JavaScript names.
macro_rules! bits {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($flag:ident = $bit:literal, $js:literal: $doc:literal,)* }
    ) => {
        $(#[$meta])*
        pub struct $name;

        impl $name {
            $(#[doc = $doc] pub const $flag: u32 = $bit;)*

            fn entries() -> Vec<Entry> {
                vec![$(Entry { js: $js, doc: $doc, value: $bit },)*]
            }

            /// Writes the entries as a TypeScript table of the same name, `doc` above it.
            fn write_table(out: &mut String, doc: &str) {
                table(out, doc, stringify!($name), &Self::entries());
            }
        }
    };
}

/// The entry of `all` whose code JavaScript sent as `code`, if there is one.
pub fn from_code<T: Copy>(all: &[T], code: f64) -> Option<T> {
    if code.fract() != 0.0 || code < 0.0 {
        return None;
    }
    all.get(code as usize).copied()
}

/// One named number of a table, as the generated TypeScript shows it.
struct Entry {
    js: &'static str,
    doc: &'static str,
    value: u32,
}

positions! {
    /// The header of a drain's number array, before the first request.
    pub enum DrainHeader {
        Count = "count": "How many requests follow.",
        More = "more": "1 when more requests are queued than this drain took, else 0.",
        Payloads = "payloads": "How many payloads wait for `takePayloads()`.",
        Faults = "faults": "1 when faults wait for `takeEvents()`, else 0.",
    }
}

positions! {
    /// The numbers every drained request starts with; its operation's arguments follow.
    pub enum RequestField {
        Id = "id": "The request's id, which its reply names.",
        Operation = "operation": "The operation's code (`OperationCode`).",
        Strings = "strings": "How many strings the request has: its path, and maybe a second one.",
        DataPlace = "dataPlace": "Where the request's bulk bytes are (`DataPlace`).",
        Uid = "uid": "The caller's user id.",
        Gid = "gid": "The caller's group id.",
        Pid = "pid": "The caller's thread (Linux) or process (Windows) id.",
        Slot = "slot": "The write-pool slot holding the bytes, when they are in one (else NaN).",
        SlotLength = "slotLength": "How many bytes of that slot are the request's (else NaN).",
        ThenStat = "thenStat": "1 when the answer is the stat of the request's path, from a getattr run right after the operation succeeds (an operation that makes a name, for a backend that answers with the new entry); else 0.",
    }
}

/// Numeric arguments a request carries at most, after its [`RequestField`]s; NaN fills those
/// its operation does not have.
pub const REQUEST_ARGS: usize = 5;
/// Numbers per drained request.
pub const REQUEST_FIELDS: usize = RequestField::ALL.len() + REQUEST_ARGS;
/// Numbers in a drain's header.
pub const DRAIN_HEADER: usize = DrainHeader::ALL.len();

positions! {
    /// Where a drained request's bulk bytes (write data, an xattr value) are.
    pub enum DataPlace {
        None = "none": "The request has none.",
        Payload = "payload": "Next on the drain's payload list (`takePayloads()`).",
        Slot = "slot": "In a write-pool slot (`writeSlot(n)`), at its start.",
    }
}

positions! {
    /// The numbers of a packed stat, in order.
    pub enum StatField {
        Kind = "kind": "A `FileKindCode`; NaN for a listing entry without a stat.",
        Size = "size": "Bytes.",
        Mode = "mode": "Permission bits.",
        Uid = "uid": "Owner.",
        Gid = "gid": "Group.",
        Nlink = "nlink": "Hard links.",
        Ino = "ino": "Inode number; 0 lets the backend choose.",
        Rdev = "rdev": "Device number.",
        Blocks = "blocks": "512-byte blocks; -1 derives them from the size.",
        Atime = "atime": "Access time, ms since the epoch.",
        Mtime = "mtime": "Modification time, ms since the epoch.",
        Ctime = "ctime": "Change time, ms since the epoch.",
        Birthtime = "birthtime": "Creation time, ms since the epoch.",
        Attributes = "attributes": "Windows attribute bits (`AttributeBit`).",
    }
}

/// Numbers per packed stat.
pub const STAT_FIELDS: usize = StatField::ALL.len();

bits! {
    /// The Windows attribute bits of a packed stat.
    pub struct AttributeBit {
        HIDDEN = 1, "hidden": "Hidden.",
        READONLY = 2, "readonly": "Read-only.",
        SYSTEM = 4, "system": "System.",
        ARCHIVE = 8, "archive": "Archive.",
        NOT_CONTENT_INDEXED = 16, "notContentIndexed": "Not content indexed.",
        OFFLINE = 32, "offline": "Offline.",
    }
}

impl AttributeBit {
    /// The bits of `attributes`.
    pub fn pack(attributes: &WindowsAttributes) -> u32 {
        [
            (attributes.hidden, AttributeBit::HIDDEN),
            (attributes.readonly, AttributeBit::READONLY),
            (attributes.system, AttributeBit::SYSTEM),
            (attributes.archive, AttributeBit::ARCHIVE),
            (
                attributes.not_content_indexed,
                AttributeBit::NOT_CONTENT_INDEXED,
            ),
            (attributes.offline, AttributeBit::OFFLINE),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .fold(0, |bits, (_, bit)| bits | bit)
    }

    /// The attributes `bits` set.
    pub fn unpack(bits: u32) -> WindowsAttributes {
        let set = |bit: u32| bits & bit != 0;
        WindowsAttributes {
            hidden: set(AttributeBit::HIDDEN),
            readonly: set(AttributeBit::READONLY),
            system: set(AttributeBit::SYSTEM),
            archive: set(AttributeBit::ARCHIVE),
            not_content_indexed: set(AttributeBit::NOT_CONTENT_INDEXED),
            offline: set(AttributeBit::OFFLINE),
        }
    }
}

positions! {
    /// What a numbers-only reply record carries after its request id and tag. JavaScript
    /// collects these replies and sends them in one `replyBatch` call.
    pub enum ReplyTag {
        Empty = "empty": "Success with nothing to report: no numbers.",
        Error = "error": "A failure: one number, the errno.",
        Stat = "stat": "A getattr answer: one packed stat.",
        Count = "count": "A byte count (write, copy_file_range): one number.",
        Offset = "offset": "A file offset (lseek): one number.",
        Opened = "opened": "An open without a backing file: `OpenedField`s, then a packed stat for create (NaN kind: none).",
    }
}

positions! {
    /// The numbers of an `Opened` reply record before its packed stat.
    pub enum OpenedField {
        Handle = "handle": "The handle later calls on the open file receive.",
        Hints = "hints": "`OpenHint` bits.",
    }
}

bits! {
    /// The caching hints of an `Opened` reply record.
    pub struct OpenHint {
        DIRECT_IO = 1, "directIo": "Bypass the page cache.",
        KEEP_CACHE = 2, "keepCache": "Keep cached pages from the previous open.",
        NON_SEEKABLE = 4, "nonSeekable": "The file is a stream.",
    }
}

positions! {
    /// How the addon answers an operation itself, for want of a handler: JavaScript sends one
    /// code per operation when it mounts.
    pub enum LocalAnswer {
        Forward = "forward": "Forward to JavaScript: there is a handler.",
        NotSupported = "notSupported": "ENOSYS: the filesystem does not support it.",
        Success = "success": "Success with nothing to report (release, flush, fsync...).",
        Opened = "opened": "Opened, with handle 0 and no hints.",
    }
}

/// The file kinds in code order, with their JavaScript names (`FileKind` in `lib/types.ts`).
pub const FILE_KINDS: [(FileKind, &str); 7] = [
    (FileKind::File, "file"),
    (FileKind::Directory, "directory"),
    (FileKind::Symlink, "symlink"),
    (FileKind::Fifo, "fifo"),
    (FileKind::Socket, "socket"),
    (FileKind::CharDevice, "char-device"),
    (FileKind::BlockDevice, "block-device"),
];

/// The file kind with code `code`.
pub fn file_kind(code: u32) -> Result<FileKind, String> {
    FILE_KINDS
        .get(code as usize)
        .map(|(kind, _)| *kind)
        .ok_or_else(|| format!("unknown file kind code {code}"))
}

/// How an operation's argument reaches its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// The request's path: its first string.
    Path,
    /// The request's second string.
    Other,
    /// The request's bulk bytes, as a `Buffer`.
    Data,
    /// A number.
    Number,
    /// A number, or `undefined` where the request has none (NaN on the wire).
    Optional,
    /// An id, or -1 for "leave unchanged" (NaN on the wire), as `chown(2)` takes it.
    IdOrUnchanged,
    /// A time as a `Date`, or `undefined` for "leave unchanged" (NaN on the wire).
    Time,
    /// A boolean (1 on the wire for true).
    Flag,
    /// Windows attributes as an object of every flag (`AttributeBit`s on the wire), or
    /// `undefined` for "leave unchanged" (NaN on the wire).
    Attributes,
}

/// One argument of an operation's handler, after which the request context follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arg {
    /// The handler parameter's name, as `FileSystem` in `lib/types.ts` spells it.
    pub name: &'static str,
    /// How the argument crosses.
    pub kind: ArgKind,
}

/// A reply shape by the name `lib/wire.ts` knows it by.
fn reply_js(kind: ReplyKind) -> &'static str {
    match kind {
        ReplyKind::Empty => "empty",
        ReplyKind::Stat => "stat",
        ReplyKind::Entries => "entries",
        ReplyKind::Opened => "opened",
        ReplyKind::Data => "data",
        ReplyKind::Count => "count",
        ReplyKind::Target => "target",
        ReplyKind::StatFs => "statfs",
        ReplyKind::Names => "names",
        ReplyKind::Offset => "offset",
    }
}

/// Everything the two sides agree on about one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationWire {
    /// The operation's code, its index in [`OPERATIONS`].
    pub code: OperationCode,
    /// The handler's name in `FileSystem`.
    pub handler: &'static str,
    /// The handler's arguments, in its parameter order; the request context follows them.
    pub args: &'static [Arg],
    /// The shape of a successful answer, as [`Operation::expected_reply`] gives it.
    pub reply: ReplyKind,
    /// What the addon answers when the filesystem has no handler.
    pub when_missing: LocalAnswer,
}

/// A value an operation carries, as the number it crosses as.
trait WireNumber {
    fn wire(&self) -> f64;
}

/// Integers cross as the nearest `f64`, as JavaScript holds every number.
macro_rules! wire_integers {
    ($($integer:ty),*) => {$(
        impl WireNumber for $integer {
            fn wire(&self) -> f64 {
                *self as f64
            }
        }
    )*};
}

wire_integers!(u64, i64, u32, i32);

impl WireNumber for bool {
    fn wire(&self) -> f64 {
        if *self {
            1.0
        } else {
            0.0
        }
    }
}

impl WireNumber for OpenFlags {
    fn wire(&self) -> f64 {
        f64::from(self.0)
    }
}

/// The `flags` of `rename`, as `RENAME_NOREPLACE` and `RENAME_EXCHANGE` in `lib/types.ts`.
impl WireNumber for RenameMode {
    fn wire(&self) -> f64 {
        match self {
            RenameMode::Replace => 0.0,
            RenameMode::NoReplace => 1.0,
            RenameMode::Exchange => 2.0,
        }
    }
}

/// The `flags` of `setxattr`, as `XATTR_CREATE` and `XATTR_REPLACE` in `lib/types.ts`.
impl WireNumber for XattrMode {
    fn wire(&self) -> f64 {
        match self {
            XattrMode::Set => 0.0,
            XattrMode::Create => 1.0,
            XattrMode::Replace => 2.0,
        }
    }
}

/// `AttributeBit`s.
impl WireNumber for WindowsAttributes {
    fn wire(&self) -> f64 {
        f64::from(AttributeBit::pack(self))
    }
}

/// Milliseconds since the epoch; "now" is the time the request crosses.
impl WireNumber for SetTime {
    fn wire(&self) -> f64 {
        crate::convert::millis(match self {
            SetTime::At(at) => *at,
            SetTime::Now => SystemTime::now(),
        })
    }
}

/// Absent is NaN.
impl<T: WireNumber> WireNumber for Option<T> {
    fn wire(&self) -> f64 {
        self.as_ref().map_or(f64::NAN, WireNumber::wire)
    }
}

/// What [`encode`] put where.
pub struct Encoded {
    /// Strings pushed: 1 (the path) or 2.
    pub strings: usize,
    /// The bulk bytes moved out of the operation, if it had any.
    pub data: Option<Bytes>,
}

/// One argument's part in [`encode`]: strings first (the path, then the second string),
/// numbers in parameter order, bulk bytes moved out.
macro_rules! encode_arg {
    (path Path $field:ident $out:ident) => {
        $out.strings.push_str($field);
        $out.strings.push('\0');
    };
    (other Other $field:ident $out:ident) => {
        $out.strings.push_str($field);
        $out.strings.push('\0');
        $out.count += 1;
    };
    (data Data $field:ident $out:ident) => {
        $out.data = Some(std::mem::take($field));
    };
    (number Number $field:ident $out:ident) => {
        $out.number(WireNumber::wire(&*$field));
    };
    (number Optional $field:ident $out:ident) => {
        $out.number(WireNumber::wire(&*$field));
    };
    (number IdOrUnchanged $field:ident $out:ident) => {
        $out.number(WireNumber::wire(&*$field));
    };
    (number Time $field:ident $out:ident) => {
        $out.number(WireNumber::wire(&*$field));
    };
    (number Flag $field:ident $out:ident) => {
        $out.number(WireNumber::wire(&*$field));
    };
    (number Attributes $field:ident $out:ident) => {
        $out.number(WireNumber::wire(&*$field));
    };
    ($pass:ident $kind:ident $field:ident $out:ident) => {};
}

/// Where [`encode`] writes, as it goes.
struct Encoder<'a> {
    /// The argument numbers not yet written.
    numbers: std::slice::IterMut<'a, f64>,
    strings: &'a mut String,
    /// Strings pushed so far.
    count: usize,
    data: Option<Bytes>,
}

impl Encoder<'_> {
    fn number(&mut self, value: f64) {
        *self
            .numbers
            .next()
            .expect("no operation has more than REQUEST_ARGS numbers, as a test checks") = value;
    }
}

/// Declares every operation's wire form: its code (the position in this list), its handler,
/// its arguments with the `Operation` field each comes from (every field, so that a field
/// added to an operation must be placed here), its reply shape, and what a missing handler
/// means.
macro_rules! operations {
    ($(
        $variant:ident => $handler:literal ( $($arg:literal: $kind:ident = $field:ident),* $(,)? )
            -> $reply:ident, missing $missing:ident;
    )*) => {
        /// An operation's code: its position in [`OPERATIONS`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum OperationCode {
            $(#[doc = concat!("[`Operation::", stringify!($variant), "`].")] $variant,)*
        }

        impl OperationCode {
            /// The code of `operation`.
            pub fn of(operation: &Operation) -> OperationCode {
                match operation {
                    $(Operation::$variant { .. } => OperationCode::$variant,)*
                }
            }
        }

        /// Every operation, in code order.
        pub const OPERATIONS: &[OperationWire] = &[$(
            OperationWire {
                code: OperationCode::$variant,
                handler: $handler,
                args: &[$(Arg { name: $arg, kind: ArgKind::$kind }),*],
                reply: ReplyKind::$reply,
                when_missing: LocalAnswer::$missing,
            },
        )*];

        /// Writes `operation`'s arguments: its numbers into `numbers` (NaN where it has fewer
        /// than [`REQUEST_ARGS`]), its strings onto `strings`, each followed by a NUL, and moves
        /// its bulk bytes out.
        pub fn encode(
            operation: &mut Operation,
            numbers: &mut [f64],
            strings: &mut String,
        ) -> Encoded {
            numbers.fill(f64::NAN);
            let mut out = Encoder { numbers: numbers.iter_mut(), strings, count: 1, data: None };
            match operation {
                $(Operation::$variant { $($field),* } => {
                    $(encode_arg!(path $kind $field out);)*
                    $(encode_arg!(other $kind $field out);)*
                    $(encode_arg!(number $kind $field out);)*
                    $(encode_arg!(data $kind $field out);)*
                })*
            }
            Encoded { strings: out.count, data: out.data }
        }

        #[cfg(test)]
        /// One operation of each kind, every field at its default.
        fn samples() -> Vec<Operation> {
            vec![$(Operation::$variant { $($field: Default::default()),* },)*]
        }
    };
}

operations! {
    Getattr => "getattr"(
        "path": Path = path, "handle": Optional = handle,
    ) -> Stat, missing NotSupported;
    Readdir => "readdir"("path": Path = path, "handle": Number = handle) -> Entries, missing NotSupported;
    Open => "open"("path": Path = path, "flags": Number = flags) -> Opened, missing Opened;
    Opendir => "opendir"("path": Path = path, "flags": Number = flags) -> Opened, missing Opened;
    Release => "release"(
        "path": Path = path, "handle": Number = handle, "flags": Number = flags,
    ) -> Empty, missing Success;
    Releasedir => "releasedir"("path": Path = path, "handle": Number = handle) -> Empty, missing Success;
    Read => "read"(
        "path": Path = path, "handle": Number = handle, "offset": Number = offset,
        "length": Number = size,
    ) -> Data, missing NotSupported;
    Write => "write"(
        "path": Path = path, "handle": Number = handle, "data": Data = data,
        "offset": Number = offset,
    ) -> Count, missing NotSupported;
    Create => "create"(
        "path": Path = path, "mode": Number = mode, "flags": Number = flags,
    ) -> Opened, missing NotSupported;
    Mknod => "mknod"(
        "path": Path = path, "mode": Number = mode, "rdev": Number = rdev,
    ) -> Empty, missing NotSupported;
    Mkdir => "mkdir"("path": Path = path, "mode": Number = mode) -> Empty, missing NotSupported;
    Unlink => "unlink"("path": Path = path) -> Empty, missing NotSupported;
    Rmdir => "rmdir"("path": Path = path) -> Empty, missing NotSupported;
    Symlink => "symlink"("target": Other = target, "path": Path = path) -> Empty, missing NotSupported;
    Readlink => "readlink"("path": Path = path) -> Target, missing NotSupported;
    Link => "link"("existingPath": Other = existing, "path": Path = path) -> Empty, missing NotSupported;
    Rename => "rename"(
        "from": Path = from, "to": Other = to, "flags": Number = mode,
    ) -> Empty, missing NotSupported;
    Truncate => "truncate"(
        "path": Path = path, "size": Number = size, "handle": Optional = handle,
    ) -> Empty, missing NotSupported;
    Chmod => "chmod"("path": Path = path, "mode": Number = mode) -> Empty, missing NotSupported;
    Chown => "chown"(
        "path": Path = path, "uid": IdOrUnchanged = uid, "gid": IdOrUnchanged = gid,
    ) -> Empty, missing NotSupported;
    Utimens => "utimens"(
        "path": Path = path, "atime": Time = atime, "mtime": Time = mtime,
    ) -> Empty, missing NotSupported;
    Statfs => "statfs"("path": Path = path) -> StatFs, missing NotSupported;
    Flush => "flush"("path": Path = path, "handle": Number = handle) -> Empty, missing Success;
    Fsync => "fsync"(
        "path": Path = path, "handle": Number = handle, "datasync": Flag = datasync,
    ) -> Empty, missing Success;
    Fsyncdir => "fsyncdir"(
        "path": Path = path, "handle": Number = handle, "datasync": Flag = datasync,
    ) -> Empty, missing Success;
    Access => "access"("path": Path = path, "mode": Number = mask) -> Empty, missing NotSupported;
    Getxattr => "getxattr"("path": Path = path, "name": Other = name) -> Data, missing NotSupported;
    Setxattr => "setxattr"(
        "path": Path = path, "name": Other = name, "value": Data = value,
        "flags": Number = mode,
    ) -> Empty, missing NotSupported;
    Listxattr => "listxattr"("path": Path = path) -> Names, missing NotSupported;
    Removexattr => "removexattr"("path": Path = path, "name": Other = name) -> Empty, missing NotSupported;
    Fallocate => "fallocate"(
        "path": Path = path, "handle": Number = handle, "offset": Number = offset,
        "length": Number = length, "mode": Number = mode,
    ) -> Empty, missing NotSupported;
    Lseek => "lseek"(
        "path": Path = path, "handle": Number = handle, "offset": Number = offset,
        "whence": Number = whence,
    ) -> Offset, missing NotSupported;
    CopyFileRange => "copyFileRange"(
        "fromPath": Path = from_path, "fromHandle": Number = from_handle,
        "fromOffset": Number = from_offset, "toPath": Other = to_path,
        "toHandle": Number = to_handle, "toOffset": Number = to_offset,
        "length": Number = length,
    ) -> Count, missing NotSupported;
    SetAttributes => "setAttributes"(
        "path": Path = path, "attributes": Attributes = attributes,
        "birthtime": Time = birthtime,
    ) -> Empty, missing NotSupported;
    GetSecurity => "getSecurity"("path": Path = path) -> Target, missing NotSupported;
    SetSecurity => "setSecurity"("path": Path = path, "sddl": Other = sddl) -> Empty, missing NotSupported;
}

/// `name` as a TypeScript identifier in the generated file's tables.
fn quoted(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric()) {
        name.to_owned()
    } else {
        format!("'{name}'")
    }
}

fn table(out: &mut String, doc: &str, name: &str, entries: &[Entry]) {
    let _ = writeln!(out, "\n/** {doc} */\nexport const {name} = {{");
    for entry in entries {
        let _ = writeln!(
            out,
            "  /** {} */\n  {}: {},",
            entry.doc,
            quoted(entry.js),
            entry.value
        );
    }
    out.push_str("} as const\n");
}

/// The expression that reads argument `arg` of a drained request; `number` counts the
/// numbers read so far.
fn arg_expression(arg: &Arg, number: &mut usize) -> String {
    let mut next = || {
        let at = *number;
        *number += 1;
        if at == 0 {
            "s[at]".to_owned()
        } else {
            format!("s[at + {at}]")
        }
    };
    match arg.kind {
        ArgKind::Path => "path".to_owned(),
        ArgKind::Other => "other".to_owned(),
        ArgKind::Data => "data".to_owned(),
        ArgKind::Number => next(),
        ArgKind::Optional => format!("optional({})", next()),
        ArgKind::IdOrUnchanged => format!("optional({}) ?? -1", next()),
        ArgKind::Time => format!("date({})", next()),
        ArgKind::Flag => format!("{} === 1", next()),
        ArgKind::Attributes => format!("attributes({})", next()),
    }
}

/// The body of `lib/wire.generated.ts`: the tables above in TypeScript.
fn typescript_body() -> String {
    let mut out = String::new();
    out.push_str("import type { FileSystem, RequestContext } from './types'\n");
    let _ = writeln!(
        out,
        "\n/** Numbers in a drain's header, before the first request. */\nexport const DRAIN_HEADER = {DRAIN_HEADER}"
    );
    DrainHeader::write_table(&mut out, "Positions in a drain's header.");
    let _ = writeln!(
        out,
        "\n/** Numbers per drained request: its fields, then up to {REQUEST_ARGS} numeric arguments. */\nexport const REQUEST_FIELDS = {REQUEST_FIELDS}\nexport const REQUEST_ARGS = {REQUEST_ARGS}\n/** Where a drained request's numeric arguments start. */\nexport const REQUEST_ARGS_AT = {}",
        RequestField::ALL.len()
    );
    RequestField::write_table(
        &mut out,
        "Positions in a drained request, from its start; its arguments follow.",
    );
    DataPlace::write_table(&mut out, "Where a drained request's bulk bytes are.");
    let _ = writeln!(
        out,
        "\n/** Numbers per packed stat. */\nexport const STAT_FIELDS = {STAT_FIELDS}"
    );
    StatField::write_table(&mut out, "Positions in a packed stat.");
    AttributeBit::write_table(&mut out, "The Windows attribute bits of a packed stat.");
    let kinds: Vec<Entry> = FILE_KINDS
        .iter()
        .enumerate()
        .map(|(code, (_, js))| Entry {
            js,
            doc: "",
            value: code as u32,
        })
        .collect();
    out.push_str("\n/** The code of each file kind. */\nexport const FileKindCode = {\n");
    for kind in &kinds {
        let _ = writeln!(out, "  {}: {},", quoted(kind.js), kind.value);
    }
    out.push_str("} as const\n");
    ReplyTag::write_table(
        &mut out,
        "Reply tags of a numbers-only reply record (id, tag, then the tag's numbers).",
    );
    let _ = writeln!(
        out,
        "\n/** Numbers of an opened reply record before its packed stat. */\nexport const OPENED_FIELDS = {}",
        OpenedField::ALL.len()
    );
    OpenedField::write_table(
        &mut out,
        "Positions in an opened reply record, after its id and tag; a packed stat follows.",
    );
    OpenHint::write_table(&mut out, "Caching hint bits of an opened reply record.");
    LocalAnswer::write_table(
        &mut out,
        "What the addon answers for an operation the filesystem has no handler for.",
    );
    out.push_str(
        "
/**
 * Reads a drained request's handler arguments, request context last: its strings and bulk
 * bytes, and its numbers from `s`, the first at `at`.
 */
export type ArgsReader = (
  path: string,
  other: string | undefined,
  data: Buffer | undefined,
  ctx: RequestContext,
  s: Float64Array,
  at: number,
) => unknown[]

/** The reply shapes `lib/wire.ts` packs. */
export type ReplyShape = 'empty' | 'stat' | 'entries' | 'opened' | 'data' | 'count' | 'target' | 'statfs' | 'names' | 'offset'

/** Everything the two sides agree on about one operation. */
export interface OperationWire {
  /** The operation's code, its index in `OPERATIONS`. */
  readonly code: number
  readonly handler: keyof FileSystem
  readonly args: ArgsReader
  readonly reply: ReplyShape
  /** What the addon answers when the filesystem has no handler (`LocalAnswer`). */
  readonly whenMissing: number
}

/** An optional number: NaN means absent. */
const optional = (n: number) => (Number.isNaN(n) ? undefined : n)
const date = (ms: number) => (Number.isNaN(ms) ? undefined : new Date(ms))
/** Windows attributes as an object of every flag: NaN means absent. */
const attributes = (bits: number) =>
  Number.isNaN(bits)
    ? undefined
    : {
        hidden: (bits & AttributeBit.hidden) !== 0,
        readonly: (bits & AttributeBit.readonly) !== 0,
        system: (bits & AttributeBit.system) !== 0,
        archive: (bits & AttributeBit.archive) !== 0,
        notContentIndexed: (bits & AttributeBit.notContentIndexed) !== 0,
        offline: (bits & AttributeBit.offline) !== 0,
      }

/** Every operation, indexed by its code. */
export const OPERATIONS: readonly OperationWire[] = [
",
    );
    for operation in OPERATIONS {
        let mut number = 0;
        let names: Vec<&str> = operation.args.iter().map(|a| a.name).collect();
        let expressions: Vec<String> = operation
            .args
            .iter()
            .map(|a| arg_expression(a, &mut number))
            .collect();
        let _ = writeln!(
            out,
            "  {{\n    code: {},\n    handler: '{}',\n    /** ({}, ctx) */\n    args: (path, other, data, ctx, s, at) => [{}, ctx],\n    reply: '{}',\n    whenMissing: LocalAnswer.{},\n  }},",
            operation.code as usize,
            operation.handler,
            names.join(", "),
            expressions.join(", "),
            reply_js(operation.reply),
            LocalAnswer::entries()[operation.when_missing.at()].js,
        );
    }
    out.push_str("]\n");
    out
}

/// A digest of the generated tables (64-bit FNV-1a, in hex): equal on both sides exactly when
/// they were built from the same tables.
pub fn fingerprint() -> String {
    let digest = typescript_body()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{digest:016x}")
}

/// The text of `lib/wire.generated.ts`.
pub fn typescript() -> String {
    format!(
        "// Generated from crates/node/src/wire.rs by `npm run generate:wire`: do not edit. `cargo test`\n\
         // fails while this file differs from what the tables there generate.\n\
         {}\n\
         /** Identifies these tables; the addon reports the one it was built with (`wireFingerprint()`). */\n\
         export const WIRE_FINGERPRINT = '{}'\n",
        typescript_body(),
        fingerprint()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The checked-in file, as this test was compiled with it: read at compile time, so that
    /// the comparison needs no path at run time (these tests also run under Wine).
    const CHECKED_IN: &str = include_str!("../../../lib/wire.generated.ts");

    #[test]
    fn the_checked_in_typescript_is_what_the_tables_generate() {
        let fresh = typescript();
        if std::env::var_os("MOUNTKIT_WRITE_WIRE").is_some_and(|v| v == "1") {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lib/wire.generated.ts");
            std::fs::write(&path, &fresh).expect("lib/wire.generated.ts can be written");
            return;
        }
        assert!(
            CHECKED_IN == fresh,
            "lib/wire.generated.ts is stale: crates/node/src/wire.rs changed since it was \
             generated. Run `npm run generate:wire` and commit the result."
        );
    }

    #[test]
    fn codes_follow_the_table_and_every_operation_is_in_it() {
        let samples = samples();
        assert_eq!(samples.len(), OPERATIONS.len());
        for (at, (operation, wire)) in samples.iter().zip(OPERATIONS).enumerate() {
            let code = OperationCode::of(operation);
            assert_eq!(code as usize, at);
            assert_eq!(code, wire.code);
            assert_eq!(
                wire.reply,
                operation.expected_reply(),
                "{} replies as the core says",
                operation.name()
            );
        }
    }

    #[test]
    fn every_argument_has_a_place_and_no_operation_has_too_many() {
        for (operation, wire) in samples().iter_mut().zip(OPERATIONS) {
            let kinds = |kind: ArgKind| wire.args.iter().filter(|a| a.kind == kind).count();
            assert_eq!(kinds(ArgKind::Path), 1, "{}: one path", wire.handler);
            assert!(kinds(ArgKind::Other) <= 1 && kinds(ArgKind::Data) <= 1);
            let mut numbers = [0.0; REQUEST_ARGS];
            let mut strings = String::new();
            let encoded = encode(operation, &mut numbers, &mut strings);
            assert_eq!(encoded.strings, 1 + kinds(ArgKind::Other));
            assert_eq!(strings.matches('\0').count(), encoded.strings);
            assert_eq!(encoded.data.is_some(), kinds(ArgKind::Data) == 1);
            let numeric = wire.args.len() - encoded.strings - kinds(ArgKind::Data);
            assert!(numeric <= REQUEST_ARGS, "{}", wire.handler);
            assert!(
                numbers[numeric..].iter().all(|n| n.is_nan()),
                "{}: no numbers past its own",
                wire.handler
            );
        }
    }

    #[test]
    fn arguments_cross_by_name_in_parameter_order() {
        let mut truncate = Operation::Truncate {
            path: "/f".into(),
            size: 7,
            handle: None,
        };
        let mut numbers = [0.0; REQUEST_ARGS];
        let mut strings = String::new();
        encode(&mut truncate, &mut numbers, &mut strings);
        assert_eq!(numbers[0], 7.0, "size, the handler's second parameter");
        assert!(numbers[1].is_nan(), "no handle");
        let mut symlink = Operation::Symlink {
            target: "there".into(),
            path: "/link".into(),
        };
        strings.clear();
        let encoded = encode(&mut symlink, &mut numbers, &mut strings);
        assert_eq!(
            strings, "/link\0there\0",
            "the path first, whatever the order"
        );
        assert_eq!(encoded.strings, 2);
        assert!(numbers.iter().all(|n| n.is_nan()));
        let generated = typescript();
        assert!(generated.contains("/** (target, path, ctx) */\n    args: (path, other, data, ctx, s, at) => [other, path, ctx]"));
        assert!(generated.contains("=> [path, s[at], optional(s[at + 1]), ctx]"));
    }

    #[test]
    fn attributes_cross_as_bits_and_absent_ones_as_nan() {
        for bits in 0..64 {
            assert_eq!(AttributeBit::pack(&AttributeBit::unpack(bits)), bits);
        }
        let mut set = Operation::SetAttributes {
            path: "/f".into(),
            attributes: Some(WindowsAttributes {
                hidden: true,
                offline: true,
                ..WindowsAttributes::default()
            }),
            birthtime: None,
        };
        let mut numbers = [0.0; REQUEST_ARGS];
        let mut strings = String::new();
        encode(&mut set, &mut numbers, &mut strings);
        assert_eq!(
            numbers[0],
            f64::from(AttributeBit::HIDDEN | AttributeBit::OFFLINE)
        );
        assert!(numbers[1].is_nan(), "no birth time");
        let mut unchanged = Operation::SetAttributes {
            path: "/f".into(),
            attributes: None,
            birthtime: Some(SetTime::At(SystemTime::UNIX_EPOCH)),
        };
        encode(&mut unchanged, &mut numbers, &mut strings);
        assert!(numbers[0].is_nan(), "attributes left alone");
        assert_eq!(numbers[1], 0.0);
        assert!(typescript().contains("=> [path, attributes(s[at]), date(s[at + 1]), ctx]"));
    }

    #[test]
    fn codes_decode_only_when_whole_and_known() {
        assert_eq!(from_code(ReplyTag::ALL, 2.0), Some(ReplyTag::Stat));
        assert_eq!(from_code(ReplyTag::ALL, 0.5), None);
        assert_eq!(from_code(ReplyTag::ALL, -1.0), None);
        assert_eq!(from_code(ReplyTag::ALL, 6.0), None);
        assert_eq!(from_code(LocalAnswer::ALL, 3.0), Some(LocalAnswer::Opened));
        assert_eq!(file_kind(1), Ok(FileKind::Directory));
        assert!(file_kind(7).is_err());
    }

    #[test]
    fn the_fingerprint_follows_the_tables() {
        assert_eq!(fingerprint().len(), 16);
        assert!(typescript().contains(&fingerprint()));
    }
}
