//! An output file written past the page cache (Linux `O_DIRECT`) where the file system takes it.
//!
//! Why: on these machines a buffered write of 1.6 GB costs 4.5 s of kernel cpu (each page is
//! allocated, charged and copied into the cache), while a direct write of the same bytes costs
//! 0.16 s of cpu and 1.25 s of waiting on the disk, which the other writers fill. The outputs of a
//! large batch are written once and read later, if at all, so caching them buys nothing; and the
//! next run's replacing them has no cached pages to drop.
//!
//! Bytes gather in an aligned buffer and go out in whole blocks; the last partial block goes out
//! through the page cache once `O_DIRECT` is cleared. Where the file system refuses direct writes
//! (tmpfs, some network file systems: `EINVAL` at open or write), the file is written buffered.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// Bytes per direct write: a multiple of every block size a disk reports (512 to 4096).
const CHUNK: usize = 1 << 22;
const ALIGN: usize = 4096;

/// Unlike a `BufWriter`, dropping it writes nothing: `finish` writes the rest (up to 4 MiB), so a
/// writer that stops on an error leaves an incomplete file, which the staging folder discards.
pub struct OutFile {
    file: File,
    /// `CHUNK + ALIGN` bytes, of which the `CHUNK` from `start` are aligned for direct writes (the
    /// vector never grows, so its bytes never move).
    buf: Vec<u8>,
    start: usize,
    len: usize,
    direct: bool,
}

impl OutFile {
    pub fn create(path: &Path) -> Result<OutFile> {
        let (file, direct) =
            open(path).with_context(|| format!("{}: cannot create", path.display()))?;
        let buf = vec![0u8; CHUNK + ALIGN];
        let start = buf.as_ptr().align_offset(ALIGN);
        Ok(OutFile {
            file,
            buf,
            start,
            len: 0,
            direct,
        })
    }

    /// The aligned buffer.
    fn bytes(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + CHUNK]
    }

    /// Write out the buffer's whole blocks (all of it when `all`), keeping the rest at its start.
    fn drain(&mut self, all: bool) -> io::Result<()> {
        let whole = self.len / ALIGN * ALIGN;
        let mut at = 0;
        while at < whole {
            match (&self.file).write(&self.buf[self.start + at..self.start + whole]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // accepted at open, refused at write: the rest goes through the cache
                Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => {
                    self.buffered()?
                }
                Err(e) => return Err(e),
            }
        }
        let len = self.len;
        self.bytes().copy_within(whole..len, 0);
        self.len -= whole;
        if all && self.len > 0 {
            // the last partial block: not a size a direct write takes
            self.buffered()?;
            (&self.file).write_all(&self.buf[self.start..self.start + len - whole])?;
            self.len = 0;
        }
        Ok(())
    }

    fn buffered(&mut self) -> io::Result<()> {
        if self.direct {
            clear_direct(&self.file)?;
            self.direct = false;
        }
        Ok(())
    }

    /// Write out what is left; the file is complete when this returns Ok.
    pub fn finish(mut self) -> io::Result<()> {
        self.drain(true)
    }
}

impl Write for OutFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.len == CHUNK {
            self.drain(false)?;
        }
        let n = data.len().min(CHUNK - self.len);
        let at = self.len;
        self.bytes()[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(n)
    }

    /// Only whole blocks leave before `finish`: a flush cannot write the partial one directly.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn open(path: &Path) -> io::Result<(File, bool)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    match o.clone().custom_flags(libc::O_DIRECT).open(path) {
        Ok(f) => Ok((f, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok((o.open(path)?, false)),
        Err(e) => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn open(path: &Path) -> io::Result<(File, bool)> {
    Ok((File::create(path)?, false))
}

#[cfg(target_os = "linux")]
fn clear_direct(file: &File) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this File owns; F_GETFL/F_SETFL touch only its status flags
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn clear_direct(_: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes written in pieces of every size around the block and chunk sizes come back whole,
    /// on this file system (direct if it takes it) and on one written buffered.
    #[test]
    fn writes_back_every_byte() {
        let dir = std::env::temp_dir().join(format!("claimscrub-outfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..3 * CHUNK + 12_345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for (n, sizes) in [
            vec![1, ALIGN - 1, ALIGN, ALIGN + 1],
            vec![CHUNK],
            vec![CHUNK + 1, 17],
            vec![data.len()],
        ]
        .into_iter()
        .enumerate()
        {
            for direct in [true, false] {
                let path = dir.join(format!("{n}-{direct}"));
                let mut f = OutFile::create(&path).unwrap();
                if !direct {
                    f.buffered().unwrap();
                }
                let mut at = 0;
                for s in sizes.iter().cycle() {
                    if at == data.len() {
                        break;
                    }
                    let end = (at + s).min(data.len());
                    f.write_all(&data[at..end]).unwrap();
                    at = end;
                }
                f.finish().unwrap();
                assert!(std::fs::read(&path).unwrap() == data, "{n} {direct}");
            }
        }
        // an empty file, and one shorter than a block
        for len in [0, 100] {
            let path = dir.join(format!("short-{len}"));
            let mut f = OutFile::create(&path).unwrap();
            f.write_all(&data[..len]).unwrap();
            f.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), &data[..len]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Where the file system takes direct writes, the whole blocks go out direct to the end.
    #[cfg(target_os = "linux")]
    #[test]
    fn stays_direct_where_the_file_system_takes_it() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = std::env::temp_dir();
        let probe = dir.join(format!("claimscrub-probe-{}", std::process::id()));
        let takes = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(&probe)
            .is_ok();
        let _ = std::fs::remove_file(&probe);
        let path = dir.join(format!("claimscrub-direct-{}", std::process::id()));
        let mut f = OutFile::create(&path).unwrap();
        assert_eq!(f.direct, takes);
        f.write_all(&vec![b'x'; 2 * CHUNK + 1]).unwrap();
        assert_eq!(f.direct, takes, "whole blocks written as they were opened");
        f.finish().unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            2 * CHUNK as u64 + 1
        );
        std::fs::remove_file(&path).unwrap();
    }
}
