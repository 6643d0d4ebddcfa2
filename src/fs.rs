//! Reading files from the file system, for the command line and the language server alike:
//! sources (`.netpol`, through [`FsLoader`], the `driver::Loader` on disk) and manifests.
//!
//! - **A source file** is read only when it is a regular file (after symbolic links) of at most
//!   [`MAX_SOURCE_BYTES`]: a FIFO, a device such as `/dev/stdin` or `/dev/zero`, or a socket is
//!   refused before it is opened, and again on the file as opened (without blocking), so one
//!   swapped in between cannot block the read either. Manifests likewise, up to
//!   [`MAX_MANIFEST_BYTES`].
//! - **A file that is not netpol source by name** (its real name, after symbolic links, does
//!   not end in `.netpol`) is read, but when it does not parse no part of it is shown: see
//!   [`crate::driver::Loader::is_source`].

use crate::driver::Loader;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// The largest source file netpol reads: 16 MiB, hundreds of times the largest policy file
/// anyone writes by hand, and a bound on what an `import` of a huge file can cost.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// The largest manifest file or stream netpol reads: 2 GiB, enough for a dump of a quarter of
/// a million pods, and a bound on what a stream without end can cost.
pub const MAX_MANIFEST_BYTES: u64 = 2 << 30;

/// The text of the source file at `path`, or why there is none (a short phrase that never
/// quotes the file). Only a regular file of at most [`MAX_SOURCE_BYTES`] is read.
///
/// A UTF-8 byte-order mark at the start is taken off ([`without_bom`]).
pub fn read_source(path: &Path) -> Result<String, String> {
    read_limited(path, MAX_SOURCE_BYTES).map(without_bom)
}

/// The text of a source file as it is, byte-order mark included (for `netpol fmt`, which
/// drops the mark and so must see it to know the file changes).
pub fn read_source_as_is(path: &Path) -> Result<String, String> {
    read_limited(path, MAX_SOURCE_BYTES)
}

/// `text` without the UTF-8 byte-order mark some editors write at the start of a file. It is
/// no character of the program: taken off where a source is read, columns count from the
/// first real character, as the editor shows them. So `netpol fmt` drops it (the formatted
/// file is plain UTF-8), deliberately.
pub fn without_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// The text of a manifest file: as [`read_source`], up to [`MAX_MANIFEST_BYTES`].
pub fn read_manifest(path: &Path) -> Result<String, String> {
    read_limited(path, MAX_MANIFEST_BYTES)
}

fn read_limited(path: &Path, max: u64) -> Result<String, String> {
    regular(&fs::metadata(path).map_err(describe)?, max)?;
    let file = open(path).map_err(describe)?;
    // The file as opened: a FIFO swapped in after the check above is refused here, and the
    // open did not wait for a writer.
    let meta = file.metadata().map_err(describe)?;
    regular(&meta, max)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(describe)?;
    // The file may have grown since it was measured.
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Reads what the source reader reads of a stream (stdin): at most [`MAX_SOURCE_BYTES`], UTF-8.
/// A leading byte-order mark is taken off, as [`read_source`] does.
pub fn read_stream(input: impl Read) -> Result<String, String> {
    read_stream_limited(input, MAX_SOURCE_BYTES).map(without_bom)
}

/// A stream of at most `max` bytes, UTF-8.
pub fn read_stream_limited(input: impl Read, max: u64) -> Result<String, String> {
    let mut bytes = Vec::new();
    input.take(max + 1).read_to_end(&mut bytes).map_err(describe)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Opens for reading without waiting: a FIFO opens at once (and is then refused), and a
/// terminal does not become the controlling one.
fn open(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

fn regular(m: &Metadata, max: u64) -> Result<(), String> {
    if m.is_dir() {
        return Err("a directory, not a file".to_string());
    }
    if !m.is_file() {
        return Err(format!("{}, not a regular file", kind(m)));
    }
    if m.len() > max {
        return Err(too_large(max));
    }
    Ok(())
}

fn too_large(max: u64) -> String {
    format!("larger than {} MiB, the most netpol reads of such a file", max >> 20)
}

#[cfg(unix)]
fn kind(m: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn kind(_: &Metadata) -> &'static str {
    "a special file"
}

fn describe(e: io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
        _ => e.to_string(),
    }
}

/// Whether the file at `path` is netpol source by its name: its real name, after symbolic
/// links, ends in `.netpol`. A link `x.netpol` to `~/.aws/credentials` is not.
pub fn is_source_name(path: &Path) -> bool {
    let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    real.extension().is_some_and(|e| e == "netpol")
}

/// Reads sources from the file system.
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        read_source(Path::new(path))
    }

    fn join(&self, from: &str, import: &str) -> String {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        base.join(import).display().to_string()
    }

    fn key(&self, path: &str) -> String {
        fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string())
    }

    fn is_source(&self, path: &str) -> bool {
        is_source_name(Path::new(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_stream_is_refused_at_the_limit() {
        assert_eq!(read_stream(io::repeat(b'a')), Err(too_large(MAX_SOURCE_BYTES)));
        let fits = io::repeat(b'a').take(10);
        assert_eq!(read_stream(fits).as_deref(), Ok("aaaaaaaaaa"));
    }
}
