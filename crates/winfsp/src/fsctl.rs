//! The data structures that WinFsp and this crate exchange, declared from `winfsp/fsctl.h`
//! (WinFsp 2.x), with the same names in Rust case.
//!
//! They hold only integers and UTF-16 arrays, so they have the same layout on every 64-bit
//! target and are declared here, outside the Windows-only FFI layer: their sizes are checked at
//! compile time against the sizes `fsctl.h` asserts, and their field offsets are checked by the
//! unit tests, on Linux as on Windows.
//!
//! Where WinFsp declares bit fields, the field here is one `u32` per word the compiler
//! allocates for them, and the bits are constants (MSVC allocates bit fields from the least
//! significant bit, and starts a new word for a field that does not fit in the current one).

use std::mem::size_of;

/// `FspFsctlTransactCreateKind`: a create or open request.
pub(crate) const KIND_CREATE: u32 = 1;
/// `FspFsctlTransactReadKind`.
pub(crate) const KIND_READ: u32 = 5;
/// `FspFsctlTransactWriteKind`.
pub(crate) const KIND_WRITE: u32 = 6;
/// `FspFsctlTransactSetInformationKind`.
pub(crate) const KIND_SET_INFORMATION: u32 = 8;
/// `FspFsctlTransactQueryDirectoryKind`.
#[cfg(windows)]
pub(crate) const KIND_QUERY_DIRECTORY: u32 = 14;

/// `FileRenameInformation`, a `FileInformationClass` of a set-information request.
const FILE_RENAME_INFORMATION: u32 = 10;
/// `FileRenameInformationEx`.
const FILE_RENAME_INFORMATION_EX: u32 = 65;

/// Bits of [`VolumeParams::flags`] (`FSP_FSCTL_VOLUME_PARAMS` bit fields) that this crate
/// sets.
pub(crate) mod volume_flags {
    /// `CaseSensitiveSearch`: names are compared with regard to case.
    pub(crate) const CASE_SENSITIVE_SEARCH: u32 = 1 << 0;
    /// `CasePreservedNames`: names keep the case they were created with.
    pub(crate) const CASE_PRESERVED_NAMES: u32 = 1 << 1;
    /// `UnicodeOnDisk`: names are Unicode.
    pub(crate) const UNICODE_ON_DISK: u32 = 1 << 2;
    /// `ReparsePoints`: the volume has reparse points (symbolic links), so WinFsp asks for
    /// them and resolves them during opens.
    pub(crate) const REPARSE_POINTS: u32 = 1 << 4;
    /// `PersistentAcls`: the file system stores security descriptors.
    pub(crate) const PERSISTENT_ACLS: u32 = 1 << 3;
    /// `ReadOnlyVolume`: the volume refuses every change.
    pub(crate) const READ_ONLY_VOLUME: u32 = 1 << 9;
    /// `PassQueryDirectoryPattern`: give ReadDirectory the search pattern.
    pub(crate) const PASS_QUERY_DIRECTORY_PATTERN: u32 = 1 << 11;
    /// `PassQueryDirectoryFileName`: call GetDirInfoByName for searches without wildcards.
    pub(crate) const PASS_QUERY_DIRECTORY_FILE_NAME: u32 = 1 << 13;
    /// `UmFileContextIsUserContext2`: the `FileContext` of each callback is the value the
    /// open returned for that handle (a file descriptor), not one value per file.
    pub(crate) const UM_FILE_CONTEXT_IS_USER_CONTEXT2: u32 = 1 << 16;
}

