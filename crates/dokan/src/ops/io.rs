//! ReadFile, WriteFile and FlushFileBuffers.

use log::warn;
use mountkit_core::windows::ntstatus::{STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_PARAMETER};
use mountkit_core::{expect_reply, Errno, Operation};

use crate::context::UserHandle;
use crate::request::{self};
use mountkit_core::backing;

use super::{io_error, Call, DokanFs, NtError, NtResult};

/// What `WriteFile` was asked.
#[derive(Clone, Copy, Debug)]
pub struct WriteRequest<'a> {
    /// The bytes to write.
    pub data: &'a [u8],
    /// Where to write; -1 means the end of the file.
    pub offset: i64,
    /// `DOKAN_FILE_INFO.WriteToEndOfFile`: write at the end of the file, whatever `offset`
    /// says.
    pub write_to_end_of_file: bool,
    /// `DOKAN_FILE_INFO.PagingIo`: a write from the cache or a mapped view, which must not
    /// extend the file.
    pub paging_io: bool,
}

impl DokanFs {
    /// `ReadFile`: reads into `buffer` from `offset` and returns the bytes read (fewer at the
    /// end of the file, 0 past it). Served from the backing file when there is one, otherwise
    /// by `read`; a handler that returns more than asked is cut to the buffer.
    pub fn read(
        &self,
        call: &Call,
        context: u64,
        buffer: &mut [u8],
        offset: i64,
    ) -> NtResult<usize> {
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_INVALID_DEVICE_REQUEST));
        }
        let offset = u64::try_from(offset).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?;
        let user = self.user_handle(call, &open, false)?;
        if let Some(file) = &user.backing {
            return backing::read_at(file, buffer, offset).map_err(io_error);
        }
        let read = Operation::Read {
            path: open.path(),
            handle: user.handle,
            offset,
            size: u32::try_from(buffer.len()).unwrap_or(u32::MAX),
        };
        let context = call.context();
        let policy = &self.policy;
        Ok(request::read_into(
            &*self.dispatch,
            policy,
            call.keepalive,
            context,
            read,
            buffer,
        )?)
    }

    pub(super) fn current_size(&self, call: &Call, path: &str, user: &UserHandle) -> NtResult<u64> {
        match &user.backing {
            Some(file) => Ok(file.metadata().map_err(io_error)?.len()),
            None => Ok(self.getattr(call, path, Some(user.handle))?.size),
        }
    }

    /// `WriteFile`: writes and returns the bytes written.
    ///
    /// - With `write_to_end_of_file` or an offset of -1, the data goes at the current end of
    ///   the file (its size from `getattr`, or the backing file's length).
    /// - A paging write never extends the file: what lies beyond the current size is dropped,
    ///   and a write starting at or past the end writes nothing and succeeds.
    /// - Served by the backing file when there is one, otherwise by `write`; a handler that
    ///   claims more bytes than it was given fails the write with `EIO`.
    pub fn write(&self, call: &Call, context: u64, request: &WriteRequest) -> NtResult<usize> {
        let open = self.entry(context)?;
        if open.is_directory() {
            return Err(NtError(STATUS_INVALID_DEVICE_REQUEST));
        }
        self.writable()?;
        let user = self.user_handle(call, &open, true)?;
        let path = open.path();
        let to_end = request.write_to_end_of_file || request.offset == -1;
        let size = if to_end || request.paging_io {
            Some(self.current_size(call, &path, &user)?)
        } else {
            None
        };
        let offset = match (to_end, size) {
            (true, Some(size)) => size,
            _ => u64::try_from(request.offset).map_err(|_| NtError(STATUS_INVALID_PARAMETER))?,
        };
        let mut data = request.data;
        if let (true, Some(size)) = (request.paging_io, size) {
            if offset >= size {
                return Ok(0);
            }
            let room = usize::try_from(size - offset).unwrap_or(usize::MAX);
            data = &data[..data.len().min(room)];
        }
        if let Some(file) = &user.backing {
            backing::write_all_at(file, data, offset).map_err(io_error)?;
            return Ok(data.len());
        }
        let write = Operation::Write {
            path: path.clone(),
            handle: user.handle,
            offset,
            data: self.dispatch.write_data(data),
        };
        let written = expect_reply!(self.call(call, write), Count)?;
        match usize::try_from(written) {
            Ok(written) if written <= data.len() => Ok(written),
            _ => {
                warn!(
                    "write handler claimed {written} bytes of a {}-byte write to {path}",
                    data.len()
                );
                Err(Errno::EIO.into())
            }
        }
    }

    /// `FlushFileBuffers`: `fsync` (or `fsyncdir`) through the open's handle, or `sync_all`
    /// on the backing file. An open without a filesystem handle has nothing to flush, and a
    /// filesystem without `fsync` (`ENOSYS`) is taken to have nothing to flush either, as FUSE
    /// does.
    pub fn flush(&self, call: &Call, context: u64) -> NtResult<()> {
        let open = self.entry(context)?;
        let Some(user) = open.user() else {
            return Ok(());
        };
        if let Some(file) = &user.backing {
            return file.sync_all().map_err(io_error);
        }
        let path = open.path();
        let operation = if open.is_directory() {
            Operation::Fsyncdir {
                path,
                handle: user.handle,
                datasync: false,
            }
        } else {
            Operation::Fsync {
                path,
                handle: user.handle,
                datasync: false,
            }
        };
        match self.run(call, operation) {
            Ok(()) | Err(Errno::ENOSYS) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
