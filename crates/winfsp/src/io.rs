//! Read, Write and Flush.
//!
//! A handle whose filesystem chose a backing file is served here, synchronously, from that
//! file. Every other read and write goes to the handlers and is answered through a completion,
//! so the WinFsp dispatcher thread is free while a handler works.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use log::warn;
use mountkit_core::windows::ntstatus::{STATUS_END_OF_FILE, STATUS_INVALID_HANDLE};
use mountkit_core::{Bytes, Errno, Operation, RequestContext, Stat};

use crate::context::FileContext;
use crate::engine::{empty, reply, Engine, NtError, NtResult};
use crate::fsctl::FileInfo;
use mountkit_core::backing;

/// Where a write lands and how many of its bytes: at the end of a file of `size` bytes when
/// `write_to_end` is set (WinFsp then passes no meaningful offset), and, when `constrained` is
/// set (a paging write, which must not extend the file), only the bytes that lie before the
/// end.
pub(crate) fn plan_write(
    offset: u64,
    length: usize,
    size: u64,
    write_to_end: bool,
    constrained: bool,
) -> (u64, usize) {
    let offset = if write_to_end { size } else { offset };
    if !constrained {
        return (offset, length);
    }
    let room = size.saturating_sub(offset);
    (
        offset,
        length.min(usize::try_from(room).unwrap_or(usize::MAX)),
    )
}

impl Engine {
    /// The open `id` and its filesystem handle, for reading or writing its data through the
    /// handlers: a directory is `STATUS_FILE_IS_A_DIRECTORY`; an open without a filesystem
    /// handle (opened for attributes only, or released after its file was deleted) is
    /// `STATUS_INVALID_HANDLE`.
    fn data_handle(&self, id: u64) -> NtResult<(FileContext, u64)> {
        let ctx = self.context(id)?;
        if ctx.is_directory() {
            return Err(NtError::from(Errno::EISDIR));
        }
        let handle = ctx.handle.ok_or(NtError(STATUS_INVALID_HANDLE))?;
        Ok((ctx, handle))
    }

    /// Reads a handle's backing file into `buffer` from `offset`, if the handle has one;
    /// `None` means the handlers must be asked ([`Engine::read`]). Reading at or past the end
    /// of the file is `STATUS_END_OF_FILE`.
    pub(crate) fn read_backing(
        &self,
        id: u64,
        offset: u64,
        buffer: &mut [u8],
    ) -> Option<NtResult<usize>> {
        let backing = match self.context(id) {
            Ok(ctx) => ctx.backing?,
            Err(status) => return Some(Err(status)),
        };
        Some(match backing::read_at(&backing, buffer, offset) {
            Ok(0) if !buffer.is_empty() => Err(NtError(STATUS_END_OF_FILE)),
            Ok(read) => Ok(read),
            Err(error) => Err(NtError::from(Errno::from(error))),
        })
    }

    /// WinFsp's Read through the handlers: `read` of `length` bytes at `offset`. `done` gets
    /// the data, never more than `length` bytes whatever the handler returned, or
    /// `STATUS_END_OF_FILE` when the handler returned nothing. A directory is
    /// `STATUS_FILE_IS_A_DIRECTORY`; a handle without a filesystem handle (opened for
    /// attributes only, or released after its file was deleted) is `STATUS_INVALID_HANDLE`.
    pub(crate) fn read(
        &self,
        cx: RequestContext,
        id: u64,
        offset: u64,
        length: u32,
        done: impl FnOnce(NtResult<&[u8]>) + Send + 'static,
    ) {
        let (ctx, handle) = match self.data_handle(id) {
            Ok(found) => found,
            Err(status) => return done(Err(status)),
        };
        let operation = Operation::Read {
            path: ctx.path(),
            handle,
            offset,
            size: length,
        };
        // `done` copies the answer into WinFsp's buffer while it is borrowed, so a handler's
        // bytes need no copy in between.
        self.send_for_data(cx, operation, move |result| {
            done(match result {
                Ok([]) if length > 0 => Err(NtError(STATUS_END_OF_FILE)),
                Ok(data) => Ok(&data[..data.len().min(length as usize)]),
                Err(errno) => Err(NtError::from(errno)),
            })
        });
    }

    /// Writes `data` to a handle's backing file, if the handle has one; `None` means the
    /// handlers must be asked ([`Engine::write`]). Offsets follow [`plan_write`] against the
    /// backing file's size. The answer is the bytes written and the file information: the
    /// metadata seen at open, with the backing file's size and times. On a read-only volume
    /// every write is refused here ([`Engine::writable`]), before its data is copied anywhere.
    pub(crate) fn write_backing(
        &self,
        id: u64,
        data: &[u8],
        offset: u64,
        write_to_end: bool,
        constrained: bool,
    ) -> Option<NtResult<(u32, FileInfo)>> {
        if let Err(status) = self.writable() {
            return Some(Err(status));
        }
        let ctx = match self.context(id) {
            Ok(ctx) => ctx,
            Err(status) => return Some(Err(status)),
        };
        let backing = ctx.backing?;
        let written = (|| -> io::Result<(u32, FileInfo)> {
            let size = backing.metadata()?.len();
            let (offset, length) = plan_write(offset, data.len(), size, write_to_end, constrained);
            backing::write_all_at(&backing, &data[..length], offset)?;
            let stat = backing_stat(&backing, &ctx.stat)?;
            Ok((length as u32, self.info(&stat)))
        })();
        Some(written.map_err(|error| NtError::from(Errno::from(error))))
    }