/// `FSP_FSCTL_VOLUME_PARAMS`: how a volume looks and behaves, given to
/// `FspFileSystemCreate`. A `version` of 0 declares the first version of the structure, and
/// WinFsp then ignores the fields after `file_system_name`; the structure's size (504) declares
/// them present.
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VolumeParams {
    /// 0, or the structure's size.
    pub version: u16,
    /// Bytes per sector.
    pub sector_size: u16,
    /// Sectors per allocation unit (cluster).
    pub sectors_per_allocation_unit: u16,
    /// Longest name component, in UTF-16 units.
    pub max_component_length: u16,
    /// FILETIME.
    pub volume_creation_time: u64,
    /// The serial number `vol` shows.
    pub volume_serial_number: u32,
    /// Deprecated by WinFsp; zero.
    pub transact_timeout: u32,
    /// Milliseconds a request may stay with the file system before the driver fails it.
    pub irp_timeout: u32,
    /// Most requests pending at once; zero for WinFsp's default.
    pub irp_capacity: u32,
    /// Milliseconds the driver may cache file information.
    pub file_info_timeout: u32,
    /// [`volume_flags`].
    pub flags: u32,
    /// UNC prefix (`\server\share`) of a network volume, NUL-terminated.
    pub prefix: [u16; 192],
    /// File system name reported to Windows, NUL-terminated.
    pub file_system_name: [u16; 16],
    /// Validity bits of the per-kind timeouts that follow; zero uses `file_info_timeout`.
    pub additional_flags: u32,
    /// Milliseconds volume information may be cached (when valid).
    pub volume_info_timeout: u32,
    /// Milliseconds directory listings may be cached (when valid).
    pub dir_info_timeout: u32,
    /// Milliseconds security descriptors may be cached (when valid).
    pub security_timeout: u32,
    /// Milliseconds stream information may be cached (when valid).
    pub stream_info_timeout: u32,
    /// Milliseconds extended attributes may be cached (when valid).
    pub ea_timeout: u32,
    /// For kernel-mode file system extensions; zero.
    pub fsext_control_code: u32,
    /// Reserved; zero.
    pub reserved32: [u32; 1],
    /// Reserved; zero.
    pub reserved64: [u64; 2],
}

impl Default for VolumeParams {
    fn default() -> VolumeParams {
        VolumeParams {
            version: 0,
            sector_size: 0,
            sectors_per_allocation_unit: 0,
            max_component_length: 0,
            volume_creation_time: 0,
            volume_serial_number: 0,
            transact_timeout: 0,
            irp_timeout: 0,
            irp_capacity: 0,
            file_info_timeout: 0,
            flags: 0,
            prefix: [0; 192],
            file_system_name: [0; 16],
            additional_flags: 0,
            volume_info_timeout: 0,
            dir_info_timeout: 0,
            security_timeout: 0,
            stream_info_timeout: 0,
            ea_timeout: 0,
            fsext_control_code: 0,
            reserved32: [0; 1],
            reserved64: [0; 2],
        }
    }
}

/// `FSP_FSCTL_VOLUME_INFO`: sizes and label of a volume.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VolumeInfo {
    /// Bytes the volume holds.
    pub total_size: u64,
    /// Bytes still free.
    pub free_size: u64,
    /// Length of the label in bytes (not units), without a NUL.
    pub volume_label_length: u16,
    /// The label in UTF-16, not NUL-terminated.
    pub volume_label: [u16; 32],
}

/// `FSP_FSCTL_FILE_INFO`: what Windows knows about a file.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FileInfo {
    /// `FILE_ATTRIBUTE_*` bits.
    pub file_attributes: u32,
    /// The reparse tag of a reparse point; zero here.
    pub reparse_tag: u32,
    /// Bytes allocated: the size rounded up to an allocation unit.
    pub allocation_size: u64,
    /// The size in bytes (end of file).
    pub file_size: u64,
    /// FILETIME of creation.
    pub creation_time: u64,
    /// FILETIME of the last access.
    pub last_access_time: u64,
    /// FILETIME of the last change of data.
    pub last_write_time: u64,
    /// FILETIME of the last change of data or metadata.
    pub change_time: u64,
    /// The file's identity (inode number).
    pub index_number: u64,
    /// Unimplemented by WinFsp; zero.
    pub hard_links: u32,
    /// Bytes of extended attributes; zero here.
    pub ea_size: u32,
}

/// `FSP_FSCTL_OPEN_FILE_INFO`: what the file information argument of Create and Open points
/// to (winfsp.h, `FspFileSystemGetOpenFileInfo`): the file information, followed by a buffer
/// in which a case-insensitive file system may report the name as it stores it.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct OpenFileInfo {
    /// The opened file's information.
    pub file_info: FileInfo,
    /// `NormalizedName`: where the name goes, in UTF-16 without a NUL; WinFsp points it into
    /// the response it is preparing.
    pub normalized_name: *mut u16,
    /// `NormalizedNameSize`: the buffer's size in bytes on entry, the name's on return. Left
    /// as it is, WinFsp takes no name and upper-cases the one opened.
    pub normalized_name_size: u16,
}

