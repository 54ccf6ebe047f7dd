//! Positioned I/O on backing files ([`Backing`](crate::Backing)): every backend moves the bytes
//! of such an open file with these, on its own thread, without asking any handler. Reads and
//! writes at an offset never share a file position, so concurrent requests on one file are safe.

use std::fs::File;
use std::io;

/// Reads from `offset` until `buffer` is full or the file ends; returns the bytes read.
pub fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buffer.len() {
        match read_once(file, &mut buffer[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Writes all of `data` at `offset`.
pub fn write_all_at(file: &File, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    while !data.is_empty() {
        match write_once(file, data, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                data = &data[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(unix)]
fn read_once(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, offset)
}

#[cfg(unix)]
fn write_once(file: &File, data: &[u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(file, data, offset)
}

/// Windows positioned reads move the handle's file pointer; nothing here relies on it.
#[cfg(windows)]
fn read_once(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    match std::os::windows::fs::FileExt::seek_read(file, buffer, offset) {
        // Reading at or past the end of a file fails with ERROR_HANDLE_EOF.
        Err(e) if e.raw_os_error() == Some(38) => Ok(0),
        other => other,
    }
}

#[cfg(windows)]
fn write_once(file: &File, data: &[u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(file, data, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> (std::path::PathBuf, File) {
        let path =
            std::env::temp_dir().join(format!("mountkit-backing-{}-{name}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        (path, file)
    }

    #[test]
    fn positioned_reads_and_writes() {
        let (path, file) = temp_file("rw");
        write_all_at(&file, b"hello world", 0).unwrap();
        write_all_at(&file, b"W", 6).unwrap();
        let mut buffer = [0u8; 32];
        assert_eq!(read_at(&file, &mut buffer, 0).unwrap(), 11);
        assert_eq!(&buffer[..11], b"hello World");
        assert_eq!(read_at(&file, &mut buffer[..3], 8).unwrap(), 3);
        assert_eq!(&buffer[..3], b"rld");
        assert_eq!(read_at(&file, &mut buffer, 100).unwrap(), 0, "past the end");
        std::fs::remove_file(path).unwrap();
    }
}