    /// WinFsp's Write through the handlers: `write` of `data` at `offset`, then `getattr`
    /// through the handle for the file information WinFsp keeps. Writing at the end of the
    /// file (`write_to_end`) or a paging write that must not extend it (`constrained`) asks
    /// `getattr` first for the size, as [`plan_write`] explains; a constrained write wholly
    /// past the end writes nothing. A handler that claims more bytes than it was given is
    /// answered `EIO`. If the last `getattr` fails after the write succeeded, the write is
    /// still reported, with the metadata seen at open and the size the write implies. A
    /// read-only volume refuses the write ([`Engine::writable`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write(
        self: &Arc<Self>,
        cx: RequestContext,
        id: u64,
        data: Bytes,
        offset: u64,
        write_to_end: bool,
        constrained: bool,
        done: impl FnOnce(NtResult<(u32, FileInfo)>) + Send + 'static,
    ) {
        if let Err(status) = self.writable() {
            return done(Err(status));
        }
        let (ctx, handle) = match self.data_handle(id) {
            Ok(found) => found,
            Err(status) => return done(Err(status)),
        };
        let path = ctx.path();
        if !write_to_end && !constrained {
            return self.write_then_stat(cx, path, handle, ctx.stat, offset, data, done);
        }
        let this = self.clone();
        let getattr = Operation::Getattr {
            path: path.clone(),
            handle: Some(handle),
        };
        self.send(cx, getattr, move |result| match reply!(result, Stat) {
            Ok(stat) => {
                let (offset, length) =
                    plan_write(offset, data.len(), stat.size, write_to_end, constrained);
                if length == 0 {
                    return done(Ok((0, this.info(&stat))));
                }
                this.write_then_stat(cx, path, handle, stat, offset, data.slice(..length), done);
            }
            Err(errno) => done(Err(NtError::from(errno))),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn write_then_stat(
        self: &Arc<Self>,
        cx: RequestContext,
        path: String,
        handle: u64,
        known: Stat,
        offset: u64,
        data: Bytes,
        done: impl FnOnce(NtResult<(u32, FileInfo)>) + Send + 'static,
    ) {
        let length = data.len() as u64;
        let this = self.clone();
        let write = Operation::Write {
            path: path.clone(),
            handle,
            offset,
            data,
        };
        self.send(cx, write, move |result| match reply!(result, Count) {
            Ok(written) if written <= length => {
                let getattr = Operation::Getattr {
                    path,
                    handle: Some(handle),
                };
                let engine = this.clone();
                this.send(cx, getattr, move |result| {
                    let stat = reply!(result, Stat).unwrap_or_else(|errno| {
                        warn!("getattr after a write failed ({errno}); reporting the size written");
                        Stat {
                            size: known.size.max(offset + written),
                            mtime: SystemTime::now(),
                            ..known
                        }
                    });
                    done(Ok((written as u32, engine.info(&stat))));
                });
            }
            Ok(written) => {
                warn!("write handler claimed {written} bytes of a {length}-byte write");
                done(Err(NtError::from(Errno::EIO)));
            }
            Err(errno) => done(Err(NtError::from(errno))),
        });
    }

    /// WinFsp's Flush. For the volume (`id` is `None`) there is nothing to do: the backend
    /// buffers nothing. For a handle: `fsync` (`fsyncdir` for a directory) through it, or
    /// `sync_all` of its backing file, then its file information.
    pub(crate) fn flush(&self, cx: RequestContext, id: Option<u64>) -> NtResult<Option<FileInfo>> {
        let Some(id) = id else {
            return Ok(None);
        };
        let ctx = self.context(id)?;
        if let Some(backing) = &ctx.backing {
            let synced = backing
                .sync_all()
                .and_then(|()| backing_stat(backing, &ctx.stat));
            return synced
                .map(|stat| Some(self.info(&stat)))
                .map_err(|error| NtError::from(Errno::from(error)));
        }
        let path = ctx.path();
        if let Some(handle) = ctx.handle {
            let operation = if ctx.is_directory() {
                Operation::Fsyncdir {
                    path: path.clone(),
                    handle,
                    datasync: false,
                }
            } else {
                Operation::Fsync {
                    path: path.clone(),
                    handle,
                    datasync: false,
                }
            };
            empty(self.call(cx, operation)).map_err(NtError::from)?;
        }
        let handle = ctx.handle.filter(|_| !ctx.is_directory());
        let stat = self.getattr(cx, &path, handle).map_err(NtError::from)?;
        Ok(Some(self.info(&stat)))
    }
}

/// `base` with the size and times of the backing file.
fn backing_stat(file: &File, base: &Stat) -> io::Result<Stat> {
    let metadata = file.metadata()?;
    Ok(Stat {
        size: metadata.len(),
        mtime: metadata.modified().unwrap_or(base.mtime),
        atime: metadata.accessed().unwrap_or(base.atime),
        ..base.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_planned_against_the_size() {
        assert_eq!(plan_write(10, 5, 100, false, false), (10, 5));
        assert_eq!(
            plan_write(u64::MAX, 5, 100, true, false),
            (100, 5),
            "append"
        );
        assert_eq!(
            plan_write(98, 5, 100, false, true),
            (98, 2),
            "paging write is cut"
        );
        assert_eq!(plan_write(100, 5, 100, false, true), (100, 0));
        assert_eq!(plan_write(200, 5, 100, false, true), (200, 0));
        assert_eq!(
            plan_write(200, 5, 100, false, false),
            (200, 5),
            "ordinary writes extend"
        );
    }
}