/// `FSP_FSCTL_DIR_INFO` followed by room for the longest name: one directory entry as
/// `FspFileSystemAddDirInfo` and GetDirInfoByName take it. `size` covers the header and the
/// name only.
#[repr(C)]
#[derive(Clone, Debug)]
pub(crate) struct DirInfo {
    /// Bytes of the record: the header and the name.
    pub size: u16,
    /// The entry's file information.
    pub file_info: FileInfo,
    /// `NextOffset`/`Padding`: reserved, zero.
    pub padding: [u8; 24],
    /// `FileNameBuf`: the name in UTF-16, without a NUL.
    pub file_name: [u16; DirInfo::MAX_NAME_UNITS],
}

impl DirInfo {
    /// Bytes of the header before the name (`sizeof(FSP_FSCTL_DIR_INFO)`).
    pub(crate) const HEADER_SIZE: usize = 104;
    /// Longest name a record holds, in UTF-16 units (the longest Windows name component).
    pub(crate) const MAX_NAME_UNITS: usize = 255;

    /// A record for `name` with `file_info`, or `None` if the name is longer than
    /// [`Self::MAX_NAME_UNITS`] units.
    pub(crate) fn new(name: &str, file_info: FileInfo) -> Option<DirInfo> {
        let mut record = DirInfo {
            size: 0,
            file_info,
            padding: [0; 24],
            file_name: [0; Self::MAX_NAME_UNITS],
        };
        let mut units = 0;
        for unit in name.encode_utf16() {
            *record.file_name.get_mut(units)? = unit;
            units += 1;
        }
        record.size = (Self::HEADER_SIZE + 2 * units) as u16;
        Some(record)
    }

    /// The bytes `FspFileSystemAddDirInfo` takes from the buffer for a record of a name of
    /// `name_units` UTF-16 units: the record rounded up to 8 bytes.
    pub(crate) fn buffer_bytes(name_units: usize) -> usize {
        (Self::HEADER_SIZE + 2 * name_units).next_multiple_of(8)
    }
}

/// `FSP_FSCTL_TRANSACT_BUF`: where a variable-sized part of a request or response lies in its
/// trailing buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TransactBuf {
    /// Offset in the trailing buffer.
    pub offset: u16,
    /// Bytes.
    pub size: u16,
}

/// The `Req.Create` part of a request.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CreateRequest {
    /// Disposition in the high 8 bits, options in the low 24.
    pub create_options: u32,
    /// Attributes asked for a new file.
    pub file_attributes: u32,
    /// The security descriptor asked for a new file.
    pub security_descriptor: TransactBuf,
    /// Allocation asked for a new file.
    pub allocation_size: u64,
    /// The requester's access token handle in the low 32 bits, its process id in the high.
    pub access_token: u64,
    /// Access rights asked for.
    pub desired_access: u32,
    /// Access rights already granted by the driver.
    pub granted_access: u32,
    /// `FILE_SHARE_*` bits.
    pub share_access: u32,
    /// Extended attributes or reparse data sent with the create.
    pub ea: TransactBuf,
    /// Bit fields: user mode, privileges, case sensitivity, ... They take two words: after
    /// nine one-bit fields, `ReservedFlags:24` does not fit in the first.
    pub flags: [u32; 2],
    /// Where the stream name starts in the file name, or zero.
    pub named_stream: u16,
}

/// The `Req.SetInformation.Info.Rename` part of a request.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RenameInformation {
    /// The new name.
    pub new_file_name: TransactBuf,
    /// As [`CreateRequest::access_token`].
    pub access_token: u64,
    /// `FILE_RENAME_*` flags of `FileRenameInformationEx`.
    pub flags: u32,
}

/// The `Req.SetInformation.Info` union, only as large as WinFsp's and with the one member this
/// crate reads.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union SetInformationInfo {
    /// A rename.
    pub rename: RenameInformation,
    size: [u64; 5],
}

/// The `Req.SetInformation` part of a request.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct SetInformationRequest {
    /// The file's context (unused: contexts are per handle here).
    pub user_context: u64,
    /// The handle's context.
    pub user_context2: u64,
    /// What is being set (`FileRenameInformation`, ...).
    pub file_information_class: u32,
    /// The class's arguments.
    pub info: SetInformationInfo,
}

