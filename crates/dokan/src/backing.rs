//! Positioned I/O on backing files: the bytes of an open file whose filesystem answered
//! `open` with a [`Backing`](mountkit_core::Backing) are moved here, on the Dokan worker
//! thread, without reaching the handlers.

use std::fs::File;
use std::io;

/// Reads into `buffer` from `offset` until it is full or the file ends; returns the bytes
/// read.
pub fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match read_once(file, &mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Writes all of `data` at `offset`.
pub fn write_all_at(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
    let mut written = 0;
    while written < data.len() {
        match write_once(file, &data[written..], offset + written as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
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

#[cfg(windows)]
fn read_once(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buffer, offset)
}

#[cfg(windows)]
fn write_once(file: &File, data: &[u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(file, data, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_at_offsets() {
        let path =
            std::env::temp_dir().join(format!("mountkit-dokan-backing-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        write_all_at(&file, b"hello world", 0).unwrap();
        write_all_at(&file, b"W", 6).unwrap();
        let mut buffer = [0u8; 32];
        assert_eq!(read_at(&file, &mut buffer, 0).unwrap(), 11);
        assert_eq!(&buffer[..11], b"hello World");
        assert_eq!(read_at(&file, &mut buffer[..3], 8).unwrap(), 3);
        assert_eq!(&buffer[..3], b"rld");
        assert_eq!(read_at(&file, &mut buffer, 100).unwrap(), 0);
        drop(file);
        std::fs::remove_file(path).unwrap();
    }
}