/// The `Req` union of a request, only as large as WinFsp's and with the members this crate
/// reads.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union RequestUnion {
    /// A create or open.
    pub create: CreateRequest,
    /// A set-information request.
    pub set_information: SetInformationRequest,
    size: [u64; 8],
}

/// `FSP_FSCTL_TRANSACT_REQ`: the request WinFsp is serving, as
/// `FspFileSystemGetOperationContext` shows it. A trailing buffer (names, patterns) follows.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct TransactReq {
    /// Set by the driver.
    pub version: u16,
    /// Bytes of the request, trailing buffer included.
    pub size: u16,
    /// What the request is (`KIND_*`).
    pub kind: u32,
    /// Identifies the request to the driver; a response names it.
    pub hint: u64,
    /// The kind's arguments.
    pub req: RequestUnion,
    /// The file name in the trailing buffer.
    pub file_name: TransactBuf,
}

impl TransactReq {
    /// Where in the trailing buffer a create request carries the security descriptor its
    /// caller asked for (`SECURITY_ATTRIBUTES`), as offset and size; `None` for any other
    /// request, when the caller asked for none, and when the place named does not lie inside
    /// the request's `size` bytes (nothing past the request is ever read).
    pub(crate) fn asked_security(&self) -> Option<(usize, usize)> {
        if self.kind != KIND_CREATE {
            return None;
        }
        // SAFETY: `kind` says the driver filled the create member, plain integers.
        let asked = unsafe { self.req.create.security_descriptor };
        let (offset, size) = (usize::from(asked.offset), usize::from(asked.size));
        let inside = size_of::<TransactReq>() + offset + size <= usize::from(self.size);
        (size != 0 && inside).then_some((offset, size))
    }

    /// The id of the process that made the request, for the requests that carry one: creates
    /// and opens, and renames (what WinFsp's `FspFileSystemOperationProcessId` reads); 0 for
    /// every other request.
    pub(crate) fn process_id(&self) -> u32 {
        // SAFETY: `kind` says which member of the union the driver filled; every member is
        // plain integers, so any bit pattern is a valid value.
        let token = unsafe {
            match self.kind {
                KIND_CREATE => self.req.create.access_token,
                KIND_SET_INFORMATION
                    if matches!(
                        self.req.set_information.file_information_class,
                        FILE_RENAME_INFORMATION | FILE_RENAME_INFORMATION_EX
                    ) =>
                {
                    self.req.set_information.info.rename.access_token
                }
                _ => return 0,
            }
        };
        (token >> 32) as u32
    }
}

/// `IoStatus` of a response: the status and, for reads, writes and directory reads, the number
/// of bytes transferred.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IoStatus {
    /// Bytes transferred (reads, writes, directory reads) or a create's outcome.
    pub information: u32,
    /// The NTSTATUS.
    pub status: u32,
}

/// The `Rsp` union of a response, only as large as WinFsp's and with the member this crate
/// writes (the file information of a write response).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union ResponseUnion {
    /// The file information of a write (`Rsp.Write.FileInfo`).
    pub file_info: FileInfo,
    size: [u64; 13],
}

/// `FSP_FSCTL_TRANSACT_RSP` without a trailing buffer: the answer to a request that was left
/// pending, sent with `FspFileSystemSendResponse`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct TransactRsp {
    /// Zero.
    pub version: u16,
    /// Bytes of the response, trailing buffer included.
    pub size: u16,
    /// The kind of the request answered.
    pub kind: u32,
    /// The hint of the request answered.
    pub hint: u64,
    /// The outcome.
    pub io_status: IoStatus,
    /// The kind's results.
    pub rsp: ResponseUnion,
}

impl TransactRsp {
    /// The response to the request `hint` of `kind`: `status`, and `information` bytes
    /// transferred. The response carries no file information; see [`Self::with_file_info`].
    pub(crate) fn new(kind: u32, hint: u64, status: i32, information: u32) -> TransactRsp {
        TransactRsp {
            version: 0,
            size: size_of::<TransactRsp>() as u16,
            kind,
            hint,
            io_status: IoStatus {
                information,
                status: status as u32,
            },
            rsp: ResponseUnion { size: [0; 13] },
        }
    }

    /// This response with `file_info` in `Rsp.Write.FileInfo`, what a successful write
    /// answers so the driver learns the file's new size.
    pub(crate) fn with_file_info(mut self, file_info: FileInfo) -> TransactRsp {
        self.rsp.file_info = file_info;
        self
    }
}

const _: () = {
    assert!(size_of::<VolumeParams>() == 504);
    assert!(size_of::<VolumeInfo>() == 88);
    assert!(size_of::<FileInfo>() == 72);
    assert!(size_of::<OpenFileInfo>() == 72 + 2 * size_of::<usize>());
    assert!(size_of::<DirInfo>() == DirInfo::HEADER_SIZE + 2 * DirInfo::MAX_NAME_UNITS + 2);
    assert!(size_of::<TransactReq>() == 88);
    assert!(size_of::<TransactRsp>() == 128);
};

#[cfg(test)]
mod tests {
    use std::mem::offset_of;

    use super::*;

    // The offsets below are those of WinFsp 2.1's `fsctl.h`, printed with `offsetof` by a C
    // program built with x86_64-w64-mingw32-gcc (which lays out bit fields as MSVC does).

    #[test]
    fn volume_params_fields_lie_where_fsctl_h_puts_them() {
        assert_eq!(offset_of!(VolumeParams, version), 0);
        assert_eq!(offset_of!(VolumeParams, sector_size), 2);
        assert_eq!(offset_of!(VolumeParams, sectors_per_allocation_unit), 4);
        assert_eq!(offset_of!(VolumeParams, max_component_length), 6);
        assert_eq!(offset_of!(VolumeParams, volume_creation_time), 8);
        assert_eq!(offset_of!(VolumeParams, volume_serial_number), 16);
        assert_eq!(offset_of!(VolumeParams, transact_timeout), 20);
        assert_eq!(offset_of!(VolumeParams, irp_timeout), 24);
        assert_eq!(offset_of!(VolumeParams, irp_capacity), 28);
        assert_eq!(offset_of!(VolumeParams, file_info_timeout), 32);
        assert_eq!(offset_of!(VolumeParams, flags), 36);
        assert_eq!(offset_of!(VolumeParams, prefix), 40);
        assert_eq!(offset_of!(VolumeParams, file_system_name), 424);
        assert_eq!(offset_of!(VolumeParams, additional_flags), 456);
        assert_eq!(offset_of!(VolumeParams, volume_info_timeout), 460);
        assert_eq!(offset_of!(VolumeParams, dir_info_timeout), 464);
        assert_eq!(offset_of!(VolumeParams, security_timeout), 468);
        assert_eq!(offset_of!(VolumeParams, stream_info_timeout), 472);
        assert_eq!(offset_of!(VolumeParams, ea_timeout), 476);
        assert_eq!(offset_of!(VolumeParams, fsext_control_code), 480);
        assert_eq!(offset_of!(VolumeParams, reserved32), 484);
        assert_eq!(offset_of!(VolumeParams, reserved64), 488);
    }

    #[test]
    fn volume_flags_are_the_bits_fsctl_h_declares() {
        // Each bit as the byte of `flags` (offset 36) it sets, and its value there.
        let bytes = |flag: u32| flag.to_le_bytes();
        assert_eq!(bytes(volume_flags::CASE_SENSITIVE_SEARCH), [0x01, 0, 0, 0]);
        assert_eq!(bytes(volume_flags::CASE_PRESERVED_NAMES), [0x02, 0, 0, 0]);
        assert_eq!(bytes(volume_flags::UNICODE_ON_DISK), [0x04, 0, 0, 0]);
        assert_eq!(bytes(volume_flags::READ_ONLY_VOLUME), [0, 0x02, 0, 0]);
        assert_eq!(
            bytes(volume_flags::PASS_QUERY_DIRECTORY_PATTERN),
            [0, 0x08, 0, 0]
        );
        assert_eq!(
            bytes(volume_flags::PASS_QUERY_DIRECTORY_FILE_NAME),
            [0, 0x20, 0, 0]
        );
        assert_eq!(
            bytes(volume_flags::UM_FILE_CONTEXT_IS_USER_CONTEXT2),
            [0, 0, 0x01, 0]
        );
    }

    #[test]
    fn file_and_volume_info_fields() {
        assert_eq!(offset_of!(FileInfo, file_attributes), 0);
        assert_eq!(offset_of!(FileInfo, reparse_tag), 4);
        assert_eq!(offset_of!(FileInfo, allocation_size), 8);
        assert_eq!(offset_of!(FileInfo, file_size), 16);
        assert_eq!(offset_of!(FileInfo, creation_time), 24);
        assert_eq!(offset_of!(FileInfo, last_access_time), 32);
        assert_eq!(offset_of!(FileInfo, last_write_time), 40);
        assert_eq!(offset_of!(FileInfo, change_time), 48);
        assert_eq!(offset_of!(FileInfo, index_number), 56);
        assert_eq!(offset_of!(FileInfo, hard_links), 64);
        assert_eq!(offset_of!(FileInfo, ea_size), 68);
        assert_eq!(offset_of!(VolumeInfo, total_size), 0);
        assert_eq!(offset_of!(VolumeInfo, free_size), 8);
        assert_eq!(offset_of!(VolumeInfo, volume_label_length), 16);
        assert_eq!(offset_of!(VolumeInfo, volume_label), 18);
    }

    #[test]
    fn open_file_info_fields() {
        assert_eq!(offset_of!(OpenFileInfo, file_info), 0);
        assert_eq!(offset_of!(OpenFileInfo, normalized_name), 72);
        assert_eq!(
            offset_of!(OpenFileInfo, normalized_name_size),
            72 + size_of::<usize>()
        );
    }

    #[test]
    fn dir_info_records() {
        assert_eq!(offset_of!(DirInfo, size), 0);
        assert_eq!(offset_of!(DirInfo, file_info), 8);
        assert_eq!(offset_of!(DirInfo, padding), 80);
        assert_eq!(offset_of!(DirInfo, file_name), DirInfo::HEADER_SIZE);
        let record = DirInfo::new("héllo", FileInfo::default()).unwrap();
        assert_eq!(record.size, 104 + 10);
        assert_eq!(
            &record.file_name[..5],
            &"héllo".encode_utf16().collect::<Vec<_>>()[..]
        );
        let emoji = DirInfo::new("😀", FileInfo::default()).unwrap();
        assert_eq!(emoji.size, 104 + 4, "two units");
        assert!(DirInfo::new(&"a".repeat(255), FileInfo::default()).is_some());
        assert!(DirInfo::new(&"a".repeat(256), FileInfo::default()).is_none());
        assert_eq!(DirInfo::buffer_bytes(0), 104);
        assert_eq!(DirInfo::buffer_bytes(1), 112);
        assert_eq!(DirInfo::buffer_bytes(4), 112);
        assert_eq!(DirInfo::buffer_bytes(5), 120);
    }

    #[test]
    fn request_fields() {
        assert_eq!(offset_of!(TransactBuf, offset), 0);
        assert_eq!(offset_of!(TransactBuf, size), 2);
        assert_eq!(offset_of!(TransactReq, version), 0);
        assert_eq!(offset_of!(TransactReq, size), 2);
        assert_eq!(offset_of!(TransactReq, kind), 4);
        assert_eq!(offset_of!(TransactReq, hint), 8);
        assert_eq!(offset_of!(TransactReq, req), 16);
        assert_eq!(offset_of!(TransactReq, file_name), 80);
        assert_eq!(size_of::<RequestUnion>(), 64);
    }

    #[test]
    fn create_request_fields() {
        // Offsets within `Req`, which starts at 16.
        assert_eq!(size_of::<CreateRequest>(), 64);
        assert_eq!(offset_of!(CreateRequest, create_options), 0);
        assert_eq!(offset_of!(CreateRequest, file_attributes), 4);
        assert_eq!(offset_of!(CreateRequest, security_descriptor), 8);
        assert_eq!(offset_of!(CreateRequest, allocation_size), 16);
        assert_eq!(offset_of!(CreateRequest, access_token), 24);
        assert_eq!(offset_of!(CreateRequest, desired_access), 32);
        assert_eq!(offset_of!(CreateRequest, granted_access), 36);
        assert_eq!(offset_of!(CreateRequest, share_access), 40);
        assert_eq!(offset_of!(CreateRequest, ea), 44);
        // `UserMode` is bit 0 of the word at 48, `ReservedFlags` starts the word at 52.
        assert_eq!(offset_of!(CreateRequest, flags), 48);
        assert_eq!(offset_of!(CreateRequest, named_stream), 56);
    }

    #[test]
    fn set_information_request_fields() {
        assert_eq!(size_of::<SetInformationRequest>(), 64);
        assert_eq!(offset_of!(SetInformationRequest, user_context), 0);
        assert_eq!(offset_of!(SetInformationRequest, user_context2), 8);
        assert_eq!(
            offset_of!(SetInformationRequest, file_information_class),
            16
        );
        assert_eq!(offset_of!(SetInformationRequest, info), 24);
        assert_eq!(size_of::<SetInformationInfo>(), 40);
        assert_eq!(offset_of!(RenameInformation, new_file_name), 0);
        assert_eq!(offset_of!(RenameInformation, access_token), 8);
        assert_eq!(offset_of!(RenameInformation, flags), 16);
    }

    fn request(kind: u32) -> TransactReq {
        TransactReq {
            version: 0,
            size: size_of::<TransactReq>() as u16,
            kind,
            hint: 7,
            req: RequestUnion { size: [0; 8] },
            file_name: TransactBuf::default(),
        }
    }

    #[test]
    fn process_ids_come_from_creates_and_renames_only() {
        let mut create = request(KIND_CREATE);
        create.req.create = CreateRequest {
            access_token: (1234u64 << 32) | 0x88,
            ..Default::default()
        };
        assert_eq!(create.process_id(), 1234);

        let mut rename = request(KIND_SET_INFORMATION);
        rename.req.set_information = SetInformationRequest {
            user_context: 0,
            user_context2: 0,
            file_information_class: FILE_RENAME_INFORMATION_EX,
            info: SetInformationInfo {
                rename: RenameInformation {
                    access_token: 99u64 << 32,
                    ..Default::default()
                },
            },
        };
        assert_eq!(rename.process_id(), 99);
        rename.req.set_information.file_information_class = 4;
        assert_eq!(rename.process_id(), 0, "basic information carries no token");
        assert_eq!(request(KIND_READ).process_id(), 0);
    }

    #[test]
    fn creates_say_where_the_asked_descriptor_is() {
        let mut create = request(KIND_CREATE);
        assert_eq!(create.asked_security(), None, "none asked");
        create.req.create = CreateRequest {
            security_descriptor: TransactBuf {
                offset: 24,
                size: 80,
            },
            ..Default::default()
        };
        create.size = (size_of::<TransactReq>() + 104) as u16;
        assert_eq!(create.asked_security(), Some((24, 80)));
        create.size -= 1;
        assert_eq!(
            create.asked_security(),
            None,
            "a descriptor running past the request is not read"
        );
        assert_eq!(request(KIND_SET_INFORMATION).asked_security(), None);
    }

    #[test]
    fn responses_name_their_request() {
        assert_eq!(offset_of!(TransactRsp, version), 0);
        assert_eq!(offset_of!(TransactRsp, size), 2);
        assert_eq!(offset_of!(TransactRsp, kind), 4);
        assert_eq!(offset_of!(TransactRsp, hint), 8);
        assert_eq!(offset_of!(TransactRsp, io_status), 16);
        assert_eq!(offset_of!(TransactRsp, rsp), 24);
        assert_eq!(offset_of!(IoStatus, information), 0);
        assert_eq!(offset_of!(IoStatus, status), 4);
        assert_eq!(size_of::<ResponseUnion>(), 104);
        let info = FileInfo {
            file_size: 42,
            ..Default::default()
        };
        let response = TransactRsp::new(KIND_WRITE, 0xABCD, 0, 42).with_file_info(info);
        assert_eq!(response.size, 128);
        assert_eq!(response.kind, KIND_WRITE);
        assert_eq!(response.hint, 0xABCD);
        assert_eq!(response.io_status.information, 42);
        // SAFETY: `with_file_info` wrote this member.
        assert_eq!(unsafe { response.rsp.file_info }, info);
        let failed = TransactRsp::new(KIND_READ, 1, 0xC000_0011_u32 as i32, 0);
        assert_eq!(failed.io_status.status, 0xC000_0011);
    }
}
